//! The outbox: KV writes committed with the change that caused them, in id
//! order, deleted only once the KV backend acknowledged them; what KV has
//! been told to hold (`kv_published`); and the publisher lease.

use sqlx::{AnyConnection, AnyPool};

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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub namespace: String,
    pub key: String,
    pub op: String,
    pub value: Option<String>,
}

pub async fn enqueue_put(
    conn: &mut AnyConnection,
    namespace: Namespace,
    key: &str,
    value: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (namespace, key, op, value, created_at) VALUES ($1, $2, 'put', $3, $4)",
    )
    .bind(namespace.as_str())
    .bind(key)
    .bind(value)
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
    sqlx::query("INSERT INTO outbox (namespace, key, op, value, created_at) VALUES ($1, $2, 'delete', NULL, $3)")
        .bind(namespace.as_str())
        .bind(key)
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

/// Marks immutable content as published; true when this transaction is the
/// first to (and so must enqueue it). Content is shared by every account and
/// never deleted.
pub async fn claim_content(
    conn: &mut AnyConnection,
    key: &str,
    digest: &str,
) -> Result<bool, sqlx::Error> {
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

/// The oldest rows, in order.
pub async fn next_batch(pool: &AnyPool, limit: usize) -> Result<Vec<OutboxRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, namespace, key, op, value FROM outbox ORDER BY id LIMIT $1")
        .bind(limit as i64)
        .fetch_all(pool)
        .await
}

/// Deletes delivered rows by id (never by range: a row with a lower id may
/// still be committing).
pub async fn delete_delivered(pool: &AnyPool, ids: &[i64]) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "DELETE FROM outbox WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(pool).await?;
    }
    Ok(())
}

pub async fn pending(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox")
        .fetch_one(pool)
        .await?;
    Ok(count)
}

/// Takes or renews the publisher lease; true when `holder` holds it until
/// `now + ttl_ms`.
pub async fn acquire_lease(
    pool: &AnyPool,
    holder: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE publisher_lease SET holder = $1, expires_at = $2 \
         WHERE id = 1 AND (holder IS NULL OR holder = $1 OR expires_at < $3)",
    )
    .bind(holder)
    .bind(now + ttl_ms)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn release_lease(pool: &AnyPool, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE publisher_lease SET holder = NULL, expires_at = 0 WHERE id = 1 AND holder = $1",
    )
    .bind(holder)
    .execute(pool)
    .await?;
    Ok(())
}
