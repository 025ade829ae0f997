//! Accounts and their API tokens (stored as SHA-256 hashes).

use sqlx::{AnyConnection, AnyPool};

use super::Position;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub username: String,
    pub created_at: i64,
}

pub async fn insert(conn: &mut AnyConnection, row: &AccountRow) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO accounts (id, username, created_at, revision) VALUES ($1, $2, $3, 0)")
        .bind(&row.id)
        .bind(&row.username)
        .bind(row.created_at)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, username, created_at FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn get_in(conn: &mut AnyConnection, id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, username, created_at FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn username_taken(conn: &mut AnyConnection, username: &str) -> Result<bool, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM accounts WHERE username = $1")
        .bind(username)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn insert_token(
    conn: &mut AnyConnection,
    row: &TokenRow,
    token_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (id, account_id, name, token_hash, prefix, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.name)
    .bind(token_hash)
    .bind(&row.prefix)
    .bind(row.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The account a live token belongs to.
pub async fn account_for_token(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<(String, String, Option<i64>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id, t.account_id, t.last_used_at FROM api_tokens t \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

pub async fn touch_token(pool: &AnyPool, token_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(token_id)
        .execute(pool)
        .await?;
    Ok(())
}

const TOKEN_COLUMNS: &str = "id, account_id, name, prefix, created_at, last_used_at, revoked_at";

/// A page of the account's tokens, oldest first, after `after`.
pub async fn list_tokens(
    pool: &AnyPool,
    account_id: &str,
    after: &Position,
    limit: i64,
) -> Result<Vec<TokenRow>, sqlx::Error> {
    let select = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens");
    super::page_of(pool, &select, "", "created_at", account_id, after, limit).await
}

/// Revokes one of the account's tokens; `None` when it has no such token.
pub async fn revoke_token(
    pool: &AnyPool,
    account_id: &str,
    token_id: &str,
    now: i64,
) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 \
         WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(token_id)
    .bind(account_id)
    .execute(pool)
    .await?;
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1 AND account_id = $2"
    ))
    .bind(token_id)
    .bind(account_id)
    .fetch_optional(pool)
    .await
}
