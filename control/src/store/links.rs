//! Page links: a page at a path on one of the account's domains, or on the
//! account's platform host (`domain_id` NULL).

use sqlx::{AnyConnection, AnyPool};

use super::Position;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: String,
    pub account_id: String,
    pub page_id: String,
    pub domain_id: Option<String>,
    pub scope: String,
    /// The path without its leading `/`: `offer`, `courses/intro` (a
    /// `LinkPath`; the column kept its first name).
    pub slug: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, account_id, page_id, domain_id, scope, slug, created_at";

pub async fn insert(conn: &mut AnyConnection, row: &LinkRow) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO links ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.page_id)
    .bind(&row.domain_id)
    .bind(&row.scope)
    .bind(&row.slug)
    .bind(row.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One of the account's links, on the pool or inside a unit of work.
pub async fn get<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<LinkRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM links WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(executor)
    .await
}

/// The account's rows, on the pool or inside a transaction.
pub async fn list<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
) -> Result<Vec<LinkRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM links WHERE account_id = $1 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(executor)
    .await
}

/// A page of the account's links (of one page, if given), oldest first.
pub async fn page(
    pool: &AnyPool,
    account_id: &str,
    page_id: Option<&str>,
    after: &Position,
    limit: i64,
) -> Result<Vec<LinkRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM links WHERE account_id = $1 AND ($2 IS NULL OR page_id = $2) \
         AND (created_at, id) > ($3, $4) ORDER BY created_at, id LIMIT $5"
    ))
    .bind(account_id)
    .bind(page_id)
    .bind(after.key)
    .bind(&after.id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Points a link at another page, host or path, in place (same id).
pub async fn update(conn: &mut AnyConnection, row: &LinkRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE links SET page_id = $1, domain_id = $2, scope = $3, slug = $4 \
         WHERE id = $5 AND account_id = $6",
    )
    .bind(&row.page_id)
    .bind(&row.domain_id)
    .bind(&row.scope)
    .bind(&row.slug)
    .bind(&row.id)
    .bind(&row.account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes one of the account's links; false when it has no such link.
pub async fn delete(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM links WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
