//! Waiting for the local stack to do something, the way a customer or a
//! dashboard would notice it: polls with deadlines (generous, for a loaded
//! machine), each failing with the last thing it saw.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::client::{Account, Page, StackClient};
use crate::{Error, Result};

/// How long a step may take before the story fails: generous, for a loaded
/// machine; the goals (10 s on demand, 60 s in the background, 1 s to the
/// edge) are measured and reported, not waited for.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);
const EDGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Polls `probe` every `every` until it gives `Some`, or fails after `timeout`
/// with the last thing it saw.
pub async fn poll<T, F, Fut>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut probe: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match probe().await {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => String::new(),
            Err(seen) => seen,
        };
        if Instant::now() >= deadline {
            return Err(Error::msg(format!(
                "{what}: not within {timeout:?}; last seen: {last}"
            )));
        }
        tokio::time::sleep(every).await;
    }
}

pub async fn verify(client: &StackClient, account: &Account, domain_id: &str) -> Result<Value> {
    poll(
        "POST …/verify",
        CONNECT_TIMEOUT,
        Duration::from_millis(200),
        || async move {
            let answer = client
                .api(
                    Method::POST,
                    &format!("/v1/domains/{domain_id}/verify"),
                    &account.token,
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
            match answer.status {
                200 => Ok(Some(answer.body)),
                // A scheduled check of it is running: ask again.
                409 => Err(format!("409 {}", answer.body)),
                other => Err(format!("{other} {}", answer.body)),
            }
        },
    )
    .await
}

/// Polls the domain (as a dashboard would) until it is connected.
pub async fn wait_connected(
    client: &StackClient,
    account: &Account,
    domain_id: &str,
    since: Instant,
) -> Result<Duration> {
    poll(
        "connected by the background checks",
        CONNECT_TIMEOUT,
        Duration::from_millis(100),
        || async move {
            let answer = client
                .api(
                    Method::GET,
                    &format!("/v1/domains/{domain_id}"),
                    &account.token,
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
            if answer.body["status"] == "connected" {
                Ok(Some(since.elapsed()))
            } else {
                Err(format!("{} {}", answer.status, answer.body))
            }
        },
    )
    .await
}

/// Clicks "Check now" until it says connected.
pub async fn verify_until_connected(
    client: &StackClient,
    account: &Account,
    domain_id: &str,
    since: Instant,
) -> Result<Duration> {
    poll(
        "connected on demand",
        CONNECT_TIMEOUT,
        Duration::from_millis(100),
        || async move {
            let body = verify(client, account, domain_id)
                .await
                .map_err(|e| e.to_string())?;
            if body["status"] == "connected" {
                Ok(Some(since.elapsed()))
            } else {
                Err(body.to_string())
            }
        },
    )
    .await
}

/// GETs through the edge until `ok` holds (publishing is asynchronous).
pub async fn edge_until(
    client: &StackClient,
    host: &str,
    path: &str,
    ok: impl Fn(&Page) -> bool,
) -> Result<Page> {
    let ok = &ok;
    poll(
        &format!("http://{host}{path} at the edge"),
        EDGE_TIMEOUT,
        Duration::from_millis(20),
        || async move {
            let page = client
                .edge_get(host, path)
                .await
                .map_err(|e| e.to_string())?;
            if ok(&page) {
                Ok(Some(page))
            } else {
                Err(format!(
                    "{} {:?} {}",
                    page.status,
                    page.location,
                    page.body.chars().take(300).collect::<String>()
                ))
            }
        },
    )
    .await
}

pub fn check<'a>(report: &'a Value, name: &str) -> Result<&'a Value> {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .ok_or_else(|| Error::msg(format!("no `{name}` check in {report}")))
}
