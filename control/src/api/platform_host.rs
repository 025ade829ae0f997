//! The platform host's settings: what `<username>.<platform domain>` serves
//! at `/` and for a path without a page or mount, like a domain's
//! (`domains::DomainSettings`). Its pages and mounts are links and mounts
//! without a `domain_id`.

use axum::extract::State;
use portico_shared::url::parse_http_url;
use portico_shared::UrlError;

use super::domains::{DomainSettings, TargetSetting};
use super::error::ErrorBody;
use super::links::platform_host;
use super::{AccountAuth, ApiError, ApiJson, AppState};
use crate::store::domains::TargetColumns;
use crate::store::pages;
use crate::store::platform_host::{self as store, PlatformHostSettings};
use crate::unit::Unit;

fn setting(columns: &TargetColumns) -> TargetSetting {
    match (&columns.page_id, &columns.url) {
        (Some(page_id), _) => TargetSetting::Page {
            page_id: page_id.clone(),
        },
        (None, Some(url)) => TargetSetting::Url { url: url.clone() },
        (None, None) => TargetSetting::Default,
    }
}

fn view(settings: &PlatformHostSettings) -> DomainSettings {
    DomainSettings {
        index: setting(&settings.index),
        not_found: setting(&settings.not_found),
    }
}

async fn columns(
    unit: &mut Unit,
    account_id: &str,
    host: &str,
    setting: &TargetSetting,
    field: &'static str,
) -> Result<TargetColumns, ApiError> {
    match setting {
        TargetSetting::Default => Ok(TargetColumns::default()),
        TargetSetting::Page { page_id } => {
            pages::get_in(unit.conn(), account_id, page_id)
                .await?
                .ok_or(ApiError::NotFound("page"))?;
            Ok(TargetColumns {
                page_id: Some(page_id.clone()),
                url: None,
            })
        }
        TargetSetting::Url { url } => {
            let invalid = |err: UrlError| ApiError::invalid(field, err.code(), &err);
            let (url, url_host) = parse_http_url(url).map_err(invalid)?;
            // The platform host itself would loop.
            if url_host.as_str() == host {
                return Err(invalid(UrlError::SameIntegration {
                    host: url_host.to_unicode(),
                }));
            }
            Ok(TargetColumns {
                page_id: None,
                url: Some(url.into()),
            })
        }
    }
}

/// The platform host's Index and 404 targets.
#[utoipa::path(
    get,
    path = "/v1/account/platform-host/settings",
    tag = "accounts",
    security(("account_token" = [])),
    responses((status = 200, body = DomainSettings), (status = 401, body = ErrorBody))
)]
pub async fn get_platform_host_settings(
    auth: AccountAuth,
    State(state): State<AppState>,
) -> Result<ApiJson<DomainSettings>, ApiError> {
    let settings = store::get(state.store.pool(), &auth.account_id).await?;
    Ok(ApiJson(view(&settings)))
}

/// Replaces the platform host's Index and 404 targets (an absent one is the
/// default), republished at once.
#[utoipa::path(
    put,
    path = "/v1/account/platform-host/settings",
    tag = "accounts",
    request_body = DomainSettings,
    security(("account_token" = [])),
    responses(
        (status = 200, body = DomainSettings),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such page", body = ErrorBody),
        (status = 422, description = "`url_*`, e.g. `url_same_domain` for a URL on the platform host itself", body = ErrorBody),
    )
)]
pub async fn put_platform_host_settings(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<DomainSettings>,
) -> Result<ApiJson<DomainSettings>, ApiError> {
    let host = platform_host(&state, &auth.account_id).await?;
    let me = auth.account_id.as_str();
    let settings = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let settings = PlatformHostSettings {
                index: columns(unit, me, &host, &input.index, "index.url").await?,
                not_found: columns(unit, me, &host, &input.not_found, "not_found.url").await?,
            };
            let now = unit.now;
            store::set(unit.conn(), me, &settings, now).await?;
            Ok::<_, ApiError>(settings)
        })
        .await?;
    Ok(ApiJson(view(&settings)))
}
