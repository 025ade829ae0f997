//! Content garbage collection: `v1/c/<sha256>` keys no account's records
//! name any more are deleted from KV once they have been unnamed for
//! `content_gc_delay`, so the CONTENT namespace stops growing forever.
//!
//! Why a delay: an edge may still serve a routing record that names the
//! content after the store dropped it — until the new record is delivered
//! (outbox lag, retries with up to 5 minutes' backoff) and seen (Workers KV
//! caches reads for 60 s and propagates in about as long). The default, one
//! hour, is far above both, so a page served through an older record never
//! 404s. `sync_account` records which content each account names
//! (`kv_content_refs`) and marks content no account names
//! (`kv_published.unreferenced_since`); naming it again clears the mark.
//! The pass below deletes what stayed unnamed past the delay, through the
//! outbox, in a transaction fenced by the publisher's lease token.

use sqlx::AnyPool;

use crate::store::lease::{self, Fence};
use crate::store::outbox::{self, Namespace};

/// Deletes content unnamed since before `now - delay_ms`: enqueues its KV
/// delete and forgets it in `kv_published`. `None` when `fence` no longer
/// holds the lease (nothing written); else how many keys were collected.
pub async fn collect_content(
    pool: &AnyPool,
    fence: &Fence,
    now: i64,
    delay_ms: i64,
    lease_ms: i64,
) -> Result<Option<usize>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !lease::renew(&mut tx, fence, now, lease_ms).await? {
        return Ok(None);
    }
    let complete: Option<(i64,)> = sqlx::query_as("SELECT id FROM kv_content_refs_complete")
        .fetch_optional(&mut *tx)
        .await?;
    if complete.is_none() {
        tracing::info!("content collection waits for a full resync (`portico-control republish`)");
        return Ok(Some(0));
    }
    let cutoff = now - delay_ms;
    let expired: Vec<(String,)> = sqlx::query_as(
        "SELECT key FROM kv_published WHERE namespace = 'content' \
         AND unreferenced_since IS NOT NULL AND unreferenced_since <= $1 ORDER BY key LIMIT 1000",
    )
    .bind(cutoff)
    .fetch_all(&mut *tx)
    .await?;
    let mut collected = 0;
    for (key,) in expired {
        // Re-checked as it is deleted: a resync naming it again clears the mark.
        let done = sqlx::query(
            "DELETE FROM kv_published WHERE namespace = 'content' AND key = $1 \
             AND unreferenced_since IS NOT NULL AND unreferenced_since <= $2 \
             AND NOT EXISTS (SELECT 1 FROM kv_content_refs r WHERE r.key = $1)",
        )
        .bind(&key)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            outbox::enqueue_delete(&mut tx, Namespace::Content, &key, now).await?;
            collected += 1;
        }
    }
    tx.commit().await?;
    if collected > 0 {
        tracing::info!(collected, "unreferenced content queued for deletion");
    }
    Ok(Some(collected))
}
