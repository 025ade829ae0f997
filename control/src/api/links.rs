//! Page links: a page at a path on one of the account's domains, or on the
//! account's platform host (`<username>.<platform domain>`). A path
//! (`/offer`, `/courses/intro`) is unique per host, among pages and mounts
//! (`paths.rs`).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use portico_shared::{LinkPath, Username};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ErrorBody;
use super::paging::PageQuery;
use super::paths::{claim, taken};
use super::{AccountAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::quota::Quota;
use crate::store::links::{self, LinkRow};
use crate::store::{accounts, domains, is_unique_violation, new_id, pages, rfc3339, Position};
use crate::unit::Unit;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    pub page_id: String,
    /// One of the account's domains; absent or null for the platform host.
    #[serde(default)]
    pub domain_id: Option<String>,
    /// The path: `offer`, `/offer` or `/courses/intro` (up to 6 parts of
    /// letters, digits, `-`, `_`, `.`).
    #[schema(example = "/courses/intro")]
    pub path: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Link {
    #[schema(example = "lnk_5f2a9c0e1b7d3a4f6e8c2b1a")]
    pub id: String,
    pub page_id: String,
    /// Null for the platform host.
    pub domain_id: Option<String>,
    /// The host the link is on.
    pub host: String,
    /// `/offer`, `/courses/intro`.
    pub path: String,
    /// Where visitors find it (once the domain is connected).
    pub url: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkList {
    pub links: Vec<Link>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkFilter {
    /// Only this page's links.
    pub page_id: Option<String>,
}

pub(crate) async fn platform_host(state: &AppState, account_id: &str) -> Result<String, ApiError> {
    let account = accounts::get(state.store.pool(), account_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let username = Username::parse(&account.username)
        .map_err(|err| ApiError::Internal(format!("stored username: {err}")))?;
    Ok(state.platform.account_host(&username).to_string())
}

fn view(row: &LinkRow, host: &str) -> Link {
    let path = format!("/{}", row.slug);
    Link {
        id: row.id.clone(),
        page_id: row.page_id.clone(),
        domain_id: row.domain_id.clone(),
        url: format!("https://{host}{path}"),
        host: host.to_string(),
        path,
        created_at: rfc3339(row.created_at),
    }
}

fn parse_path(input: &str) -> Result<LinkPath, ApiError> {
    LinkPath::parse(input).map_err(|err| ApiError::invalid("path", err.code(), &err))
}

/// The host a link is on: its domain's served host, or the platform host.
async fn host_of(state: &AppState, row: &LinkRow) -> Result<String, ApiError> {
    match &row.domain_id {
        None => platform_host(state, &row.account_id).await,
        Some(domain_id) => Ok(domains::get(state.store.pool(), &row.account_id, domain_id)
            .await?
            .map(|d| d.main_host().to_string())
            .unwrap_or_default()),
    }
}

/// Where a link on `domain_id` (none: the platform host) lives: its
/// uniqueness scope and its host. 404 for a domain the account lacks.
pub(crate) async fn place(
    unit: &mut Unit,
    me: &str,
    platform_host: &str,
    domain_id: &Option<String>,
) -> Result<(String, String), ApiError> {
    Ok(match domain_id {
        None => (me.to_string(), platform_host.to_string()),
        Some(domain_id) => {
            let domain = domains::get_in(unit.conn(), me, domain_id)
                .await?
                .ok_or(ApiError::NotFound("domain"))?;
            (domain.id.clone(), domain.main_host().to_string())
        }
    })
}

/// Puts a page at a path. Published at once on the platform host, and on a
/// domain as soon as it is connected.
#[utoipa::path(
    post,
    path = "/v1/links",
    tag = "links",
    request_body = NewLink,
    security(("account_token" = [])),
    responses(
        (status = 201, body = Link),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`quota_exceeded`: the account is at its `links` quota (`error.quota`, `error.limit`)", body = ErrorBody),
        (status = 404, description = "No such page or domain", body = ErrorBody),
        (status = 409, description = "`path_taken`: a page or a mount has the path", body = ErrorBody),
        (status = 422, description = "`slug_*`, `path_*` (e.g. `path_too_deep`, `path_segment_full`)", body = ErrorBody),
    )
)]
pub async fn create_link(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewLink>,
) -> Result<(StatusCode, ApiJson<Link>), ApiError> {
    let path = parse_path(&input.path)?;
    let platform_host = platform_host(&state, &auth.account_id).await?;
    let me = auth.account_id.as_str();
    let (row, host) = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            pages::get_in(unit.conn(), me, &input.page_id)
                .await?
                .ok_or(ApiError::NotFound("page"))?;
            state.quotas.check(unit.conn(), me, Quota::Links, 1).await?;
            let (scope, host) = place(unit, me, &platform_host, &input.domain_id).await?;
            claim(unit, &scope, &path, &host, None).await?;
            let row = LinkRow {
                id: new_id("lnk"),
                account_id: me.to_string(),
                page_id: input.page_id.clone(),
                domain_id: input.domain_id.clone(),
                scope,
                slug: path.to_string(),
                created_at: unit.now,
            };
            match links::insert(unit.conn(), &row).await {
                Err(err) if is_unique_violation(&err) => return Err(taken(&path, &host)),
                other => other?,
            }
            Ok((row, host))
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(view(&row, &host))))
}

/// The caller's links, optionally for one page.
#[utoipa::path(
    get,
    path = "/v1/links",
    tag = "links",
    params(LinkFilter, PageQuery),
    security(("account_token" = [])),
    responses((status = 200, body = LinkList), (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_links(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<LinkFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<LinkList>, ApiError> {
    let window = page.window()?;
    let platform_host = platform_host(&state, &auth.account_id).await?;
    let pool = state.store.pool();
    let hosts: HashMap<String, String> = domains::list(pool, &auth.account_id)
        .await?
        .into_iter()
        .map(|d| (d.id.clone(), d.main_host().to_string()))
        .collect();
    let rows = links::page(
        pool,
        &auth.account_id,
        filter.page_id.as_deref(),
        &window.start(),
        window.fetch(),
    )
    .await?;
    let (rows, next_cursor) = window.finish(rows, |row| Position {
        key: row.created_at,
        id: row.id.clone(),
    });
    let links = rows
        .iter()
        .map(|row| {
            let host = match &row.domain_id {
                None => platform_host.as_str(),
                Some(id) => hosts.get(id).map(String::as_str).unwrap_or_default(),
            };
            view(row, host)
        })
        .collect();
    Ok(ApiJson(LinkList { links, next_cursor }))
}

/// One link.
#[utoipa::path(
    get,
    path = "/v1/links/{link_id}",
    tag = "links",
    params(("link_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = Link), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_link(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(link_id): ApiPath<String>,
) -> Result<ApiJson<Link>, ApiError> {
    let row = links::get(state.store.pool(), &auth.account_id, &link_id)
        .await?
        .ok_or(ApiError::NotFound("link"))?;
    let host = host_of(&state, &row).await?;
    Ok(ApiJson(view(&row, &host)))
}

/// What a change sets; what it leaves out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkChange {
    /// Another of the account's pages.
    pub page_id: Option<String>,
    /// Another of the account's domains; `null` for the platform host.
    #[serde(default, with = "super::double_option")]
    #[schema(value_type = Option<String>)]
    pub domain_id: Option<Option<String>>,
    /// Another path: `offer`, `/offer` or `/courses/intro`.
    pub path: Option<String>,
}

/// Changes a link's page, host or path in one step: the new address is
/// published and the old one unpublished together, and a taken path
/// leaves the link as it was.
#[utoipa::path(
    patch,
    path = "/v1/links/{link_id}",
    tag = "links",
    params(("link_id" = String, Path)),
    request_body = LinkChange,
    security(("account_token" = [])),
    responses(
        (status = 200, body = Link),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such link, page or domain", body = ErrorBody),
        (status = 409, description = "`path_taken`: a page or a mount has the path", body = ErrorBody),
        (status = 422, description = "`slug_*`, `path_*` (e.g. `path_too_deep`, `path_segment_full`)", body = ErrorBody),
    )
)]
pub async fn change_link(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(link_id): ApiPath<String>,
    ApiJson(change): ApiJson<LinkChange>,
) -> Result<ApiJson<Link>, ApiError> {
    let path = change.path.as_deref().map(parse_path).transpose()?;
    let platform_host = platform_host(&state, &auth.account_id).await?;
    let me = auth.account_id.as_str();
    let (row, host) = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let mut row = links::get(unit.conn(), me, &link_id)
                .await?
                .ok_or(ApiError::NotFound("link"))?;
            if let Some(page_id) = &change.page_id {
                pages::get_in(unit.conn(), me, page_id)
                    .await?
                    .ok_or(ApiError::NotFound("page"))?;
                row.page_id = page_id.clone();
            }
            if let Some(domain_id) = &change.domain_id {
                row.domain_id = domain_id.clone();
            }
            let (scope, host) = place(unit, me, &platform_host, &row.domain_id).await?;
            let path = match &path {
                Some(path) => path.clone(),
                None => LinkPath::parse(&row.slug)
                    .map_err(|err| ApiError::Internal(format!("stored path: {err}")))?,
            };
            claim(unit, &scope, &path, &host, Some(&row.id)).await?;
            row.scope = scope;
            row.slug = path.to_string();
            match links::update(unit.conn(), &row).await {
                Err(err) if is_unique_violation(&err) => return Err(taken(&path, &host)),
                other => other?,
            }
            Ok((row, host))
        })
        .await?;
    Ok(ApiJson(view(&row, &host)))
}

/// Takes a page off a path: the edge stops serving it there.
#[utoipa::path(
    delete,
    path = "/v1/links/{link_id}",
    tag = "links",
    params(("link_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn delete_link(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(link_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let me = auth.account_id.as_str();
    state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            if !links::delete(unit.conn(), me, &link_id).await? {
                return Err(ApiError::NotFound("link"));
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
