//! Delivery: claim due messages (the oldest pending one per endpoint and
//! domain, so each domain's messages arrive in order), POST each, signed,
//! with a 10 s timeout and no redirects, to an address the outbound rules
//! allow, record the attempt, and schedule the retry. A claim lasts longer
//! than an attempt can, so no two replicas send one message at once; a
//! replica that dies mid-attempt leaves the claim to expire, and the message
//! is sent again with the same `webhook-id` (at least once).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::settings::WebhookSettings;
use super::sign::{signature_header, Secret};
use crate::metrics::metrics;
use crate::store::events::{self, EventKind};
use crate::store::webhooks::{self, After, AttemptRecord, Claimed};
use crate::store::{new_id, now_ms, rfc3339};
use crate::unit::Units;
use crate::verify::outbound::Outbound;

/// Messages claimed at once.
const CLAIM_BATCH: i64 = 64;
/// How much of an answer the delivery log keeps.
const RESPONSE_EXCERPT: usize = 1024;
/// How often endpoints failing for too long are looked for.
const DISABLE_SWEEP: Duration = Duration::from_secs(60);

/// Resolves endpoint hosts, keeping only addresses the outbound rules allow.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|addr| Outbound { allow_private }.permits(addr.ip()))
                .collect();
            if allowed.is_empty() {
                let why = if found.is_empty() {
                    format!("{host} has no address")
                } else {
                    format!("{host} resolves only to private or reserved addresses")
                };
                return Err(why.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Sends queued messages.
#[derive(Clone)]
pub struct Deliverer {
    units: Units,
    http: reqwest::Client,
    settings: WebhookSettings,
    replica: String,
    wake: Arc<Notify>,
}

impl Deliverer {
    pub fn new(units: Units, settings: WebhookSettings, wake: Arc<Notify>) -> Deliverer {
        let http = reqwest::Client::builder()
            .timeout(settings.attempt_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Portico-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: settings.allow_private,
            }))
            .no_proxy()
            .build()
            .expect("the webhook client builds");
        Deliverer {
            units,
            http,
            settings,
            replica: new_id("whd"),
            wake,
        }
    }

    /// Delivers until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut swept = Instant::now();
        while !*stop.borrow() {
            let sent = match self.deliver_once().await {
                Ok(sent) => sent,
                Err(err) => {
                    tracing::warn!(error = %err, "webhook delivery could not read the store");
                    0
                }
            };
            if swept.elapsed() >= DISABLE_SWEEP {
                swept = Instant::now();
                if let Err(err) = self.disable_failing(now_ms()).await {
                    tracing::warn!(error = %err, "could not switch off failing webhook endpoints");
                }
            }
            if sent == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = self.wake.notified() => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Claims what is due and sends it; how many attempts were made.
    pub async fn deliver_once(&self) -> Result<usize, sqlx::Error> {
        let now = now_ms();
        let claimed = webhooks::claim_due(
            self.units.store.pool(),
            &self.replica,
            now,
            now + self.settings.claim().as_millis() as i64,
            CLAIM_BATCH,
        )
        .await?;
        let count = claimed.len();
        let mut by_endpoint: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
        for message in claimed {
            by_endpoint
                .entry(message.endpoint_id.clone())
                .or_default()
                .push(message);
        }
        let mut tasks = JoinSet::new();
        for (_, messages) in by_endpoint {
            let limit = Arc::new(Semaphore::new(self.settings.concurrency_per_endpoint));
            for message in messages {
                let this = self.clone();
                let limit = limit.clone();
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    this.send(&message).await
                });
            }
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(err)) = done {
                tracing::warn!(error = %err, "could not record a webhook attempt");
            }
        }
        Ok(count)
    }

    /// One attempt, recorded (unless the claim was lost meanwhile).
    async fn send(&self, message: &Claimed) -> Result<(), sqlx::Error> {
        let started = Instant::now();
        let at = now_ms();
        let (status_code, response) = match self.post(message, at).await {
            Ok((status, excerpt)) => (Some(i64::from(status)), excerpt),
            Err(why) => (None, why),
        };
        metrics().webhook_attempt(status_code.and_then(|code| u16::try_from(code).ok()));
        let delivered = status_code.is_some_and(|code| (200..300).contains(&code));
        let after = if delivered {
            After::Delivered
        } else {
            let failed = message.attempts as usize + 1;
            let jitter = rand::thread_rng().gen_range(0.0..=1.0);
            match self.settings.retry_after(failed, jitter) {
                Some(wait) => After::RetryAt(at + wait.as_millis() as i64),
                None => After::Failed,
            }
        };
        let attempt = AttemptRecord {
            status_code,
            latency_ms: started.elapsed().as_millis() as i64,
            response,
            at,
        };
        let recorded = webhooks::record_attempt(
            self.units.store.pool(),
            &self.replica,
            message,
            &attempt,
            after,
        )
        .await?;
        if !recorded {
            tracing::warn!(
                message = message.message_id,
                "a webhook claim expired during its attempt; another replica sends it again"
            );
        }
        Ok(())
    }

    /// POSTs the message; the status and the first KiB of the answer, or
    /// why there was none.
    async fn post(&self, message: &Claimed, at: i64) -> Result<(u16, String), String> {
        let url = reqwest::Url::parse(&message.url).map_err(|err| format!("bad URL: {err}"))?;
        check_url(&url, &self.settings).map_err(|why| why.to_string())?;
        let timestamp = at / 1000;
        let mut secrets: Vec<Secret> = Secret::parse(&message.secret).into_iter().collect();
        if let (Some(previous), Some(until)) = (&message.previous_secret, message.previous_until) {
            if until > at {
                secrets.extend(Secret::parse(previous));
            }
        }
        let signature = signature_header(
            &secrets,
            &message.message_id,
            timestamp,
            message.payload.as_bytes(),
        );
        let answer = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &message.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.payload.clone())
            .send()
            .await
            .map_err(|err| describe(&err, self.settings.attempt_timeout))?;
        let status = answer.status().as_u16();
        let mut answer = answer;
        let mut excerpt = Vec::new();
        while excerpt.len() < RESPONSE_EXCERPT {
            match answer.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                _ => break,
            }
        }
        excerpt.truncate(RESPONSE_EXCERPT);
        Ok((status, String::from_utf8_lossy(&excerpt).into_owned()))
    }

    /// Switches off endpoints whose every attempt failed for longer than
    /// the setting, with an event in the account's activity that says so.
    pub async fn disable_failing(&self, now: i64) -> Result<usize, sqlx::Error> {
        let cutoff = now - self.settings.disable_after.as_millis() as i64;
        let failing = webhooks::failing_before(self.units.store.pool(), cutoff).await?;
        for endpoint in &failing {
            let since = endpoint.failing_since.unwrap_or(now);
            let reason = format!(
                "Every delivery to {} has failed since {}: it was switched off so that it stops \
                 piling up retries. Fix the endpoint, then enable it again; messages from while \
                 it was off can be sent again from its delivery log.",
                endpoint.url,
                rfc3339(since)
            );
            let mut row = endpoint.clone();
            row.enabled = 0;
            row.disabled_reason = Some(reason.clone());
            row.updated_at = now;
            self.units
                .run_at(now, &[endpoint.account_id.as_str()], async |unit| {
                    webhooks::update_endpoint(unit.conn(), &row).await?;
                    events::record(
                        unit.conn(),
                        &row.account_id,
                        EventKind::WebhookDisabled,
                        None,
                        None,
                        &reason,
                        now,
                    )
                    .await?;
                    Ok::<_, sqlx::Error>(())
                })
                .await?;
            tracing::warn!(
                endpoint = endpoint.id,
                "webhook endpoint switched off after failing for too long"
            );
        }
        Ok(failing.len())
    }
}

/// Why a URL breaks the outbound rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRefused {
    /// Not https (or http where allowed), or no host.
    Form(String),
    /// It names a private or reserved address.
    Forbidden(String),
}

impl std::fmt::Display for UrlRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlRefused::Form(why) | UrlRefused::Forbidden(why) => f.write_str(why),
        }
    }
}

/// The outbound rules an endpoint URL must meet: https (http only where
/// allowed), and, for an address literal, an allowed address (names are
/// checked as they resolve).
pub fn check_url(url: &reqwest::Url, settings: &WebhookSettings) -> Result<(), UrlRefused> {
    match url.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        "http" => {
            return Err(UrlRefused::Form(
                "only https:// endpoints are allowed".into(),
            ))
        }
        other => return Err(UrlRefused::Form(format!("`{other}:` is not an HTTP URL"))),
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return Err(UrlRefused::Form("the URL has no host".into())),
    };
    let outbound = Outbound {
        allow_private: settings.allow_private,
    };
    if let Some(class) = literal.and_then(|ip| outbound.refusal(ip)) {
        return Err(UrlRefused::Forbidden(format!(
            "{} is {}: webhooks are never sent there",
            url.host_str().unwrap_or_default(),
            class.describe()
        )));
    }
    Ok(())
}

/// What went wrong with a request, in a line.
fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    let mut text = if err.is_timeout() {
        format!("no answer within {} ms", timeout.as_millis())
    } else if err.is_connect() {
        "could not connect".to_string()
    } else {
        "the request failed".to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
