//! Custom domains: add (classified by shared's `Integration::classify`, with
//! the exact DNS records and forward to create), list, get, remove, and the
//! Index/404 settings.

use axum::extract::State;
use axum::http::StatusCode;
use portico_shared::lifecycle::{connect_deadline, Status};
use portico_shared::ownership::{self, txt_value, Claim};
use portico_shared::{ExternalUrl, Hostname, Integration, IntegrationKind, Username};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::{AccountAuth, ApiError, ApiJson, ApiPath, AppState};
use crate::certs::CertificateOwner;
use crate::lifecycle::release;
use crate::store::domains::{self, Domain, TargetColumns};
use crate::store::events::EventKind;
use crate::store::{accounts, checks, is_unique_violation, new_id, pages, rfc3339};
use crate::unit::Unit;
use crate::verify::report::Check;

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

/// How to prove a hostname is yours without its CNAME: a TXT record
/// carrying a token of your account's. Needed to take a hostname another
/// account holds, and to get the certificate ready before moving a site
/// that is live elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OwnershipProof {
    /// `TXT`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// "Host"/"Name" relative to the root (`_portico-challenge.sales`).
    pub host: String,
    /// The same name in full.
    pub name: String,
    /// The exact value: `portico-verification=<token>`.
    pub value: String,
    /// What the last look at it found (in a `hostname_taken` answer).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub check: Option<Check>,
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
#[schema(as = Domain)]
pub struct DomainView {
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
    pub status: Status,
    pub added_at: String,
    /// Not connected by then → the integration is reverted.
    pub connect_deadline: String,
    pub connected_at: Option<String>,
    /// The exact records to create.
    pub dns_records: Vec<DnsRecordView>,
    /// Root domains only: the forward to create at the registrar.
    pub root_forward: Option<RootForwardView>,
    /// The TXT record that proves the domain is yours while its CNAME
    /// points elsewhere (optional: the CNAME proves it too).
    pub ownership_proof: Option<OwnershipProof>,
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

/// The TXT proof of `integration`'s host for `token`.
fn proof_view(
    state: &AppState,
    integration: &Integration,
    token: &str,
    check: Option<Check>,
) -> OwnershipProof {
    let label = state.challenge_label();
    let name = label.name_for(&integration.served_host);
    let host = match integration.relative_name().as_str() {
        "" | "@" => label.as_str().to_string(),
        relative => format!("{}.{relative}", label.as_str()),
    };
    OwnershipProof {
        record_type: "TXT".into(),
        host,
        name,
        value: txt_value(token),
        check,
    }
}

fn view(state: &AppState, username: &Username, row: &Domain) -> DomainView {
    let integration = &row.integration;
    let cname = integration.cname_record(username, &state.platform);
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
        status: row.status,
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
        ownership_proof: row
            .ownership_token
            .as_deref()
            .map(|token| proof_view(state, integration, token, None)),
        settings: settings_view(row),
        verification: None,
    }
}

async fn username(state: &AppState, account_id: &str) -> Result<Username, ApiError> {
    let account = accounts::get(state.store.pool(), account_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Username::parse(&account.username)
        .map_err(|err| ApiError::Internal(format!("stored username: {err}")))
}

/// A random token for an account's TXT proof: 128 bits, hex.
fn fresh_token() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    hex::encode(bytes)
}

fn taken(
    state: &AppState,
    integration: &Integration,
    token: &str,
    check: Option<Check>,
) -> ApiError {
    let proof = proof_view(state, integration, token, check);
    ApiError::HostnameTaken {
        message: format!(
            "`{}` is already being connected, or is connected, on this platform by another account. \
             If the domain is yours, prove it: create TXT `{}` = `{}` (or point its CNAME at your account's host), then add it again.",
            integration.served_host.to_unicode(),
            proof.name,
            proof.value
        ),
        proof: Box::new(proof),
    }
}

fn already_added(integration: &Integration) -> ApiError {
    ApiError::conflict(
        "domain_already_added",
        format!(
            "you have already added `{}`: see your domains",
            integration.served_host.to_unicode()
        ),
    )
}

/// Adds a domain. It starts `processing`, with a deadline 24 h away; the
/// answer carries the DNS records (and, for roots, the forward) to create.
/// A hostname another account holds is refused (409 `hostname_taken`, with
/// the TXT record that proves ownership) unless this account proves, now,
/// that it controls the hostname's DNS: then the other account's domain is
/// released (its records unpublished before this one's can be published,
/// and it is told, never by whom) and the hostname moves here. Nothing that
/// costs (a custom hostname, a certificate) is requested here: the verifier
/// asks once the DNS proves ownership.
#[utoipa::path(
    post,
    path = "/v1/domains",
    tag = "domains",
    request_body = NewDomain,
    security(("account_token" = [])),
    responses(
        (status = 201, body = DomainView),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`domain_already_added` (this account) or `hostname_taken` (another account holds it and this one has not proven it controls its DNS; `error.proof` says how)", body = ErrorBody),
        (status = 422, description = "`host_*`, `domain_public_suffix`, `domain_platform`", body = ErrorBody),
    )
)]
pub async fn add_domain(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewDomain>,
) -> Result<(StatusCode, ApiJson<DomainView>), ApiError> {
    let integration = Integration::classify(&input.hostname, &state.platform)
        .map_err(|err| ApiError::invalid("hostname", err.code(), &err))?;
    let username = username(&state, &auth.account_id).await?;
    // As typed when it is a bare name (`example.com`); a pasted URL is shown as the served host.
    let hostname = Hostname::parse(&input.hostname)
        .map(|h| h.to_string())
        .unwrap_or_else(|_| integration.served_host.to_string());
    let served = integration.served_host.clone();
    let me = auth.account_id.as_str();
    if domains::list(state.store.pool(), me)
        .await?
        .iter()
        .any(|d| d.served_host() == &served)
    {
        return Err(already_added(&integration));
    }
    let (token, holder) = {
        let mut conn = state.store.pool().acquire().await?;
        let token =
            domains::challenge_token(&mut conn, me, &served, &fresh_token(), state.clock.now_ms())
                .await?;
        let holder = domains::holder_of(&mut conn, &served)
            .await?
            .filter(|d| d.account_id != me);
        (token, holder)
    };
    // DNS is asked only when another account holds the hostname.
    let (proof, proof_check) = match (&holder, &state.verifier) {
        (Some(_), Some(scheduler)) => {
            let (proof, check) = scheduler
                .verifier
                .prove(&integration, &username, &token)
                .await;
            (proof, Some(check))
        }
        _ => (None, None),
    };
    let moved = match ownership::claim(holder.is_some(), proof) {
        Claim::Taken => return Err(taken(&state, &integration, &token, proof_check)),
        Claim::Free => None,
        Claim::Move(_) => holder,
    };
    let mut accounts: Vec<&str> = Vec::new();
    if let Some(old) = &moved {
        // The old owner's resync runs first: its deletes are queued before ours.
        accounts.push(old.account_id.as_str());
    }
    accounts.push(me);
    let domain = state
        .units
        .run(&accounts, async |unit: &mut Unit| {
            let now = unit.now;
            if domains::list(&mut *unit.conn(), me)
                .await?
                .iter()
                .any(|d| d.served_host() == &served)
            {
                return Err(already_added(&integration));
            }
            // Whoever holds it now, under the locks: the proof covers only
            // the holder it was checked against.
            match (domains::holder_of(unit.conn(), &served).await?, &moved) {
                (None, _) => {}
                (Some(current), Some(old)) if current.id == old.id => {
                    release(unit, &current).await?;
                }
                (Some(_), _) => return Err(taken(&state, &integration, &token, None)),
            }
            let domain = Domain {
                id: new_id("dom"),
                account_id: me.to_string(),
                hostname: hostname.clone(),
                integration: integration.clone(),
                status: Status::Processing,
                added_at: now,
                connect_deadline: connect_deadline(now),
                connected_at: None,
                index: TargetColumns::default(),
                not_found: TargetColumns::default(),
                updated_at: now,
                published_at: None,
                disconnected_at: None,
                ownership_token: Some(token.clone()),
            };
            match domains::insert(unit.conn(), &domain).await {
                Err(err) if is_unique_violation(&err) => {
                    return Err(taken(&state, &integration, &token, None))
                }
                other => other?,
            }
            if let Some(old) = &moved {
                // The custom hostname (and its certificate) changes owner in
                // place, before this domain's first certificate check.
                domains::record_handover(unit.conn(), &domain.id, &old.account_id, &old.id, now)
                    .await?;
            }
            // The verifier's first check: due at once.
            checks::schedule(unit.conn(), &domain.id, now).await?;
            let message = if moved.is_some() {
                format!(
                    "{} added: its DNS proved it is yours, so it was released from the account that held it; waiting for its DNS records",
                    served.to_unicode()
                )
            } else {
                format!("{} added; waiting for its DNS records", served.to_unicode())
            };
            unit.event(&domain, EventKind::DomainAdded, &message).await?;
            Ok::<_, ApiError>(domain)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(view(&state, &username, &domain)),
    ))
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
            let mut domain = view(&state, &username, row);
            domain.verification = summaries.remove(&row.id);
            domain
        })
        .collect();
    Ok(ApiJson(DomainList { domains }))
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
        .run(&[me], async |unit: &mut Unit| {
            let domain = domains::get_in(unit.conn(), me, &domain_id)
                .await?
                .ok_or(ApiError::NotFound("domain"))?;
            domains::delete(unit.conn(), &domain.id).await?;
            let message = format!("{} removed", domain.served_host());
            unit.event(&domain, EventKind::DomainRemoved, &message)
                .await?;
            Ok::<_, ApiError>(domain)
        })
        .await?;
    let owner = CertificateOwner::new(&removed.account_id, &removed.id);
    state
        .certificates
        .remove_in_background(removed.served_host().clone(), owner);
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
    let me = auth.account_id.as_str();
    let row = state
        .units
        .run(&[me], async |unit: &mut Unit| {
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
