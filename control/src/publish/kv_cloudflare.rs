//! The Workers KV REST API client: bulk writes
//! (`PUT {namespace}/bulk`, a JSON array of `{key, value}`) and bulk deletes
//! (`POST {namespace}/bulk/delete`, a JSON array of keys), Bearer token,
//! answers in Cloudflare's envelope `{success, errors, messages, result}`;
//! and listing (`GET {namespace}/keys?limit=&cursor=&prefix=`, answering
//! `result: [{name, expiration?, metadata?}]` and `result_info: {count,
//! cursor}`, the cursor empty on the last page).
//!
//! A namespace is its base URL and token, nothing else, so the same client
//! serves Cloudflare (`{api}/accounts/{account}/storage/kv/namespaces/{id}`)
//! and the local edge (`http://<edge>/__portico/kv/<BINDING>`). The local
//! edge's dev endpoint only writes: listing through it is refused with an
//! error that says so (workerd's local KV is not listed over HTTP).

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use super::{BoxFuture, KeyPage, KvBackend, KvError, KvFailure, KvPut, ListedKey};
use crate::cloudflare_api::{error_detail, http_client, Envelope};
use crate::config::KvSettings;
use crate::metrics::metrics;
use crate::retry::retry_after;
use crate::store::outbox::Namespace;

/// At most this many pairs (or keys) in one bulk request.
pub const MAX_PAIRS_PER_REQUEST: usize = 10_000;
/// At most this many bytes in one bulk request body (Cloudflare allows 100 MB;
/// keep a margin).
pub const MAX_REQUEST_BYTES: usize = 95 * 1000 * 1000;
/// Workers KV refuses values over 25 MiB.
pub const MAX_VALUE_BYTES: usize = portico_shared::record::MAX_VALUE_LEN;
/// Workers KV refuses keys over 512 bytes.
pub const MAX_KEY_BYTES: usize = portico_shared::record::MAX_KEY_LEN;
/// Keys per listing page: the most Workers KV returns (it takes 10 to 1000).
pub const LIST_LIMIT: u32 = 1000;
/// One request at most (the publisher also keeps each inside its lease).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where one namespace's bulk endpoints live and how to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceEndpoint {
    /// `…/bulk` and `…/bulk/delete` are appended to it.
    pub base_url: String,
    pub token: String,
}

/// A KV backend speaking the Workers KV bulk API.
pub struct CloudflareKv {
    http: reqwest::Client,
    routes: NamespaceEndpoint,
    content: NamespaceEndpoint,
    name: &'static str,
}

#[derive(Serialize)]
struct BulkPair<'a> {
    key: &'a str,
    value: &'a str,
    /// `{"sha256": <hex of value>}`: listings then show what each key holds
    /// without fetching values (drift checks, `publish::drift`).
    metadata: ValueMetadata,
}

/// The metadata written with every value.
#[derive(Debug, Serialize)]
pub struct ValueMetadata {
    pub sha256: String,
}

/// The value digest a listed key's metadata carries, if it was written by us.
pub fn listed_digest(metadata: Option<&serde_json::Value>) -> Option<&str> {
    metadata?.get("sha256")?.as_str()
}

#[derive(Debug, Deserialize)]
struct WireKey {
    name: String,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct BulkResult {
    #[serde(default)]
    unsuccessful_keys: Vec<String>,
}

impl CloudflareKv {
    pub fn new(
        routes: NamespaceEndpoint,
        content: NamespaceEndpoint,
        name: &'static str,
    ) -> Result<CloudflareKv, String> {
        let http = http_client(REQUEST_TIMEOUT)?;
        Ok(CloudflareKv {
            http,
            routes,
            content,
            name,
        })
    }

    /// The backend for `kv = "cloudflare"` or `kv = "local"`; `None` for `kv = "none"`.
    pub fn from_settings(kv: &KvSettings) -> Result<Option<CloudflareKv>, String> {
        match kv {
            KvSettings::None => Ok(None),
            KvSettings::Cloudflare {
                api_url,
                account_id,
                api_token,
                routes_namespace_id,
                content_namespace_id,
            } => {
                let namespace = |id: &str| NamespaceEndpoint {
                    base_url: format!(
                        "{}/accounts/{account_id}/storage/kv/namespaces/{id}",
                        api_url.trim_end_matches('/')
                    ),
                    token: api_token.clone(),
                };
                CloudflareKv::new(
                    namespace(routes_namespace_id),
                    namespace(content_namespace_id),
                    "cloudflare",
                )
                .map(Some)
            }
            KvSettings::Local { edge_url, token } => {
                let namespace = |binding: &str| NamespaceEndpoint {
                    base_url: format!("{}/__portico/kv/{binding}", edge_url.trim_end_matches('/')),
                    token: token.clone(),
                };
                CloudflareKv::new(
                    namespace(Namespace::Routes.binding()),
                    namespace(Namespace::Content.binding()),
                    "local",
                )
                .map(Some)
            }
        }
    }

    fn endpoint(&self, namespace: Namespace) -> &NamespaceEndpoint {
        match namespace {
            Namespace::Routes => &self.routes,
            Namespace::Content => &self.content,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Result<(), KvError> {
        let sent = request.send().await;
        metrics().cloudflare_call("kv", sent.as_ref().ok().map(|r| r.status().as_u16()));
        let response = sent.map_err(|err| KvError::transient(format!("{what}: {err}")))?;
        let (envelope, detail) = read_answer::<BulkResult>(response, what, refusal).await?;
        match envelope {
            Some(envelope) if envelope.success => {
                let failed = envelope
                    .result
                    .map(|r| r.unsuccessful_keys)
                    .unwrap_or_default();
                if failed.is_empty() {
                    Ok(())
                } else {
                    // Cloudflare's advice for these: retry them.
                    Err(KvError::transient(format!(
                        "{what}: {} keys not written (first: {})",
                        failed.len(),
                        failed[0]
                    )))
                }
            }
            _ => Err(KvError::transient(format!(
                "{what}: the API did not report success: {detail}"
            ))),
        }
    }

    async fn put_all(&self, namespace: Namespace, pairs: &[KvPut]) -> Result<(), KvError> {
        let endpoint = self.endpoint(namespace);
        for pair in pairs {
            if pair.key.len() > MAX_KEY_BYTES || pair.value.len() > MAX_VALUE_BYTES {
                return Err(KvError {
                    message: format!(
                        "`{}` exceeds Workers KV's key or value size limit",
                        pair.key
                    ),
                    retry_after: None,
                    kind: KvFailure::Content,
                });
            }
        }
        for chunk in chunk_puts(pairs) {
            let body: Vec<BulkPair<'_>> = chunk
                .iter()
                .map(|pair| BulkPair {
                    key: &pair.key,
                    value: &pair.value,
                    metadata: ValueMetadata {
                        sha256: super::sync::sha256_hex(pair.value.as_bytes()),
                    },
                })
                .collect();
            let request = self
                .http
                .put(format!("{}/bulk", endpoint.base_url))
                .bearer_auth(&endpoint.token)
                .json(&body);
            self.send(request, &format!("bulk write to {}", namespace.binding()))
                .await?;
        }
        Ok(())
    }

    async fn list_page(
        &self,
        namespace: Namespace,
        prefix: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<KeyPage, KvError> {
        let what = format!("listing keys of {}", namespace.binding());
        if self.name == "local" {
            return Err(KvError {
                message: format!(
                    "{what}: the local edge's KV endpoint (kv = local) cannot list keys; \
                     drift checks need kv = cloudflare"
                ),
                retry_after: None,
                kind: KvFailure::Setup,
            });
        }
        let endpoint = self.endpoint(namespace);
        let mut url =
            reqwest::Url::parse(&format!("{}/keys", endpoint.base_url)).map_err(|err| KvError {
                message: format!("{what}: bad namespace URL: {err}"),
                retry_after: None,
                kind: KvFailure::Setup,
            })?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", &LIST_LIMIT.to_string());
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
            if let Some(prefix) = prefix {
                query.append_pair("prefix", prefix);
            }
        }
        let sent = self.http.get(url).bearer_auth(&endpoint.token).send().await;
        metrics().cloudflare_call("kv", sent.as_ref().ok().map(|r| r.status().as_u16()));
        let response = sent.map_err(|err| KvError::transient(format!("{what}: {err}")))?;
        // Listing sends no content, so any refusal is about the setup.
        let (envelope, detail) =
            read_answer::<Vec<WireKey>>(response, &what, |_| KvFailure::Setup).await?;
        match envelope {
            Some(Envelope {
                success: true,
                result: Some(keys),
                result_info,
                ..
            }) => Ok(KeyPage {
                keys: keys
                    .into_iter()
                    .map(|key| ListedKey {
                        name: key.name,
                        metadata: key.metadata,
                    })
                    .collect(),
                cursor: result_info
                    .and_then(|info| info.cursor)
                    .filter(|cursor| !cursor.is_empty()),
            }),
            _ => Err(KvError::transient(format!(
                "{what}: the API did not report success: {detail}"
            ))),
        }
    }

    async fn delete_all(&self, namespace: Namespace, keys: &[String]) -> Result<(), KvError> {
        let endpoint = self.endpoint(namespace);
        for chunk in keys.chunks(MAX_PAIRS_PER_REQUEST) {
            let request = self
                .http
                .post(format!("{}/bulk/delete", endpoint.base_url))
                .bearer_auth(&endpoint.token)
                .json(&chunk);
            self.send(
                request,
                &format!("bulk delete from {}", namespace.binding()),
            )
            .await?;
        }
        Ok(())
    }
}

impl KvBackend for CloudflareKv {
    fn name(&self) -> &'static str {
        self.name
    }

    fn put<'a>(
        &'a self,
        namespace: Namespace,
        pairs: &'a [KvPut],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        Box::pin(self.put_all(namespace, pairs))
    }

    fn delete<'a>(
        &'a self,
        namespace: Namespace,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        Box::pin(self.delete_all(namespace, keys))
    }

    fn list<'a>(
        &'a self,
        namespace: Namespace,
        prefix: Option<&'a str>,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<KeyPage, KvError>> {
        Box::pin(self.list_page(namespace, prefix, cursor))
    }
}

/// An answer's envelope (when it is one) and its error detail; a fault to
/// retry (429, 5xx) or a refusal (other non-2xx, classified by `refused`)
/// is an error.
async fn read_answer<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
    refused: fn(StatusCode) -> KvFailure,
) -> Result<(Option<Envelope<T>>, String), KvError> {
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = response.bytes().await.unwrap_or_default();
    let envelope: Option<Envelope<T>> = serde_json::from_slice(&body).ok();
    let detail = error_detail(envelope.as_ref().map_or(&[][..], |e| &e.errors[..]), &body);
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(KvError {
            message: format!("{what}: {status}: {detail}"),
            retry_after,
            kind: KvFailure::Transient,
        });
    }
    if !status.is_success() {
        return Err(KvError {
            message: format!("{what}: {status}: {detail}"),
            retry_after: None,
            kind: refused(status),
        });
    }
    Ok((envelope, detail))
}

/// What a refusal (a 4xx other than 429) is about: the request's keys and
/// values (400 bad request, 413 too large: a request without the culprit
/// succeeds), or the setup (401, 403, 404 namespace: every request fails).
fn refusal(status: StatusCode) -> KvFailure {
    match status {
        StatusCode::BAD_REQUEST
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::URI_TOO_LONG
        | StatusCode::UNPROCESSABLE_ENTITY => KvFailure::Content,
        _ => KvFailure::Setup,
    }
}

/// Splits puts into requests of at most 10,000 pairs and `MAX_REQUEST_BYTES`.
pub(crate) fn chunk_puts(pairs: &[KvPut]) -> Vec<&[KvPut]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, pair) in pairs.iter().enumerate() {
        // JSON escaping can at most double a value (and `\u00XX` six-fold for
        // control characters, which HTML rarely has): estimate generously.
        let size = 2 * (pair.key.len() + pair.value.len()) + 32;
        if i > start && (i - start == MAX_PAIRS_PER_REQUEST || bytes + size > MAX_REQUEST_BYTES) {
            chunks.push(&pairs[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < pairs.len() {
        chunks.push(&pairs[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_the_pair_limit() {
        let pairs: Vec<KvPut> = (0..25_001)
            .map(|i| KvPut {
                key: format!("k{i}"),
                value: "v".into(),
            })
            .collect();
        let sizes: Vec<usize> = chunk_puts(&pairs).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![10_000, 10_000, 5_001]);
        assert!(chunk_puts(&[]).is_empty());
    }

    #[test]
    fn chunks_respect_the_byte_limit() {
        let big = "x".repeat(20 * 1000 * 1000);
        let pairs: Vec<KvPut> = (0..5)
            .map(|i| KvPut {
                key: format!("k{i}"),
                value: big.clone(),
            })
            .collect();
        let sizes: Vec<usize> = chunk_puts(&pairs).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn refusals_about_the_content_are_told_from_the_setup() {
        for (status, kind) in [
            (400, KvFailure::Content),
            (413, KvFailure::Content),
            (401, KvFailure::Setup),
            (403, KvFailure::Setup),
            (404, KvFailure::Setup),
        ] {
            assert_eq!(
                refusal(StatusCode::from_u16(status).unwrap()),
                kind,
                "{status}"
            );
        }
    }

    #[test]
    fn local_and_cloudflare_differ_only_in_base_url_and_token() {
        let local = CloudflareKv::from_settings(&KvSettings::Local {
            edge_url: "http://127.0.0.1:8787/".into(),
            token: "dev".into(),
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            local.routes.base_url,
            "http://127.0.0.1:8787/__portico/kv/ROUTES"
        );
        assert_eq!(
            local.content.base_url,
            "http://127.0.0.1:8787/__portico/kv/CONTENT"
        );
        let cloudflare = CloudflareKv::from_settings(&KvSettings::Cloudflare {
            api_url: "https://api.example/client/v4".into(),
            account_id: "acc".into(),
            api_token: "tok".into(),
            routes_namespace_id: "r1".into(),
            content_namespace_id: "c1".into(),
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            cloudflare.routes.base_url,
            "https://api.example/client/v4/accounts/acc/storage/kv/namespaces/r1"
        );
        assert_eq!(cloudflare.content.token, "tok");
    }
}
