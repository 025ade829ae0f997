//! The deliverer's settings (`PORTICO_WEBHOOK_*`; the table is in
//! control/README.md).

use std::time::Duration;

use crate::config::{invalid, ConfigError, RawSettings};

/// After the first attempt fails: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
/// (the schedule Standard Webhooks' authors use): the last attempt comes
/// 27 h 35 min after the first, so an endpoint down for a day still gets
/// every message.
pub const DEFAULT_RETRY_SCHEDULE_S: &[u64] = &[5, 300, 1800, 7200, 18000, 36000, 36000];
/// An endpoint whose every attempt failed for this long is switched off.
pub const DEFAULT_DISABLE_AFTER_S: u64 = 5 * 24 * 3600;
pub const DEFAULT_POLL_MS: u64 = 1000;
/// Attempts in flight to one endpoint at once, per replica.
pub const DEFAULT_CONCURRENCY_PER_ENDPOINT: usize = 4;
/// What receivers expect (Standard Webhooks' authors use 15 s at most).
pub const DEFAULT_ATTEMPT_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Plain `http://` endpoints allowed (development only).
    pub allow_http: bool,
    /// Endpoints at private, loopback or link-local addresses allowed (the
    /// verifier's `verify_allow_private_addresses`: one rule for every
    /// outbound request).
    pub allow_private: bool,
    /// The wait before each retry.
    pub retry_schedule: Vec<Duration>,
    pub disable_after: Duration,
    pub poll_interval: Duration,
    pub concurrency_per_endpoint: usize,
    /// How long one attempt may take; a claim lasts 5 s longer.
    pub attempt_timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> WebhookSettings {
        WebhookSettings {
            allow_http: false,
            allow_private: false,
            retry_schedule: DEFAULT_RETRY_SCHEDULE_S
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            disable_after: Duration::from_secs(DEFAULT_DISABLE_AFTER_S),
            poll_interval: Duration::from_millis(DEFAULT_POLL_MS),
            concurrency_per_endpoint: DEFAULT_CONCURRENCY_PER_ENDPOINT,
            attempt_timeout: Duration::from_millis(DEFAULT_ATTEMPT_TIMEOUT_MS),
        }
    }
}

impl WebhookSettings {
    pub fn resolve(raw: &RawSettings) -> Result<WebhookSettings, ConfigError> {
        let defaults = WebhookSettings::default();
        let retry_schedule = match &raw.webhook_retry_schedule_s {
            None => defaults.retry_schedule,
            Some(text) => text
                .split(',')
                .map(|part| part.trim().parse::<u64>().map(Duration::from_secs))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    invalid(
                        "webhook_retry_schedule_s",
                        "expected seconds separated by commas (`5,300,1800`)",
                    )
                })?,
        };
        Ok(WebhookSettings {
            allow_http: raw.webhook_allow_http.unwrap_or(raw.dev.unwrap_or(false)),
            allow_private: raw.verify_allow_private_addresses.unwrap_or(false),
            retry_schedule,
            disable_after: raw
                .webhook_disable_after_s
                .map(Duration::from_secs)
                .unwrap_or(defaults.disable_after),
            poll_interval: Duration::from_millis(
                raw.webhook_poll_ms.unwrap_or(DEFAULT_POLL_MS).max(10),
            ),
            concurrency_per_endpoint: DEFAULT_CONCURRENCY_PER_ENDPOINT,
            attempt_timeout: Duration::from_millis(
                raw.webhook_timeout_ms
                    .unwrap_or(DEFAULT_ATTEMPT_TIMEOUT_MS)
                    .clamp(100, 30_000),
            ),
        })
    }

    /// How long a claim on a message lasts: the attempt, then 5 s to
    /// record it. A replica that died mid-attempt is replaced after that.
    pub fn claim(&self) -> Duration {
        self.attempt_timeout + Duration::from_secs(5)
    }

    /// The wait before retry number `failed` (1 after the first failed
    /// attempt), up to 20 % longer (`jitter` from 0 to 1) so that many
    /// messages failed at once do not all come back at once, and never
    /// shorter, so the schedule's day is a floor; `None` once the schedule
    /// is exhausted.
    pub fn retry_after(&self, failed: usize, jitter: f64) -> Option<Duration> {
        let base = self.retry_schedule.get(failed.checked_sub(1)?)?;
        let factor = 1.0 + 0.2 * jitter.clamp(0.0, 1.0);
        Some(base.mul_f64(factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_cover_more_than_a_day_then_stop() {
        let settings = WebhookSettings::default();
        let total: Duration = (1..=7).map(|n| settings.retry_after(n, 0.0).unwrap()).sum();
        assert!(total > Duration::from_secs(24 * 3600), "{total:?}");
        assert_eq!(settings.retry_after(8, 0.0), None);
        assert_eq!(settings.retry_after(0, 0.0), None);
        assert_eq!(settings.retry_after(1, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(settings.retry_after(1, 1.0), Some(Duration::from_secs(6)));
    }
}
