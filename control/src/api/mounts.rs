//! Mounts: a path (`/book`) or a path prefix (`/members/*`) on one of the
//! account's domains, or on its platform host, proxied to one of the
//! account's products on the platform's application (or to a generic path
//! there). What follows a prefix is appended to the product's origin path:
//! `/members/lesson/2` → `/memberships/42/lesson/2`. Pages and mounts share
//! a host's paths (`paths.rs`); the longest answers at the edge.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use portico_shared::{LinkPattern, OriginPath};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ErrorBody;
use super::links::{place, platform_host};
use super::paging::PageQuery;
use super::paths::{claim, taken};
use super::products::{self as product_api, Product};
use super::{AccountAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::quota::Quota;
use crate::store::mounts::{self, MountRow};
use crate::store::{domains, is_unique_violation, new_id, products, rfc3339, Position};
use crate::unit::Unit;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMount {
    /// One of the account's domains; absent or null for the platform host.
    #[serde(default)]
    pub domain_id: Option<String>,
    /// `/book` (that path only) or `/members/*` (the path and everything
    /// below it): up to 6 parts of letters, digits, `-`, `_`, `.`.
    #[schema(example = "/members/*")]
    pub path: String,
    /// What the path serves.
    pub target: MountTarget,
}

/// What a mount proxies to. Other fields are ignored, as in the Index and
/// 404 settings (the document cannot say "no other field" of one variant).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MountTarget {
    /// One of the account's products (`/v1/products`).
    Product {
        #[schema(example = "prd_5f2a9c0e1b7d3a4f6e8c2b1a")]
        product_id: String,
    },
    /// A path on the platform's application, for what is not a product.
    Path {
        #[schema(example = "/p/spring-offer")]
        origin_path: String,
    },
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Mount {
    #[schema(example = "mnt_5f2a9c0e1b7d3a4f6e8c2b1a")]
    pub id: String,
    /// Null for the platform host.
    pub domain_id: Option<String>,
    /// The host the mount is on.
    pub host: String,
    /// `/members/*` or `/book`.
    pub path: String,
    /// True for a prefix (`/members/*`).
    pub prefix: bool,
    pub product_id: Option<String>,
    /// The product, while it exists.
    pub product: Option<Product>,
    /// Where requests go on the platform's application: the product's
    /// origin path, or the mount's own.
    pub origin_path: Option<String>,
    /// `active`, or `product_missing`: the product was removed, and the
    /// path answers with the host's 404 page.
    #[schema(example = "active")]
    pub state: String,
    /// Where visitors find it (once the domain is connected).
    pub url: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MountList {
    pub mounts: Vec<Mount>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MountFilter {
    /// Only the mounts of this product.
    pub product_id: Option<String>,
}

/// What a change sets; what it leaves out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MountChange {
    /// Another of the account's domains; `null` for the platform host.
    #[serde(default, with = "super::double_option")]
    #[schema(value_type = Option<String>)]
    pub domain_id: Option<Option<String>>,
    /// `/book` or `/members/*`.
    #[schema(example = "/members/*")]
    pub path: Option<String>,
    pub target: Option<MountTarget>,
}

fn view(row: &MountRow, host: &str, product: Option<&products::ProductRow>) -> Mount {
    let pattern = LinkPattern {
        path: portico_shared::LinkPath::parse(&row.path)
            .unwrap_or_else(|_| portico_shared::LinkPath::parse("invalid").expect("a valid path")),
        prefix: row.prefix != 0,
    };
    let exact = pattern.path.path();
    let missing = row.product_id.is_some() && product.is_none();
    Mount {
        id: row.id.clone(),
        domain_id: row.domain_id.clone(),
        host: host.to_string(),
        path: pattern.display(),
        prefix: pattern.prefix,
        product_id: row.product_id.clone(),
        product: product.map(product_api::view),
        origin_path: product
            .map(|p| p.origin_path.clone())
            .or_else(|| row.origin_path.clone()),
        state: if missing { "product_missing" } else { "active" }.to_string(),
        url: format!("https://{host}{exact}"),
        created_at: rfc3339(row.created_at),
    }
}

fn parse_pattern(input: &str) -> Result<LinkPattern, ApiError> {
    LinkPattern::parse(input).map_err(|err| ApiError::invalid("path", err.code(), &err))
}

/// The target's columns: `(product_id, origin_path)`, the origin path
/// parsed; the product is looked up in the unit of work.
fn target_columns(target: &MountTarget) -> Result<(Option<String>, Option<String>), ApiError> {
    Ok(match target {
        MountTarget::Product { product_id } => (Some(product_id.clone()), None),
        MountTarget::Path { origin_path } => {
            let parsed = OriginPath::parse(origin_path)
                .map_err(|err| ApiError::invalid("target.origin_path", err.code(), &err))?;
            (None, Some(parsed.as_str().to_string()))
        }
    })
}

async fn host_of(state: &AppState, row: &MountRow) -> Result<String, ApiError> {
    match &row.domain_id {
        None => platform_host(state, &row.account_id).await,
        Some(domain_id) => Ok(domains::get(state.store.pool(), &row.account_id, domain_id)
            .await?
            .map(|d| d.main_host().to_string())
            .unwrap_or_default()),
    }
}

/// Mounts a product (or a path on the platform) at a path or path prefix.
/// Published at once on the platform host, and on a domain as soon as it is
/// connected.
#[utoipa::path(
    post,
    path = "/v1/mounts",
    tag = "mounts",
    request_body = NewMount,
    security(("account_token" = [])),
    responses(
        (status = 201, body = Mount),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`quota_exceeded`: the account is at its `mounts` quota", body = ErrorBody),
        (status = 404, description = "No such domain or product", body = ErrorBody),
        (status = 409, description = "`path_taken`: a page or another mount has the path", body = ErrorBody),
        (status = 422, description = "`slug_*`, `path_*` (e.g. `path_too_deep`, `path_segment_full`), `origin_path_*`", body = ErrorBody),
    )
)]
pub async fn create_mount(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewMount>,
) -> Result<(StatusCode, ApiJson<Mount>), ApiError> {
    let pattern = parse_pattern(&input.path)?;
    let (product_id, origin_path) = target_columns(&input.target)?;
    let platform_host = platform_host(&state, &auth.account_id).await?;
    let me = auth.account_id.as_str();
    let (row, host, product) = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let product = match &product_id {
                Some(id) => Some(
                    products::get(unit.conn(), me, id)
                        .await?
                        .ok_or(ApiError::NotFound("product"))?,
                ),
                None => None,
            };
            state
                .quotas
                .check(unit.conn(), me, Quota::Mounts, 1)
                .await?;
            let (scope, host) = place(unit, me, &platform_host, &input.domain_id).await?;
            claim(unit, &scope, &pattern.path, &host, None).await?;
            let row = MountRow {
                id: new_id("mnt"),
                account_id: me.to_string(),
                domain_id: input.domain_id.clone(),
                scope,
                path: pattern.path.to_string(),
                prefix: i64::from(pattern.prefix),
                product_id: product_id.clone(),
                origin_path: origin_path.clone(),
                created_at: unit.now,
            };
            match mounts::insert(unit.conn(), &row).await {
                Err(err) if is_unique_violation(&err) => return Err(taken(&pattern.path, &host)),
                other => other?,
            }
            Ok((row, host, product))
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(view(&row, &host, product.as_ref())),
    ))
}

/// The caller's mounts, optionally of one product.
#[utoipa::path(
    get,
    path = "/v1/mounts",
    tag = "mounts",
    params(MountFilter, PageQuery),
    security(("account_token" = [])),
    responses((status = 200, body = MountList), (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_mounts(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<MountFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<MountList>, ApiError> {
    let window = page.window()?;
    let platform_host = platform_host(&state, &auth.account_id).await?;
    let pool = state.store.pool();
    let hosts: HashMap<String, String> = domains::list(pool, &auth.account_id)
        .await?
        .into_iter()
        .map(|d| (d.id.clone(), d.main_host().to_string()))
        .collect();
    let products: HashMap<String, products::ProductRow> = products::list(pool, &auth.account_id)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let rows = mounts::page(
        pool,
        &auth.account_id,
        filter.product_id.as_deref(),
        &window.start(),
        window.fetch(),
    )
    .await?;
    let (rows, next_cursor) = window.finish(rows, |row| Position {
        key: row.created_at,
        id: row.id.clone(),
    });
    let mounts = rows
        .iter()
        .map(|row| {
            let host = match &row.domain_id {
                None => platform_host.as_str(),
                Some(id) => hosts.get(id).map(String::as_str).unwrap_or_default(),
            };
            let product = row.product_id.as_ref().and_then(|id| products.get(id));
            view(row, host, product)
        })
        .collect();
    Ok(ApiJson(MountList {
        mounts,
        next_cursor,
    }))
}

/// One mount.
#[utoipa::path(
    get,
    path = "/v1/mounts/{mount_id}",
    tag = "mounts",
    params(("mount_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = Mount), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_mount(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(mount_id): ApiPath<String>,
) -> Result<ApiJson<Mount>, ApiError> {
    let pool = state.store.pool();
    let row = mounts::get(pool, &auth.account_id, &mount_id)
        .await?
        .ok_or(ApiError::NotFound("mount"))?;
    let product = match &row.product_id {
        Some(id) => products::get(pool, &auth.account_id, id).await?,
        None => None,
    };
    let host = host_of(&state, &row).await?;
    Ok(ApiJson(view(&row, &host, product.as_ref())))
}

/// Changes a mount's host, path or target in one step: the new address is
/// published and the old one unpublished together, and a taken path leaves
/// the mount as it was.
#[utoipa::path(
    patch,
    path = "/v1/mounts/{mount_id}",
    tag = "mounts",
    params(("mount_id" = String, Path)),
    request_body = MountChange,
    security(("account_token" = [])),
    responses(
        (status = 200, body = Mount),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such mount, domain or product", body = ErrorBody),
        (status = 409, description = "`path_taken`", body = ErrorBody),
        (status = 422, description = "`slug_*`, `path_*`, `origin_path_*`", body = ErrorBody),
    )
)]
pub async fn change_mount(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(mount_id): ApiPath<String>,
    ApiJson(change): ApiJson<MountChange>,
) -> Result<ApiJson<Mount>, ApiError> {
    let pattern = change.path.as_deref().map(parse_pattern).transpose()?;
    let target = change.target.as_ref().map(target_columns).transpose()?;
    let platform_host = platform_host(&state, &auth.account_id).await?;
    let me = auth.account_id.as_str();
    let (row, host, product) = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let mut row = mounts::get(unit.conn(), me, &mount_id)
                .await?
                .ok_or(ApiError::NotFound("mount"))?;
            if let Some((product_id, origin_path)) = &target {
                if let Some(id) = product_id {
                    products::get(unit.conn(), me, id)
                        .await?
                        .ok_or(ApiError::NotFound("product"))?;
                }
                row.product_id = product_id.clone();
                row.origin_path = origin_path.clone();
            }
            if let Some(domain_id) = &change.domain_id {
                row.domain_id = domain_id.clone();
            }
            let (scope, host) = place(unit, me, &platform_host, &row.domain_id).await?;
            let pattern = match &pattern {
                Some(pattern) => pattern.clone(),
                None => LinkPattern {
                    path: portico_shared::LinkPath::parse(&row.path)
                        .map_err(|err| ApiError::Internal(format!("stored path: {err}")))?,
                    prefix: row.prefix != 0,
                },
            };
            claim(unit, &scope, &pattern.path, &host, Some(&row.id)).await?;
            row.scope = scope;
            row.path = pattern.path.to_string();
            row.prefix = i64::from(pattern.prefix);
            match mounts::update(unit.conn(), &row).await {
                Err(err) if is_unique_violation(&err) => return Err(taken(&pattern.path, &host)),
                other => other?,
            }
            let product = match &row.product_id {
                Some(id) => products::get(unit.conn(), me, id).await?,
                None => None,
            };
            Ok((row, host, product))
        })
        .await?;
    Ok(ApiJson(view(&row, &host, product.as_ref())))
}

/// Takes a mount off its path: the edge stops proxying it there.
#[utoipa::path(
    delete,
    path = "/v1/mounts/{mount_id}",
    tag = "mounts",
    params(("mount_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn delete_mount(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(mount_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let me = auth.account_id.as_str();
    state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            if !mounts::delete(unit.conn(), me, &mount_id).await? {
                return Err(ApiError::NotFound("mount"));
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
