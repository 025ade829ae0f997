//! Account API tokens: random, shown once at creation, stored as SHA-256.

use axum::extract::State;
use axum::http::StatusCode;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::paging::PageQuery;
use super::{token_hash, AccountAuth, AdminAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::store::{accounts, new_id, now_ms, rfc3339, Position};

/// Every token starts with this, so leaked ones are easy to find in logs and code.
pub const TOKEN_PREFIX: &str = "ptk_";

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewToken {
    /// What the token is for, for the list (`dashboard`, `ci`); default `api`.
    #[serde(default)]
    pub name: Option<String>,
}

/// A token as listed: never the secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Token {
    pub id: String,
    pub name: String,
    /// The first characters of the secret, to tell tokens apart.
    #[schema(example = "ptk_3f9a2c1d")]
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: Token,
    /// Send as `Authorization: Bearer <secret>`. Not shown again.
    pub secret: String,
}

fn view(row: &accounts::TokenRow) -> Token {
    Token {
        id: row.id.clone(),
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        created_at: rfc3339(row.created_at),
        last_used_at: row.last_used_at.map(rfc3339),
        revoked_at: row.revoked_at.map(rfc3339),
    }
}

async fn issue(
    state: &AppState,
    account_id: &str,
    name: Option<String>,
) -> Result<CreatedToken, ApiError> {
    let name = name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "api".into());
    if name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "token_name_too_long",
            "a token name holds at most 100 characters",
        ));
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let row = accounts::TokenRow {
        id: new_id("tok"),
        account_id: account_id.to_string(),
        name,
        prefix: secret[..TOKEN_PREFIX.len() + 8].to_string(),
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    let mut conn = state.store.pool().acquire().await?;
    accounts::insert_token(&mut conn, &row, &token_hash(&secret)).await?;
    Ok(CreatedToken {
        token: view(&row),
        secret,
    })
}

/// Issues a token for an account (admin token): how an account gets its first.
#[utoipa::path(
    post,
    path = "/v1/accounts/{account_id}/tokens",
    tag = "tokens",
    params(("account_id" = String, Path)),
    request_body = NewToken,
    security(("admin_token" = [])),
    responses(
        (status = 201, body = CreatedToken),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn issue_for_account(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiPath(account_id): ApiPath<String>,
    ApiJson(input): ApiJson<NewToken>,
) -> Result<(StatusCode, ApiJson<CreatedToken>), ApiError> {
    accounts::get(state.store.pool(), &account_id)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    let created = issue(&state, &account_id, input.name).await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

/// Creates another token for the caller's account.
#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "tokens",
    request_body = NewToken,
    security(("account_token" = [])),
    responses((status = 201, body = CreatedToken), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn create_token(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewToken>,
) -> Result<(StatusCode, ApiJson<CreatedToken>), ApiError> {
    let created = issue(&state, &auth.account_id, input.name).await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<Token>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's account's tokens, revoked ones included (without secrets).
#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "tokens",
    params(PageQuery),
    security(("account_token" = [])),
    responses((status = 200, body = TokenList), (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_tokens(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<TokenList>, ApiError> {
    let window = page.window()?;
    let rows = accounts::list_tokens(
        state.store.pool(),
        &auth.account_id,
        &window.start(),
        window.fetch(),
    )
    .await?;
    let (rows, next_cursor) = window.finish(rows, |row| Position {
        key: row.created_at,
        id: row.id.clone(),
    });
    Ok(ApiJson(TokenList {
        tokens: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

/// Revokes one of the caller's tokens (the one in use too): it stops working at once.
#[utoipa::path(
    delete,
    path = "/v1/tokens/{token_id}",
    tag = "tokens",
    params(("token_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = Token), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn revoke_token(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(token_id): ApiPath<String>,
) -> Result<ApiJson<Token>, ApiError> {
    let row = accounts::revoke_token(state.store.pool(), &auth.account_id, &token_id, now_ms())
        .await?
        .ok_or(ApiError::NotFound("token"))?;
    Ok(ApiJson(view(&row)))
}
