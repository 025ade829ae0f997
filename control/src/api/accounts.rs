//! Accounts: created by the platform operator (admin token); an account
//! token reads its own. Deleted by the operator or by the account itself:
//! its domains are removed (certificates deleted, KV records unpublished),
//! its pages and links deleted, its tokens revoked, and its username
//! retired for good (the account's row stays as a tombstone), so a CNAME
//! still naming it can never be claimed by a new account.

use axum::extract::State;
use axum::http::StatusCode;
use portico_shared::Username;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ErrorBody;
use super::{AccountAuth, AdminAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::store::accounts::UsernameUse;
use crate::store::{accounts, domains, is_unique_violation, new_id, now_ms, rfc3339};
use crate::unit::Unit;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
    /// Set once the account is deleted (`GET /v1/accounts/{account_id}`
    /// still shows it: its username stays retired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
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
        deleted_at: row.deleted_at.map(rfc3339),
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
        (status = 409, description = "`username_taken`; `username_retired`: a deleted account had it, and usernames are never reused", body = ErrorBody),
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
            match accounts::username_use(unit.conn(), username.as_str()).await? {
                UsernameUse::Free => {}
                UsernameUse::Taken => return Err(taken()),
                UsernameUse::Retired => {
                    return Err(ApiError::conflict(
                        "username_retired",
                        format!(
                            "the username `{username}` belonged to a deleted account and is never reused \
                             (a CNAME may still name it): choose another"
                        ),
                    ))
                }
            }
            match accounts::insert(unit.conn(), &row).await {
                Err(err) if is_unique_violation(&err) => Err(taken()),
                other => other.map_err(ApiError::from),
            }
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(view(&state, &row))))
}

/// Reads an account (admin token), a deleted one too (with `deleted_at`).
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

/// `DELETE /v1/account`: the account's username, typed again.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteConfirmation {
    /// The account's username: deletion cannot be undone.
    pub confirm: Option<String>,
}

/// Deletes an account (admin token), at once and for good: its domains are
/// removed (`domain_removed` events; their KV records unpublished and
/// their certificates deleted), its pages and links deleted, its tokens
/// revoked, and its username retired (`POST /v1/accounts` answers 409
/// `username_retired`). Deleting a deleted account again answers 204 and
/// removes anything left.
#[utoipa::path(
    delete,
    path = "/v1/accounts/{account_id}",
    tag = "accounts",
    params(("account_id" = String, Path)),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn delete_account(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiPath(account_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    delete(&state, &account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the caller's own account (a `write` token), as the admin's
/// `DELETE /v1/accounts/{account_id}` does; `confirm` must be its username.
/// The token stops working with the account.
#[utoipa::path(
    delete,
    path = "/v1/account",
    tag = "accounts",
    params(DeleteConfirmation),
    security(("account_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: a `read` token", body = ErrorBody),
        (status = 422, description = "`confirmation_mismatch`: `confirm` is not the account's username", body = ErrorBody),
    )
)]
pub async fn delete_own_account(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DeleteConfirmation>,
) -> Result<StatusCode, ApiError> {
    let row = accounts::get(state.store.pool(), &auth.account_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if query.confirm.as_deref().map(str::trim) != Some(row.username.as_str()) {
        return Err(ApiError::invalid(
            "confirm",
            "confirmation_mismatch",
            "deleting an account cannot be undone: pass `?confirm=<your username>`",
        ));
    }
    delete(&state, &row.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One unit of work: every domain removed the way `DELETE /v1/domains/{id}`
/// removes one, pages (and so links) deleted, the account marked deleted
/// and its tokens revoked; the unit's resync then unpublishes everything
/// the account had in KV, platform host included. Atomic, so a crash
/// leaves the account either whole or deleted; only certificate deletion
/// runs after the commit (a lost one is left to `sweep-certificates`).
async fn delete(state: &AppState, account_id: &str) -> Result<(), ApiError> {
    let removed = state
        .units
        .run(&[account_id], async |unit: &mut Unit| {
            accounts::get_in(unit.conn(), account_id)
                .await?
                .ok_or(ApiError::NotFound("account"))?;
            let removed = domains::list(unit.conn(), account_id).await?;
            for domain in &removed {
                let message = format!("{} removed: its account was deleted", domain.served_host());
                super::domains::remove_in(unit, domain, &message).await?;
            }
            accounts::delete_pages(unit.conn(), account_id).await?;
            let now = unit.now;
            accounts::mark_deleted(unit.conn(), account_id, now).await?;
            Ok::<_, ApiError>(removed)
        })
        .await?;
    for domain in &removed {
        super::domains::remove_certificate(state, domain);
    }
    tracing::info!(account = %account_id, domains = removed.len(), "account deleted");
    Ok(())
}
