//! Account API tokens: random, shown once at creation, stored as SHA-256.
//! Each has a scope (`read`: GET only; `write`: anything the account may)
//! and may expire (`expires_at`, at most [`MAX_LIFETIME_DAYS`] ahead).
//! `last_used_at` is written at most once a minute per token.

use axum::extract::State;
use axum::http::StatusCode;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::paging::PageQuery;
use super::{token_hash, AccountAuth, AdminAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::store::accounts::TokenScope;
use crate::store::{accounts, new_id, now_ms, rfc3339, Position};

/// Every token starts with this, so leaked ones are easy to find in logs and code.
pub const TOKEN_PREFIX: &str = "ptk_";

/// The furthest ahead a token's `expires_at` may be.
pub const MAX_LIFETIME_DAYS: i64 = 366;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, for the list (`dashboard`, `ci`); default `api`.
    #[serde(default)]
    pub name: Option<String>,
    /// `read` (GET requests only) or `write` (the default: anything the
    /// account may). A `read` token cannot create tokens.
    #[serde(default)]
    #[schema(value_type = Option<TokenScope>)]
    pub scope: Option<String>,
    /// When the token stops working (RFC 3339, in the future, at most 366
    /// days ahead); omit for a token that never expires.
    #[serde(default)]
    #[schema(format = DateTime, example = "2027-01-31T00:00:00Z")]
    pub expires_at: Option<String>,
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
    /// Updated when the token is used, at most once a minute.
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub scope: TokenScope,
    /// Null: never expires. Once passed the token answers 401 `token_expired`.
    pub expires_at: Option<String>,
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
        scope: row.scope,
        expires_at: row.expires_at.map(rfc3339),
    }
}

fn parse_scope(scope: Option<&str>) -> Result<TokenScope, ApiError> {
    match scope {
        None => Ok(TokenScope::default()),
        Some(scope) => TokenScope::parse(scope).ok_or_else(|| {
            ApiError::invalid(
                "scope",
                "token_scope_invalid",
                format!("a token's scope is `read` or `write`, not `{scope}`"),
            )
        }),
    }
}

/// `expires_at` as milliseconds: RFC 3339, after `now`, at most
/// [`MAX_LIFETIME_DAYS`] ahead.
fn parse_expiry(expires_at: Option<&str>, now: i64) -> Result<Option<i64>, ApiError> {
    let Some(text) = expires_at else {
        return Ok(None);
    };
    let at =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                ApiError::invalid(
                    "expires_at",
                    "token_expiry_invalid",
                    "`expires_at` is an RFC 3339 time such as `2027-01-31T00:00:00Z`",
                )
            })?;
    let at = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    if at <= now {
        return Err(ApiError::invalid(
            "expires_at",
            "token_expiry_past",
            "`expires_at` is in the past: a token must expire in the future",
        ));
    }
    if at - now > MAX_LIFETIME_DAYS * 86_400_000 {
        return Err(ApiError::invalid(
            "expires_at",
            "token_expiry_too_far",
            format!("`expires_at` is at most {MAX_LIFETIME_DAYS} days ahead: omit it for a token that never expires"),
        ));
    }
    Ok(Some(at))
}

async fn issue(
    state: &AppState,
    account_id: &str,
    input: NewToken,
) -> Result<CreatedToken, ApiError> {
    let now = now_ms();
    let scope = parse_scope(input.scope.as_deref())?;
    let expires_at = parse_expiry(input.expires_at.as_deref(), now)?;
    let name = input
        .name
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
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        scope,
        expires_at,
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
        (status = 409, description = "`account_deleted`", body = ErrorBody),
        (status = 422, description = "`token_name_too_long`, `token_scope_invalid`, `token_expiry_invalid`, `token_expiry_past`, `token_expiry_too_far`", body = ErrorBody),
    )
)]
pub async fn issue_for_account(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiPath(account_id): ApiPath<String>,
    ApiJson(input): ApiJson<NewToken>,
) -> Result<(StatusCode, ApiJson<CreatedToken>), ApiError> {
    let account = accounts::get(state.store.pool(), &account_id)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    if account.deleted_at.is_some() {
        return Err(ApiError::conflict(
            "account_deleted",
            "this account was deleted: it can have no tokens",
        ));
    }
    let created = issue(&state, &account_id, input).await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

/// Creates another token for the caller's account (a `write` token).
#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "tokens",
    request_body = NewToken,
    security(("account_token" = [])),
    responses(
        (status = 201, body = CreatedToken),
        (status = 401, description = "`unauthorized`, `token_expired`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: a `read` token", body = ErrorBody),
        (status = 422, description = "`token_name_too_long`, `token_scope_invalid`, `token_expiry_invalid`, `token_expiry_past`, `token_expiry_too_far`", body = ErrorBody),
    )
)]
pub async fn create_token(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewToken>,
) -> Result<(StatusCode, ApiJson<CreatedToken>), ApiError> {
    let created = issue(&state, &auth.account_id, input).await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<Token>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's account's tokens, revoked and expired ones included
/// (without secrets), with each one's scope, expiry and last use.
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

/// Revokes one of the caller's tokens (the one in use too; a `write`
/// token): it stops working at once.
#[utoipa::path(
    delete,
    path = "/v1/tokens/{token_id}",
    tag = "tokens",
    params(("token_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = Token), (status = 401, body = ErrorBody), (status = 403, description = "`insufficient_scope`: a `read` token", body = ErrorBody), (status = 404, body = ErrorBody))
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
