//! HTTP requests the verifier makes: to one address, without following
//! redirects, with bounded time and bytes. Only to addresses the outbound
//! rule permits (`verify::outbound`); the caller checks.

use std::net::SocketAddr;
use std::time::Duration;

/// At most this much of a body is read.
const MAX_BODY: usize = 64 * 1024;

/// What one request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Status, Location, the first bytes of the body.
    Answered {
        status: u16,
        location: Option<String>,
        body: String,
    },
    /// Nothing usable came back, in words.
    Unreachable(String),
}

/// Requests `url` (whose host is `host`) from `addr`.
pub async fn probe(url: &str, host: &str, addr: SocketAddr, timeout: Duration) -> Probe {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .resolve(host, addr)
        .build()
    {
        Ok(client) => client,
        Err(err) => return Probe::Unreachable(err.to_string()),
    };
    let mut response = match client.get(url).send().await {
        Ok(response) => response,
        Err(err) if err.is_timeout() => return Probe::Unreachable("no answer (timed out)".into()),
        Err(err) if err.is_connect() => {
            return Probe::Unreachable("the connection was refused or failed".into())
        }
        Err(err) => return Probe::Unreachable(format!("{err}")),
    };
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        match tokio::time::timeout(timeout, response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_BODY);
    Probe::Answered {
        status,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
