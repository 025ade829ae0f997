//! The account's products on the platform (memberships, checkouts, videos,
//! calendars, help desks, or any other path of the platform's application):
//! registered by the platform through the API, so that the dashboard's
//! link editor can offer them and mounts can point at them. The control
//! plane does not own them: removing one unpublishes the mounts that point
//! at it (their paths answer with the host's 404) until they are pointed
//! elsewhere.

use axum::extract::State;
use axum::http::StatusCode;
use portico_shared::text::check_line;
use portico_shared::OriginPath;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::paging::PageQuery;
use super::{AccountAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::quota::Quota;
use crate::store::products::{self, ProductRow};
use crate::store::{new_id, rfc3339, Position};
use crate::unit::Unit;

/// Longest product name.
pub const MAX_NAME_LEN: usize = 200;

/// What a product is, for people (the dashboard groups and labels them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    Membership,
    Checkout,
    Video,
    Calendar,
    Helpdesk,
    /// Any other path of the platform's application.
    Path,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Membership => "membership",
            ProductKind::Checkout => "checkout",
            ProductKind::Video => "video",
            ProductKind::Calendar => "calendar",
            ProductKind::Helpdesk => "helpdesk",
            ProductKind::Path => "path",
        }
    }

    fn parse(stored: &str) -> ProductKind {
        serde_json::from_value(serde_json::Value::String(stored.to_string()))
            .unwrap_or(ProductKind::Path)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub kind: ProductKind,
    /// What the customer calls it: `Gold members`.
    #[schema(example = "Gold members")]
    pub name: String,
    /// Where the platform's application serves it; a mount appends what
    /// follows its path (`/members/lesson/2` → `/memberships/42/lesson/2`).
    #[schema(example = "/memberships/42")]
    pub origin_path: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Product {
    #[schema(example = "prd_5f2a9c0e1b7d3a4f6e8c2b1a")]
    pub id: String,
    pub kind: ProductKind,
    pub name: String,
    pub origin_path: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductList {
    pub products: Vec<Product>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// What a change sets; what it leaves out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductChange {
    pub name: Option<String>,
    pub origin_path: Option<String>,
}

pub(crate) fn view(row: &ProductRow) -> Product {
    Product {
        id: row.id.clone(),
        kind: ProductKind::parse(&row.kind),
        name: row.name.clone(),
        origin_path: row.origin_path.clone(),
        created_at: rfc3339(row.created_at),
    }
}

fn parse_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    check_line(name).map_err(|err| ApiError::control_character("name", &err))?;
    if name.is_empty() {
        return Err(ApiError::invalid("name", "name_empty", "enter a name"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(ApiError::invalid(
            "name",
            "name_too_long",
            format!("a name holds at most {MAX_NAME_LEN} characters"),
        ));
    }
    Ok(name.to_string())
}

fn parse_origin_path(input: &str) -> Result<OriginPath, ApiError> {
    OriginPath::parse(input).map_err(|err| ApiError::invalid("origin_path", err.code(), &err))
}

/// Registers one of the account's products, so mounts can point at it.
#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "products",
    request_body = NewProduct,
    security(("account_token" = [])),
    responses(
        (status = 201, body = Product),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`quota_exceeded`: the account is at its `products` quota", body = ErrorBody),
        (status = 422, description = "`name_*`, `origin_path_*`", body = ErrorBody),
    )
)]
pub async fn create_product(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewProduct>,
) -> Result<(StatusCode, ApiJson<Product>), ApiError> {
    let name = parse_name(&input.name)?;
    let origin_path = parse_origin_path(&input.origin_path)?;
    let me = auth.account_id.as_str();
    let row = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            state
                .quotas
                .check(unit.conn(), me, Quota::Products, 1)
                .await?;
            let row = ProductRow {
                id: new_id("prd"),
                account_id: me.to_string(),
                kind: input.kind.as_str().to_string(),
                name: name.clone(),
                origin_path: origin_path.as_str().to_string(),
                created_at: unit.now,
            };
            products::insert(unit.conn(), &row).await?;
            Ok::<_, ApiError>(row)
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(view(&row))))
}

/// The account's products, oldest first.
#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "products",
    params(PageQuery),
    security(("account_token" = [])),
    responses((status = 200, body = ProductList), (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_products(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<ProductList>, ApiError> {
    let window = page.window()?;
    let rows = products::page(
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
    Ok(ApiJson(ProductList {
        products: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

/// One product.
#[utoipa::path(
    get,
    path = "/v1/products/{product_id}",
    tag = "products",
    params(("product_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = Product), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_product(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(product_id): ApiPath<String>,
) -> Result<ApiJson<Product>, ApiError> {
    let row = products::get(state.store.pool(), &auth.account_id, &product_id)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    Ok(ApiJson(view(&row)))
}

/// Renames a product or moves it on the platform: its mounts are
/// republished at once.
#[utoipa::path(
    patch,
    path = "/v1/products/{product_id}",
    tag = "products",
    params(("product_id" = String, Path)),
    request_body = ProductChange,
    security(("account_token" = [])),
    responses(
        (status = 200, body = Product),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`name_*`, `origin_path_*`", body = ErrorBody),
    )
)]
pub async fn change_product(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(product_id): ApiPath<String>,
    ApiJson(change): ApiJson<ProductChange>,
) -> Result<ApiJson<Product>, ApiError> {
    let name = change.name.as_deref().map(parse_name).transpose()?;
    let origin_path = change
        .origin_path
        .as_deref()
        .map(parse_origin_path)
        .transpose()?;
    let me = auth.account_id.as_str();
    let row = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let mut row = products::get(unit.conn(), me, &product_id)
                .await?
                .ok_or(ApiError::NotFound("product"))?;
            if let Some(name) = &name {
                row.name = name.clone();
            }
            if let Some(origin_path) = &origin_path {
                row.origin_path = origin_path.as_str().to_string();
            }
            products::update(unit.conn(), &row).await?;
            Ok::<_, ApiError>(row)
        })
        .await?;
    Ok(ApiJson(view(&row)))
}

/// Removes a product: the mounts that point at it stop being served (their
/// paths answer with the host's 404 page) and show `product_missing`.
#[utoipa::path(
    delete,
    path = "/v1/products/{product_id}",
    tag = "products",
    params(("product_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn delete_product(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(product_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let me = auth.account_id.as_str();
    state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            if !products::delete(unit.conn(), me, &product_id).await? {
                return Err(ApiError::NotFound("product"));
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
