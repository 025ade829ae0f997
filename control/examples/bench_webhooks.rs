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

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{await_arrivals, flags, ms, percentile, receiver, start};
use serde_json::json;
use tokio::sync::Semaphore;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let flags = flags();
    let events: usize = flags
        .get("events")
        .map_or(1000, |v| v.parse().expect("--events N"));
    let accounts: usize = flags
        .get("accounts")
        .map_or(10, |v| v.parse().expect("--accounts N"));
    let database = flags.get("database").map_or("sqlite", String::as_str);
    let running = start(database).await;
    let (arrivals, receiver_url) = receiver().await;

    let mut tokens = Vec::new();
    for n in 0..accounts {
        let token = running.account(&format!("bench{n}")).await;
        running
            .post(
                &token,
                "/v1/webhooks",
                json!({ "url": format!("{receiver_url}/hook") }),
            )
            .await;
        tokens.push(token);
    }

    // Baseline: bare POSTs of a message's size at the deliverer's concurrency.
    let sample = "x".repeat(1500);
    let concurrency = 4 * accounts;
    let limit = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..events {
        let permit = limit.clone().acquire_owned().await.unwrap();
        let (http, url, body) = (
            running.http.clone(),
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
    let baseline = events as f64 / started.elapsed().as_secs_f64();

    // The events: domains added, 16 at a time, across the accounts.
    let running = Arc::new(running);
    let limit = Arc::new(Semaphore::new(16));
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..events {
        let permit = limit.clone().acquire_owned().await.unwrap();
        let host = format!("d{n}.bench{}.example.com", n % accounts);
        let token = tokens[n % accounts].clone();
        let (running, sent) = (running.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            sent.lock().unwrap().insert(host.clone(), Instant::now());
            running
                .post(&token, "/v1/domains", json!({ "hostname": host }))
                .await;
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let added = started.elapsed();
    await_arrivals(&arrivals, events).await;
    let arrivals = arrivals.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    let last = arrivals.values().max().copied().unwrap();
    let elapsed = last - started;
    let mut latencies: Vec<Duration> = sent
        .iter()
        .map(|(host, at)| arrivals[host].saturating_duration_since(*at))
        .collect();
    latencies.sort();
    let throughput = events as f64 / elapsed.as_secs_f64();
    println!(
        "{events} events ({accounts} accounts, {}): added in {:.2} s; all delivered {:.2} s after the first add",
        database.split('@').next_back().unwrap_or_default(),
        added.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "delivery {throughput:.0} events/s, latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap()),
    );
    println!(
        "baseline: bare POSTs at concurrency {concurrency}: {baseline:.0}/s; delivery is {:.1} % of it",
        100.0 * throughput / baseline
    );
    if let Ok(running) = Arc::try_unwrap(running) {
        running.stop().await;
    }
}
