//! Custom domains: how they read (the exact DNS records and forward to
//! create), list, get, remove, and the Index/404 settings. Adding one, with
//! the one-owner rule, is in `domain_add`.

use axum::extract::State;
use axum::http::StatusCode;
use portico_shared::lifecycle::Status;
use portico_shared::ownership::ChallengeLabel;
use portico_shared::{
    Apex, ApexAddresses, ApexSetup, ExternalUrl, Integration, IntegrationKind, MainAddress,
    PlatformDomain, Username,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::paging::PageQuery;
use super::{AccountAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::certs::CertificateOwner;
use crate::store::domains::{self, Domain, TargetColumns};
use crate::store::events::EventKind;
use crate::store::{accounts, pages, rfc3339, Position};
use crate::unit::Unit;

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
    /// `CNAME`; `A` or `AAAA` at the apex (`@`) of a root by address.
    #[serde(rename = "type")]
    pub record_type: String,
    /// "Host"/"Name" as most providers want it, relative to the root (`sales`, `www`).
    pub host: String,
    /// The same name in full.
    pub name: String,
    /// "Points to"/"Target"/"Value": `<username>.<platform domain>`, or an
    /// IPv4/IPv6 address of the platform's for an `A`/`AAAA`.
    pub value: String,
}

/// How a root's bare domain (the apex) reaches the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApexSetupView {
    /// The registrar forwards it to `https://www.<root>` (`root_forward`).
    Forward,
    /// A/AAAA records at `@` → the platform's addresses (`apex.address_records`),
    /// or the DNS provider's ALIAS/ANAME/CNAME flattening to
    /// `apex.flattening_target`: the platform answers the bare domain itself.
    Addresses,
}

/// Which of a root's two names serves the pages; the other redirects to it
/// (301, path and query kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MainAddressView {
    #[default]
    Www,
    /// The bare domain (setup `addresses` only).
    Apex,
}

/// A root's bare domain: the choice and the exact records for it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApexView {
    pub setup: ApexSetupView,
    pub main_address: MainAddressView,
    /// The platform offers setup `addresses` (it has addresses configured).
    pub addresses_offered: bool,
    /// The A/AAAA records at `@` that setup `addresses` needs (listed in
    /// either setup, so the choice can show them; empty when not offered).
    pub address_records: Vec<DnsRecordView>,
    /// Instead of the records: an ALIAS/ANAME record, or CNAME flattening
    /// at the apex, to this name works too (it resolves to the same addresses).
    pub flattening_target: String,
}

/// A root's choice for its bare domain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApexChoice {
    pub setup: ApexSetupView,
    /// `www` when absent. `apex` needs setup `addresses`.
    #[serde(default)]
    pub main_address: MainAddressView,
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
#[serde(deny_unknown_fields)]
pub struct DomainSettings {
    /// What `/` serves.
    #[serde(default)]
    pub index: TargetSetting,
    /// What a path without a page serves, with status 404.
    #[serde(default)]
    pub not_found: TargetSetting,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Domain)]
pub struct DomainView {
    #[schema(example = "dom_5f2a9c0e1b7d3a4f6e8c2b1a")]
    pub id: String,
    /// As added, normalized (punycode for internationalized names).
    pub hostname: String,
    pub kind: DomainKind,
    /// The registrable domain (`example.com`, `example.co.uk`).
    pub root: String,
    /// The host the customer's CNAME names (`www.<root>` for a root); the
    /// pages are served here unless `main_host` says otherwise.
    pub served_host: String,
    /// `served_host` for people (Unicode where internationalized).
    pub served_host_unicode: String,
    /// The host visitors reach the pages at: `served_host`, or a root's
    /// bare domain when it is the main address.
    pub main_host: String,
    pub status: Status,
    pub added_at: String,
    /// Not connected by then → the integration is reverted.
    pub connect_deadline: String,
    pub connected_at: Option<String>,
    /// The exact records to create.
    pub dns_records: Vec<DnsRecordView>,
    /// Root domains whose bare domain is forwarded (`apex.setup` `forward`)
    /// only: the forward to create at the registrar.
    pub root_forward: Option<RootForwardView>,
    /// Root domains only: how the bare domain reaches the platform, and the
    /// records for pointing it at the platform's addresses.
    pub apex: Option<ApexView>,
    /// The TXT record that proves the domain is yours while its CNAME
    /// points elsewhere (optional: the CNAME proves it too).
    pub ownership_proof: Option<super::domain_add::OwnershipProof>,
    pub settings: DomainSettings,
    /// The last verification, in short (what is still missing, when the
    /// next check runs); absent until the first check. The full report is at
    /// `…/diagnostics`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verification: Option<crate::verify::report::CheckSummary>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DomainList {
    pub domains: Vec<DomainView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
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

pub(crate) fn settings_view(domain: &Domain) -> DomainSettings {
    DomainSettings {
        index: target_setting(&domain.index.page_id, &domain.index.url),
        not_found: target_setting(&domain.not_found.page_id, &domain.not_found.url),
    }
}

pub(crate) fn view(state: &AppState, username: &Username, row: &Domain) -> DomainView {
    view_with(
        &state.platform,
        &state.challenge_label(),
        &state.units.records.apex_addresses,
        username,
        row,
    )
}

fn address_record_views(integration: &Integration, offered: &ApexAddresses) -> Vec<DnsRecordView> {
    integration
        .apex_records(offered)
        .into_iter()
        .map(|record| DnsRecordView {
            record_type: record.record_type,
            host: record.host,
            name: record.name.to_string(),
            value: record.value.to_string(),
        })
        .collect()
}

fn apex_view(
    integration: &Integration,
    offered: &ApexAddresses,
    flattening_target: String,
) -> Option<ApexView> {
    if integration.kind != IntegrationKind::Root {
        return None;
    }
    // The records as they would be by address, whatever the setup today.
    let by_address = Integration {
        apex: Apex::Addresses,
        ..integration.clone()
    };
    Some(ApexView {
        setup: match integration.apex.setup() {
            ApexSetup::Forward => ApexSetupView::Forward,
            ApexSetup::Addresses => ApexSetupView::Addresses,
        },
        main_address: match integration.apex.main() {
            MainAddress::Www => MainAddressView::Www,
            MainAddress::Apex => MainAddressView::Apex,
        },
        addresses_offered: !offered.is_empty(),
        address_records: address_record_views(&by_address, offered),
        flattening_target,
    })
}

/// The domain as the API returns it, from what it is built of (webhooks
/// build it inside a unit of work, without the application state).
pub fn view_with(
    platform: &PlatformDomain,
    label: &ChallengeLabel,
    apex_addresses: &ApexAddresses,
    username: &Username,
    row: &Domain,
) -> DomainView {
    let integration = &row.integration;
    let cname = integration.cname_record(username, platform);
    let flattening_target = cname.value.to_string();
    let mut dns_records = vec![DnsRecordView {
        record_type: cname.record_type,
        host: cname.host,
        name: cname.name.to_string(),
        value: cname.value.to_string(),
    }];
    dns_records.extend(address_record_views(integration, apex_addresses));
    DomainView {
        id: row.id.clone(),
        hostname: row.hostname.clone(),
        kind: match integration.kind {
            IntegrationKind::Root => DomainKind::Root,
            IntegrationKind::Subdomain => DomainKind::Subdomain,
        },
        root: integration.root.to_string(),
        served_host: integration.served_host.to_string(),
        served_host_unicode: integration.served_host.to_unicode(),
        main_host: integration.main_host().to_string(),
        status: row.status,
        added_at: rfc3339(row.added_at),
        connect_deadline: rfc3339(row.connect_deadline),
        connected_at: row.connected_at.map(rfc3339),
        dns_records,
        root_forward: integration.root_forward().map(|forward| RootForwardView {
            from: forward.from,
            to: forward.to,
            status: forward.status,
            forward_path: forward.forward_path,
            redirect_www: forward.redirect_www,
        }),
        apex: apex_view(integration, apex_addresses, flattening_target),
        ownership_proof: row
            .ownership_token
            .as_deref()
            .map(|token| super::domain_add::proof_view_with(label, integration, token, None)),
        settings: settings_view(row),
        verification: None,
    }
}

pub(crate) async fn username(state: &AppState, account_id: &str) -> Result<Username, ApiError> {
    let account = accounts::get(state.store.pool(), account_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Username::parse(&account.username)
        .map_err(|err| ApiError::Internal(format!("stored username: {err}")))
}

/// The caller's domains, oldest first, each with its last verification in short.
#[utoipa::path(
    get,
    path = "/v1/domains",
    tag = "domains",
    params(PageQuery),
    security(("account_token" = [])),
    responses((status = 200, body = DomainList), (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_domains(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<DomainList>, ApiError> {
    let window = page.window()?;
    let username = username(&state, &auth.account_id).await?;
    let rows = domains::page(
        state.store.pool(),
        &auth.account_id,
        &window.start(),
        window.fetch(),
    )
    .await?;
    let (rows, next_cursor) = window.finish(rows, |row| Position {
        key: row.added_at,
        id: row.id.clone(),
    });
    let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    let mut summaries = super::diagnostics::summaries(&state, &ids).await?;
    let domains = rows
        .iter()
        .map(|row| {
            let mut domain = view(&state, &username, row);
            domain.verification = summaries.remove(&row.id);
            domain
        })
        .collect();
    Ok(ApiJson(DomainList {
        domains,
        next_cursor,
    }))
}

async fn own_domain(
    state: &AppState,
    account_id: &str,
    domain_id: &str,
) -> Result<Domain, ApiError> {
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
    responses((status = 200, body = DomainView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_domain(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(domain_id): ApiPath<String>,
) -> Result<ApiJson<DomainView>, ApiError> {
    let username = username(&state, &auth.account_id).await?;
    let row = own_domain(&state, &auth.account_id, &domain_id).await?;
    let mut domain = view(&state, &username, &row);
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
    let me = auth.account_id.as_str();
    let removed = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let domain = domains::get_in(unit.conn(), me, &domain_id)
                .await?
                .ok_or(ApiError::NotFound("domain"))?;
            let message = format!("{} removed", domain.served_host());
            remove_in(unit, &domain, &message).await?;
            Ok::<_, ApiError>(domain)
        })
        .await?;
    remove_certificate(&state, &removed);
    Ok(StatusCode::NO_CONTENT)
}

/// Removes `domain` in a unit of work that has its account locked: the
/// unit's resync unpublishes its records; the event says `message`. After
/// the commit, [`remove_certificate`]. What `DELETE /v1/domains/{id}` and
/// account deletion both do.
pub(crate) async fn remove_in(
    unit: &mut Unit,
    domain: &Domain,
    message: &str,
) -> Result<(), sqlx::Error> {
    domains::delete(unit.conn(), &domain.id).await?;
    unit.event(domain, EventKind::DomainRemoved, message).await
}

/// Deletes a removed domain's certificate, in the background (a removal
/// lost to a crash is left to `sweep-certificates`).
pub(crate) fn remove_certificate(state: &AppState, removed: &Domain) {
    for host in removed.integration.certificate_hosts() {
        let owner = CertificateOwner::new(&removed.account_id, &removed.id);
        state.certificates.remove_in_background(host.clone(), owner);
    }
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
    let me = auth.account_id.as_str();
    let row = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let domain = domains::get_in(unit.conn(), me, &domain_id)
                .await?
                .ok_or(ApiError::NotFound("domain"))?;
            let integration = &domain.integration;
            let index =
                target_columns(unit.conn(), me, integration, &input.index, "index.url").await?;
            let not_found = target_columns(
                unit.conn(),
                me,
                integration,
                &input.not_found,
                "not_found.url",
            )
            .await?;
            let now = unit.now;
            domains::set_targets(unit.conn(), &domain.id, &index, &not_found, now).await?;
            domains::get_in(unit.conn(), me, &domain_id)
                .await?
                .ok_or(ApiError::NotFound("domain"))
        })
        .await?;
    Ok(ApiJson(settings_view(&row)))
}

/// Chooses how a root's bare domain reaches the platform: `forward` (the
/// registrar forwards it to `https://www.<root>`) or `addresses` (A/AAAA
/// records at `@` → the platform's addresses, or ALIAS/ANAME/CNAME
/// flattening; the platform answers the bare domain itself, with its own
/// certificate), and which name serves the pages (`main_address`: `www`, or
/// `apex` with `addresses`; the other redirects to it, 301, path and query
/// kept). Answers the domain with the exact records for the choice. A
/// connected domain is republished at once; its checks follow the choice.
#[utoipa::path(
    put,
    path = "/v1/domains/{domain_id}/apex",
    tag = "domains",
    params(("domain_id" = String, Path)),
    request_body = ApexChoice,
    security(("account_token" = [])),
    responses(
        (status = 200, body = DomainView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`apex_not_root` (a subdomain has no bare domain of its own), `apex_addresses_not_offered` (the platform has no apex addresses configured), `apex_main_needs_addresses` (`main_address` `apex` with setup `forward`)", body = ErrorBody),
    )
)]
pub async fn put_apex(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(domain_id): ApiPath<String>,
    ApiJson(input): ApiJson<ApexChoice>,
) -> Result<ApiJson<DomainView>, ApiError> {
    let me = auth.account_id.as_str();
    let setup = match input.setup {
        ApexSetupView::Forward => ApexSetup::Forward,
        ApexSetupView::Addresses => ApexSetup::Addresses,
    };
    let main = match input.main_address {
        MainAddressView::Www => MainAddress::Www,
        MainAddressView::Apex => MainAddress::Apex,
    };
    let apex = Apex::from_parts(setup, main)
        .map_err(|err| ApiError::invalid("main_address", err.code(), err))?;
    let offered = state.units.records.apex_addresses.clone();
    let username = username(&state, me).await?;
    let (before, after) = state
        .units
        .run_as(me, &[me], async |unit: &mut Unit| {
            let domain = domains::get_in(unit.conn(), me, &domain_id)
                .await?
                .ok_or(ApiError::NotFound("domain"))?;
            domain
                .integration
                .with_apex(apex, &offered)
                .map_err(|err| ApiError::invalid("setup", err.code(), err))?;
            let now = unit.now;
            domains::set_apex(unit.conn(), &domain.id, apex, now).await?;
            // Its checks follow the choice: the next one is due now.
            crate::store::checks::schedule(unit.conn(), &domain.id, now).await?;
            let after = domains::get_in(unit.conn(), me, &domain_id)
                .await?
                .ok_or(ApiError::NotFound("domain"))?;
            Ok::<_, ApiError>((domain, after))
        })
        .await?;
    // The bare domain no longer needs its own certificate.
    if before.integration.apex.by_address() && !after.integration.apex.by_address() {
        let owner = CertificateOwner::new(&after.account_id, &after.id);
        state
            .certificates
            .remove_in_background(after.integration.root.clone(), owner);
    }
    let mut domain = view(&state, &username, &after);
    domain.verification = super::diagnostics::summary(&state, &after.id).await?;
    Ok(ApiJson(domain))
}
