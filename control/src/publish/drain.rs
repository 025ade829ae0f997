//! One batch, fenced: take (or keep) the lease, plan the oldest rows, send
//! each bulk request only after the store confirmed the lease is still
//! ours, split a request KV refuses for its content until the refused
//! writes are found (parked, so they block nothing), and settle the batch
//! in one transaction that checks the lease's token again.

use std::time::Duration;

use tokio::time::Instant;

use super::batch::{self, Pending, Plan, Write};
use super::{Drained, KvError, KvFailure, KvPut, PublishError, Publisher};
use crate::store::lease::{self, Fence};
use crate::store::now_ms;
use crate::store::outbox::{self, Op, Settlement};
use crate::store::parked::{self, Refused};

/// Why sending a request stopped the batch.
enum Stop {
    Deposed,
    Failed(PublishError),
}

impl From<sqlx::Error> for Stop {
    fn from(err: sqlx::Error) -> Stop {
        Stop::Failed(PublishError::Store(err))
    }
}

impl Publisher {
    /// Delivers one batch, if this replica holds (or takes) the lease.
    pub async fn drain_once(&self) -> Result<Drained, PublishError> {
        let pool = self.store.pool();
        let Some(fence) = lease::acquire(pool, &self.holder, now_ms(), self.lease_ms()).await?
        else {
            return Ok(Drained::NotLeader);
        };
        let queued = outbox::next_batch(pool, self.settings.batch_size).await?;
        let max_bytes = self.settings.batch_bytes;
        let taken = batch::rows_that_fit(queued.iter().map(|row| row.payload_bytes), max_bytes);
        let queued = &queued[..taken];
        let used: i64 = queued.iter().map(|row| row.payload_bytes).sum();
        let room = self.settings.batch_size - taken;
        let mut retries = if room > 0 {
            parked::retries(pool, room).await?
        } else {
            Vec::new()
        };
        // Retries fill what room the outbox left (all of it when the outbox is empty).
        let fit = if taken == 0 {
            batch::rows_that_fit(retries.iter().map(|r| r.payload_bytes()), max_bytes)
        } else {
            batch::more_that_fit(
                retries.iter().map(|r| r.payload_bytes()),
                max_bytes.saturating_sub(used as usize),
            )
        };
        retries.truncate(fit);
        if queued.is_empty() && retries.is_empty() {
            return Ok(Drained::Idle);
        }

        let put_ids: Vec<i64> = queued
            .iter()
            .filter(|row| matches!(row.write, Some((_, Op::Put))))
            .map(|row| row.id)
            .collect();
        let mut values = outbox::values(pool, &put_ids).await?;
        let mut unreadable = Vec::new();
        let mut pending = Vec::with_capacity(queued.len() + retries.len());
        for row in queued {
            let Some((namespace, op)) = row.write else {
                tracing::error!(
                    id = row.id,
                    key = row.key,
                    "outbox row of an unknown namespace or op: skipped"
                );
                unreadable.push(row.id);
                continue;
            };
            pending.push(Pending {
                id: row.id,
                namespace,
                key: row.key.clone(),
                value: match op {
                    Op::Put => Some(values.remove(&row.id).unwrap_or_default()),
                    Op::Delete => None,
                },
                in_outbox: true,
            });
        }
        pending.extend(retries.into_iter().map(|retry| Pending {
            id: retry.outbox_id,
            namespace: retry.namespace,
            key: retry.key,
            value: retry.value,
            in_outbox: false,
        }));
        let plan = Plan::new(pending);

        let mut delivered: Vec<&Write> = Vec::new();
        let mut refused: Vec<(&Write, String)> = Vec::new();
        let mut failure = None;
        'requests: for request in plan.requests() {
            // Depth first, first half first: a refused request is split in two.
            let mut parts = vec![request];
            while let Some(part) = parts.pop() {
                match self.send(&fence, part).await {
                    Ok(()) => delivered.extend(part),
                    Err(Stop::Deposed) => {
                        tracing::warn!(
                            token = fence.token,
                            "another replica took the publisher lease: stopped mid-batch"
                        );
                        return Ok(Drained::Deposed);
                    }
                    Err(Stop::Failed(PublishError::Kv(err))) if err.kind == KvFailure::Content => {
                        if let [write] = part {
                            tracing::error!(namespace = write.namespace.binding(), key = write.key, error = %err, "KV refused a write for good: parked");
                            refused.push((write, err.message));
                        } else {
                            let (first, second) = part.split_at(part.len() / 2);
                            parts.push(second);
                            parts.push(first);
                        }
                    }
                    Err(Stop::Failed(err)) => {
                        failure = Some(err);
                        break 'requests;
                    }
                }
            }
        }

        // What was done is settled even when a later request failed.
        let mut settlement = Settlement {
            done_ids: unreadable,
            ..Settlement::default()
        };
        for write in &delivered {
            settlement.done_ids.extend(&write.row_ids);
            settlement
                .delivered
                .push((write.namespace, write.key.as_str()));
        }
        for (write, error) in &refused {
            settlement.done_ids.extend(&write.row_ids);
            settlement.refused.push(Refused {
                namespace: write.namespace,
                key: &write.key,
                outbox_id: write.id,
                op: write.op(),
                value: write.value.as_deref(),
                error,
            });
        }
        let retried = delivered
            .iter()
            .copied()
            .chain(refused.iter().map(|(write, _)| *write))
            .filter(|write| write.row_ids.is_empty())
            .count();
        let settled = settlement.done_ids.len() + retried;
        let nothing_done = settlement.done_ids.is_empty()
            && settlement.delivered.is_empty()
            && settlement.refused.is_empty();
        if !nothing_done
            && !outbox::settle(pool, &fence, now_ms(), self.lease_ms(), &settlement).await?
        {
            tracing::warn!(
                token = fence.token,
                "another replica took the publisher lease: nothing of this batch deleted"
            );
            return Ok(Drained::Deposed);
        }
        if let Some(err) = failure {
            return Err(err);
        }
        tracing::debug!(
            rows = settlement.done_ids.len(),
            keys = plan.writes().len(),
            parked = refused.len(),
            backend = self.backend.name(),
            "published"
        );
        Ok(Drained::Delivered(settled))
    }

    /// How long one KV request may take: well inside the lease it was sent
    /// under, so it cannot land after another replica took over (the margin
    /// covers clock skew between replicas and the store's round trip).
    fn request_budget(&self) -> Duration {
        self.settings.lease_ttl * 3 / 4
    }

    /// Sends one bulk request, after renewing the lease under `fence`.
    async fn send(&self, fence: &Fence, writes: &[Write]) -> Result<(), Stop> {
        let started = Instant::now();
        {
            let mut conn = self.store.pool().acquire().await?;
            if !lease::renew(&mut conn, fence, now_ms(), self.lease_ms()).await? {
                return Err(Stop::Deposed);
            }
        }
        let Some(budget) = self.request_budget().checked_sub(started.elapsed()) else {
            return Err(Stop::Failed(
                KvError::transient("the lease check took the whole request budget").into(),
            ));
        };
        let namespace = writes[0].namespace;
        let sent = match writes[0].op() {
            Op::Put => {
                let pairs: Vec<KvPut> = writes
                    .iter()
                    .map(|w| KvPut {
                        key: w.key.clone(),
                        value: w.value.clone().unwrap_or_default(),
                    })
                    .collect();
                tokio::time::timeout(budget, self.backend.put(namespace, &pairs)).await
            }
            Op::Delete => {
                let keys: Vec<String> = writes.iter().map(|w| w.key.clone()).collect();
                tokio::time::timeout(budget, self.backend.delete(namespace, &keys)).await
            }
        };
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(Stop::Failed(err.into())),
            Err(_) => Err(Stop::Failed(
                KvError::transient(format!(
                    "a bulk request to {} took over {} ms, its share of the lease: abandoned",
                    namespace.binding(),
                    budget.as_millis()
                ))
                .into(),
            )),
        }
    }
}
