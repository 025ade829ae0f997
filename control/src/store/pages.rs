//! Pages and their content revisions.

use sqlx::{AnyConnection, AnyPool};

use super::Position;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PageRow {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub title: String,
    pub current_revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Of the current revision.
    pub digest: String,
    pub size: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub number: i64,
    pub digest: String,
    pub size: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "p.id, p.account_id, p.kind, p.title, p.current_revision, p.created_at, \
    p.updated_at, r.digest, r.size";
const FROM: &str =
    "pages p JOIN page_revisions r ON r.page_id = p.id AND r.number = p.current_revision";

pub async fn insert(conn: &mut AnyConnection, row: &PageRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pages (id, account_id, kind, title, current_revision, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.kind)
    .bind(&row.title)
    .bind(row.current_revision)
    .bind(row.created_at)
    .bind(row.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_revision(
    conn: &mut AnyConnection,
    page_id: &str,
    number: i64,
    digest: &str,
    content: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO page_revisions (page_id, number, digest, content, size, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(page_id)
    .bind(number)
    .bind(digest)
    .bind(content)
    .bind(content.len() as i64)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update(
    conn: &mut AnyConnection,
    id: &str,
    title: &str,
    current_revision: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE pages SET title = $1, current_revision = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(title)
    .bind(current_revision)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(
    pool: &AnyPool,
    account_id: &str,
    id: &str,
) -> Result<Option<PageRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE p.id = $1 AND p.account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(pool)
    .await
}

pub async fn get_in(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<PageRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE p.id = $1 AND p.account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(conn)
    .await
}

/// The account's rows, on the pool or inside a transaction.
pub async fn list<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
) -> Result<Vec<PageRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE p.account_id = $1 ORDER BY p.created_at, p.id"
    ))
    .bind(account_id)
    .fetch_all(executor)
    .await
}

/// A page of the account's pages, oldest first, after `after`.
pub async fn page(
    pool: &AnyPool,
    account_id: &str,
    after: &Position,
    limit: i64,
) -> Result<Vec<PageRow>, sqlx::Error> {
    let select = format!("SELECT {COLUMNS} FROM {FROM}");
    super::page_of(pool, &select, "p.", "created_at", account_id, after, limit).await
}

/// The HTML of one revision of a page.
pub async fn content(
    conn: &mut AnyConnection,
    page_id: &str,
    number: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT content FROM page_revisions WHERE page_id = $1 AND number = $2")
            .bind(page_id)
            .bind(number)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(content,)| content))
}

pub async fn content_in_pool(
    pool: &AnyPool,
    page_id: &str,
    number: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT content FROM page_revisions WHERE page_id = $1 AND number = $2")
            .bind(page_id)
            .bind(number)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(content,)| content))
}

/// Newest first, numbered below `before`.
pub async fn revisions(
    pool: &AnyPool,
    page_id: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<RevisionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT number, digest, size, created_at FROM page_revisions \
         WHERE page_id = $1 AND number < $2 ORDER BY number DESC LIMIT $3",
    )
    .bind(page_id)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Drops the page's revisions older than `oldest_kept`.
pub async fn prune_revisions(
    conn: &mut AnyConnection,
    page_id: &str,
    oldest_kept: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM page_revisions WHERE page_id = $1 AND number < $2")
        .bind(page_id)
        .bind(oldest_kept)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM pages WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
