//! What the API benchmarks share: the control plane in this process (SQLite
//! in a temporary directory, or a PostgreSQL URL), accounts with tokens,
//! a webhook receiver on loopback, JSON calls, percentiles.

#![allow(dead_code)] // each example uses its part

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use portico_control::app::Application;
use portico_control::config::{RawSettings, Settings};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN: &str = "bench-admin-token";

/// `--name value` pairs from the command line (cargo's own flags ignored).
pub fn flags() -> HashMap<String, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut flags = HashMap::new();
    let mut i = 0;
    while i < args.len() {
        if let (Some(name), Some(value)) = (args[i].strip_prefix("--"), args.get(i + 1)) {
            if !value.starts_with("--") {
                flags.insert(name.to_string(), value.clone());
                i += 2;
                continue;
            }
        }
        i += 1;
    }
    flags
}

/// The control plane, running until dropped through [`Running::stop`].
pub struct Running {
    pub base: String,
    pub http: reqwest::Client,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), String>>,
    _dir: tempfile::TempDir,
}

/// Starts the control plane on `database` (`sqlite` or a PostgreSQL URL),
/// the verifier off, webhooks over plain http to loopback allowed, rate
/// limits and the domains quota off.
pub async fn start(database: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match database {
        "sqlite" => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("portico.db").display()
        ),
        url => url.to_string(),
    };
    let raw = RawSettings {
        platform_domain: Some("portico.test".into()),
        listen: Some("127.0.0.1:0".into()),
        database_url: Some(database_url),
        admin_token: Some(ADMIN.into()),
        verifier: Some(false),
        log: Some("warn".into()),
        webhook_allow_http: Some(true),
        verify_allow_private_addresses: Some(true),
        webhook_poll_ms: Some(50),
        // What is measured is the work, not the limits in front of it.
        rate_limit_reads_per_min: Some(0),
        rate_limit_writes_per_min: Some(0),
        rate_limit_verify_per_min: Some(0),
        rate_limit_anonymous_per_min: Some(0),
        quota_domains: Some(0),
        ..RawSettings::default()
    };
    let settings = Settings::resolve(raw).unwrap();
    let app = Application::build(&settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .map_err(|err| err.to_string())
    });
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Running {
        base,
        http,
        stop,
        task,
        _dir: dir,
    }
}

impl Running {
    /// `POST`s JSON; panics unless the answer is a success.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> Value {
        let answer = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// A new account named `username`, and a token of it.
    pub async fn account(&self, username: &str) -> String {
        let account = self
            .post(ADMIN, "/v1/accounts", json!({ "username": username }))
            .await;
        let id = account["id"].as_str().unwrap();
        let token = self
            .post(
                ADMIN,
                &format!("/v1/accounts/{id}/tokens"),
                json!({ "name": "bench" }),
            )
            .await;
        token["secret"].as_str().unwrap().to_string()
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// When each message arrived, by the hostname it is about.
pub type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A webhook receiver on loopback: `/hook` records each message's arrival
/// by the domain's hostname, `/baseline` only answers.
pub async fn receiver() -> (Arrivals, String) {
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            post({
                let arrivals = arrivals.clone();
                move |body: String| {
                    let arrivals = arrivals.clone();
                    async move {
                        let at = Instant::now();
                        let body: Value = serde_json::from_str(&body).unwrap_or_default();
                        if let Some(host) = body["data"]["domain"]["hostname"].as_str() {
                            arrivals
                                .lock()
                                .unwrap()
                                .entry(host.to_string())
                                .or_insert(at);
                        }
                        "ok"
                    }
                }
            }),
        )
        .route("/baseline", post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (arrivals, format!("http://{address}"))
}

/// Waits until `arrivals` holds `count` messages (at most five minutes).
pub async fn await_arrivals(arrivals: &Arrivals, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals.lock().unwrap().len() < count {
        assert!(Instant::now() < deadline, "not every message arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
