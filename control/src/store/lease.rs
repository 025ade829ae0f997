//! The publisher lease: one row naming the replica that may publish, until
//! when, and a fencing token bumped at every takeover. Expiry (replicas'
//! clocks) only decides when a replica may take over; what a publisher may
//! write is decided by the token, which the database compares exactly.

use sqlx::{AnyConnection, AnyPool};

/// The right to publish, as a replica took it: its holder id and the token
/// its writes are fenced with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub holder: String,
    pub token: i64,
}

/// Who holds the lease now, as the store says.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeaseRow {
    pub holder: Option<String>,
    pub token: i64,
    pub expires_at: i64,
}

/// Takes the lease (free, expired, or already `holder`'s) until
/// `now + ttl_ms`; the token is bumped unless `holder` already held it.
/// `None` when another holder's lease is still running.
pub async fn acquire(
    pool: &AnyPool,
    holder: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<Option<Fence>, sqlx::Error> {
    // Every right-hand side reads the row as it was before the update.
    let token: Option<(i64,)> = sqlx::query_as(
        "UPDATE publisher_lease SET \
         token = CASE WHEN holder = $1 THEN token ELSE token + 1 END, \
         holder = $1, expires_at = $2 \
         WHERE id = 1 AND (holder IS NULL OR holder = $1 OR expires_at < $3) \
         RETURNING token",
    )
    .bind(holder)
    .bind(now + ttl_ms)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(token.map(|(token,)| Fence {
        holder: holder.to_string(),
        token,
    }))
}

/// Extends the lease if `fence` still holds it; false once another replica
/// took over (whatever the clocks say).
pub async fn renew(
    conn: &mut AnyConnection,
    fence: &Fence,
    now: i64,
    ttl_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE publisher_lease SET expires_at = $3 WHERE id = 1 AND holder = $1 AND token = $2",
    )
    .bind(&fence.holder)
    .bind(fence.token)
    .bind(now + ttl_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the lease up (at shutdown), so another replica takes over at once.
pub async fn release(pool: &AnyPool, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE publisher_lease SET holder = NULL, expires_at = 0 WHERE id = 1 AND holder = $1",
    )
    .bind(holder)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn current(pool: &AnyPool) -> Result<LeaseRow, sqlx::Error> {
    sqlx::query_as("SELECT holder, token, expires_at FROM publisher_lease WHERE id = 1")
        .fetch_one(pool)
        .await
}
