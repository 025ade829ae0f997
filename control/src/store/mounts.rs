//! Mounts: a path or path prefix on one of the account's domains (or its
//! platform host, `domain_id` NULL) proxied to a product on the platform's
//! application, or to a generic path there.

use sqlx::{AnyConnection, AnyPool};

use super::Position;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MountRow {
    pub id: String,
    pub account_id: String,
    pub domain_id: Option<String>,
    pub scope: String,
    /// `members`, `courses/intro` (a `LinkPath`).
    pub path: String,
    /// 1: the path and everything below it.
    pub prefix: i64,
    pub product_id: Option<String>,
    pub origin_path: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, account_id, domain_id, scope, path, prefix, product_id, origin_path, created_at";

pub async fn insert(conn: &mut AnyConnection, row: &MountRow) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO mounts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.domain_id)
    .bind(&row.scope)
    .bind(&row.path)
    .bind(row.prefix)
    .bind(&row.product_id)
    .bind(&row.origin_path)
    .bind(row.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One of the account's mounts, on the pool or inside a unit of work.
pub async fn get<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<MountRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM mounts WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(executor)
    .await
}

/// Every mount of the account.
pub async fn list<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
) -> Result<Vec<MountRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM mounts WHERE account_id = $1 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(executor)
    .await
}

/// A page of the account's mounts (of one product, if given), oldest first.
pub async fn page(
    pool: &AnyPool,
    account_id: &str,
    product_id: Option<&str>,
    after: &Position,
    limit: i64,
) -> Result<Vec<MountRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM mounts WHERE account_id = $1 AND ($2 IS NULL OR product_id = $2) \
         AND (created_at, id) > ($3, $4) ORDER BY created_at, id LIMIT $5"
    ))
    .bind(account_id)
    .bind(product_id)
    .bind(after.key)
    .bind(&after.id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Points a mount at another place, path or product, in place (same id).
pub async fn update(conn: &mut AnyConnection, row: &MountRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mounts SET domain_id = $1, scope = $2, path = $3, prefix = $4, \
         product_id = $5, origin_path = $6 WHERE id = $7 AND account_id = $8",
    )
    .bind(&row.domain_id)
    .bind(&row.scope)
    .bind(&row.path)
    .bind(row.prefix)
    .bind(&row.product_id)
    .bind(&row.origin_path)
    .bind(&row.id)
    .bind(&row.account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes one of the account's mounts; false when it has no such mount.
pub async fn delete(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mounts WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What else holds paths in `scope` under `first` (a first segment): each
/// link's and mount's path with its id. Pages and mounts share one path
/// space per host, and one path record per first segment at the edge.
pub async fn paths_under(
    conn: &mut AnyConnection,
    scope: &str,
    first: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let nested = format!("{first}/");
    sqlx::query_as(
        "SELECT id, slug FROM links WHERE scope = $1 \
           AND (slug = $2 OR substr(slug, 1, length($3)) = $3) \
         UNION ALL \
         SELECT id, path FROM mounts WHERE scope = $1 \
           AND (path = $2 OR substr(path, 1, length($3)) = $3)",
    )
    .bind(scope)
    .bind(first)
    .bind(&nested)
    .fetch_all(conn)
    .await
}
