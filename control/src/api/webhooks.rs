//! Webhook endpoints of the caller's account: where its events are sent,
//! signed per Standard Webhooks; the secret, shown when made and rotated;
//! the delivery log, and sending a message again.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::paging::PageQuery;
use super::{AccountAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::quota::Quota;
use crate::store::webhooks::{self as store, EndpointRow};
use crate::store::{new_id, rfc3339, Position};
use crate::webhooks::deliver::{check_url, UrlRefused};
use crate::webhooks::sign::Secret;
use crate::webhooks::EVENT_TYPES;

/// Longer URLs are refused (what browsers and most servers take).
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_DESCRIPTION_LEN: usize = 200;
/// One day: long enough to deploy a receiver with the new secret.
pub const DEFAULT_OVERLAP_S: i64 = 24 * 3600;
pub const MAX_OVERLAP_S: i64 = 7 * 24 * 3600;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// `https://…` (plain `http://` only in development), at most 2048 characters.
    #[schema(
        example = "https://hooks.example.com/portico",
        max_length = 2048,
        pattern = "^https://"
    )]
    pub url: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// The event types to send; absent or null for every type.
    #[serde(default)]
    #[schema(value_type = Option<Vec<EventType>>, min_items = 1)]
    pub event_types: Option<Vec<String>>,
}

/// One of the event types webhooks send (`webhooks::EVENT_TYPES`), as the
/// document's enum: a name the API would refuse is not schema-valid.
pub struct EventType;

impl utoipa::PartialSchema for EventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(EVENT_TYPES.iter().copied()))
            .into()
    }
}

impl ToSchema for EventType {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointChange {
    #[schema(max_length = 2048, pattern = "^https://")]
    pub url: Option<String>,
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// Replaces the filter; `null` sends every type.
    #[serde(default, with = "super::double_option")]
    #[schema(value_type = Option<Vec<EventType>>, min_items = 1)]
    pub event_types: Option<Option<Vec<String>>>,
    /// Enabling an endpoint clears why it was switched off.
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Endpoint {
    #[schema(example = "whe_5f2a9c0e1b7d3a4f6e8c2b1a")]
    pub id: String,
    pub url: String,
    pub description: String,
    /// Null: every type.
    pub event_types: Option<Vec<String>>,
    pub enabled: bool,
    /// Why it is off: switched off by its owner, or after failing for days
    /// (a message ready to send to the account's owner).
    pub disabled_reason: Option<String>,
    /// The first failed attempt since the last success; null when healthy.
    pub failing_since: Option<String>,
    /// Until then the previous secret signs too (after a rotation).
    pub previous_secret_valid_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// `whsec_…`: shown now only; verify `webhook-signature` with it.
    pub secret: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointList {
    pub endpoints: Vec<Endpoint>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// How long the previous secret keeps signing too (0 to 604800; default 86400).
    pub overlap_seconds: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    pub attempted_at: String,
    /// Null when no answer came (then `response` says why).
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    /// The first 1 KiB of the answer.
    pub response: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt.
    pub webhook_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// `pending`, `delivered` or `failed` (retries exhausted).
    pub state: String,
    pub created_at: String,
    /// When a pending message is tried next.
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<Message>,
    /// Pass as `cursor` for the next (older) page; null on the last.
    pub next_cursor: Option<String>,
}

fn view(row: &EndpointRow) -> Endpoint {
    Endpoint {
        id: row.id.clone(),
        url: row.url.clone(),
        description: row.description.clone(),
        event_types: row
            .event_types
            .as_ref()
            .map(|types| types.split(' ').map(str::to_string).collect()),
        enabled: row.enabled != 0,
        disabled_reason: row.disabled_reason.clone(),
        failing_since: row.failing_since.map(rfc3339),
        previous_secret_valid_until: row.previous_until.map(rfc3339),
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

/// Checks a URL as given: length, form, scheme, and that it does not name
/// (or resolve only to) a private or reserved address.
async fn valid_url(state: &AppState, url: &str) -> Result<String, ApiError> {
    let refuse = |message: String| ApiError::invalid("url", "invalid_webhook_url", message);
    if url.len() > MAX_URL_LEN {
        return Err(refuse(format!("at most {MAX_URL_LEN} characters")));
    }
    let parsed = reqwest::Url::parse(url).map_err(|err| refuse(format!("not a URL: {err}")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("credentials do not belong in the URL".into()));
    }
    match check_url(&parsed, &state.webhooks) {
        Ok(()) => {}
        Err(UrlRefused::Form(why)) => return Err(refuse(why)),
        Err(UrlRefused::Forbidden(why)) => {
            return Err(ApiError::invalid("url", "webhook_url_forbidden", why))
        }
    }
    if let Some(url::Host::Domain(host)) = parsed.host() {
        let port = parsed.port_or_known_default().unwrap_or(443);
        let found: Vec<_> = tokio::net::lookup_host((host, port))
            .await
            .map(|addrs| addrs.collect())
            .unwrap_or_default();
        // A host that does not resolve (yet) is taken: its deliveries fail,
        // retried, with the delivery log saying why, until it does. The
        // delivery's resolver refuses forbidden addresses again at each
        // connection, so this check is for the customer, not the guard.
        let outbound = crate::verify::outbound::Outbound {
            allow_private: state.webhooks.allow_private,
        };
        if !found.is_empty() && !found.iter().any(|addr| outbound.permits(addr.ip())) {
            return Err(ApiError::invalid(
                "url",
                "webhook_url_forbidden",
                format!("{host} resolves only to private or reserved addresses"),
            ));
        }
    }
    Ok(parsed.to_string())
}

fn valid_description(text: Option<String>) -> Result<String, ApiError> {
    let text = text.unwrap_or_default();
    if text.chars().count() > MAX_DESCRIPTION_LEN || text.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "description",
            "invalid_description",
            format!("at most {MAX_DESCRIPTION_LEN} characters, no control characters"),
        ));
    }
    Ok(text)
}

fn valid_types(types: Option<Vec<String>>) -> Result<Option<String>, ApiError> {
    let Some(types) = types else {
        return Ok(None);
    };
    if types.is_empty() {
        return Err(ApiError::invalid(
            "event_types",
            "invalid_event_types",
            "name at least one event type, or send null for every type",
        ));
    }
    if let Some(unknown) = types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(ApiError::invalid(
            "event_types",
            "unknown_event_type",
            format!(
                "`{}` is not an event type: use {}",
                unknown.chars().take(64).collect::<String>(),
                EVENT_TYPES.join(", ")
            ),
        ));
    }
    let mut types = types;
    types.sort();
    types.dedup();
    Ok(Some(types.join(" ")))
}

/// Adds an endpoint; the answer holds its secret, shown this once.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body = NewEndpoint,
    security(("account_token" = [])),
    responses(
        (status = 201, body = EndpointWithSecret),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`quota_exceeded`: the account is at its `webhook_endpoints` quota (`error.quota`, `error.limit`)", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_webhook_url`, `webhook_url_forbidden`, `unknown_event_type`, `invalid_event_types`, `invalid_description`", body = ErrorBody),
    )
)]
pub async fn create_endpoint(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewEndpoint>,
) -> Result<(StatusCode, ApiJson<EndpointWithSecret>), ApiError> {
    let url = valid_url(&state, &input.url).await?;
    let description = valid_description(input.description)?;
    let event_types = valid_types(input.event_types)?;
    let secret = Secret::generate().encode();
    let me = auth.account_id.as_str();
    let row = state
        .units
        .run_as(me, &[me], async |unit| {
            state
                .quotas
                .check(unit.conn(), me, Quota::WebhookEndpoints, 1)
                .await?;
            let row = EndpointRow {
                id: new_id("whe"),
                account_id: me.to_string(),
                url,
                description,
                event_types,
                enabled: 1,
                disabled_reason: None,
                secret: secret.clone(),
                previous_secret: None,
                previous_until: None,
                failing_since: None,
                created_at: unit.now,
                updated_at: unit.now,
            };
            store::insert_endpoint(unit.conn(), &row).await?;
            Ok::<_, ApiError>(row)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(EndpointWithSecret {
            endpoint: view(&row),
            secret,
        }),
    ))
}

/// The caller's endpoints.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    params(PageQuery),
    security(("account_token" = [])),
    responses((status = 200, body = EndpointList), (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_endpoints(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<EndpointList>, ApiError> {
    let window = page.window()?;
    let rows = store::page_endpoints(
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
    Ok(ApiJson(EndpointList {
        endpoints: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

async fn endpoint(state: &AppState, account_id: &str, id: &str) -> Result<EndpointRow, ApiError> {
    let mut conn = state.store.pool().acquire().await?;
    store::get_endpoint(&mut conn, account_id, id)
        .await?
        .ok_or(ApiError::NotFound("webhook endpoint"))
}

/// One endpoint.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{endpoint_id}",
    tag = "webhooks",
    params(("endpoint_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = Endpoint), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_endpoint(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Endpoint>, ApiError> {
    Ok(ApiJson(view(
        &endpoint(&state, &auth.account_id, &id).await?,
    )))
}

/// Reads the caller's endpoint in a unit of work, lets `change` alter it,
/// and writes it back.
async fn change_endpoint(
    state: &AppState,
    account_id: &str,
    id: &str,
    change: impl FnOnce(&mut EndpointRow),
) -> Result<EndpointRow, ApiError> {
    state
        .units
        .run_as(account_id, &[account_id], async |unit| {
            let mut row = store::get_endpoint(unit.conn(), account_id, id)
                .await?
                .ok_or(ApiError::NotFound("webhook endpoint"))?;
            change(&mut row);
            row.updated_at = unit.now;
            store::update_endpoint(unit.conn(), &row).await?;
            Ok(row)
        })
        .await
}

/// Changes an endpoint's URL, description, filter, or switches it on or off.
#[utoipa::path(
    patch,
    path = "/v1/webhooks/{endpoint_id}",
    tag = "webhooks",
    params(("endpoint_id" = String, Path)),
    request_body = EndpointChange,
    security(("account_token" = [])),
    responses(
        (status = 200, body = Endpoint),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn update_endpoint(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(change): ApiJson<EndpointChange>,
) -> Result<ApiJson<Endpoint>, ApiError> {
    let url = match &change.url {
        Some(url) => Some(valid_url(&state, url).await?),
        None => None,
    };
    let description = match change.description {
        Some(text) => Some(valid_description(Some(text))?),
        None => None,
    };
    let event_types = match change.event_types {
        Some(types) => Some(valid_types(types)?),
        None => None,
    };
    let row = change_endpoint(&state, &auth.account_id, &id, |row| {
        if let Some(url) = url {
            row.url = url;
        }
        if let Some(description) = description {
            row.description = description;
        }
        if let Some(types) = event_types {
            row.event_types = types;
        }
        match change.enabled {
            Some(true) => {
                row.enabled = 1;
                row.disabled_reason = None;
                row.failing_since = None;
            }
            Some(false) if row.enabled != 0 => {
                row.enabled = 0;
                row.disabled_reason = Some("switched off by its owner".into());
            }
            _ => {}
        }
    })
    .await?;
    state.units.webhooks_wake.notify_one();
    Ok(ApiJson(view(&row)))
}

/// Removes an endpoint, with its queued messages and delivery log.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{endpoint_id}",
    tag = "webhooks",
    params(("endpoint_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn delete_endpoint(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let me = auth.account_id.as_str();
    let removed = state
        .units
        .run_as(me, &[me], async |unit| {
            Ok::<_, ApiError>(store::delete_endpoint(unit.conn(), me, &id).await?)
        })
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("webhook endpoint"))
    }
}

/// Makes a new secret; the previous one keeps signing too for the overlap,
/// so receivers can be updated without a failed delivery.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{endpoint_id}/rotate",
    tag = "webhooks",
    params(("endpoint_id" = String, Path)),
    request_body = Rotation,
    security(("account_token" = [])),
    responses(
        (status = 200, body = EndpointWithSecret),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_overlap`", body = ErrorBody),
    )
)]
pub async fn rotate_secret(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(rotation): ApiJson<Rotation>,
) -> Result<ApiJson<EndpointWithSecret>, ApiError> {
    let overlap = rotation.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_S);
    if !(0..=MAX_OVERLAP_S).contains(&overlap) {
        return Err(ApiError::invalid(
            "overlap_seconds",
            "invalid_overlap",
            format!("expected 0 to {MAX_OVERLAP_S} seconds"),
        ));
    }
    let secret = Secret::generate().encode();
    let now = state.clock.now_ms();
    let row = change_endpoint(&state, &auth.account_id, &id, |row| {
        row.previous_secret = (overlap > 0).then(|| row.secret.clone());
        row.previous_until = (overlap > 0).then_some(now + overlap * 1000);
        row.secret = secret.clone();
    })
    .await?;
    Ok(ApiJson(EndpointWithSecret {
        endpoint: view(&row),
        secret,
    }))
}

/// The endpoint's messages, newest first, each with its attempts.
#[utoipa::path(
    get,
    path = "/v1/webhooks/{endpoint_id}/messages",
    tag = "webhooks",
    params(("endpoint_id" = String, Path), PageQuery),
    security(("account_token" = [])),
    responses(
        (status = 200, body = MessageList),
        (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn list_messages(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<MessageList>, ApiError> {
    let window = page.window()?;
    let endpoint = endpoint(&state, &auth.account_id, &id).await?;
    let pool = state.store.pool();
    let rows = store::list_messages(pool, &endpoint.id, window.below(), window.fetch()).await?;
    let (rows, next_cursor) = window.finish(rows, |row| Position::numbered(row.id));
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let attempts = store::attempts_of(pool, &ids).await?;
    let messages = rows
        .into_iter()
        .map(|row| Message {
            attempts: attempts
                .iter()
                .filter(|a| a.message == row.id)
                .map(|a| Attempt {
                    attempted_at: rfc3339(a.attempted_at),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    response: a.response.clone(),
                })
                .collect(),
            next_attempt_at: (row.state == "pending").then(|| rfc3339(row.next_attempt_at)),
            delivered_at: row.delivered_at.map(rfc3339),
            id: row.id,
            webhook_id: row.message_id,
            event_type: row.event_type,
            state: row.state,
            created_at: rfc3339(row.created_at),
        })
        .collect();
    Ok(ApiJson(MessageList {
        messages,
        next_cursor,
    }))
}

/// Sends a message again now (same `webhook-id`), whatever became of it.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{endpoint_id}/messages/{message_id}/redeliver",
    tag = "webhooks",
    params(("endpoint_id" = String, Path), ("message_id" = i64, Path)),
    security(("account_token" = [])),
    responses(
        (status = 202),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`delivery_in_flight`", body = ErrorBody),
    )
)]
pub async fn redeliver(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath((id, message)): ApiPath<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    let endpoint = endpoint(&state, &auth.account_id, &id).await?;
    let me = auth.account_id.as_str();
    let queued = state
        .units
        .run_as(me, &[me], async |unit| {
            let now = unit.now;
            Ok::<_, ApiError>(store::redeliver(unit.conn(), &endpoint.id, message, now).await?)
        })
        .await?;
    if queued {
        state.units.webhooks_wake.notify_one();
        return Ok(StatusCode::ACCEPTED);
    }
    let exists = store::list_messages(state.store.pool(), &endpoint.id, message + 1, 1)
        .await?
        .first()
        .is_some_and(|row| row.id == message);
    if exists {
        Err(ApiError::conflict(
            "delivery_in_flight",
            "an attempt of this message is in flight: try again in a few seconds",
        ))
    } else {
        Err(ApiError::NotFound("webhook message"))
    }
}
