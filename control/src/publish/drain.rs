//! One batch, fenced: wait for room in the KV backend's API budget, take
//! (or keep) the lease, keep it alive with a heartbeat while the batch is
//! out, plan the oldest rows, renew before each bulk request and let it run
//! only while the lease is known to be ours, split a request KV refuses for
//! its content until the refused writes are found (parked, so they block
//! nothing), and settle the batch in one transaction that checks the
//! lease's token again.

use tokio::time::Instant;

use super::batch::{self, Pending, Plan, Write};
use super::heartbeat::{Heartbeat, Lost};
use super::{Drained, KvError, KvFailure, KvPut, PublishError, Publisher};
use crate::store::lease;
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

/// The rows and parked writes a batch takes.
struct Taken {
    pending: Vec<Pending>,
    /// Rows of a namespace or op this version does not know: dropped.
    unreadable: Vec<i64>,
    /// Whether anything was parked when the batch began.
    any_parked: bool,
}

/// What sending a batch came to.
#[derive(Default)]
struct Sent<'p> {
    delivered: Vec<&'p Write>,
    refused: Vec<(&'p Write, String)>,
    /// The failure that stopped the batch before its end.
    failure: Option<PublishError>,
}

impl Publisher {
    /// Delivers one batch, if this replica holds (or takes) the lease.
    pub async fn drain_once(&self) -> Result<Drained, PublishError> {
        let pool = self.store.pool();
        // Room in the API budget first, before the batch is taken: what is
        // queued while this waits goes out in the same request.
        self.backend.ready().await;
        let taken_at = Instant::now();
        let Some(fence) = lease::acquire(pool, &self.holder, now_ms(), self.lease_ms()).await?
        else {
            return Ok(Drained::NotLeader);
        };
        let Some(taken) = self.take_batch().await? else {
            return Ok(Drained::Idle);
        };
        let plan = Plan::new(taken.pending);
        let mut heartbeat = Heartbeat::start(
            pool.clone(),
            fence.clone(),
            self.settings.lease_ttl,
            taken_at,
        );
        let sent = self.send_plan(&mut heartbeat, &plan).await;
        drop(heartbeat);
        let Some(sent) = sent else {
            tracing::warn!(
                token = fence.token,
                "another replica took the publisher lease: stopped mid-batch"
            );
            return Ok(Drained::Deposed);
        };

        // What was done is settled even when a later request failed.
        let mut settlement = Settlement {
            done_ids: taken.unreadable,
            ..Settlement::default()
        };
        for write in sent.delivered.iter().filter(|w| !w.interim) {
            settlement.done_ids.extend(&write.row_ids);
            if taken.any_parked {
                settlement
                    .delivered
                    .push((write.namespace, write.key.as_str()));
            }
        }
        for (write, error) in sent.refused.iter().filter(|(w, _)| !w.interim) {
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
        // Parked writes sent again settle no outbox row, but count as work done.
        let retried = sent
            .delivered
            .iter()
            .copied()
            .chain(sent.refused.iter().map(|(write, _)| *write))
            .filter(|write| write.row_ids.is_empty() && !write.interim)
            .count();
        let settled = settlement.done_ids.len() + retried;
        if settled > 0
            && !outbox::settle(pool, &fence, now_ms(), self.lease_ms(), &settlement).await?
        {
            tracing::warn!(
                token = fence.token,
                "another replica took the publisher lease: nothing of this batch deleted"
            );
            return Ok(Drained::Deposed);
        }
        if let Some(err) = sent.failure {
            return Err(err);
        }
        tracing::debug!(
            rows = settlement.done_ids.len(),
            keys = plan.writes().len(),
            parked = sent.refused.len(),
            backend = self.backend.name(),
            "published"
        );
        Ok(Drained::Delivered(settled))
    }

    /// The oldest rows that fit the batch (count and bytes), with their
    /// values, and parked writes an admin asked to retry if room is left;
    /// `None` when there is nothing to send.
    async fn take_batch(&self) -> Result<Option<Taken>, sqlx::Error> {
        let pool = self.store.pool();
        let queued = outbox::next_batch(pool, self.settings.batch_size).await?;
        let max_bytes = self.settings.batch_bytes;
        let taken = batch::rows_that_fit(queued.iter().map(|row| row.payload_bytes), max_bytes);
        let queued = &queued[..taken];
        let used: i64 = queued.iter().map(|row| row.payload_bytes).sum();
        let room = self.settings.batch_size - taken;
        // Only this publisher parks, so none can appear while the batch runs.
        let any_parked = parked::count(pool).await? > 0;
        let mut retries = if any_parked && room > 0 {
            parked::retries(pool, room).await?
        } else {
            Vec::new()
        };
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
            return Ok(None);
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
        Ok(Some(Taken {
            pending,
            unreadable,
            any_parked,
        }))
    }

    /// Sends the plan's requests in order; a request refused for its content
    /// is split in halves (depth first) until the refused writes are alone.
    /// `None` as soon as the lease is found lost.
    async fn send_plan<'p>(&self, heartbeat: &mut Heartbeat, plan: &'p Plan) -> Option<Sent<'p>> {
        let mut sent = Sent::default();
        for request in plan.requests() {
            let mut parts = vec![request];
            while let Some(part) = parts.pop() {
                match self.send(heartbeat, part).await {
                    Ok(()) => sent.delivered.extend(part),
                    Err(Stop::Deposed) => return None,
                    Err(Stop::Failed(PublishError::Kv(err))) if err.kind == KvFailure::Content => {
                        if let [write] = part {
                            tracing::error!(namespace = write.namespace.binding(), key = write.key, error = %err, "KV refused a write for good: parked");
                            sent.refused.push((write, err.message));
                        } else {
                            let (first, second) = part.split_at(part.len() / 2);
                            parts.push(second);
                            parts.push(first);
                        }
                    }
                    Err(Stop::Failed(err)) => {
                        sent.failure = Some(err);
                        return Some(sent);
                    }
                }
            }
        }
        Some(sent)
    }

    /// Sends one bulk request after renewing the lease, and lets it run
    /// while `heartbeat` says the lease is ours.
    async fn send(&self, heartbeat: &mut Heartbeat, writes: &[Write]) -> Result<(), Stop> {
        let namespace = writes[0].namespace;
        let checked = heartbeat.check().await;
        let sent = match (checked, writes[0].op()) {
            (Err(lost), _) => Err(lost),
            (Ok(()), Op::Put) => {
                let pairs: Vec<KvPut> = writes
                    .iter()
                    .map(|w| KvPut {
                        key: w.key.clone(),
                        value: w.value.clone().unwrap_or_default(),
                    })
                    .collect();
                heartbeat.guard(self.backend.put(namespace, &pairs)).await
            }
            (Ok(()), Op::Delete) => {
                let keys: Vec<String> = writes.iter().map(|w| w.key.clone()).collect();
                heartbeat.guard(self.backend.delete(namespace, &keys)).await
            }
        };
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(Stop::Failed(err.into())),
            Err(Lost::Deposed) => Err(Stop::Deposed),
            Err(Lost::Expired) => Err(Stop::Failed(
                KvError::transient(format!(
                    "the publisher lease could not be renewed in time for a bulk request to {}: abandoned",
                    namespace.binding(),
                ))
                .into(),
            )),
        }
    }
}
