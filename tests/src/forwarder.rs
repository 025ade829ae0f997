//! A registrar's URL forwarding, played by a real HTTP server on loopback:
//! what each Host gets back (a 301 with path kept, a 302, a masked frame, a
//! parking page, a `www` that forwards back to the root…), so the
//! verifier's root-forward check is tested over the wire.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::Result;

/// What the forwarder answers for one host.
#[derive(Debug, Clone)]
pub enum Forward {
    /// `status` with `Location: <to><path and query>` (`keep_path`), or
    /// `Location: <to>` (the "Forward path" option off).
    Redirect {
        status: u16,
        to: String,
        keep_path: bool,
    },
    /// 200 with a page that frames `to` ("forward with masking").
    Masked { to: String },
    /// 200 with a page of its own (a parking page).
    Page,
}

/// What the forwarder answers, host by host; changed while it runs (the
/// local registrar's forwards), shared with whoever changes it.
#[derive(Clone, Default)]
pub struct ForwardTable(Arc<RwLock<HashMap<String, Forward>>>);

impl ForwardTable {
    /// Replaces every host's forward.
    pub fn replace(&self, hosts: impl IntoIterator<Item = (String, Forward)>) {
        let hosts = hosts
            .into_iter()
            .map(|(host, forward)| (host.to_ascii_lowercase(), forward))
            .collect();
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = hosts;
    }

    fn get(&self, host: &str) -> Option<Forward> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .cloned()
    }
}

/// A running forwarder; stops when dropped.
pub struct Forwarder {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Forwarder {
    /// Serves these hosts on `127.0.0.1`, any port; other hosts get 404.
    pub async fn start(hosts: &[(&str, Forward)]) -> Result<Forwarder> {
        let table = ForwardTable::default();
        table.replace(
            hosts
                .iter()
                .map(|(host, forward)| (host.to_string(), forward.clone())),
        );
        Forwarder::serve(SocketAddr::from(([127, 0, 0, 1], 0)), table).await
    }

    /// Serves `table` on `addr` (port 0: any free port), following its changes.
    pub async fn serve(addr: SocketAddr, table: ForwardTable) -> Result<Forwarder> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(answer).with_state(table);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Forwarder { addr, task })
    }
}

async fn answer(State(hosts): State<ForwardTable>, request: Request) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut response = Response::new(Body::empty());
    match hosts.get(&host) {
        None => {
            *response.status_mut() = StatusCode::NOT_FOUND;
            *response.body_mut() = Body::from(format!("no forwarding is set up for {host}\n"));
        }
        Some(Forward::Redirect {
            status,
            to,
            keep_path,
        }) => {
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
            let location = if keep_path {
                format!("{}{path_and_query}", to.trim_end_matches('/'))
            } else {
                to.clone()
            };
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
        }
        Some(Forward::Masked { to }) => {
            *response.body_mut() = Body::from(format!(
                "<!doctype html><html><head><title>{host}</title></head>\
                 <frameset rows=\"100%\"><frame src=\"{to}\" frameborder=\"0\"></frameset></html>"
            ));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
        }
        Some(Forward::Page) => {
            *response.body_mut() = Body::from(
                "<!doctype html><html><body><h1>This domain is parked</h1></body></html>",
            );
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
        }
    }
    response
}
