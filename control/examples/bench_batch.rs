//! Benchmark (not run in CI): bulk onboarding, `POST /v1/domains/batch`,
//! against a baseline measured in the same run, and the webhook deliverer's
//! drain rate on the messages a batch queues at once.
//!
//! ```sh
//! cargo run --release -p portico-control --example bench_batch -- \
//!     [--items 1000] [--database sqlite|<postgres URL>]
//! ```
//!
//! The control plane runs in this process (the verifier off); each account
//! has a webhook endpoint, so each created domain queues one `domain.added`
//! message (the baseline's are delivered before the batch starts). Baseline: the
//! same number of hostnames added one `POST /v1/domains` at a time, as a
//! script without the batch call would. Then one batch into an empty
//! account, and a second batch into the same account, which then
//! holds as many domains already: each item is its own unit of work, so
//! this shows what an account's size costs each add. The drain rate is the
//! messages still queued when the first batch answered over the time until
//! the receiver had the last of them.

mod common;

use std::time::{Duration, Instant};

use common::{await_arrivals, flags, receiver, start};
use serde_json::json;

fn hostnames(prefix: &str, items: usize) -> Vec<String> {
    // 20 zones of items/20 subdomains: what one customer's DNS estate looks like.
    (0..items)
        .map(|n| format!("{prefix}{n}.zone{}-bench.com", n % 20))
        .collect()
}

fn rate(items: usize, took: Duration) -> String {
    format!(
        "{:.2} s ({:.0} items/s)",
        took.as_secs_f64(),
        items as f64 / took.as_secs_f64()
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let flags = flags();
    let items: usize = flags
        .get("items")
        .map_or(1000, |v| v.parse().expect("--items N"));
    let database = flags.get("database").map_or("sqlite", String::as_str);
    let running = start(database).await;
    let (arrivals, receiver_url) = receiver().await;

    // Both accounts have an endpoint: each add queues one message either way.
    let mut tokens = Vec::new();
    for name in ["single", "batched"] {
        let token = running.account(name).await;
        running
            .post(
                &token,
                "/v1/webhooks",
                json!({ "url": format!("{receiver_url}/hook") }),
            )
            .await;
        tokens.push(token);
    }
    let (single, batched) = (&tokens[0], &tokens[1]);
    let started = Instant::now();
    for host in hostnames("s", items) {
        running
            .post(single, "/v1/domains", json!({ "hostname": host }))
            .await;
    }
    let baseline = started.elapsed();
    await_arrivals(&arrivals, items).await;

    let started = Instant::now();
    let result = running
        .post(
            batched,
            "/v1/domains/batch",
            json!({ "hostnames": hostnames("b", items) }),
        )
        .await;
    let first = started.elapsed();
    assert_eq!(result["created"], items, "every item created");
    assert_eq!(result["zones"].as_array().unwrap().len(), 20);
    let outstanding = 2 * items - arrivals.lock().unwrap().len();
    let draining = Instant::now();
    await_arrivals(&arrivals, 2 * items).await;
    let drained = draining.elapsed();

    let started = Instant::now();
    let result = running
        .post(
            batched,
            "/v1/domains/batch",
            json!({ "hostnames": hostnames("c", items) }),
        )
        .await;
    let second = started.elapsed();
    assert_eq!(result["created"], items);

    println!(
        "{items} hostnames on {}:",
        database.split('@').next_back().unwrap_or_default()
    );
    println!(
        "  baseline, one POST /v1/domains each: {}",
        rate(items, baseline)
    );
    println!(
        "  one batch, empty account:            {} = {:.2}x the baseline's rate",
        rate(items, first),
        baseline.as_secs_f64() / first.as_secs_f64()
    );
    println!(
        "  one batch, account of {items}:         {} = {:.2}x the first batch's time",
        rate(items, second),
        second.as_secs_f64() / first.as_secs_f64()
    );
    println!(
        "  webhook drain after the first batch: {outstanding} queued messages in {:.2} s ({:.0}/s)",
        drained.as_secs_f64(),
        outstanding as f64 / drained.as_secs_f64().max(1e-9)
    );
    running.stop().await;
}
