//! Pages (sales pages, checkouts, membership portals, videos, calendars,
//! help desks): a title and HTML content; every content change is a new
//! revision, and a page's links and Index/404 uses are republished.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::paging::PageQuery;
use super::{AccountAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState, MAX_PAGE_BYTES};
use crate::publish::sync::content_digest;
use crate::quota::Quota;
use crate::store::pages::{self, PageRow};
use crate::store::{new_id, rfc3339, Position};
use crate::unit::Unit;

/// Longest page title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    Page,
    Checkout,
    Membership,
    Video,
    Calendar,
    Helpdesk,
}

impl PageKind {
    fn as_str(self) -> &'static str {
        match self {
            PageKind::Page => "page",
            PageKind::Checkout => "checkout",
            PageKind::Membership => "membership",
            PageKind::Video => "video",
            PageKind::Calendar => "calendar",
            PageKind::Helpdesk => "helpdesk",
        }
    }

    fn parse(text: &str) -> PageKind {
        match text {
            "checkout" => PageKind::Checkout,
            "membership" => PageKind::Membership,
            "video" => PageKind::Video,
            "calendar" => PageKind::Calendar,
            "helpdesk" => PageKind::Helpdesk,
            _ => PageKind::Page,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPage {
    pub kind: PageKind,
    #[schema(example = "Spring offer")]
    pub title: String,
    /// HTML, at most 1 MiB.
    #[schema(example = "<h1>Spring offer</h1>")]
    pub content: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageUpdate {
    pub title: Option<String>,
    /// New HTML: a new revision when it differs from the current one.
    pub content: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page {
    #[schema(example = "pg_5f2a9c0e1b7d3a4f6e8c2b1a")]
    pub id: String,
    pub kind: PageKind,
    pub title: String,
    /// The current revision's number (1 for a new page).
    pub revision: i64,
    /// SHA-256 (hex) of the current HTML: its content key and ETag.
    pub digest: String,
    /// Bytes of the current HTML.
    pub size: i64,
    pub created_at: String,
    pub updated_at: String,
    /// The current HTML: present when one page is read, absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PageList {
    pub pages: Vec<Page>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Revision {
    pub number: i64,
    pub digest: String,
    pub size: i64,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevisionList {
    /// Newest first.
    pub revisions: Vec<Revision>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

fn view(row: &PageRow, content: Option<String>) -> Page {
    Page {
        id: row.id.clone(),
        kind: PageKind::parse(&row.kind),
        title: row.title.clone(),
        revision: row.current_revision,
        digest: row.digest.clone(),
        size: row.size,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        content,
    }
}

fn check_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(ApiError::invalid(
            "title",
            "title_empty",
            "give the page a title",
        ));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::invalid(
            "title",
            "title_too_long",
            format!("a page title holds at most {MAX_TITLE_CHARS} characters"),
        ));
    }
    Ok(title.to_string())
}

fn check_content(content: &str) -> Result<(), ApiError> {
    if content.len() > MAX_PAGE_BYTES {
        return Err(ApiError::TooLarge {
            code: "page_too_large",
            message: format!(
                "the page is {} bytes: a page holds at most {MAX_PAGE_BYTES} bytes of HTML",
                content.len()
            ),
        });
    }
    Ok(())
}

/// Creates a page (revision 1).
#[utoipa::path(
    post,
    path = "/v1/pages",
    tag = "pages",
    request_body = NewPage,
    security(("account_token" = [])),
    responses(
        (status = 201, body = Page),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`quota_exceeded`: the account is at its `pages` or `page_bytes` quota (`error.quota`, `error.limit`)", body = ErrorBody),
        (status = 413, description = "`page_too_large` or `body_too_large`", body = ErrorBody),
        (status = 422, description = "`title_empty`, `title_too_long`, `invalid_body` (e.g. an unknown kind)", body = ErrorBody),
    )
)]
pub async fn create_page(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewPage>,
) -> Result<(StatusCode, ApiJson<Page>), ApiError> {
    let title = check_title(&input.title)?;
    check_content(&input.content)?;
    let now = state.clock.now_ms();
    let digest = content_digest(&input.content);
    let row = PageRow {
        id: new_id("pg"),
        account_id: auth.account_id.clone(),
        kind: input.kind.as_str().to_string(),
        title,
        current_revision: 1,
        created_at: now,
        updated_at: now,
        digest: digest.as_str().to_string(),
        size: input.content.len() as i64,
    };
    state
        .units
        .run_as(
            &auth.account_id,
            &[&auth.account_id],
            async |unit: &mut Unit| {
                let me = auth.account_id.as_str();
                state.quotas.check(unit.conn(), me, Quota::Pages, 1).await?;
                state
                    .quotas
                    .check(unit.conn(), me, Quota::PageBytes, row.size)
                    .await?;
                pages::insert(unit.conn(), &row).await?;
                pages::insert_revision(
                    unit.conn(),
                    &row.id,
                    1,
                    digest.as_str(),
                    &input.content,
                    now,
                )
                .await?;
                Ok::<_, ApiError>(())
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(view(&row, Some(input.content))),
    ))
}

/// The caller's pages, without their content.
#[utoipa::path(
    get,
    path = "/v1/pages",
    tag = "pages",
    params(PageQuery),
    security(("account_token" = [])),
    responses((status = 200, body = PageList), (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_pages(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<PageList>, ApiError> {
    let window = page.window()?;
    let rows = pages::page(
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
    Ok(ApiJson(PageList {
        pages: rows.iter().map(|row| view(row, None)).collect(),
        next_cursor,
    }))
}

/// One page, with its current content.
#[utoipa::path(
    get,
    path = "/v1/pages/{page_id}",
    tag = "pages",
    params(("page_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = Page), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_page(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(page_id): ApiPath<String>,
) -> Result<ApiJson<Page>, ApiError> {
    let pool = state.store.pool();
    let row = pages::get(pool, &auth.account_id, &page_id)
        .await?
        .ok_or(ApiError::NotFound("page"))?;
    let content = pages::content_in_pool(pool, &row.id, row.current_revision).await?;
    Ok(ApiJson(view(&row, content)))
}

/// Changes a page's title and/or content. New content makes a new revision
/// and republishes every link and Index/404 that shows the page.
#[utoipa::path(
    patch,
    path = "/v1/pages/{page_id}",
    tag = "pages",
    params(("page_id" = String, Path)),
    request_body = PageUpdate,
    security(("account_token" = [])),
    responses(
        (status = 200, body = Page),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`quota_exceeded`: the account is at its `page_bytes` quota (`error.quota`, `error.limit`)", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn update_page(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(page_id): ApiPath<String>,
    ApiJson(input): ApiJson<PageUpdate>,
) -> Result<ApiJson<Page>, ApiError> {
    let title = input.title.as_deref().map(check_title).transpose()?;
    if let Some(content) = &input.content {
        check_content(content)?;
    }
    let me = auth.account_id.as_str();
    let (row, content) = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let now = unit.now;
            let row = pages::get_in(unit.conn(), me, &page_id)
                .await?
                .ok_or(ApiError::NotFound("page"))?;
            let mut revision = row.current_revision;
            if let Some(content) = &input.content {
                let digest = content_digest(content);
                if digest.as_str() != row.digest {
                    let growth = content.len() as i64 - row.size;
                    state
                        .quotas
                        .check(unit.conn(), me, Quota::PageBytes, growth)
                        .await?;
                    revision += 1;
                    pages::insert_revision(
                        unit.conn(),
                        &row.id,
                        revision,
                        digest.as_str(),
                        content,
                        now,
                    )
                    .await?;
                    if let Some(oldest) = state.quotas.oldest_kept(revision) {
                        pages::prune_revisions(unit.conn(), &row.id, oldest).await?;
                    }
                }
            }
            let title = title.unwrap_or_else(|| row.title.clone());
            pages::update(unit.conn(), &row.id, &title, revision, now).await?;
            let row = pages::get_in(unit.conn(), me, &page_id)
                .await?
                .ok_or(ApiError::NotFound("page"))?;
            let content = pages::content(unit.conn(), &row.id, row.current_revision).await?;
            Ok::<_, ApiError>((row, content))
        })
        .await?;
    Ok(ApiJson(view(&row, content)))
}

/// Deletes a page: its links are unpublished and deleted, and any domain
/// that used it as Index or 404 falls back to the platform default.
#[utoipa::path(
    delete,
    path = "/v1/pages/{page_id}",
    tag = "pages",
    params(("page_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn delete_page(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(page_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let me = auth.account_id.as_str();
    state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let row = pages::get_in(unit.conn(), me, &page_id)
                .await?
                .ok_or(ApiError::NotFound("page"))?;
            pages::delete(unit.conn(), &row.id).await?;
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page's revisions, newest first.
#[utoipa::path(
    get,
    path = "/v1/pages/{page_id}/revisions",
    tag = "pages",
    params(("page_id" = String, Path), PageQuery),
    security(("account_token" = [])),
    responses((status = 200, body = RevisionList), (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list_revisions(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(page_id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<RevisionList>, ApiError> {
    let window = page.window()?;
    let pool = state.store.pool();
    pages::get(pool, &auth.account_id, &page_id)
        .await?
        .ok_or(ApiError::NotFound("page"))?;
    let rows = pages::revisions(pool, &page_id, window.below(), window.fetch()).await?;
    let (rows, next_cursor) = window.finish(rows, |row| Position::numbered(row.number));
    Ok(ApiJson(RevisionList {
        next_cursor,
        revisions: rows
            .into_iter()
            .map(|r| Revision {
                number: r.number,
                digest: r.digest,
                size: r.size,
                created_at: rfc3339(r.created_at),
            })
            .collect(),
    }))
}
