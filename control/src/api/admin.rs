//! The operator's view of publishing (admin token): how far behind the
//! outbox is, who publishes, and the writes KV refused (parked), which can
//! be sent again.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::paging::PageQuery;
use super::{AdminAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::store::parked::{self, ParkedRow};
use crate::store::{lease, now_ms, outbox, rfc3339, Position};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublishingStatus {
    /// Outbox rows waiting to be delivered.
    pub depth: i64,
    /// Age of the oldest waiting row; null when the outbox is empty.
    pub oldest_age_seconds: Option<f64>,
    /// Who holds the publisher lease; null when nobody does.
    pub leader: Option<Leader>,
    /// The publisher id of the replica that answered (equal to
    /// `leader.holder` when it is the one publishing).
    pub replica: Option<String>,
    /// Writes KV refused for good, waiting for an operator.
    pub parked: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Leader {
    /// The publishing replica's id (new at every start).
    pub holder: String,
    /// The fencing token, bumped at every takeover.
    pub token: i64,
    /// Until the lease runs out unless renewed; negative: expired, and the
    /// next replica to look takes over.
    pub expires_in_ms: i64,
}

/// How publishing is doing: outbox depth and age, the leader, parked writes.
#[utoipa::path(
    get,
    path = "/v1/admin/publishing",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = PublishingStatus),
        (status = 401, description = "No or wrong token", body = ErrorBody),
        (status = 403, description = "An account token", body = ErrorBody),
    )
)]
pub async fn publishing_status(
    _: AdminAuth,
    State(state): State<AppState>,
) -> Result<ApiJson<PublishingStatus>, ApiError> {
    let pool = state.store.pool();
    let (depth, oldest) = outbox::depth(pool).await?;
    let lease = lease::current(pool).await?;
    let parked = parked::count(pool).await?;
    let now = now_ms();
    Ok(ApiJson(PublishingStatus {
        depth,
        oldest_age_seconds: oldest.map(|at| (now - at).max(0) as f64 / 1000.0),
        leader: lease.holder.map(|holder| Leader {
            holder,
            token: lease.token,
            expires_in_ms: lease.expires_at - now,
        }),
        replica: state.replica.clone(),
        parked,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ParkedWrite {
    /// The id the write had in the outbox; retry it with this id.
    pub id: i64,
    /// `routes` or `content`.
    pub namespace: String,
    pub key: String,
    /// `put` or `delete`.
    pub op: String,
    /// Bytes of key and value.
    pub payload_bytes: i64,
    /// Why KV refused it.
    pub error: String,
    /// How many times KV refused it.
    pub attempts: i64,
    /// When it was last refused.
    pub parked_at: String,
    /// When an operator asked to send it again; null when nobody did since.
    pub retry_requested_at: Option<String>,
}

fn view(row: ParkedRow) -> ParkedWrite {
    ParkedWrite {
        id: row.outbox_id,
        namespace: row.namespace.as_str().to_string(),
        key: row.key,
        op: row.op.as_str().to_string(),
        payload_bytes: row.payload_bytes,
        error: row.error,
        attempts: row.attempts,
        parked_at: rfc3339(row.parked_at),
        retry_requested_at: row.retry_requested_at.map(rfc3339),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ParkedList {
    /// Oldest first.
    pub parked: Vec<ParkedWrite>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The writes KV refused for good (a key or value it does not take), oldest
/// first. Each blocks nothing; a newer write of the same key removes it.
#[utoipa::path(
    get,
    path = "/v1/admin/publishing/parked",
    tag = "admin",
    params(PageQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = ParkedList),
        (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody),
        (status = 401, description = "No or wrong token", body = ErrorBody),
        (status = 403, description = "An account token", body = ErrorBody),
    )
)]
pub async fn list_parked(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<ParkedList>, ApiError> {
    let window = page.window()?;
    let rows = parked::list(state.store.pool(), window.start().key, window.fetch()).await?;
    let (rows, next_cursor) = window.finish(rows, |row| Position::numbered(row.outbox_id));
    Ok(ApiJson(ParkedList {
        parked: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}

/// Sends a parked write again (after fixing what KV refused). If KV refuses
/// it again it stays parked, with the new error.
#[utoipa::path(
    post,
    path = "/v1/admin/publishing/parked/{parked_id}/retry",
    tag = "admin",
    params(("parked_id" = i64, Path, description = "The parked write's `id`")),
    security(("admin_token" = [])),
    responses(
        (status = 200, body = ParkedWrite),
        (status = 401, description = "No or wrong token", body = ErrorBody),
        (status = 403, description = "An account token", body = ErrorBody),
        (status = 404, description = "Not parked (any more)", body = ErrorBody),
    )
)]
pub async fn retry_parked(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiPath(parked_id): ApiPath<i64>,
) -> Result<ApiJson<ParkedWrite>, ApiError> {
    let row = parked::request_retry(state.store.pool(), parked_id, now_ms())
        .await?
        .ok_or(ApiError::NotFound("parked write"))?;
    state.published();
    Ok(ApiJson(view(row)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetryAll {
    /// How many parked writes will be sent again.
    pub retried: u64,
}

/// Sends every parked write again.
#[utoipa::path(
    post,
    path = "/v1/admin/publishing/parked/retry",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = RetryAll),
        (status = 401, description = "No or wrong token", body = ErrorBody),
        (status = 403, description = "An account token", body = ErrorBody),
    )
)]
pub async fn retry_all_parked(
    _: AdminAuth,
    State(state): State<AppState>,
) -> Result<ApiJson<RetryAll>, ApiError> {
    let retried = parked::request_retry_all(state.store.pool(), now_ms()).await?;
    state.published();
    Ok(ApiJson(RetryAll { retried }))
}
