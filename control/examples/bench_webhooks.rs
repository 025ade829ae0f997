//! Benchmark (not run in CI): webhook delivery throughput and latency to a
//! receiver on loopback, against a baseline measured in the same run.
//!
//! ```sh
//! cargo run --release -p portico-control --example bench_webhooks -- \
//!     [--events 1000] [--accounts 10] [--database sqlite|<postgres URL>]
//! ```
//!
//! The control plane runs in this process (SQLite in a temporary directory,
//! or the PostgreSQL database given), with one endpoint per account. Events
//! are real: `--events` domains are added through the API, 16 requests at
//! a time, spread over the accounts (each add records `domain.added`, which
//! queues one message). Latency is from the moment the add was sent to the
//! moment the receiver had the signed message; throughput is events over
//! the time from the first add to the last message received.
//!
//! Baseline: the same receiver, sent the same number of POSTs of the same
//! size straight from a client at the same concurrency the deliverer allows
//! (4 per endpoint and replica, times the endpoints): what the HTTP path
//! alone costs, so the ratio is what queueing, signing and recording each
//! attempt cost on top.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use portico_control::app::Application;
use portico_control::config::{RawSettings, Settings};
use serde_json::{json, Value};
use tokio::sync::{oneshot, Semaphore};

const ADMIN: &str = "bench-admin-token";

struct Options {
    events: usize,
    accounts: usize,
    database: String,
}

fn options() -> Options {
    let mut options = Options {
        events: 1000,
        accounts: 10,
        database: "sqlite".into(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--events" => options.events = value.parse().expect("--events N"),
            "--accounts" => options.accounts = value.parse().expect("--accounts N"),
            "--database" => options.database = value,
            // cargo bench passes --bench; ignore what is not ours.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    options
}

/// When each message arrived, by the hostname it is about.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receiver() -> (Arrivals, String) {
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn api(http: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let answer = http
        .post(format!("{base}{path}"))
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

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let options = options();
    let dir = tempfile::tempdir().unwrap();
    let database_url = match options.database.as_str() {
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
        ..RawSettings::default()
    };
    let settings = Settings::resolve(raw).unwrap();
    let app = Application::build(&settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let (arrivals, receiver_url) = receiver().await;

    let mut tokens = Vec::new();
    for n in 0..options.accounts {
        let account = api(
            &http,
            &base,
            ADMIN,
            "/v1/accounts",
            json!({ "username": format!("bench{n}") }),
        )
        .await;
        let id = account["id"].as_str().unwrap();
        let token = api(
            &http,
            &base,
            ADMIN,
            &format!("/v1/accounts/{id}/tokens"),
            json!({ "name": "bench" }),
        )
        .await;
        let token = token["secret"].as_str().unwrap().to_string();
        api(
            &http,
            &base,
            &token,
            "/v1/webhooks",
            json!({ "url": format!("{receiver_url}/hook") }),
        )
        .await;
        tokens.push(token);
    }

    // Baseline: bare POSTs of a message's size at the deliverer's concurrency.
    let sample = "x".repeat(1500);
    let concurrency = 4 * options.accounts;
    let limit = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..options.events {
        let permit = limit.clone().acquire_owned().await.unwrap();
        let (http, url, body) = (
            http.clone(),
            format!("{receiver_url}/baseline"),
            sample.clone(),
        );
        tasks.push(tokio::spawn(async move {
            http.post(url).body(body).send().await.unwrap();
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let baseline = options.events as f64 / started.elapsed().as_secs_f64();

    // The events: domains added, 16 at a time, across the accounts.
    let limit = Arc::new(Semaphore::new(16));
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..options.events {
        let permit = limit.clone().acquire_owned().await.unwrap();
        let host = format!("d{n}.bench{}.example.com", n % options.accounts);
        let token = tokens[n % options.accounts].clone();
        let (http, base, sent) = (http.clone(), base.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            sent.lock().unwrap().insert(host.clone(), Instant::now());
            api(
                &http,
                &base,
                &token,
                "/v1/domains",
                json!({ "hostname": host }),
            )
            .await;
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let added = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals.lock().unwrap().len() < options.events {
        assert!(Instant::now() < deadline, "not every message arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let arrivals = arrivals.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    let last = arrivals.values().max().copied().unwrap();
    let elapsed = last - started;
    let mut latencies: Vec<Duration> = sent
        .iter()
        .map(|(host, at)| arrivals[host].saturating_duration_since(*at))
        .collect();
    latencies.sort();
    let throughput = options.events as f64 / elapsed.as_secs_f64();
    println!(
        "{} events ({} accounts, {}): added in {:.2} s; all delivered {:.2} s after the first add",
        options.events,
        options.accounts,
        options.database.split('@').next_back().unwrap_or_default(),
        added.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "delivery {throughput:.0} events/s, latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
    println!(
        "baseline: bare POSTs at concurrency {concurrency}: {baseline:.0}/s; delivery is {:.1} % of it",
        100.0 * throughput / baseline
    );
    let _ = stop.send(());
    let _ = running.await;
}
