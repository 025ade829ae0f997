//! Publishing: the outbox drained, in batches and in order, to a KV backend.
//!
//! Guarantees: a row leaves the outbox only after the backend acknowledged
//! it, so a crash at any moment loses nothing and a restart re-sends (puts
//! and deletes are idempotent). Within a batch the last write of each key
//! wins and content goes before routing records, which may name it. One
//! replica publishes at a time (a lease in the store, renewed before every
//! batch), so two replicas never reorder the writes of one key.

pub mod defaults;
pub mod kv_cloudflare;
pub mod sync;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::retry::backoff;
use crate::store::outbox::{self, Namespace};
use crate::store::{new_id, now_ms, Store};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One key and its new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvPut {
    pub key: String,
    pub value: String,
}

/// A failed delivery. Every failure is retried (after `retry_after` when the
/// backend said so); `permanent` only says whether an operator must act
/// (bad credentials, a refused request) for the retries to succeed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct KvError {
    pub message: String,
    pub retry_after: Option<Duration>,
    pub permanent: bool,
}

/// Where KV writes go: Workers KV (or the local edge's copy of its API), or nowhere.
pub trait KvBackend: Send + Sync + 'static {
    fn name(&self) -> &'static str;
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
}

/// How long a lease lasts; a batch (a few requests of at most
/// `kv_cloudflare::REQUEST_TIMEOUT` each) must fit well inside it.
pub const LEASE_TTL: Duration = Duration::from_secs(60);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Nothing to deliver.
    Idle,
    /// Another replica holds the lease.
    NotLeader,
    /// Rows delivered and deleted.
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
    holder: String,
    batch_size: usize,
    poll_interval: Duration,
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
        Publisher {
            store,
            backend,
            holder: new_id("pub"),
            batch_size,
            poll_interval,
            wake,
        }
    }

    /// Delivers one batch, if this replica holds (or takes) the lease.
    pub async fn drain_once(&self) -> Result<Drained, PublishError> {
        let pool = self.store.pool();
        if !outbox::acquire_lease(pool, &self.holder, now_ms(), LEASE_TTL.as_millis() as i64)
            .await?
        {
            return Ok(Drained::NotLeader);
        }
        let rows = outbox::next_batch(pool, self.batch_size).await?;
        if rows.is_empty() {
            return Ok(Drained::Idle);
        }
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        // The last write of each key wins; BTreeMap keys sort Routes before Content.
        let mut last: BTreeMap<(Namespace, String), Option<String>> = BTreeMap::new();
        for row in rows {
            let Some(namespace) = Namespace::parse(&row.namespace) else {
                tracing::error!(
                    id = row.id,
                    namespace = row.namespace,
                    "outbox row of an unknown namespace: skipped"
                );
                continue;
            };
            let value = if row.op == "put" { row.value } else { None };
            last.insert((namespace, row.key), value);
        }
        // Content first: routing records may name it.
        for namespace in [Namespace::Content, Namespace::Routes] {
            let mut puts = Vec::new();
            let mut deletes = Vec::new();
            for ((ns, key), value) in &last {
                if *ns != namespace {
                    continue;
                }
                match value {
                    Some(value) => puts.push(KvPut {
                        key: key.clone(),
                        value: value.clone(),
                    }),
                    None => deletes.push(key.clone()),
                }
            }
            if !puts.is_empty() {
                self.backend.put(namespace, &puts).await?;
            }
            if !deletes.is_empty() {
                self.backend.delete(namespace, &deletes).await?;
            }
        }
        outbox::delete_delivered(pool, &ids).await?;
        tracing::debug!(
            rows = ids.len(),
            keys = last.len(),
            backend = self.backend.name(),
            "published"
        );
        Ok(Drained::Delivered(ids.len()))
    }

    /// Drains until `shutdown` turns true; a batch in flight is finished
    /// first. Retries with exponential backoff, honouring `Retry-After`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let wait = match self.drain_once().await {
                Ok(Drained::Delivered(_)) => {
                    failures = 0;
                    continue;
                }
                Ok(Drained::Idle) | Ok(Drained::NotLeader) => {
                    failures = 0;
                    self.poll_interval
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
                    let permanent = matches!(
                        &err,
                        PublishError::Kv(KvError {
                            permanent: true,
                            ..
                        })
                    );
                    if permanent {
                        tracing::error!(error = %err, retry_in_ms = delay.as_millis() as u64, attempt = failures, "publishing failed: an operator must fix this");
                    } else {
                        tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, attempt = failures, "publishing failed; will retry");
                    }
                    delay
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified(), if failures == 0 => {}
                _ = shutdown.changed() => {}
            }
        }
        self.release().await;
        tracing::info!("publisher stopped");
    }

    /// Gives up the lease (at shutdown), so another replica takes over at once.
    pub async fn release(&self) {
        if let Err(err) = outbox::release_lease(self.store.pool(), &self.holder).await {
            tracing::warn!(error = %err, "could not release the publisher lease; it expires by itself");
        }
    }
}
