//! Custom domains: add (classified by shared's `Integration::classify`, with
//! the exact DNS records and forward to create), list, get, remove, and the
//! Index/404 settings.

use axum::extract::State;
use axum::http::StatusCode;
use portico_shared::{ExternalUrl, Hostname, Integration, IntegrationKind, Username};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::{AccountAuth, ApiError, ApiJson, ApiPath, AppState};
use crate::certs::{CertificateOwner, Validation};
use crate::publish::sync::sync_account;
use crate::store::domains::{self, DomainRow, DomainStatus, TargetColumns};
use crate::store::events::{self, EventKind};
use crate::store::{
    accounts, checks, is_unique_violation, lock_account, new_id, now_ms, pages, rfc3339,
};

/// A domain not connected this long after it was added is reverted.
pub const CONNECT_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewDomain {
    /// What the customer typed: `sales.example.com`, `example.com`,
    /// `www.example.com`, or a pasted URL such as `https://example.com/`.
    #[schema(example = "sales.example.com")]
    pub hostname: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DomainKind {
    /// `example.com` / `www.example.com`: served at `www`, the bare root forwarded to it.
    Root,
    /// Served as itself.
    Subdomain,
}

/// A DNS record the customer creates at their DNS provider.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DnsRecordView {
    /// `CNAME`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// "Host"/"Name" as most providers want it, relative to the root (`sales`, `www`).
    pub host: String,
    /// The same name in full.
    pub name: String,
    /// "Points to"/"Target"/"Value": `<username>.<platform domain>`.
    pub value: String,
}

/// The forward of the bare root to `https://www.<root>` (root domains only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RootForwardView {
    pub from: String,
    pub to: String,
    /// 301.
    pub status: u16,
    /// "Forward path" on.
    pub forward_path: bool,
    /// "Redirect www" off: forwarding `www` too would loop.
    pub redirect_www: bool,
}

/// What `/` or a missing page serves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TargetSetting {
    /// The platform default: a built-in "Nothing here yet" page for the
    /// Index, a built-in "Page not found" page (served 404) for 404.
    #[default]
    Default,
    /// One of the account's pages.
    Page { page_id: String },
    /// Another site (a redirect); never this domain itself.
    Url { url: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DomainSettings {
    /// What `/` serves.
    #[serde(default)]
    pub index: TargetSetting,
    /// What a path without a page serves, with status 404.
    #[serde(default)]
    pub not_found: TargetSetting,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Domain {
    #[schema(example = "dom_5f2a9c0e1b7d3a4f6e8c2b1a")]
    pub id: String,
    /// As added, normalized (punycode for internationalized names).
    pub hostname: String,
    pub kind: DomainKind,
    /// The registrable domain (`example.com`, `example.co.uk`).
    pub root: String,
    /// The host visitors reach the pages at.
    pub served_host: String,
    /// `served_host` for people (Unicode where internationalized).
    pub served_host_unicode: String,
    pub status: DomainStatus,
    pub added_at: String,
    /// Not connected by then → the integration is reverted.
    pub connect_deadline: String,
    pub connected_at: Option<String>,
    /// The exact records to create.
    pub dns_records: Vec<DnsRecordView>,
    /// Root domains only: the forward to create at the registrar.
    pub root_forward: Option<RootForwardView>,
    pub settings: DomainSettings,
    /// The last verification, in short (what is still missing, when the
    /// next check runs); absent until the first check. The full report is at
    /// `…/diagnostics`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verification: Option<crate::verify::report::CheckSummary>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DomainList {
    pub domains: Vec<Domain>,
}

/// The integration a stored domain was classified as.
pub(crate) fn integration(row: &DomainRow) -> Result<Integration, ApiError> {
    let parse = |name: &str| {
        Hostname::parse(name)
            .map_err(|err| ApiError::Internal(format!("stored host `{name}`: {err}")))
    };
    Ok(Integration {
        kind: if row.kind == "root" {
            IntegrationKind::Root
        } else {
            IntegrationKind::Subdomain
        },
        root: parse(&row.root)?,
        served_host: parse(&row.served_host)?,
    })
}

fn target_setting(page_id: &Option<String>, url: &Option<String>) -> TargetSetting {
    match (page_id, url) {
        (Some(page_id), _) => TargetSetting::Page {
            page_id: page_id.clone(),
        },
        (None, Some(url)) => TargetSetting::Url { url: url.clone() },
        (None, None) => TargetSetting::Default,
    }
}

pub(crate) fn settings_view(row: &DomainRow) -> DomainSettings {
    DomainSettings {
        index: target_setting(&row.index_page_id, &row.index_url),
        not_found: target_setting(&row.not_found_page_id, &row.not_found_url),
    }
}

fn view(state: &AppState, username: &Username, row: &DomainRow) -> Result<Domain, ApiError> {
    let integration = integration(row)?;
    let cname = integration.cname_record(username, &state.platform);
    Ok(Domain {
        id: row.id.clone(),
        hostname: row.hostname.clone(),
        kind: match integration.kind {
            IntegrationKind::Root => DomainKind::Root,
            IntegrationKind::Subdomain => DomainKind::Subdomain,
        },
        root: row.root.clone(),
        served_host: row.served_host.clone(),
        served_host_unicode: integration.served_host.to_unicode(),
        status: row.status(),
        added_at: rfc3339(row.added_at),
        connect_deadline: rfc3339(row.connect_deadline),
        connected_at: row.connected_at.map(rfc3339),
        dns_records: vec![DnsRecordView {
            record_type: cname.record_type,
            host: cname.host,
            name: cname.name.to_string(),
            value: cname.value.to_string(),
        }],
        root_forward: integration.root_forward().map(|forward| RootForwardView {
            from: forward.from,
            to: forward.to,
            status: forward.status,
            forward_path: forward.forward_path,
            redirect_www: forward.redirect_www,
        }),
        settings: settings_view(row),
        verification: None,
    })
}

async fn username(state: &AppState, account_id: &str) -> Result<Username, ApiError> {
    let account = accounts::get(state.store.pool(), account_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Username::parse(&account.username)
        .map_err(|err| ApiError::Internal(format!("stored username: {err}")))
}

fn taken(host: &str) -> ApiError {
    ApiError::conflict(
        "hostname_taken",
        format!(
            "`{host}` is already being connected or connected on this platform by another account; \
             if the domain is yours, remove it from that account first, or contact support"
        ),
    )
}

/// Adds a domain. It starts `processing`, with a deadline 24 h away; the
/// answer carries the DNS records (and, for roots, the forward) to create.
#[utoipa::path(
    post,
    path = "/v1/domains",
    tag = "domains",
    request_body = NewDomain,
    security(("account_token" = [])),
    responses(
        (status = 201, body = Domain),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`domain_already_added` (this account) or `hostname_taken` (another account)", body = ErrorBody),
        (status = 422, description = "`host_*`, `domain_public_suffix`, `domain_platform`", body = ErrorBody),
    )
)]
pub async fn add_domain(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewDomain>,
) -> Result<(StatusCode, ApiJson<Domain>), ApiError> {
    let integration = Integration::classify(&input.hostname, &state.platform)
        .map_err(|err| ApiError::invalid("hostname", err.code(), &err))?;
    let username = username(&state, &auth.account_id).await?;
    // As typed when it is a bare name (`example.com`); a pasted URL is shown as the served host.
    let hostname = Hostname::parse(&input.hostname)
        .map(|h| h.to_string())
        .unwrap_or_else(|_| integration.served_host.to_string());
    let served = integration.served_host.to_string();
    let now = now_ms();
    let row = DomainRow {
        id: new_id("dom"),
        account_id: auth.account_id.clone(),
        hostname,
        kind: match integration.kind {
            IntegrationKind::Root => "root".into(),
            IntegrationKind::Subdomain => "subdomain".into(),
        },
        root: integration.root.to_string(),
        served_host: served.clone(),
        status: DomainStatus::Processing.as_str().into(),
        added_at: now,
        connect_deadline: now + CONNECT_WINDOW_MS,
        connected_at: None,
        index_page_id: None,
        index_url: None,
        not_found_page_id: None,
        not_found_url: None,
        updated_at: now,
        published_at: None,
        disconnected_at: None,
    };

    let mut tx = state.store.pool().begin().await?;
    lock_account(&mut tx, &auth.account_id).await?;
    if domains::list(&mut *tx, &auth.account_id)
        .await?
        .iter()
        .any(|d| d.served_host == served)
    {
        return Err(ApiError::conflict(
            "domain_already_added",
            format!(
                "you have already added `{}`: see your domains",
                integration.served_host.to_unicode()
            ),
        ));
    }
    if domains::active_by_served_host(&mut tx, &served)
        .await?
        .is_some()
    {
        return Err(taken(&integration.served_host.to_unicode()));
    }
    match domains::insert(&mut tx, &row).await {
        Err(err) if is_unique_violation(&err) => {
            return Err(taken(&integration.served_host.to_unicode()))
        }
        other => other?,
    }
    // The verifier's first check: due at once.
    checks::schedule(&mut tx, &row.id, now).await?;
    let message = format!(
        "{} added; waiting for its DNS records",
        integration.served_host.to_unicode()
    );
    events::record(
        &mut tx,
        &auth.account_id,
        EventKind::DomainAdded,
        Some(&row.id),
        Some(&served),
        &message,
        now,
    )
    .await?;
    tx.commit().await?;
    // Best effort: an outage must not fail the add; the verifier's `ensure`
    // creates whatever this could not.
    let owner = CertificateOwner::new(&auth.account_id, &row.id);
    match state
        .certificates
        .request(&integration.served_host, &owner, Validation::Http)
        .await
    {
        Ok(report) => {
            tracing::debug!(host = %served, state = ?report.state, found = %report.found, "certificate requested")
        }
        Err(err) => {
            tracing::warn!(host = %served, error = %err, "could not request the certificate yet; the verifier retries")
        }
    }
    Ok((StatusCode::CREATED, ApiJson(view(&state, &username, &row)?)))
}

/// The caller's domains, oldest first, each with its last verification in short.
#[utoipa::path(
    get,
    path = "/v1/domains",
    tag = "domains",
    security(("account_token" = [])),
    responses((status = 200, body = DomainList), (status = 401, body = ErrorBody))
)]
pub async fn list_domains(
    auth: AccountAuth,
    State(state): State<AppState>,
) -> Result<ApiJson<DomainList>, ApiError> {
    let username = username(&state, &auth.account_id).await?;
    let rows = domains::list(state.store.pool(), &auth.account_id).await?;
    let mut summaries = super::diagnostics::summaries(&state, &auth.account_id).await?;
    let domains = rows
        .iter()
        .map(|row| {
            let mut domain = view(&state, &username, row)?;
            domain.verification = summaries.remove(&row.id);
            Ok(domain)
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(ApiJson(DomainList { domains }))
}

async fn own_domain(
    state: &AppState,
    account_id: &str,
    domain_id: &str,
) -> Result<DomainRow, ApiError> {
    domains::get(state.store.pool(), account_id, domain_id)
        .await?
        .ok_or(ApiError::NotFound("domain"))
}

/// One of the caller's domains.
#[utoipa::path(
    get,
    path = "/v1/domains/{domain_id}",
    tag = "domains",
    params(("domain_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = Domain), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_domain(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(domain_id): ApiPath<String>,
) -> Result<ApiJson<Domain>, ApiError> {
    let username = username(&state, &auth.account_id).await?;
    let row = own_domain(&state, &auth.account_id, &domain_id).await?;
    let mut domain = view(&state, &username, &row)?;
    domain.verification = super::diagnostics::summary(&state, &row.id).await?;
    Ok(ApiJson(domain))
}

/// Removes a domain at any time: the edge stops serving it (its KV records
/// are deleted), its links go with it, and so does its certificate.
#[utoipa::path(
    delete,
    path = "/v1/domains/{domain_id}",
    tag = "domains",
    params(("domain_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn remove_domain(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(domain_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.store.pool().begin().await?;
    lock_account(&mut tx, &auth.account_id).await?;
    let row = domains::get_in(&mut tx, &auth.account_id, &domain_id)
        .await?
        .ok_or(ApiError::NotFound("domain"))?;
    let served_host = integration(&row)?.served_host;
    domains::delete(&mut tx, &row.id).await?;
    let message = format!("{} removed", row.served_host);
    events::record(
        &mut tx,
        &auth.account_id,
        EventKind::DomainRemoved,
        Some(&row.id),
        Some(&row.served_host),
        &message,
        now_ms(),
    )
    .await?;
    let written = sync_account(&mut tx, &state.platform, &auth.account_id).await?;
    tx.commit().await?;
    if written > 0 {
        state.published();
    }
    let owner = CertificateOwner::new(&auth.account_id, &row.id);
    state.certificates.remove_in_background(served_host, owner);
    Ok(StatusCode::NO_CONTENT)
}

/// A domain's Index and 404 targets.
#[utoipa::path(
    get,
    path = "/v1/domains/{domain_id}/settings",
    tag = "domains",
    params(("domain_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = DomainSettings), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_settings(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(domain_id): ApiPath<String>,
) -> Result<ApiJson<DomainSettings>, ApiError> {
    let row = own_domain(&state, &auth.account_id, &domain_id).await?;
    Ok(ApiJson(settings_view(&row)))
}

async fn target_columns(
    tx: &mut sqlx::AnyConnection,
    account_id: &str,
    integration: &Integration,
    setting: &TargetSetting,
    field: &'static str,
) -> Result<TargetColumns, ApiError> {
    match setting {
        TargetSetting::Default => Ok(TargetColumns::default()),
        TargetSetting::Page { page_id } => {
            pages::get_in(tx, account_id, page_id)
                .await?
                .ok_or(ApiError::NotFound("page"))?;
            Ok(TargetColumns {
                page_id: Some(page_id.clone()),
                url: None,
            })
        }
        TargetSetting::Url { url } => {
            let url = ExternalUrl::parse(url, integration)
                .map_err(|err| ApiError::invalid(field, err.code(), &err))?;
            Ok(TargetColumns {
                page_id: None,
                url: Some(url.to_string()),
            })
        }
    }
}

/// Replaces a domain's Index and 404 targets (an absent one is the default).
/// A connected domain is republished at once.
#[utoipa::path(
    put,
    path = "/v1/domains/{domain_id}/settings",
    tag = "domains",
    params(("domain_id" = String, Path)),
    request_body = DomainSettings,
    security(("account_token" = [])),
    responses(
        (status = 200, body = DomainSettings),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such domain, or no such page", body = ErrorBody),
        (status = 422, description = "`url_*`, e.g. `url_same_domain` for a URL on this domain itself", body = ErrorBody),
    )
)]
pub async fn put_settings(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(domain_id): ApiPath<String>,
    ApiJson(input): ApiJson<DomainSettings>,
) -> Result<ApiJson<DomainSettings>, ApiError> {
    let mut tx = state.store.pool().begin().await?;
    lock_account(&mut tx, &auth.account_id).await?;
    let row = domains::get_in(&mut tx, &auth.account_id, &domain_id)
        .await?
        .ok_or(ApiError::NotFound("domain"))?;
    let integration = integration(&row)?;
    let index = target_columns(
        &mut tx,
        &auth.account_id,
        &integration,
        &input.index,
        "index.url",
    )
    .await?;
    let not_found = target_columns(
        &mut tx,
        &auth.account_id,
        &integration,
        &input.not_found,
        "not_found.url",
    )
    .await?;
    domains::set_targets(&mut tx, &row.id, &index, &not_found, now_ms()).await?;
    let written = sync_account(&mut tx, &state.platform, &auth.account_id).await?;
    let row = domains::get_in(&mut tx, &auth.account_id, &domain_id)
        .await?
        .ok_or(ApiError::NotFound("domain"))?;
    tx.commit().await?;
    if written > 0 {
        state.published();
    }
    Ok(ApiJson(settings_view(&row)))
}
