//! The publisher's settings (`PORTICO_PUBLISH_*`; the table is in
//! control/README.md).

use std::time::Duration;

use super::kv_cloudflare::{MAX_PAIRS_PER_REQUEST, MAX_REQUEST_BYTES};
use crate::config::{invalid, ConfigError, RawSettings};

/// As many as one bulk request takes: requests are what the API budget
/// counts (`publish::budgeted`), keys are free.
pub const DEFAULT_BATCH_SIZE: usize = MAX_PAIRS_PER_REQUEST;
/// Small enough for one bulk request to upload well inside the KV client's
/// 10 s timeout on a link of 10 Mbit/s or more.
pub const DEFAULT_BATCH_BYTES: usize = 4_000_000;
pub const DEFAULT_POLL_MS: u64 = 1000;
/// After a crash, another replica (or the restarted process) takes over
/// once the dead holder's lease runs out: within about 6 s. A live holder
/// renews it every third of its life, from a heartbeat while a batch is out,
/// so a slow but healthy KV request may take longer than the lease.
pub const DEFAULT_LEASE_MS: u64 = 5_000;
/// One hour: far above Workers KV's 60 s read cache and propagation plus the
/// publisher's retry backoff (at most 5 min), so no edge still serves a
/// record naming content once it is deleted (see `publish::gc`).
pub const DEFAULT_CONTENT_GC_DELAY_S: u64 = 3600;
/// Below KV's own 60 s caching a page could 404: never shorter than twice it.
pub const MIN_CONTENT_GC_DELAY_S: u64 = 120;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishSettings {
    /// Outbox rows per batch.
    pub batch_size: usize,
    /// Bytes of keys and values per batch (a larger single row goes alone).
    pub batch_bytes: usize,
    /// How often to look for rows other replicas queued.
    pub poll_interval: Duration,
    /// How long the publisher lease lasts unless renewed.
    pub lease_ttl: Duration,
    /// How long content stays in KV after no record names it.
    pub content_gc_delay: Duration,
}

impl Default for PublishSettings {
    fn default() -> PublishSettings {
        PublishSettings {
            batch_size: DEFAULT_BATCH_SIZE,
            batch_bytes: DEFAULT_BATCH_BYTES,
            poll_interval: Duration::from_millis(DEFAULT_POLL_MS),
            lease_ttl: Duration::from_millis(DEFAULT_LEASE_MS),
            content_gc_delay: Duration::from_secs(DEFAULT_CONTENT_GC_DELAY_S),
        }
    }
}

impl PublishSettings {
    pub fn resolve(raw: &RawSettings) -> Result<PublishSettings, ConfigError> {
        let batch_size = raw.publish_batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        if !(1..=MAX_PAIRS_PER_REQUEST).contains(&batch_size) {
            return Err(invalid("publish_batch_size", "expected 1 to 10000"));
        }
        let batch_bytes = raw.publish_batch_bytes.unwrap_or(DEFAULT_BATCH_BYTES);
        if !(1_000..=MAX_REQUEST_BYTES).contains(&batch_bytes) {
            return Err(invalid("publish_batch_bytes", "expected 1000 to 95000000"));
        }
        let lease_ms = raw.publish_lease_ms.unwrap_or(DEFAULT_LEASE_MS);
        if !(1_000..=60_000).contains(&lease_ms) {
            return Err(invalid("publish_lease_ms", "expected 1000 to 60000"));
        }
        Ok(PublishSettings {
            batch_size,
            batch_bytes,
            poll_interval: Duration::from_millis(
                raw.publish_poll_ms.unwrap_or(DEFAULT_POLL_MS).max(10),
            ),
            lease_ttl: Duration::from_millis(lease_ms),
            content_gc_delay: Duration::from_secs(
                raw.content_gc_delay_s
                    .unwrap_or(DEFAULT_CONTENT_GC_DELAY_S)
                    .max(MIN_CONTENT_GC_DELAY_S),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let settings = PublishSettings::resolve(&RawSettings::default()).unwrap();
        assert_eq!(settings, PublishSettings::default());
        assert_eq!(settings.lease_ttl, Duration::from_secs(5));
        for raw in [
            RawSettings {
                publish_batch_size: Some(10_001),
                ..Default::default()
            },
            RawSettings {
                publish_batch_bytes: Some(100_000_000),
                ..Default::default()
            },
            RawSettings {
                publish_lease_ms: Some(500),
                ..Default::default()
            },
        ] {
            assert!(PublishSettings::resolve(&raw).is_err());
        }
        let raw = RawSettings::default()
            .overlay_env(
                &[
                    ("PORTICO_PUBLISH_LEASE_MS", "2000"),
                    ("PORTICO_PUBLISH_BATCH_BYTES", "50000"),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            )
            .unwrap();
        let settings = PublishSettings::resolve(&raw).unwrap();
        assert_eq!(settings.lease_ttl, Duration::from_secs(2));
        assert_eq!(settings.batch_bytes, 50_000);
    }
}
