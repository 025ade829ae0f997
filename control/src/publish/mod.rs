//! Publishing: the outbox drained, in batches and in order, to a KV backend.
//!
//! Guarantees: a row leaves the outbox only after the backend acknowledged
//! it (or refused it for good: then it is parked, see `store::parked`), so a
//! crash at any moment loses nothing and a restart re-sends (puts and
//! deletes are idempotent). Within a batch the last write of each key wins
//! and content goes before routing records, which may name it. One replica
//! publishes at a time, fenced: it holds a short lease with a token bumped
//! at every takeover, renews it from a heartbeat while a batch is out, lets
//! a KV request run only while the last renewal says the lease is ours, and
//! deletes rows only in a transaction that finds the token unchanged. The
//! guarantees in full: docs/publishing.md.

pub mod batch;
pub mod budgeted;
pub mod defaults;
mod drain;
pub mod drift;
pub mod gc;
mod heartbeat;
pub mod kv_cloudflare;
pub mod settings;
pub mod sync;
pub mod watermark;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::metrics::{metrics, PublishOutcome};
use crate::retry::backoff;
use crate::store::lease;
use crate::store::outbox::Namespace;
use crate::store::{new_id, now_ms, Store};

pub use settings::PublishSettings;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One key and its new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvPut {
    pub key: String,
    pub value: String,
}

/// One key as a namespace listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    pub name: String,
    /// The metadata stored with the key, if any.
    pub metadata: Option<serde_json::Value>,
}

/// One page of a namespace listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPage {
    pub keys: Vec<ListedKey>,
    /// Where the next page starts; `None` on the last page.
    pub cursor: Option<String>,
}

/// Why a delivery failed, which decides what the publisher does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvFailure {
    /// Worth sending again as is (timeouts, 429, 5xx): retried with backoff.
    Transient,
    /// The setup is wrong (credentials, account, namespace): every write
    /// fails alike until an operator acts; retried with backoff.
    Setup,
    /// Refused for what the request carries (a key or value Workers KV does
    /// not take): the request is split to find the writes to park.
    Content,
}

/// A failed delivery.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct KvError {
    pub message: String,
    pub retry_after: Option<Duration>,
    pub kind: KvFailure,
}

impl KvError {
    pub fn transient(message: impl Into<String>) -> KvError {
        KvError {
            message: message.into(),
            retry_after: None,
            kind: KvFailure::Transient,
        }
    }

    /// Whether an operator must act (or the write be parked) for it to succeed.
    pub fn permanent(&self) -> bool {
        self.kind != KvFailure::Transient
    }
}

/// Where KV writes go: Workers KV (or the local edge's copy of its API), or nowhere.
pub trait KvBackend: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Waits until a request would be let out now (`budgeted::Budgeted`:
    /// the API budget has room) and says how long it waited; backends
    /// without a budget are always ready.
    fn ready(&self) -> BoxFuture<'_, Duration> {
        Box::pin(async { Duration::ZERO })
    }
    fn put<'a>(
        &'a self,
        namespace: Namespace,
        pairs: &'a [KvPut],
    ) -> BoxFuture<'a, Result<(), KvError>>;
    fn delete<'a>(
        &'a self,
        namespace: Namespace,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<(), KvError>>;
    /// One page of the namespace's keys (those starting with `prefix`),
    /// in lexicographic order, from `cursor` (`None`: the start). Backends
    /// that cannot list say so with a `Setup` error.
    fn list<'a>(
        &'a self,
        namespace: Namespace,
        _prefix: Option<&'a str>,
        _cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<KeyPage, KvError>> {
        let message = format!(
            "the {} KV backend cannot list the keys of {}",
            self.name(),
            namespace.binding()
        );
        Box::pin(async move {
            Err(KvError {
                message,
                retry_after: None,
                kind: KvFailure::Setup,
            })
        })
    }
}

/// Every key of a namespace starting with `prefix`, following the cursor
/// page by page.
pub async fn list_all(
    backend: &dyn KvBackend,
    namespace: Namespace,
    prefix: Option<&str>,
) -> Result<Vec<ListedKey>, KvError> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = backend.list(namespace, prefix, cursor.as_deref()).await?;
        keys.extend(page.keys);
        match page.cursor {
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
            Some(_) => {
                return Err(KvError::transient(
                    "the listing returned the same cursor twice",
                ))
            }
            None => return Ok(keys),
        }
    }
}

/// `kv = "none"`: drops every update with a log line (API-only use).
pub struct NoKv;

impl KvBackend for NoKv {
    fn name(&self) -> &'static str {
        "none"
    }

    fn put<'a>(
        &'a self,
        namespace: Namespace,
        pairs: &'a [KvPut],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        tracing::info!(
            namespace = namespace.binding(),
            count = pairs.len(),
            "kv = none: dropping puts"
        );
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(
        &'a self,
        namespace: Namespace,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        tracing::info!(
            namespace = namespace.binding(),
            count = keys.len(),
            "kv = none: dropping deletes"
        );
        Box::pin(async { Ok(()) })
    }

    fn list<'a>(
        &'a self,
        _namespace: Namespace,
        _prefix: Option<&'a str>,
        _cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<KeyPage, KvError>> {
        Box::pin(async {
            Err(KvError {
                message: "kv = none keeps no keys: there is nothing to list".into(),
                retry_after: None,
                kind: KvFailure::Setup,
            })
        })
    }
}

const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// How often the leader looks for content to collect.
const CONTENT_GC_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Nothing to deliver.
    Idle,
    /// Another replica holds the lease.
    NotLeader,
    /// Another replica took the lease during the batch: this one stopped
    /// before its next KV request and deleted nothing.
    Deposed,
    /// Rows delivered (or parked) and deleted, and parked writes retried.
    Delivered(usize),
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
    #[error("kv: {0}")]
    Kv(#[from] KvError),
}

/// Drains the outbox.
#[derive(Clone)]
pub struct Publisher {
    store: Store,
    backend: Arc<dyn KvBackend>,
    /// New for every process: a restarted one never mistakes the dead one's lease for its own.
    holder: String,
    settings: PublishSettings,
    wake: Arc<Notify>,
}

impl Publisher {
    pub fn new(
        store: Store,
        backend: Arc<dyn KvBackend>,
        batch_size: usize,
        poll_interval: Duration,
        wake: Arc<Notify>,
    ) -> Publisher {
        Publisher::with_settings(
            store,
            backend,
            PublishSettings {
                batch_size,
                poll_interval,
                ..PublishSettings::default()
            },
            wake,
        )
    }

    pub fn with_settings(
        store: Store,
        backend: Arc<dyn KvBackend>,
        settings: PublishSettings,
        wake: Arc<Notify>,
    ) -> Publisher {
        Publisher {
            store,
            backend,
            holder: new_id("pub"),
            settings,
            wake,
        }
    }

    /// This publisher's holder id in the lease.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    fn lease_ms(&self) -> i64 {
        self.settings.lease_ttl.as_millis() as i64
    }

    /// Drains until `shutdown` turns true; a batch in flight is finished
    /// first. Retries with exponential backoff, honouring `Retry-After`,
    /// and keeps its lease renewed meanwhile.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        let mut next_collection = Instant::now();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if Instant::now() >= next_collection {
                next_collection = Instant::now() + CONTENT_GC_INTERVAL;
                match self.collect_content(now_ms()).await {
                    Ok(Some(collected)) if collected > 0 => continue,
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "content collection failed; will retry")
                    }
                }
            }
            let drained = self.drain_once().await;
            match &drained {
                Ok(Drained::Delivered(rows)) => {
                    metrics().publish_pass(PublishOutcome::delivered, *rows)
                }
                Ok(Drained::Deposed) => metrics().publish_pass(PublishOutcome::deposed, 0),
                Ok(_) => {}
                Err(_) => metrics().publish_pass(PublishOutcome::failed, 0),
            }
            let (wait, mut leader) = match drained {
                Ok(Drained::Delivered(_)) => {
                    failures = 0;
                    continue;
                }
                Ok(drained) => {
                    failures = 0;
                    (self.settings.poll_interval, drained == Drained::Idle)
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    let delay = match &err {
                        PublishError::Kv(KvError {
                            retry_after: Some(after),
                            ..
                        }) => (*after).min(MAX_RETRY_AFTER),
                        _ => backoff(failures),
                    };
                    let permanent = matches!(&err, PublishError::Kv(kv) if kv.permanent());
                    if permanent {
                        tracing::error!(error = %err, retry_in_ms = delay.as_millis() as u64, attempt = failures, "publishing failed: an operator must fix this");
                    } else {
                        tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, attempt = failures, "publishing failed; will retry");
                    }
                    (delay, true)
                }
            };
            // Waits, renewing the lease every third of its life while it is ours.
            let until = Instant::now() + wait;
            loop {
                let renew_at = Instant::now() + self.settings.lease_ttl / 3;
                let next = if leader { until.min(renew_at) } else { until };
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {
                        if next >= until {
                            break;
                        }
                        leader = self.renew().await;
                    }
                    _ = self.wake.notified(), if failures == 0 => break,
                    _ = shutdown.changed() => break,
                }
            }
        }
        self.release().await;
        tracing::info!("publisher stopped");
    }

    /// One content collection pass (`publish::gc`) under this publisher's
    /// lease, with `now` in ms: `None` when another replica holds it.
    pub async fn collect_content(&self, now: i64) -> Result<Option<usize>, sqlx::Error> {
        let pool = self.store.pool();
        let Some(fence) = lease::acquire(pool, &self.holder, now_ms(), self.lease_ms()).await?
        else {
            return Ok(None);
        };
        gc::collect_content(
            pool,
            &fence,
            now,
            self.settings.content_gc_delay.as_millis() as i64,
            self.lease_ms(),
        )
        .await
    }

    /// Keeps (or retakes) the lease between batches; false when another replica holds it.
    async fn renew(&self) -> bool {
        match lease::acquire(self.store.pool(), &self.holder, now_ms(), self.lease_ms()).await {
            Ok(fence) => fence.is_some(),
            Err(err) => {
                tracing::warn!(error = %err, "could not renew the publisher lease");
                false
            }
        }
    }

    /// Gives up the lease (at shutdown), so another replica takes over at once.
    pub async fn release(&self) {
        if let Err(err) = lease::release(self.store.pool(), &self.holder).await {
            tracing::warn!(error = %err, "could not release the publisher lease; it expires by itself");
        }
    }
}
