//! Workers KV calls within their share of the Cloudflare API limit
//! (`cloudflare_api::budget`, budget `cloudflare-kv`): every bulk write,
//! bulk delete and listing page takes one request from it first, shared by
//! every replica and every command (`republish --verify` lists through it
//! too). The publisher also waits for room before it takes a batch
//! ([`KvBackend::ready`]), so that during a mass onboarding the writes
//! queued while it waits share one request instead of each connect
//! spending one.
//!
//! A request that would wait longer than [`PATIENCE`] is not made: the call
//! fails as transient with `retry_after`, and the publisher retries then.
//! Waiting inside a bulk request is safe for fencing: the publisher's
//! heartbeat guards the whole call and drops it if the lease is lost.

use std::sync::Arc;
use std::time::Duration;

use super::kv_cloudflare::{chunk_puts, MAX_PAIRS_PER_REQUEST};
use super::{BoxFuture, KeyPage, KvBackend, KvError, KvPut};
use crate::cloudflare_api::budget::{CallBudget, Spent};
use crate::config::{KvSettings, Settings};
use crate::metrics::metrics;
use crate::store::outbox::Namespace;
use crate::store::Store;

/// The longest a call waits for the budget before it reports the wait.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A KV backend whose calls take from a shared budget.
pub struct Budgeted {
    inner: Arc<dyn KvBackend>,
    budget: CallBudget,
}

/// `backend` within the KV budget when it is Cloudflare's API
/// (`kv = "cloudflare"` and `cloudflare_kv_budget` > 0); as it is otherwise
/// (the local edge's copy of the API is not Cloudflare's).
pub fn within_budget(
    settings: &Settings,
    store: &Store,
    backend: Arc<dyn KvBackend>,
) -> Arc<dyn KvBackend> {
    let KvSettings::Cloudflare { .. } = settings.kv else {
        return backend;
    };
    match CallBudget::kv(store.clone(), settings.cloudflare_kv_budget) {
        Some(budget) => Arc::new(Budgeted::new(backend, budget)),
        None => backend,
    }
}

impl Budgeted {
    pub fn new(inner: Arc<dyn KvBackend>, budget: CallBudget) -> Budgeted {
        Budgeted { inner, budget }
    }

    /// Takes `requests` requests, one after the other.
    async fn take(&self, what: &str, requests: usize) -> Result<(), KvError> {
        for _ in 0..requests {
            self.take_one(what).await?;
        }
        Ok(())
    }

    async fn take_one(&self, what: &str) -> Result<(), KvError> {
        match self.budget.take(PATIENCE).await {
            Ok(()) => Ok(()),
            Err(Spent::Wait(wait)) => {
                metrics().cloudflare_budget_refused("kv");
                Err(KvError {
                    retry_after: Some(wait),
                    ..KvError::transient(format!(
                        "{what}: the Workers KV share of the Cloudflare API budget is spent for {} s",
                        wait.as_secs().max(1)
                    ))
                })
            }
            Err(Spent::Store(err)) => Err(KvError::transient(format!(
                "{what}: the Cloudflare API budget could not be read: {err}"
            ))),
        }
    }
}

impl KvBackend for Budgeted {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn ready(&self) -> BoxFuture<'_, Duration> {
        Box::pin(async move {
            match self.budget.wait_ready().await {
                Ok(waited) => waited,
                // The request itself reads the budget again and says why.
                Err(_) => Duration::ZERO,
            }
        })
    }

    fn put<'a>(
        &'a self,
        namespace: Namespace,
        pairs: &'a [KvPut],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        Box::pin(async move {
            // One request per chunk the client will send (one, unless the
            // batch's bytes exceed a request's).
            self.take("bulk write", chunk_puts(pairs).len()).await?;
            self.inner.put(namespace, pairs).await
        })
    }

    fn delete<'a>(
        &'a self,
        namespace: Namespace,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        Box::pin(async move {
            self.take("bulk delete", keys.len().div_ceil(MAX_PAIRS_PER_REQUEST))
                .await?;
            self.inner.delete(namespace, keys).await
        })
    }

    fn list<'a>(
        &'a self,
        namespace: Namespace,
        prefix: Option<&'a str>,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<KeyPage, KvError>> {
        Box::pin(async move {
            self.take("listing", 1).await?;
            self.inner.list(namespace, prefix, cursor).await
        })
    }
}
