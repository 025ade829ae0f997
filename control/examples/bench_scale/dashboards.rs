//! Simulated customer dashboards: each has its own account's API token and
//! polls `GET /v1/domains` every few seconds (first poll at a random moment
//! of the first interval, so the load is spread), round-robin over the
//! replicas. Every answer must be 200 with the account's domains, all
//! connected; latencies go into an HDR histogram.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::replicas::ADMIN;
use crate::world::Scale;

/// One read-only token per dashboard's account, made through the admin API.
pub async fn tokens(
    http: &reqwest::Client,
    apis: &[String],
    dashboards: usize,
) -> anyhow::Result<Vec<String>> {
    let permits = Arc::new(Semaphore::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    for account in 0..dashboards {
        let permit = permits.clone().acquire_owned().await?;
        let http = http.clone();
        let api = apis[account % apis.len()].clone();
        tasks.spawn(async move {
            let _permit = permit;
            let answer = http
                .post(format!(
                    "{api}/v1/accounts/{}/tokens",
                    Scale::account_id(account)
                ))
                .bearer_auth(ADMIN)
                .json(&json!({ "name": "dashboard", "scope": "read" }))
                .send()
                .await?;
            let status = answer.status();
            let body: Value = answer.json().await.unwrap_or_default();
            if status.as_u16() != 201 {
                bail!("a token for account {account}: {status} {body}");
            }
            let secret = body["secret"]
                .as_str()
                .context("a token without its secret")?;
            Ok::<_, anyhow::Error>((account, secret.to_string()))
        });
    }
    let mut tokens = vec![String::new(); dashboards];
    while let Some(made) = tasks.join_next().await {
        let (account, secret) = made??;
        tokens[account] = secret;
    }
    Ok(tokens)
}

pub struct Polled {
    /// Latency in microseconds of every answer.
    pub latency_us: Histogram<u64>,
    /// Answers that were not 200 with the expected domains (none in a good run).
    pub unexpected: usize,
    pub first_unexpected: Option<String>,
}

/// `tokens.len()` dashboards poll every `interval` for `duration`.
pub async fn poll(
    http: &reqwest::Client,
    apis: &[String],
    tokens: Vec<String>,
    scale: Scale,
    interval: Duration,
    duration: Duration,
) -> anyhow::Result<Polled> {
    let until = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for (account, token) in tokens.into_iter().enumerate() {
        let http = http.clone();
        let api = apis[account % apis.len()].clone();
        let expected = scale.domains_of(account);
        let offset = interval.mul_f64(rand::thread_rng().gen::<f64>());
        tasks.spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut unexpected = Vec::new();
            tokio::time::sleep(offset).await;
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while Instant::now() < until {
                ticks.tick().await;
                let started = Instant::now();
                let sent = http
                    .get(format!("{api}/v1/domains"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                let answer = match sent {
                    Ok(answer) => {
                        let status = answer.status();
                        answer.json::<Value>().await.map(|body| (status, body))
                    }
                    Err(err) => Err(err),
                };
                let took = started.elapsed();
                latency.saturating_record(took.as_micros() as u64);
                match answer {
                    Ok((status, body)) if status.is_success() => {
                        let domains = body["domains"].as_array().map(Vec::as_slice);
                        let fine = domains.is_some_and(|d| {
                            d.len() == expected && d.iter().all(|d| d["status"] == "connected")
                        });
                        if !fine {
                            unexpected.push(format!(
                                "account {account}: expected {expected} connected domains, got {body}"
                            ));
                        }
                    }
                    Ok((status, body)) => {
                        unexpected.push(format!("account {account}: {status} {body}"))
                    }
                    Err(err) => unexpected.push(format!("account {account}: {err}")),
                }
            }
            (latency, unexpected)
        });
    }
    let mut polled = Polled {
        latency_us: Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?,
        unexpected: 0,
        first_unexpected: None,
    };
    while let Some(done) = tasks.join_next().await {
        let (latency, unexpected) = done?;
        polled.latency_us.add(&latency)?;
        polled.unexpected += unexpected.len();
        if polled.first_unexpected.is_none() {
            polled.first_unexpected = unexpected.into_iter().next();
        }
    }
    Ok(polled)
}
