//! Accounts and their API tokens (stored as SHA-256 hashes). A deleted
//! account stays as a tombstone (`deleted_at`): its username is retired
//! for good.

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, AnyPool};
use utoipa::ToSchema;

use super::Position;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub username: String,
    pub created_at: i64,
    /// Set once the account is deleted: the row stays, its username retired.
    pub deleted_at: Option<i64>,
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

const ACCOUNT_COLUMNS: &str = "id, username, created_at, deleted_at";

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn get_in(conn: &mut AnyConnection, id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Who has `username`: nobody, a live account, or a deleted one (retired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameUse {
    Free,
    Taken,
    Retired,
}

/// Whether the account is gone: deleted, or never was.
pub async fn is_deleted(conn: &mut AnyConnection, id: &str) -> Result<bool, sqlx::Error> {
    Ok(get_in(conn, id)
        .await?
        .is_none_or(|row| row.deleted_at.is_some()))
}

pub async fn username_use(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<UsernameUse, sqlx::Error> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT deleted_at FROM accounts WHERE username = $1")
            .bind(username)
            .fetch_optional(conn)
            .await?;
    Ok(match row {
        None => UsernameUse::Free,
        Some((None,)) => UsernameUse::Taken,
        Some((Some(_),)) => UsernameUse::Retired,
    })
}

/// Marks the account deleted (its tombstone keeps the username) and
/// revokes every token it has; the caller removes its domains, pages and
/// links in the same unit of work. Idempotent: a second call keeps the
/// first time.
pub async fn mark_deleted(
    conn: &mut AnyConnection,
    account_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(now)
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the account's pages, and with them their revisions and links,
/// and its mounts, products and platform host settings.
pub async fn delete_pages(conn: &mut AnyConnection, account_id: &str) -> Result<u64, sqlx::Error> {
    for table in ["mounts", "products", "platform_host_settings"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    }
    let done = sqlx::query("DELETE FROM pages WHERE account_id = $1")
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// What a token may do: `read` only reads (GET), `write` anything its
/// account may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    Read,
    #[default]
    Write,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }

    pub fn parse(input: &str) -> Option<TokenScope> {
        match input {
            "read" => Some(TokenScope::Read),
            "write" => Some(TokenScope::Write),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown token scope `{0}`")]
pub struct UnknownScope(String);

impl TryFrom<String> for TokenScope {
    type Error = UnknownScope;

    fn try_from(value: String) -> Result<TokenScope, UnknownScope> {
        TokenScope::parse(&value).ok_or(UnknownScope(value))
    }
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
    #[sqlx(try_from = "String")]
    pub scope: TokenScope,
    /// `None`: never expires.
    pub expires_at: Option<i64>,
}

pub async fn insert_token(
    conn: &mut AnyConnection,
    row: &TokenRow,
    token_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (id, account_id, name, token_hash, prefix, created_at, scope, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.name)
    .bind(token_hash)
    .bind(&row.prefix)
    .bind(row.created_at)
    .bind(row.scope.as_str())
    .bind(row.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The account a token belongs to: (token id, account id, last used), for
/// a token neither revoked nor of a deleted account (expired ones too:
/// [`token`] tells them apart).
pub async fn account_for_token(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<(String, String, Option<i64>)>, sqlx::Error> {
    Ok(token(pool, token_hash)
        .await?
        .map(|row| (row.id, row.account_id, row.last_used_at)))
}

/// A token neither revoked nor of a deleted account, expired or not.
pub async fn token(pool: &AnyPool, token_hash: &str) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id, t.account_id, t.name, t.prefix, t.created_at, t.last_used_at, \
                t.revoked_at, t.scope, t.expires_at \
         FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND a.deleted_at IS NULL",
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

const TOKEN_COLUMNS: &str =
    "id, account_id, name, prefix, created_at, last_used_at, revoked_at, scope, expires_at";

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
