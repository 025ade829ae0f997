//! What every client of Cloudflare's API v4 shares: the HTTP client, the
//! answer envelope `{ success, errors: [{code, message}], messages, result,
//! result_info }`, and error details worded for logs. Used by the Workers KV
//! backend (`publish::kv_cloudflare`) and the custom hostnames client
//! (`certs::cloudflare`). Envelope as documented in the API reference
//! (<https://developers.cloudflare.com/api/>: every method's "Returns"
//! lists `errors`, `messages`, `success`, `result`).

pub mod budget;

use std::time::Duration;

use serde::Deserialize;

/// The client every Cloudflare API call goes through: one timeout per
/// request, Portico's user agent.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("portico-control/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| format!("cannot build the HTTP client: {err}"))
}

/// Cloudflare's answer envelope; `T` is what `result` holds.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ApiMessage>,
    #[serde(default = "Option::default")]
    pub result: Option<T>,
    /// Lists only: where this page stands.
    #[serde(default)]
    pub result_info: Option<ResultInfo>,
}

/// A list's `result_info`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResultInfo {
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub total_pages: u32,
    /// Cursor-paginated lists (Workers KV keys): how many on this page.
    #[serde(default)]
    pub count: u32,
    /// Cursor-paginated lists: where the next page starts; empty on the last.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One entry of `errors` (or `messages`).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiMessage {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

/// `errors` as one line, `message (code); …`, or the start of the body when
/// the answer was not an envelope.
pub fn error_detail(errors: &[ApiMessage], body: &[u8]) -> String {
    let listed = errors
        .iter()
        .map(|m| format!("{} ({})", m.message, m.code))
        .collect::<Vec<_>>()
        .join("; ");
    if listed.is_empty() {
        String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
    } else {
        listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_list_errors_or_quote_the_body() {
        let envelope: Envelope<serde_json::Value> = serde_json::from_str(
            r#"{"success":false,"errors":[{"code":1406,"message":"Duplicate custom hostname found."}],"messages":[],"result":null}"#,
        )
        .unwrap();
        assert!(!envelope.success);
        assert_eq!(
            error_detail(&envelope.errors, b""),
            "Duplicate custom hostname found. (1406)"
        );
        assert_eq!(error_detail(&[], b"<html>bad gateway"), "<html>bad gateway");
    }
}
