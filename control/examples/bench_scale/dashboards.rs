//! Simulated customer dashboards: each has its own account's API token and
//! polls `GET /v1/domains` every few seconds (first poll at a random moment
//! of the first interval, so the load is spread), round-robin over the
//! replicas. Every answer must be 200 with the account's domains, in the
//! statuses [`Expect`] allows; latencies go into an HDR histogram. They
//! poll during the sweep (until told to stop) and after publishing (for a
//! set time).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};

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

/// What every answer must show of the account's domains.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// During the sweep: each `processing` or `connected`, as a customer
    /// watching a mass onboarding sees them move.
    ProcessingOrConnected,
    /// After it: all `connected`.
    Connected,
}

impl Expect {
    fn allows(self, status: &Value) -> bool {
        match self {
            Expect::ProcessingOrConnected => status == "processing" || status == "connected",
            Expect::Connected => status == "connected",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Expect::ProcessingOrConnected => "processing or connected",
            Expect::Connected => "connected",
        }
    }
}

/// When the dashboards stop polling.
#[derive(Debug, Clone)]
pub enum Until {
    /// Each dashboard polls while this moment has not passed (its last
    /// poll may start a tick after it).
    Deadline(Instant),
    /// Each stops as soon as `true` is sent (or the sender is dropped),
    /// without another poll; one under way is finished and counted.
    Stopped(watch::Receiver<bool>),
}

impl Until {
    /// Waits for `next` unless it is time to stop: false when it is.
    async fn wait(&mut self, next: impl Future<Output = ()>) -> bool {
        match self {
            Until::Deadline(at) => {
                if Instant::now() >= *at {
                    return false;
                }
                next.await;
                true
            }
            Until::Stopped(stop) => {
                tokio::select! {
                    biased;
                    _ = stop.wait_for(|stopped| *stopped) => false,
                    () = next => true,
                }
            }
        }
    }
}

pub struct Polled {
    /// Latency in microseconds of every answer.
    pub latency_us: Histogram<u64>,
    /// Answers that listed at least one domain still `processing`.
    pub processing: usize,
    /// Answers that were not 200 with the expected domains (none in a good run).
    pub unexpected: usize,
    pub first_unexpected: Option<String>,
}

/// `tokens.len()` dashboards poll every `interval` until `until`; every
/// answer is checked against `expect`.
pub async fn poll(
    http: &reqwest::Client,
    apis: &[String],
    tokens: Vec<String>,
    scale: Scale,
    interval: Duration,
    expect: Expect,
    until: Until,
) -> anyhow::Result<Polled> {
    let mut tasks = tokio::task::JoinSet::new();
    for (account, token) in tokens.into_iter().enumerate() {
        let http = http.clone();
        let api = apis[account % apis.len()].clone();
        let expected = scale.domains_of(account);
        let offset = interval.mul_f64(rand::thread_rng().gen::<f64>());
        let mut until = until.clone();
        tasks.spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut processing = 0;
            let mut unexpected = Vec::new();
            if !until.wait(tokio::time::sleep(offset)).await {
                return (latency, processing, unexpected);
            }
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while until
                .wait(async {
                    ticks.tick().await;
                })
                .await
            {
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
                            d.len() == expected && d.iter().all(|d| expect.allows(&d["status"]))
                        });
                        if !fine {
                            unexpected.push(format!(
                                "account {account}: expected {expected} domains, each {}, got {body}",
                                expect.describe()
                            ));
                        } else if domains
                            .is_some_and(|d| d.iter().any(|d| d["status"] == "processing"))
                        {
                            processing += 1;
                        }
                    }
                    Ok((status, body)) => {
                        unexpected.push(format!("account {account}: {status} {body}"))
                    }
                    Err(err) => unexpected.push(format!("account {account}: {err}")),
                }
            }
            (latency, processing, unexpected)
        });
    }
    let mut polled = Polled {
        latency_us: Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?,
        processing: 0,
        unexpected: 0,
        first_unexpected: None,
    };
    while let Some(done) = tasks.join_next().await {
        let (latency, processing, unexpected) = done?;
        polled.latency_us.add(&latency)?;
        polled.processing += processing;
        polled.unexpected += unexpected.len();
        if polled.first_unexpected.is_none() {
            polled.first_unexpected = unexpected.into_iter().next();
        }
    }
    Ok(polled)
}
