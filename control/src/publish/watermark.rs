//! How far the outbox has drained, read once for every waiter of a
//! replica: a connect waits for its routing records to reach KV before the
//! customer is told `connected` (`lifecycle::scheduler`), and while the
//! publisher paces its requests to the API budget hundreds of connects can
//! be waiting at once. Each asking the store for its own keys every few
//! milliseconds would load the store the API needs; instead they share one
//! reading of the oldest row still queued, at most every [`FRESH_FOR`], and
//! ask for their own keys once that has moved past their rows.
//!
//! The publisher takes rows in id order, so once the oldest queued row is
//! newer than every row a change committed (`mark`, read after its
//! commit), that change's rows have left the outbox: delivered, or parked
//! (the waiter's own check, `store::checks::pending_routes`, still counts
//! those as pending).

use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::store::outbox;

/// How long one reading serves every waiter.
pub const FRESH_FOR: Duration = Duration::from_millis(50);

/// The oldest queued row's id as last read (shared by a replica's waiters).
#[derive(Debug, Default)]
pub struct Watermark {
    last: Mutex<Option<Reading>>,
}

#[derive(Debug, Clone, Copy)]
struct Reading {
    at: Instant,
    /// The oldest queued row's id; `None`: the outbox was empty.
    oldest: Option<i64>,
}

impl Watermark {
    /// Whether every row with an id up to `mark` has left the outbox, by a
    /// reading at most [`FRESH_FOR`] old (taken now if the last is older:
    /// one waiter reads while the others wait for its answer).
    pub async fn passed(&self, pool: &AnyPool, mark: i64) -> Result<bool, sqlx::Error> {
        let mut last = self.last.lock().await;
        let reading = match *last {
            Some(reading) if reading.at.elapsed() < FRESH_FOR => reading,
            _ => {
                let reading = Reading {
                    at: Instant::now(),
                    oldest: outbox::oldest_id(pool).await?,
                };
                *last = Some(reading);
                reading
            }
        };
        Ok(reading.oldest.is_none_or(|oldest| oldest > mark))
    }
}
