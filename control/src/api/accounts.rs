//! Accounts: created by the platform operator (admin token); an account
//! token reads its own.

use axum::extract::State;
use axum::http::StatusCode;
use portico_shared::Username;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::{AccountAuth, AdminAuth, ApiError, ApiJson, ApiPath, AppState};
use crate::store::{accounts, is_unique_violation, new_id, now_ms, rfc3339};

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAccount {
    /// One DNS label: customers' CNAMEs point at `<username>.<platform domain>`.
    #[schema(example = "katie")]
    pub username: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Account {
    #[schema(example = "acc_5f2a9c0e1b7d3a4f6e8c2b1a")]
    pub id: String,
    pub username: String,
    /// `<username>.<platform domain>`: where CNAMEs point, and the host that
    /// serves the account's platform-hosted links.
    #[schema(example = "katie.portico.test")]
    pub platform_host: String,
    pub created_at: String,
    /// `GET /v1/account` only: what the account uses of each quota, and its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<Vec<crate::quota::Usage>>,
}

pub(crate) fn view(state: &AppState, row: &accounts::AccountRow) -> Account {
    let platform_host = Username::parse(&row.username)
        .map(|name| state.platform.account_host(&name).to_string())
        .unwrap_or_default();
    Account {
        id: row.id.clone(),
        username: row.username.clone(),
        platform_host,
        created_at: rfc3339(row.created_at),
        quotas: None,
    }
}

/// Creates an account (admin token). Its platform host is published at once.
#[utoipa::path(
    post,
    path = "/v1/accounts",
    tag = "accounts",
    request_body = NewAccount,
    security(("admin_token" = [])),
    responses(
        (status = 201, body = Account),
        (status = 401, description = "No or wrong token", body = ErrorBody),
        (status = 403, description = "An account token", body = ErrorBody),
        (status = 409, description = "`username_taken`", body = ErrorBody),
        (status = 422, description = "`username_*` from the username rules", body = ErrorBody),
    )
)]
pub async fn create_account(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewAccount>,
) -> Result<(StatusCode, ApiJson<Account>), ApiError> {
    let username = Username::parse(&input.username)
        .map_err(|err| ApiError::invalid("username", err.code(), &err))?;
    let taken = || {
        ApiError::conflict(
            "username_taken",
            format!("the username `{username}` is taken: choose another"),
        )
    };
    let row = accounts::AccountRow {
        id: new_id("acc"),
        username: username.to_string(),
        created_at: now_ms(),
        deleted_at: None,
    };
    // One unit of work, like every account change: locked (SQLite takes
    // the write lock at its first statement), inserted, its platform host
    // published, the publisher woken.
    state
        .units
        .run(&[row.id.as_str()], async |unit| {
            match accounts::insert(unit.conn(), &row).await {
                Err(err) if is_unique_violation(&err) => Err(taken()),
                other => other.map_err(ApiError::from),
            }
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(view(&state, &row))))
}

/// Reads an account (admin token).
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}",
    tag = "accounts",
    params(("account_id" = String, Path)),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Account),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get_account(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiPath(account_id): ApiPath<String>,
) -> Result<ApiJson<Account>, ApiError> {
    let row = accounts::get(state.store.pool(), &account_id)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    Ok(ApiJson(view(&state, &row)))
}

/// The caller's own account (account token), with its quotas' use.
#[utoipa::path(
    get,
    path = "/v1/account",
    tag = "accounts",
    security(("account_token" = [])),
    responses((status = 200, body = Account), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub async fn own_account(
    auth: AccountAuth,
    State(state): State<AppState>,
) -> Result<ApiJson<Account>, ApiError> {
    let row = accounts::get(state.store.pool(), &auth.account_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let mut conn = state.store.pool().acquire().await?;
    let usage = state.quotas.usage(&mut conn, &row.id).await?;
    Ok(ApiJson(Account {
        quotas: Some(usage),
        ..view(&state, &row)
    }))
}
