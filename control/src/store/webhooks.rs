//! Webhook endpoints, the messages queued for them (written in the
//! transaction of the change that caused them) and every delivery attempt.

use sqlx::{AnyConnection, AnyPool};

use super::Position;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub account_id: String,
    pub url: String,
    pub description: String,
    /// Space-separated event types; `None`: every type.
    pub event_types: Option<String>,
    pub enabled: i64,
    pub disabled_reason: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl EndpointRow {
    pub fn wants(&self, event_type: &str) -> bool {
        self.enabled != 0
            && self
                .event_types
                .as_deref()
                .is_none_or(|types| types.split(' ').any(|t| t == event_type))
    }
}

const ENDPOINT_COLUMNS: &str = "id, account_id, url, description, event_types, enabled, \
     disabled_reason, secret, previous_secret, previous_until, failing_since, created_at, updated_at";

pub async fn insert_endpoint(
    conn: &mut AnyConnection,
    row: &EndpointRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.url)
    .bind(&row.description)
    .bind(&row.event_types)
    .bind(row.enabled)
    .bind(&row.disabled_reason)
    .bind(&row.secret)
    .bind(&row.previous_secret)
    .bind(row.previous_until)
    .bind(row.failing_since)
    .bind(row.created_at)
    .bind(row.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes every column of an endpoint the owner may change.
pub async fn update_endpoint(
    conn: &mut AnyConnection,
    row: &EndpointRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, \
         enabled = $6, disabled_reason = $7, secret = $8, previous_secret = $9, \
         previous_until = $10, failing_since = $11, updated_at = $12 \
         WHERE id = $1 AND account_id = $2",
    )
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.url)
    .bind(&row.description)
    .bind(&row.event_types)
    .bind(row.enabled)
    .bind(&row.disabled_reason)
    .bind(&row.secret)
    .bind(&row.previous_secret)
    .bind(row.previous_until)
    .bind(row.failing_since)
    .bind(row.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_endpoint(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<EndpointRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(conn)
    .await
}

pub async fn list_endpoints(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<EndpointRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await
}

pub async fn delete_endpoint(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    // Messages and attempts go with it (ON DELETE CASCADE needs SQLite's
    // foreign keys on; deleted explicitly so either way holds).
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE message IN \
         (SELECT id FROM webhook_messages WHERE endpoint_id = $1)",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM webhook_messages WHERE endpoint_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A message to queue for one endpoint.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub endpoint_id: &'a str,
    pub message_id: &'a str,
    pub event_type: &'a str,
    pub ordering_key: &'a str,
    pub payload: &'a str,
    pub now: i64,
}

pub async fn enqueue(
    conn: &mut AnyConnection,
    message: &NewMessage<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_messages (endpoint_id, message_id, event_type, ordering_key, \
         payload, created_at, state, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6)",
    )
    .bind(message.endpoint_id)
    .bind(message.message_id)
    .bind(message.event_type)
    .bind(message.ordering_key)
    .bind(message.payload)
    .bind(message.now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A claimed message, with what sending it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub endpoint_id: String,
    pub account_id: String,
    pub message_id: String,
    pub event_type: String,
    pub payload: String,
    pub attempts: i64,
    pub created_at: i64,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
}

/// Claims up to `limit` messages due now for `replica` until `until`: the
/// oldest pending message of each endpoint and ordering key only (in order
/// per domain), of enabled endpoints, not claimed by a live replica. The
/// claim's own conditions are re-checked on the row it updates, so two
/// replicas never claim one message at once.
pub async fn claim_due(
    pool: &AnyPool,
    replica: &str,
    now: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let ids: Vec<(i64,)> = sqlx::query_as(
        "UPDATE webhook_messages SET claimed_by = $1, claimed_until = $2 \
         WHERE state = 'pending' AND next_attempt_at <= $3 \
         AND (claimed_until IS NULL OR claimed_until < $3) \
         AND id IN (SELECT m.id FROM webhook_messages m \
             JOIN webhook_endpoints e ON e.id = m.endpoint_id AND e.enabled = 1 \
             WHERE m.state = 'pending' AND m.next_attempt_at <= $3 \
             AND (m.claimed_until IS NULL OR m.claimed_until < $3) \
             AND NOT EXISTS (SELECT 1 FROM webhook_messages o \
                 WHERE o.endpoint_id = m.endpoint_id AND o.ordering_key = m.ordering_key \
                 AND o.state = 'pending' AND o.id < m.id) \
             ORDER BY m.id LIMIT $4) \
         RETURNING id",
    )
    .bind(replica)
    .bind(until)
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids
        .iter()
        .map(|(id,)| id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query_as(&format!(
        "SELECT m.id, m.endpoint_id, e.account_id, m.message_id, m.event_type, m.payload, \
         m.attempts, m.created_at, e.url, e.secret, e.previous_secret, e.previous_until \
         FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id \
         WHERE m.id IN ({list}) AND m.claimed_by = $1 ORDER BY m.id"
    ))
    .bind(replica)
    .fetch_all(pool)
    .await
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub response: String,
    pub at: i64,
}

/// Where a message goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Delivered,
    RetryAt(i64),
    /// Retries exhausted.
    Failed,
}

/// Records an attempt by `replica` and moves the message on, if the claim
/// is still `replica`'s (a replica that lost it records nothing). Returns
/// whether it was recorded.
pub async fn record_attempt(
    pool: &AnyPool,
    replica: &str,
    claimed: &Claimed,
    attempt: &AttemptRecord,
    after: After,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (state, next, delivered_at) = match after {
        After::Delivered => ("delivered", attempt.at, Some(attempt.at)),
        After::RetryAt(at) => ("pending", at, None),
        After::Failed => ("failed", attempt.at, None),
    };
    let moved = sqlx::query(
        "UPDATE webhook_messages SET state = $3, attempts = attempts + 1, next_attempt_at = $4, \
         delivered_at = $5, claimed_by = NULL, claimed_until = NULL \
         WHERE id = $1 AND claimed_by = $2",
    )
    .bind(claimed.id)
    .bind(replica)
    .bind(state)
    .bind(next)
    .bind(delivered_at)
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO webhook_attempts (message, attempted_at, status_code, latency_ms, response) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(claimed.id)
    .bind(attempt.at)
    .bind(attempt.status_code)
    .bind(attempt.latency_ms)
    .bind(&attempt.response)
    .execute(&mut *tx)
    .await?;
    let failing_since = match after {
        After::Delivered => None,
        _ => Some(attempt.at),
    };
    sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = CASE WHEN $2 IS NULL THEN NULL \
         ELSE COALESCE(failing_since, $2) END WHERE id = $1",
    )
    .bind(&claimed.endpoint_id)
    .bind(failing_since)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Endpoints failing since before `cutoff` and still enabled.
pub async fn failing_before(pool: &AnyPool, cutoff: i64) -> Result<Vec<EndpointRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
         WHERE enabled = 1 AND failing_since IS NOT NULL AND failing_since < $1"
    ))
    .bind(cutoff)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub message_id: String,
    pub event_type: String,
    pub state: String,
    pub attempts: i64,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
}

/// A page of the account's endpoints, oldest first, after `after`.
pub async fn page_endpoints(
    pool: &AnyPool,
    account_id: &str,
    after: &Position,
    limit: i64,
) -> Result<Vec<EndpointRow>, sqlx::Error> {
    let select = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints");
    super::page_of(pool, &select, "", "created_at", account_id, after, limit).await
}

/// An endpoint's messages, newest first, below `before` (an id).
pub async fn list_messages(
    pool: &AnyPool,
    endpoint_id: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, message_id, event_type, state, attempts, created_at, next_attempt_at, \
         delivered_at FROM webhook_messages WHERE endpoint_id = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3",
    )
    .bind(endpoint_id)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub message: i64,
    pub attempted_at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub response: String,
}

/// The attempts of these messages, oldest first.
pub async fn attempts_of(pool: &AnyPool, messages: &[i64]) -> Result<Vec<AttemptRow>, sqlx::Error> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let list = messages
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query_as(&format!(
        "SELECT message, attempted_at, status_code, latency_ms, response FROM webhook_attempts \
         WHERE message IN ({list}) ORDER BY id"
    ))
    .fetch_all(pool)
    .await
}

/// Queues a message of `endpoint_id` again (same `webhook-id`), due now.
/// False when there is no such message, or an attempt of it is in flight.
pub async fn redeliver(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    message: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_messages SET state = 'pending', next_attempt_at = $3, \
         claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND endpoint_id = $2 \
         AND (claimed_until IS NULL OR claimed_until < $3)",
    )
    .bind(message)
    .bind(endpoint_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
