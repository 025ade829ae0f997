//! Benchmark (not run in CI): what the rate limiter costs, and what it
//! holds back.
//!
//! ```sh
//! cargo run --release -p portico-control --example bench_limits -- \
//!     [--requests 4000] [--clients 20] [--seconds 10]
//! ```
//!
//! SQLite files in a temporary directory (the limiter does not touch the
//! store; verify coalescing does, and is tested on both stores).
//!
//! 1. Cost: two control planes in this process, one with the limiter on
//!    (limits far above the load, so nothing is refused) and one with it
//!    off, each on a database of its own. `--requests` `GET /v1/domains`
//!    (10 domains each) then a quarter as many `POST /v1/pages`, 16 at a
//!    time over 10 tokens, run alternately on each in rounds; p50/p99 each.
//! 2. Abuse: one control plane with the default limits whose verifier asks
//!    a resolver that counts queries and never answers (timeout 200 ms).
//!    `--clients` tenants each call `POST …/verify` (on one domain) and
//!    `POST /v1/domains` in 8 loops at once for `--seconds`, while another
//!    tenant reads its domains;
//!    prints the answers by status, the DNS queries made and the reader's
//!    p50/p99. Cloudflare is not configured: a check calls it only once the
//!    DNS is right, which it never is here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portico_control::api::limits::RateLimitSettings;
use portico_control::app::Application;
use portico_control::config::{RawSettings, Settings};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const ADMIN: &str = "bench-admin-token";

struct Options {
    requests: usize,
    clients: usize,
    seconds: u64,
}

fn options() -> Options {
    let mut options = Options {
        requests: 4000,
        clients: 20,
        seconds: 10,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--requests" => options.requests = value.parse().expect("--requests N"),
            "--clients" => options.clients = value.parse().expect("--clients N"),
            "--seconds" => options.seconds = value.parse().expect("--seconds N"),
            other => panic!("unknown option {other}"),
        }
    }
    options
}

/// A running control plane, its base URL and one token per tenant.
struct Plane {
    base: String,
    tokens: Vec<String>,
}

async fn start(settings: Settings) -> String {
    let app = Application::build(&settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    base
}

fn settings(dir: &tempfile::TempDir, name: &str) -> RawSettings {
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join(format!("{name}.db")).display()
    );
    RawSettings {
        platform_domain: Some("portico.test".into()),
        listen: Some("127.0.0.1:0".into()),
        database_url: Some(database_url),
        admin_token: Some(ADMIN.into()),
        verifier: Some(false),
        log: Some("error".into()),
        allow_test_domains: Some(true),
        ..RawSettings::default()
    }
}

async fn call(
    http: &reqwest::Client,
    method: &str,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

async fn tenants(http: &reqwest::Client, base: &str, count: usize, domains: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for n in 0..count {
        let (_, account) = call(
            http,
            "POST",
            format!("{base}/v1/accounts"),
            ADMIN,
            Some(json!({ "username": format!("t{n}") })),
        )
        .await;
        let id = account["id"].as_str().unwrap();
        let (_, token) = call(
            http,
            "POST",
            format!("{base}/v1/accounts/{id}/tokens"),
            ADMIN,
            Some(json!({})),
        )
        .await;
        let token = token["secret"].as_str().unwrap().to_string();
        for d in 0..domains {
            let (status, body) = call(
                http,
                "POST",
                format!("{base}/v1/domains"),
                &token,
                Some(json!({ "hostname": format!("d{d}.t{n}.example.test") })),
            )
            .await;
            assert_eq!(status, 201, "{body}");
        }
        tokens.push(token);
    }
    tokens
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// `count` requests, 16 at a time over the plane's tokens; their latencies.
async fn load(
    http: &reqwest::Client,
    plane: &Plane,
    method: &'static str,
    count: usize,
) -> Vec<Duration> {
    let limit = Arc::new(Semaphore::new(16));
    let mut tasks = Vec::new();
    for n in 0..count {
        let permit = limit.clone().acquire_owned().await.unwrap();
        let (http, token) = (http.clone(), plane.tokens[n % plane.tokens.len()].clone());
        let (url, body) = match method {
            "GET" => (format!("{}/v1/domains", plane.base), None),
            _ => (
                format!("{}/v1/pages", plane.base),
                Some(
                    json!({ "kind": "page", "title": format!("P{n}"), "content": "<p>offer</p>" }),
                ),
            ),
        };
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let (status, body) = call(&http, method, url, &token, body).await;
            assert!(status < 300, "{status} {body}");
            drop(permit);
            started.elapsed()
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.push(task.await.unwrap());
    }
    latencies
}

async fn cost(http: &reqwest::Client, options: &Options, dir: &tempfile::TempDir) {
    let mut planes = Vec::new();
    for (name, limits) in [
        (
            "on",
            RateLimitSettings {
                reads_per_min: 10_000_000,
                writes_per_min: 10_000_000,
                verify_per_min: 10_000_000,
                anonymous_per_min: 10_000_000,
                client_ip_header: None,
            },
        ),
        ("off", RateLimitSettings::off()),
    ] {
        let mut settings = Settings::resolve(settings(dir, name)).unwrap();
        settings.rate_limits = limits;
        let base = start(settings).await;
        let tokens = tenants(http, &base, 10, 10).await;
        planes.push((name, Plane { base, tokens }));
    }
    let mut results: BTreeMap<(&str, &str), Vec<Duration>> = BTreeMap::new();
    let rounds = 4;
    for _ in 0..rounds {
        for (name, plane) in &planes {
            for (method, count) in [
                ("GET", options.requests / rounds),
                ("POST", options.requests / rounds / 4),
            ] {
                let latencies = load(http, plane, method, count).await;
                results
                    .entry((*name, method))
                    .or_default()
                    .extend(latencies);
            }
        }
    }
    for ((name, method), mut latencies) in results {
        latencies.sort();
        let what = if method == "GET" {
            "GET /v1/domains"
        } else {
            "POST /v1/pages"
        };
        println!(
            "limiter {name:>3}: {what:<16} n={:<5} p50 {:.2} ms  p99 {:.2} ms",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
}

fn count(statuses: &Mutex<BTreeMap<String, usize>>, key: String) {
    *statuses.lock().unwrap().entry(key).or_default() += 1;
}

async fn abuse(http: &reqwest::Client, options: &Options, dir: &tempfile::TempDir) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let resolver = socket.local_addr().unwrap();
    let queries = Arc::new(AtomicUsize::new(0));
    let counted = queries.clone();
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        while socket.recv_from(&mut buffer).await.is_ok() {
            counted.fetch_add(1, Ordering::Relaxed);
        }
    });
    let raw = RawSettings {
        dns_resolvers: Some(resolver.to_string()),
        dns_nameserver_port: Some(resolver.port()),
        dns_nameserver_addresses: Some("*=127.0.0.1".into()),
        dns_timeout_ms: Some(200),
        forward_http_port: Some(9),
        forward_https_port: Some(9),
        forward_timeout_ms: Some(200),
        verify_allow_private_addresses: Some(true),
        ..settings(dir, "abuse")
    };
    let base = start(Settings::resolve(raw).unwrap()).await;
    let tokens = tenants(http, &base, options.clients + 1, 1).await;
    let reader = tokens[0].clone();
    let statuses: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let mut domains = Vec::new();
    for token in &tokens[1..] {
        let (_, list) = call(http, "GET", format!("{base}/v1/domains"), token, None).await;
        domains.push(list["domains"][0]["id"].as_str().unwrap().to_string());
    }
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let mut tasks = Vec::new();
    for (n, (token, id)) in tokens[1..].iter().zip(domains).enumerate() {
        for worker in 0..8 {
            let (http, base, token, statuses, id) = (
                http.clone(),
                base.clone(),
                token.clone(),
                statuses.clone(),
                id.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut added = 0;
                while Instant::now() < deadline {
                    let verify = format!("{base}/v1/domains/{id}/verify");
                    let (status, _) = call(&http, "POST", verify, &token, None).await;
                    count(&statuses, format!("verify {status}"));
                    added += 1;
                    let host = format!("x{added}.w{worker}.c{n}.example.test");
                    let body = json!({ "hostname": host });
                    let add = format!("{base}/v1/domains");
                    let (status, _) = call(&http, "POST", add, &token, Some(body)).await;
                    count(&statuses, format!("add {status}"));
                }
            }));
        }
    }
    let mut reads = Vec::new();
    while Instant::now() < deadline {
        let started = Instant::now();
        let (status, _) = call(http, "GET", format!("{base}/v1/domains"), &reader, None).await;
        assert_eq!(status, 200);
        reads.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for task in tasks {
        task.await.unwrap();
    }
    reads.sort();
    println!(
        "abuse: {} clients for {} s (default limits): {:?}",
        options.clients,
        options.seconds,
        statuses.lock().unwrap()
    );
    println!(
        "abuse: DNS queries {}, Cloudflare calls 0; another tenant's GET /v1/domains n={} p50 {:.2} ms p99 {:.2} ms",
        queries.load(Ordering::Relaxed),
        reads.len(),
        percentile(&reads, 0.5),
        percentile(&reads, 0.99)
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let options = options();
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    cost(&http, &options, &dir).await;
    abuse(&http, &options, &dir).await;
}
