//! A stand-in for the platform's application origin: a real HTTP server on
//! 127.0.0.1 that answers every request with what it received (method,
//! path and query, headers, body) as JSON, so tests can see exactly what a
//! proxy passed on. `/redirect…` answers 302 to `/elsewhere`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub struct EchoOrigin {
    base_url: String,
    server: JoinHandle<()>,
}

impl EchoOrigin {
    pub async fn start() -> crate::Result<EchoOrigin> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let app = Router::new().fallback(echo);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(EchoOrigin { base_url, server })
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for EchoOrigin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if uri.path().starts_with("/redirect") {
        return (StatusCode::FOUND, [("location", "/elsewhere")]).into_response();
    }
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let seen = json!({
        "method": method.as_str(),
        "path_and_query": uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    (
        StatusCode::OK,
        [("content-type", "application/json"), ("x-origin", "echo")],
        seen.to_string(),
    )
        .into_response()
}
