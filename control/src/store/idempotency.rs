//! Idempotency keys: a POST's first answer per (token, key), so a retry
//! gets it again instead of running twice.

use sqlx::AnyPool;

/// A kept answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `[[name, value], …]` as JSON.
    pub headers: String,
    pub body: String,
}

/// What a request finds under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nothing (or only an expired row): this request runs and owns the key.
    Mine,
    /// A request with this key is still running.
    InUse,
    /// The key was used for another request (method, path or body).
    Reused,
    /// The same request ran before: its answer.
    Replay(Answer),
}

/// How long rows live, and when a claim whose request never finished (a
/// crashed replica) may be taken over.
#[derive(Debug, Clone, Copy)]
pub struct Horizon {
    pub now: i64,
    pub kept_ms: i64,
    pub in_flight_ms: i64,
}

type Row = (String, Option<i64>, Option<String>, Option<String>, i64);

/// Claims `key` for this request, or says why not. Expired rows (of every
/// token) are pruned on the way.
pub async fn claim(
    pool: &AnyPool,
    token_id: &str,
    key: &str,
    fingerprint: &str,
    horizon: Horizon,
) -> Result<Claim, sqlx::Error> {
    let expired = horizon.now - horizon.kept_ms;
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(expired)
        .execute(pool)
        .await?;
    // Twice at most: a stale claim removed in between is claimed again.
    for _ in 0..2 {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (token_id, key, fingerprint, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(token_id)
        .bind(key)
        .bind(fingerprint)
        .bind(horizon.now)
        .execute(pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Mine);
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT fingerprint, status, headers, body, created_at FROM idempotency_keys \
             WHERE token_id = $1 AND key = $2",
        )
        .bind(token_id)
        .bind(key)
        .fetch_optional(pool)
        .await?;
        let Some((kept_fingerprint, status, headers, body, created_at)) = row else {
            continue;
        };
        let stale = status.is_none() && created_at < horizon.now - horizon.in_flight_ms;
        if created_at < expired || stale {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2 AND created_at = $3",
            )
            .bind(token_id)
            .bind(key)
            .bind(created_at)
            .execute(pool)
            .await?;
            continue;
        }
        return Ok(match status {
            None => Claim::InUse,
            Some(_) if kept_fingerprint != fingerprint => Claim::Reused,
            Some(status) => Claim::Replay(Answer {
                status: u16::try_from(status).unwrap_or(500),
                headers: headers.unwrap_or_default(),
                body: body.unwrap_or_default(),
            }),
        });
    }
    Ok(Claim::InUse)
}

/// Keeps the answer of the request that claimed `key`.
pub async fn keep(
    pool: &AnyPool,
    token_id: &str,
    key: &str,
    answer: &Answer,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $1, headers = $2, body = $3 \
         WHERE token_id = $4 AND key = $5",
    )
    .bind(i64::from(answer.status))
    .bind(&answer.headers)
    .bind(&answer.body)
    .bind(token_id)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives up a claim without an answer (a 5xx, or the request was dropped):
/// a retry runs again.
pub async fn release(pool: &AnyPool, token_id: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2 AND status IS NULL")
        .bind(token_id)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Marks `key` of `scope` spent; `false` when it already was. Uses the
/// idempotency table (kept 24 h, pruned by `claim`) with a finished row, so
/// a one-time value (Domain Connect's `state` nonce) is honoured once across
/// replicas. `scope` must not be a token id (`domain-connect` is not).
pub async fn spend(pool: &AnyPool, scope: &str, key: &str, now: i64) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (token_id, key, fingerprint, status, created_at) \
         VALUES ($1, $2, '', 0, $3) ON CONFLICT DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
