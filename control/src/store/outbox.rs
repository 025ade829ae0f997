//! The outbox: KV writes committed with the change that caused them, in id
//! order, deleted only once the KV backend acknowledged them (or refused
//! them for good: then parked), in a transaction fenced by the publisher
//! lease; and what KV has been told to hold (`kv_published`).

use std::collections::HashMap;

use sqlx::{AnyConnection, AnyPool};

use super::lease::{self, Fence};
use super::parked::{self, Refused};

/// The two KV namespaces the edge reads (wrangler.toml bindings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    /// `ROUTES`: host and path records.
    Routes,
    /// `CONTENT`: page HTML under content-addressed keys.
    Content,
}

impl Namespace {
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Routes => "routes",
            Namespace::Content => "content",
        }
    }

    pub fn parse(text: &str) -> Option<Namespace> {
        match text {
            "routes" => Some(Namespace::Routes),
            "content" => Some(Namespace::Content),
            _ => None,
        }
    }

    /// The binding name the edge gives it.
    pub fn binding(self) -> &'static str {
        match self {
            Namespace::Routes => "ROUTES",
            Namespace::Content => "CONTENT",
        }
    }
}

/// What a row asks of KV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Put,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Delete => "delete",
        }
    }

    pub fn parse(text: &str) -> Option<Op> {
        match text {
            "put" => Some(Op::Put),
            "delete" => Some(Op::Delete),
            _ => None,
        }
    }
}

/// An outbox row without its value (read first, to bound a batch in bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRow {
    pub id: i64,
    /// `None`: a namespace or op this version does not know (dropped with a log line).
    pub write: Option<(Namespace, Op)>,
    pub key: String,
    pub payload_bytes: i64,
}

pub async fn enqueue_put(
    conn: &mut AnyConnection,
    namespace: Namespace,
    key: &str,
    value: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (namespace, key, op, value, payload_bytes, created_at) \
         VALUES ($1, $2, 'put', $3, $4, $5)",
    )
    .bind(namespace.as_str())
    .bind(key)
    .bind(value)
    .bind((key.len() + value.len()) as i64)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn enqueue_delete(
    conn: &mut AnyConnection,
    namespace: Namespace,
    key: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (namespace, key, op, value, payload_bytes, created_at) \
         VALUES ($1, $2, 'delete', NULL, $3, $4)",
    )
    .bind(namespace.as_str())
    .bind(key)
    .bind(key.len() as i64)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The routing keys published for an account, with their value digests.
pub async fn published_routes(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT key, value_digest FROM kv_published WHERE namespace = 'routes' AND account_id = $1",
    )
    .bind(account_id)
    .fetch_all(conn)
    .await
}

pub async fn set_published_route(
    conn: &mut AnyConnection,
    account_id: &str,
    key: &str,
    value_digest: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO kv_published (namespace, key, account_id, value_digest) VALUES ('routes', $1, $2, $3) \
         ON CONFLICT (namespace, key) DO UPDATE SET account_id = excluded.account_id, \
         value_digest = excluded.value_digest",
    )
    .bind(key)
    .bind(account_id)
    .bind(value_digest)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn unset_published_route(conn: &mut AnyConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM kv_published WHERE namespace = 'routes' AND key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks immutable content as published and named again (clearing any
/// pending collection); true when this transaction is the first to publish
/// it (and so must enqueue it). Only a row marked unreferenced is updated
/// (and locked): content every account names (the default pages) is not
/// written by each account's resync, which made all of them queue on that
/// one row until commit (issue 21's scale benchmark, two replicas on
/// PostgreSQL). A mark set concurrently by another account's resync cannot
/// lose the content: collection deletes only what no `kv_content_refs` row
/// names at that moment, and this transaction writes its refs.
pub async fn claim_content(
    conn: &mut AnyConnection,
    key: &str,
    digest: &str,
) -> Result<bool, sqlx::Error> {
    let named = sqlx::query(
        "UPDATE kv_published SET unreferenced_since = NULL \
         WHERE namespace = 'content' AND key = $1 AND unreferenced_since IS NOT NULL",
    )
    .bind(key)
    .execute(&mut *conn)
    .await?;
    if named.rows_affected() == 1 {
        return Ok(false);
    }
    // Named already, or new: the insert tells which.
    let done = sqlx::query(
        "INSERT INTO kv_published (namespace, key, account_id, value_digest) VALUES ('content', $1, NULL, $2) \
         ON CONFLICT (namespace, key) DO NOTHING",
    )
    .bind(key)
    .bind(digest)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records which content keys `account_id` names now; content no account
/// names any more is marked unreferenced since `now` (collected later, see
/// `publish::gc`).
pub async fn set_content_refs(
    conn: &mut AnyConnection,
    account_id: &str,
    keys: &std::collections::BTreeSet<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let old: std::collections::HashSet<String> =
        sqlx::query_scalar("SELECT key FROM kv_content_refs WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    for key in &old {
        if keys.contains(key.as_str()) {
            continue;
        }
        sqlx::query("DELETE FROM kv_content_refs WHERE account_id = $1 AND key = $2")
            .bind(account_id)
            .bind(key)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE kv_published SET unreferenced_since = $2 \
             WHERE namespace = 'content' AND key = $1 AND unreferenced_since IS NULL \
             AND NOT EXISTS (SELECT 1 FROM kv_content_refs r WHERE r.key = $1)",
        )
        .bind(key)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    for key in keys {
        if old.contains(*key) {
            continue;
        }
        sqlx::query(
            "INSERT INTO kv_content_refs (account_id, key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(account_id)
        .bind(*key)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The id of the oldest queued row (`None`: the outbox is empty).
pub async fn oldest_id(pool: &AnyPool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT MIN(id) FROM outbox")
        .fetch_one(pool)
        .await
}

/// The id of the newest queued row, 0 when the outbox is empty: read after
/// a change commits, every row it queued is at or below it.
pub async fn newest_id(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM outbox")
        .fetch_one(pool)
        .await?;
    Ok(newest.unwrap_or(0))
}

/// The oldest rows, in id order, without their values.
pub async fn next_batch(pool: &AnyPool, limit: usize) -> Result<Vec<QueuedRow>, sqlx::Error> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT id, namespace, key, op, payload_bytes FROM outbox ORDER BY id LIMIT $1",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, namespace, key, op, payload_bytes)| QueuedRow {
            id,
            write: Namespace::parse(&namespace).zip(Op::parse(&op)),
            key,
            payload_bytes,
        })
        .collect())
}

/// The values of these rows (puts), by id: one query over their id range
/// (a batch is the oldest rows, so the range holds few others).
pub async fn values(pool: &AnyPool, ids: &[i64]) -> Result<HashMap<i64, String>, sqlx::Error> {
    let (Some(first), Some(last)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(HashMap::new());
    };
    let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, value FROM outbox WHERE id >= $1 AND id <= $2 AND value IS NOT NULL",
    )
    .bind(*first)
    .bind(*last)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(id, _)| wanted.contains(id))
        .collect())
}

/// What a batch came to.
#[derive(Debug, Default)]
pub struct Settlement<'a> {
    /// Rows done with: delivered, superseded within the batch, parked or unreadable.
    pub done_ids: Vec<i64>,
    /// Keys whose newest write KV acknowledged: any parked write of theirs is
    /// stale (left empty when nothing is parked).
    pub delivered: Vec<(Namespace, &'a str)>,
    /// Writes KV refused for good.
    pub refused: Vec<Refused<'a>>,
}

/// Records a batch's outcome in one transaction, only while `fence` still
/// holds the lease (renewing it); false, and nothing written, once another
/// replica took over.
pub async fn settle(
    pool: &AnyPool,
    fence: &Fence,
    now: i64,
    ttl_ms: i64,
    settlement: &Settlement<'_>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // First: on SQLite it takes the write lock; on PostgreSQL it locks the
    // lease row, so a takeover waits for this commit or this sees it.
    if !lease::renew(&mut tx, fence, now, ttl_ms).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    for chunk in settlement.done_ids.chunks(500) {
        let sql = format!(
            "DELETE FROM outbox WHERE id IN ({})",
            placeholders(chunk.len(), 0)
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *tx).await?;
    }
    parked::unpark(&mut tx, &settlement.delivered).await?;
    for refused in &settlement.refused {
        parked::park(&mut tx, refused, now).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// `$first+1, $first+2, …` for an `IN (…)` list.
pub(crate) fn placeholders(count: usize, first: usize) -> String {
    (first + 1..=first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn pending(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox")
        .fetch_one(pool)
        .await?;
    Ok(count)
}

/// How many rows wait, and when the oldest was queued.
pub async fn depth(pool: &AnyPool) -> Result<(i64, Option<i64>), sqlx::Error> {
    sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox")
        .fetch_one(pool)
        .await
}
