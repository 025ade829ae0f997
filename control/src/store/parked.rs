//! Parked writes: what Workers KV refused for what it carries, one row per
//! key (the newest refused write), out of the outbox so the key blocks
//! nothing else. Only the publisher parks and unparks (in its fenced
//! settlement); an admin may ask for a retry, which the publisher sends.

use sqlx::{AnyConnection, AnyPool};

use super::outbox::{placeholders, Namespace, Op};

/// A write to park (from the publisher's settlement).
#[derive(Debug, Clone)]
pub struct Refused<'a> {
    pub namespace: Namespace,
    pub key: &'a str,
    /// The outbox id of the refused write: the newest of its key in the batch.
    pub outbox_id: i64,
    pub op: Op,
    pub value: Option<&'a str>,
    /// KV's (or the client's) reason, for the operator.
    pub error: &'a str,
}

/// A parked write, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedRow {
    pub outbox_id: i64,
    pub namespace: Namespace,
    pub key: String,
    pub op: Op,
    pub payload_bytes: i64,
    pub error: String,
    /// How many times KV refused it.
    pub attempts: i64,
    pub parked_at: i64,
    pub retry_requested_at: Option<i64>,
}

type RawParked = (
    i64,
    String,
    String,
    String,
    i64,
    String,
    i64,
    i64,
    Option<i64>,
);

const COLUMNS: &str =
    "outbox_id, namespace, key, op, payload_bytes, error, attempts, parked_at, retry_requested_at";

fn parse(row: RawParked) -> Option<ParkedRow> {
    let (outbox_id, namespace, key, op, payload_bytes, error, attempts, parked_at, retry) = row;
    Some(ParkedRow {
        outbox_id,
        namespace: Namespace::parse(&namespace)?,
        key,
        op: Op::parse(&op)?,
        payload_bytes,
        error,
        attempts,
        parked_at,
        retry_requested_at: retry,
    })
}

/// Parks a refused write, unless a newer write of its key is parked already.
pub async fn park(
    conn: &mut AnyConnection,
    refused: &Refused<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let payload_bytes = refused.key.len() + refused.value.map_or(0, str::len);
    sqlx::query(
        "INSERT INTO outbox_parked (namespace, key, outbox_id, op, value, payload_bytes, error, \
         attempts, parked_at, retry_requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, NULL) \
         ON CONFLICT (namespace, key) DO UPDATE SET outbox_id = excluded.outbox_id, \
         op = excluded.op, value = excluded.value, payload_bytes = excluded.payload_bytes, \
         error = excluded.error, attempts = outbox_parked.attempts + 1, \
         parked_at = excluded.parked_at, retry_requested_at = NULL \
         WHERE outbox_parked.outbox_id <= excluded.outbox_id",
    )
    .bind(refused.namespace.as_str())
    .bind(refused.key)
    .bind(refused.outbox_id)
    .bind(refused.op.as_str())
    .bind(refused.value)
    .bind(payload_bytes as i64)
    .bind(refused.error)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Drops the parked writes of keys whose newer write KV acknowledged. Every
/// outbox row of a parked key is newer than the parked write (the batch
/// that parked it took all older ones), so the key alone decides.
pub async fn unpark(
    conn: &mut AnyConnection,
    delivered: &[(Namespace, &str)],
) -> Result<(), sqlx::Error> {
    for namespace in [Namespace::Content, Namespace::Routes] {
        let keys: Vec<&str> = delivered
            .iter()
            .filter(|(ns, _)| *ns == namespace)
            .map(|(_, key)| *key)
            .collect();
        for chunk in keys.chunks(500) {
            let sql = format!(
                "DELETE FROM outbox_parked WHERE namespace = $1 AND key IN ({})",
                placeholders(chunk.len(), 1)
            );
            let mut query = sqlx::query(&sql).bind(namespace.as_str());
            for key in chunk {
                query = query.bind(*key);
            }
            query.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// A parked write an admin asked to send again, with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryRow {
    pub outbox_id: i64,
    pub namespace: Namespace,
    pub key: String,
    pub op: Op,
    pub value: Option<String>,
}

impl RetryRow {
    pub fn payload_bytes(&self) -> i64 {
        (self.key.len() + self.value.as_ref().map_or(0, String::len)) as i64
    }
}

/// Parked writes to send again (oldest first), at most `limit`.
pub async fn retries(pool: &AnyPool, limit: usize) -> Result<Vec<RetryRow>, sqlx::Error> {
    let rows: Vec<(i64, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT outbox_id, namespace, key, op, value FROM outbox_parked \
         WHERE retry_requested_at IS NOT NULL ORDER BY outbox_id LIMIT $1",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(outbox_id, namespace, key, op, value)| {
            Some(RetryRow {
                outbox_id,
                namespace: Namespace::parse(&namespace)?,
                key,
                op: Op::parse(&op)?,
                value,
            })
        })
        .collect())
}

/// The parked writes, oldest first, after the write `after`.
pub async fn list(pool: &AnyPool, after: i64, limit: i64) -> Result<Vec<ParkedRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox_parked WHERE outbox_id > $1 ORDER BY outbox_id LIMIT $2"
    );
    let rows: Vec<RawParked> = sqlx::query_as(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().filter_map(parse).collect())
}

pub async fn count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox_parked")
        .fetch_one(pool)
        .await?;
    Ok(count)
}

/// Asks the publisher to send one parked write again; `None` when there is
/// no such parked write (delivered since, or never parked).
pub async fn request_retry(
    pool: &AnyPool,
    outbox_id: i64,
    now: i64,
) -> Result<Option<ParkedRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE outbox_parked SET retry_requested_at = $2 WHERE outbox_id = $1 RETURNING {COLUMNS}"
    );
    let row: Option<RawParked> = sqlx::query_as(&sql)
        .bind(outbox_id)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    Ok(row.and_then(parse))
}

/// Asks the publisher to send every parked write again; how many.
pub async fn request_retry_all(pool: &AnyPool, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE outbox_parked SET retry_requested_at = $1")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
