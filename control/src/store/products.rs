//! The platform's products of an account (memberships, checkouts, videos,
//! calendars, help desks), as the platform registered them: what mounts
//! point at.

use sqlx::{AnyConnection, AnyPool};

use super::Position;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub name: String,
    pub origin_path: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, account_id, kind, name, origin_path, created_at";

pub async fn insert(conn: &mut AnyConnection, row: &ProductRow) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO products ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.kind)
    .bind(&row.name)
    .bind(&row.origin_path)
    .bind(row.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One of the account's products, on the pool or inside a unit of work.
pub async fn get<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
    id: &str,
) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM products WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(executor)
    .await
}

/// Every product of the account.
pub async fn list<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
) -> Result<Vec<ProductRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM products WHERE account_id = $1 ORDER BY created_at, id"
    ))
    .bind(account_id)
    .fetch_all(executor)
    .await
}

/// A page of the account's products, oldest first.
pub async fn page(
    pool: &AnyPool,
    account_id: &str,
    after: &Position,
    limit: i64,
) -> Result<Vec<ProductRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM products WHERE account_id = $1 \
         AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4"
    ))
    .bind(account_id)
    .bind(after.key)
    .bind(&after.id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn update(conn: &mut AnyConnection, row: &ProductRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE products SET name = $1, origin_path = $2 WHERE id = $3 AND account_id = $4",
    )
    .bind(&row.name)
    .bind(&row.origin_path)
    .bind(&row.id)
    .bind(&row.account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes one of the account's products; false when it has no such product.
pub async fn delete(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM products WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
