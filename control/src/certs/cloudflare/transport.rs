//! Requests to the custom hostnames endpoints: the bearer token, retries of
//! transport errors, 429 and 5xx within a [`RetryBudget`] (honouring
//! `Retry-After`), and answers decoded from Cloudflare's envelope with
//! refusals worded for the operator.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{RetryBudget, REQUEST_TIMEOUT};
use crate::certs::CertificateError;
use crate::cloudflare_api::budget::{CallBudget, Spent};
use crate::cloudflare_api::{error_detail, http_client, Envelope, ResultInfo};
use crate::metrics::metrics;
use crate::retry::{backoff, retry_after};

/// Cloudflare's answer to a hostname the zone already has.
pub const DUPLICATE_CODE: i64 = 1406;
/// Cloudflare's answer when the zone may not set `custom_metadata`
/// (Cloudflare for SaaS, "Status codes": 403, 1413).
pub const NO_METADATA_ACCESS_CODE: i64 = 1413;

/// The longest a request waits in line for the API budget; a longer wait
/// is reported (`Throttled`) and the next check tries again.
const MAX_BUDGET_WAIT: Duration = Duration::from_secs(2);

/// The custom hostnames endpoints of one zone.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    /// `{api}/zones/{zone_id}/custom_hostnames`.
    pub(super) base_url: String,
    pub(super) zone_id: String,
    api_token: String,
    /// The requests Cloudflare allows, shared with every replica; `None`: no limit here.
    pub(super) budget: Option<CallBudget>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token.
        f.debug_struct("Transport")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// An answer that was not a fault to retry.
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Transport {
    pub fn new(api_url: &str, zone_id: &str, api_token: &str) -> Result<Transport, String> {
        Ok(Transport {
            http: http_client(REQUEST_TIMEOUT)?,
            base_url: format!(
                "{}/zones/{zone_id}/custom_hostnames",
                api_url.trim_end_matches('/')
            ),
            zone_id: zone_id.to_string(),
            api_token: api_token.to_string(),
            budget: None,
        })
    }

    /// `…/custom_hostnames/{id}`.
    pub fn one(&self, id: &str) -> String {
        format!("{}/{id}", self.base_url)
    }

    /// Sends a request, retrying transport errors, 429 and 5xx within `budget`.
    pub async fn call(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
        budget: RetryBudget,
        what: &str,
    ) -> Result<Answer, CertificateError> {
        let mut failures = 0;
        loop {
            if let Some(calls) = &self.budget {
                calls
                    .take(budget.max_wait.min(MAX_BUDGET_WAIT))
                    .await
                    .map_err(|spent| match spent {
                        Spent::Wait(wait) => {
                            metrics().cloudflare_budget_refused("custom_hostnames");
                            CertificateError::Throttled(wait)
                        }
                        Spent::Store(err) => {
                            CertificateError::Unavailable(format!("{what}: {err}"))
                        }
                    })?;
            }
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.api_token);
            if let Some(body) = body {
                request = request.json(body);
            }
            let sent = request.send().await;
            metrics().cloudflare_call(
                "custom_hostnames",
                sent.as_ref().ok().map(|r| r.status().as_u16()),
            );
            let (asked_wait, why) = match sent {
                Err(err) => (None, err.to_string()),
                Ok(response) => {
                    let status = response.status();
                    let asked_wait = retry_after(response.headers());
                    let body = response.bytes().await.map(|b| b.to_vec());
                    match body {
                        Ok(body)
                            if !(status == StatusCode::TOO_MANY_REQUESTS
                                || status.is_server_error()) =>
                        {
                            return Ok(Answer { status, body })
                        }
                        Ok(body) => {
                            let errors = serde_json::from_slice::<Envelope<Value>>(&body)
                                .map(|e| e.errors)
                                .unwrap_or_default();
                            (
                                asked_wait,
                                format!("{status}: {}", error_detail(&errors, &body)),
                            )
                        }
                        Err(err) => (None, format!("{status}, then the body failed: {err}")),
                    }
                }
            };
            failures += 1;
            let wait = asked_wait.unwrap_or_else(|| backoff(failures));
            if failures >= budget.attempts || wait > budget.max_wait {
                return Err(CertificateError::Unavailable(format!(
                    "{what}: {why} (gave up after {failures} attempt{})",
                    if failures == 1 { "" } else { "s" }
                )));
            }
            tracing::debug!(what, error = %why, retry_in_ms = wait.as_millis() as u64, "Cloudflare API fault; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// The `result` of a successful answer.
    pub fn decode<T: DeserializeOwned>(
        &self,
        answer: &Answer,
        what: &str,
    ) -> Result<T, CertificateError> {
        Ok(self.decode_page(answer, what)?.0)
    }

    /// The `result` and, for lists, the `result_info`.
    pub fn decode_page<T: DeserializeOwned>(
        &self,
        answer: &Answer,
        what: &str,
    ) -> Result<(T, Option<ResultInfo>), CertificateError> {
        let envelope = self.envelope::<T>(answer, what)?;
        match envelope.result {
            Some(result) => Ok((result, envelope.result_info)),
            None => Err(CertificateError::Unavailable(format!(
                "{what}: the answer has no result"
            ))),
        }
    }

    /// A 2xx answer with `success: true`, else the refusal in words.
    pub fn envelope<T: DeserializeOwned>(
        &self,
        answer: &Answer,
        what: &str,
    ) -> Result<Envelope<T>, CertificateError> {
        let parsed = serde_json::from_slice::<Envelope<T>>(&answer.body);
        let errors = parsed
            .as_ref()
            .map(|e| e.errors.clone())
            .unwrap_or_default();
        let detail = error_detail(&errors, &answer.body);
        if errors.iter().any(|e| e.code == NO_METADATA_ACCESS_CODE) {
            return Err(CertificateError::Refused(format!(
                "{what}: zone {} may not set custom metadata, where Portico records which domain owns each custom hostname; ask Cloudflare's account team to enable it ({}: {detail})",
                self.zone_id, answer.status
            )));
        }
        match answer.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(CertificateError::Refused(format!(
                    "{what}: Cloudflare refused the API token ({}: {detail}); it needs Zone › SSL and Certificates › Edit on zone {}",
                    answer.status, self.zone_id
                )))
            }
            status if !status.is_success() => {
                return Err(CertificateError::Refused(format!("{what}: {status}: {detail}")))
            }
            _ => {}
        }
        match parsed {
            Ok(envelope) if envelope.success => Ok(envelope),
            Ok(_) => Err(CertificateError::Unavailable(format!(
                "{what}: Cloudflare did not report success: {detail}"
            ))),
            Err(err) => Err(CertificateError::Unavailable(format!(
                "{what}: the answer is not Cloudflare's envelope ({err}): {detail}"
            ))),
        }
    }
}

/// 409, or error code 1406, or a message saying so.
pub fn is_duplicate(answer: &Answer) -> bool {
    if answer.status == StatusCode::CONFLICT {
        return true;
    }
    if answer.status.is_success() {
        return false;
    }
    serde_json::from_slice::<Envelope<Value>>(&answer.body)
        .map(|e| {
            e.errors.iter().any(|m| {
                m.code == DUPLICATE_CODE || m.message.to_ascii_lowercase().contains("duplicate")
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(status: u16, body: Value) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn recognises_duplicates() {
        assert!(is_duplicate(&answer(409, json!({}))));
        assert!(is_duplicate(&answer(
            400,
            json!({"success": false, "errors": [{"code": 1406, "message": "Duplicate custom hostname found."}]})
        )));
        assert!(!is_duplicate(&answer(
            400,
            json!({"success": false, "errors": [{"code": 1409, "message": "bad hostname"}]})
        )));
        assert!(!is_duplicate(&answer(200, json!({"success": true}))));
    }

    #[test]
    fn keeps_the_token_out_of_debug_output() {
        let transport =
            Transport::new("https://api.example/client/v4/", "zone", "secret-token").unwrap();
        assert_eq!(
            transport.base_url,
            "https://api.example/client/v4/zones/zone/custom_hostnames"
        );
        assert!(!format!("{transport:?}").contains("secret-token"));
    }

    #[test]
    fn a_zone_without_custom_metadata_is_not_blamed_on_the_token() {
        let transport = Transport::new("http://127.0.0.1:9", "zone", "t").unwrap();
        let refused = answer(
            403,
            json!({"success": false, "errors": [{"code": 1413, "message": "No custom metadata access has been allocated for this zone."}]}),
        );
        let err = transport.envelope::<Value>(&refused, "create").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("custom metadata") && !text.contains("API token"),
            "{text}"
        );
    }
}
