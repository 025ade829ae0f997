//! Certificates through Cloudflare for SaaS: one custom hostname per served
//! host in the platform's zone, DV certificate, HTTP validation (the
//! customer's CNAME already sends the authority's request to the zone).
//!
//! Endpoints (API reference, "Custom Hostnames",
//! <https://developers.cloudflare.com/api/resources/custom_hostnames/>),
//! Bearer API token with Zone › SSL and Certificates › Edit:
//! - `GET  /zones/{zone_id}/custom_hostnames?hostname=…` (list, filtered by
//!   name; `result_info` pages);
//! - `POST /zones/{zone_id}/custom_hostnames` `{hostname, ssl: {method:
//!   "http", type: "dv", settings}}`;
//! - `PATCH /zones/{zone_id}/custom_hostnames/{id}` with the same `ssl`: "used
//!   to indicate that hostname should pass domain control validation", and
//!   to restart validation of a timed-out or `moved` hostname;
//! - `DELETE /zones/{zone_id}/custom_hostnames/{id}` ("and any issued SSL
//!   certificates"), answering `{id}`.
//!
//! Idempotent: `ensure` looks the name up before creating, so a crash
//! between creating and recording creates no duplicate, and a duplicate
//! refused by the API (409, code 1406 "Duplicate custom hostname found.")
//! is looked up again. 429 and 5xx are retried with backoff, honouring
//! `Retry-After`, within a budget the caller chooses.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use portico_shared::Hostname;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::status::{report_for, CustomHostname};
use super::{CertificateError, CertificateReport};
use crate::cloudflare_api::{error_detail, http_client, Envelope, ResultInfo};
use crate::retry::{backoff, retry_after};

/// One request; `ensure` makes two or three.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often `ensure` asks Cloudflare to validate a pending hostname again.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Custom hostnames per list page (the API's largest).
const PER_PAGE: u32 = 50;
/// Pages read when looking a name up: far more custom hostnames than one
/// name can match.
const MAX_PAGES: u32 = 20;
/// Cloudflare's answer to a hostname the zone already has.
pub const DUPLICATE_CODE: i64 = 1406;

/// How hard to try before reporting the provider unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudget {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// The longest single wait; a longer `Retry-After` ends the retries.
    pub max_wait: Duration,
}

impl RetryBudget {
    /// The verifier's checks and removals: worth waiting for.
    pub const PATIENT: RetryBudget = RetryBudget {
        attempts: 5,
        max_wait: Duration::from_secs(30),
    };
    /// Inside an API request (domain added): answer the customer quickly;
    /// the verifier's next `ensure` finishes the job.
    pub const QUICK: RetryBudget = RetryBudget {
        attempts: 2,
        max_wait: Duration::from_secs(2),
    };
}

/// The custom hostnames of one zone.
pub struct CloudflareCertificates {
    http: reqwest::Client,
    /// `{api}/zones/{zone_id}/custom_hostnames`.
    base_url: String,
    zone_id: String,
    api_token: String,
    refresh_interval: Duration,
    /// Custom hostname id → when this replica last asked for validation.
    refreshed: Mutex<HashMap<String, Instant>>,
}

impl fmt::Debug for CloudflareCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token.
        f.debug_struct("CloudflareCertificates")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// An answer that was not a fault to retry.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl CloudflareCertificates {
    pub fn new(
        api_url: &str,
        zone_id: &str,
        api_token: &str,
    ) -> Result<CloudflareCertificates, String> {
        Ok(CloudflareCertificates {
            http: http_client(REQUEST_TIMEOUT)?,
            base_url: format!(
                "{}/zones/{zone_id}/custom_hostnames",
                api_url.trim_end_matches('/')
            ),
            zone_id: zone_id.to_string(),
            api_token: api_token.to_string(),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            refreshed: Mutex::default(),
        })
    }

    /// How often a pending hostname is sent for validation again (tests: zero).
    pub fn with_refresh_interval(mut self, interval: Duration) -> CloudflareCertificates {
        self.refresh_interval = interval;
        self
    }

    /// The `ssl` object of every create and refresh: DV, validated over
    /// HTTP through the customer's CNAME.
    fn ssl_settings() -> Value {
        json!({
            "method": "http",
            "type": "dv",
            "settings": { "min_tls_version": "1.2", "http2": "on" },
        })
    }

    /// Finds or creates `host`'s custom hostname, asks Cloudflare to
    /// validate it again when that can help, and reports its state.
    pub async fn ensure(
        &self,
        host: &Hostname,
        budget: RetryBudget,
    ) -> Result<CertificateReport, CertificateError> {
        let custom = match self.find(host, budget).await? {
            Some(custom) if !custom.is_deleted() => custom,
            _ => self.create(host, budget).await?,
        };
        let report = report_for(&custom);
        if custom.wants_refresh() && self.refresh_due(&custom.id) {
            // The report says what happened; the next check sees the outcome.
            if let Err(err) = self.refresh(&custom.id, budget).await {
                tracing::warn!(host = %host, error = %err, "could not ask Cloudflare to validate the custom hostname again");
            }
        }
        Ok(report)
    }

    /// Deletes every custom hostname named `host` (and its certificate).
    pub async fn remove(
        &self,
        host: &Hostname,
        budget: RetryBudget,
    ) -> Result<(), CertificateError> {
        for custom in self.find_all(host, budget).await? {
            self.delete(&custom.id, budget).await?;
            tracing::info!(host = %host, id = %custom.id, "Cloudflare custom hostname deleted");
        }
        Ok(())
    }

    /// Deletes one custom hostname by id; already gone is fine.
    pub async fn delete(&self, id: &str, budget: RetryBudget) -> Result<(), CertificateError> {
        let what = "delete custom hostname";
        let answer = self
            .call(
                Method::DELETE,
                format!("{}/{id}", self.base_url),
                None,
                budget,
                what,
            )
            .await?;
        // Cloudflare answers a bare `{id}` (API reference, "Delete Custom
        // Hostname"), not the envelope; already gone is what we wanted.
        if !(answer.status.is_success() || answer.status == StatusCode::NOT_FOUND) {
            self.envelope::<Value>(&answer, what)?;
        }
        self.refreshed.lock().unwrap().remove(id);
        Ok(())
    }

    /// Every custom hostname of the zone, page by page.
    pub async fn list_zone(
        &self,
        budget: RetryBudget,
    ) -> Result<Vec<CustomHostname>, CertificateError> {
        self.list(None, u32::MAX, budget).await
    }

    async fn find(
        &self,
        host: &Hostname,
        budget: RetryBudget,
    ) -> Result<Option<CustomHostname>, CertificateError> {
        let mut all = self.find_all(host, budget).await?;
        // A live one wins over one Cloudflare is still deleting.
        all.sort_by_key(|custom| custom.is_deleted());
        Ok(all.into_iter().next())
    }

    /// The custom hostnames whose name is exactly `host` (the API's
    /// `hostname` filter is a match, so compare names here), from every page.
    async fn find_all(
        &self,
        host: &Hostname,
        budget: RetryBudget,
    ) -> Result<Vec<CustomHostname>, CertificateError> {
        let listed = self.list(Some(host.as_str()), MAX_PAGES, budget).await?;
        Ok(listed
            .into_iter()
            .filter(|custom| custom.hostname.eq_ignore_ascii_case(host.as_str()))
            .collect())
    }

    /// `GET …/custom_hostnames[?hostname=…]`, up to `max_pages` pages.
    async fn list(
        &self,
        hostname: Option<&str>,
        max_pages: u32,
        budget: RetryBudget,
    ) -> Result<Vec<CustomHostname>, CertificateError> {
        let what = "list custom hostnames";
        let mut found = Vec::new();
        for page in 1..=max_pages {
            let mut query = vec![
                ("per_page", PER_PAGE.to_string()),
                ("page", page.to_string()),
            ];
            if let Some(hostname) = hostname {
                query.push(("hostname", hostname.to_string()));
            }
            let url = reqwest::Url::parse_with_params(&self.base_url, &query)
                .map_err(|err| CertificateError::Refused(format!("bad API URL: {err}")))?;
            let answer = self
                .call(Method::GET, url.to_string(), None, budget, what)
                .await?;
            let (listed, info) = self.decode_page::<Vec<CustomHostname>>(&answer, what)?;
            found.extend(listed);
            if info.is_none_or(|info| info.page >= info.total_pages) {
                break;
            }
        }
        Ok(found)
    }

    async fn create(
        &self,
        host: &Hostname,
        budget: RetryBudget,
    ) -> Result<CustomHostname, CertificateError> {
        let body = json!({ "hostname": host.as_str(), "ssl": Self::ssl_settings() });
        let answer = self
            .call(
                Method::POST,
                self.base_url.clone(),
                Some(&body),
                budget,
                "create custom hostname",
            )
            .await?;
        if is_duplicate(&answer) {
            // Created meanwhile (another replica, or a request that timed
            // out after Cloudflare acted on it): use that one.
            return match self.find(host, budget).await? {
                Some(custom) => Ok(custom),
                None => Err(CertificateError::Unavailable(format!(
                    "Cloudflare says {host} already exists in zone {} but does not list it",
                    self.zone_id
                ))),
            };
        }
        let custom: CustomHostname = self.decode(&answer, "create custom hostname")?;
        tracing::info!(host = %host, id = %custom.id, "Cloudflare custom hostname created");
        Ok(custom)
    }

    fn refresh_due(&self, id: &str) -> bool {
        let now = Instant::now();
        let mut refreshed = self.refreshed.lock().unwrap();
        refreshed.retain(|_, at| now.duration_since(*at) < self.refresh_interval);
        if refreshed.contains_key(id) {
            return false;
        }
        refreshed.insert(id.to_string(), now);
        true
    }

    async fn refresh(&self, id: &str, budget: RetryBudget) -> Result<(), CertificateError> {
        let body = json!({ "ssl": Self::ssl_settings() });
        let answer = self
            .call(
                Method::PATCH,
                format!("{}/{id}", self.base_url),
                Some(&body),
                budget,
                "refresh custom hostname",
            )
            .await?;
        let _: CustomHostname = self.decode(&answer, "refresh custom hostname")?;
        Ok(())
    }

    /// Sends a request, retrying transport errors, 429 and 5xx within `budget`.
    async fn call(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
        budget: RetryBudget,
        what: &str,
    ) -> Result<Answer, CertificateError> {
        let mut failures = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.api_token);
            if let Some(body) = body {
                request = request.json(body);
            }
            let (asked_wait, why) = match request.send().await {
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

    fn decode<T: DeserializeOwned>(
        &self,
        answer: &Answer,
        what: &str,
    ) -> Result<T, CertificateError> {
        Ok(self.decode_page(answer, what)?.0)
    }

    /// The `result` and, for lists, the `result_info`.
    fn decode_page<T: DeserializeOwned>(
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
    fn envelope<T: DeserializeOwned>(
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
fn is_duplicate(answer: &Answer) -> bool {
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
        let client =
            CloudflareCertificates::new("https://api.example/client/v4/", "zone", "secret-token")
                .unwrap();
        assert_eq!(
            client.base_url,
            "https://api.example/client/v4/zones/zone/custom_hostnames"
        );
        assert!(!format!("{client:?}").contains("secret-token"));
    }

    #[test]
    fn refreshes_at_most_once_per_interval() {
        let client = CloudflareCertificates::new("http://127.0.0.1:9", "zone", "t").unwrap();
        assert!(client.refresh_due("a"));
        assert!(!client.refresh_due("a"));
        assert!(client.refresh_due("b"));
        let client = client.with_refresh_interval(Duration::ZERO);
        assert!(client.refresh_due("a") && client.refresh_due("a"));
    }
}
