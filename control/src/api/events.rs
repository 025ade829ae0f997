//! The account's activity, newest first, paginated with an opaque cursor.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ErrorBody;
use super::{AccountAuth, ApiError, ApiJson, ApiQuery, AppState};
use crate::store::events::{self, EventKind};
use crate::store::rfc3339;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    pub domain_id: Option<String>,
    pub hostname: Option<String>,
    /// What happened, in plain words.
    pub message: String,
    pub occurred_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's activity: domains added, connected, disconnected, expired
/// (not connected in time, so removed) and removed.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(EventQuery),
    security(("account_token" = [])),
    responses((status = 200, body = EventPage), (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_events(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> Result<ApiJson<EventPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            message: format!("limit is 1 to {MAX_LIMIT}"),
        });
    }
    let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => Some(
            cursor
                .strip_prefix("ev_")
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or(ApiError::BadRequest {
                    code: "invalid_cursor",
                    message: "pass the next_cursor of a previous answer".into(),
                })?,
        ),
    };
    let mut rows = events::page(state.store.pool(), &auth.account_id, before, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| format!("ev_{}", r.id))
    } else {
        None
    };
    let events = rows
        .into_iter()
        .filter_map(|r| {
            Some(Event {
                id: format!("ev_{}", r.id),
                kind: EventKind::parse(&r.kind)?,
                domain_id: r.domain_id,
                hostname: r.hostname,
                message: r.message,
                occurred_at: rfc3339(r.occurred_at),
            })
        })
        .collect();
    Ok(ApiJson(EventPage {
        events,
        next_cursor,
    }))
}
