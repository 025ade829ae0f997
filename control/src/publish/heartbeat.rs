//! The lease kept alive while a batch is out. A task of its own renews it
//! every third of its life, so one KV request may take longer than the lease
//! (up to the KV client's own timeout) while a crashed holder is still
//! replaced within one lease. Each renewal moves the deadline by which a
//! request must have landed to three quarters of the lease after the renewal
//! began: the last quarter covers clock skew between replicas and the
//! store's round trip. A request still out at its deadline is abandoned; a
//! renewal the store refuses (another replica took over) stops the batch.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, timeout, Instant};

use crate::store::lease::{self, Fence};
use crate::store::now_ms;

/// What the last renewal said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Beat {
    /// Ours until then (monotonic, this process).
    Until(Instant),
    /// Another replica holds the lease.
    Deposed,
}

/// Why a request was not let finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    /// Another replica took the lease.
    Deposed,
    /// No renewal reached the store in time (it is slow or unreachable):
    /// the request might land after another replica's.
    Expired,
}

/// A running heartbeat; stops when dropped.
pub struct Heartbeat {
    renewal: Arc<Renewal>,
    beats: watch::Receiver<Beat>,
    task: JoinHandle<()>,
}

/// What a renewal needs, shared by the task and the inline checks.
struct Renewal {
    pool: AnyPool,
    fence: Fence,
    lease: Duration,
    beats: watch::Sender<Beat>,
}

impl Renewal {
    /// Renews once; a refusal (another replica took over) is final, a
    /// failure leaves the deadline where it was.
    async fn beat(&self) {
        let began = Instant::now();
        let renewed = timeout(self.lease / 3, async {
            let mut conn = self.pool.acquire().await?;
            let ttl_ms = self.lease.as_millis() as i64;
            lease::renew(&mut conn, &self.fence, now_ms(), ttl_ms).await
        })
        .await;
        let next = match renewed {
            Ok(Ok(true)) => Beat::Until(began + share(self.lease)),
            Ok(Ok(false)) => Beat::Deposed,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "could not renew the publisher lease mid-batch");
                return;
            }
            Err(_) => {
                tracing::warn!("renewing the publisher lease mid-batch timed out");
                return;
            }
        };
        // The later deadline wins (renewals may overlap); deposed is final.
        self.beats.send_if_modified(|beat| match (*beat, next) {
            (Beat::Deposed, _) => false,
            (Beat::Until(old), Beat::Until(new)) if new <= old => false,
            _ => {
                *beat = next;
                true
            }
        });
    }

    fn deposed(&self) -> bool {
        *self.beats.borrow() == Beat::Deposed
    }
}

/// Three quarters of `lease`: how long after a renewal began a request may
/// still land.
fn share(lease: Duration) -> Duration {
    lease * 3 / 4
}

impl Heartbeat {
    /// Keeps `fence`'s lease alive; `taken_at` is when it was last taken or
    /// renewed (just before the caller's `acquire`).
    pub fn start(pool: AnyPool, fence: Fence, lease: Duration, taken_at: Instant) -> Heartbeat {
        let (tx, beats) = watch::channel(Beat::Until(taken_at + share(lease)));
        let renewal = Arc::new(Renewal {
            pool,
            fence,
            lease,
            beats: tx,
        });
        let task = tokio::spawn({
            let renewal = renewal.clone();
            async move {
                while !renewal.deposed() {
                    sleep(renewal.lease / 3).await;
                    renewal.beat().await;
                }
            }
        });
        Heartbeat {
            renewal,
            beats,
            task,
        }
    }

    /// Renews now, before a request leaves: a deposed publisher stops
    /// before its next write, not only at the next beat.
    pub async fn check(&mut self) -> Result<(), Lost> {
        self.renewal.beat().await;
        match *self.beats.borrow_and_update() {
            Beat::Deposed => Err(Lost::Deposed),
            Beat::Until(until) if Instant::now() >= until => Err(Lost::Expired),
            Beat::Until(_) => Ok(()),
        }
    }

    /// Runs `request` while the lease holds: its output, or why it was cut
    /// short (then it is dropped, and with it the connection it used).
    pub async fn guard<T>(&mut self, request: impl Future<Output = T>) -> Result<T, Lost> {
        tokio::pin!(request);
        loop {
            let until = match *self.beats.borrow_and_update() {
                Beat::Deposed => return Err(Lost::Deposed),
                Beat::Until(until) => until,
            };
            if Instant::now() >= until {
                return Err(Lost::Expired);
            }
            tokio::select! {
                biased;
                out = &mut request => return Ok(out),
                changed = self.beats.changed() => {
                    if changed.is_err() {
                        // Every sender is gone (cannot happen while `self`
                        // holds one): no later renewal comes.
                        return tokio::select! {
                            out = &mut request => Ok(out),
                            _ = sleep_until(until) => Err(Lost::Expired),
                        };
                    }
                }
                _ = sleep_until(until) => {}
            }
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
