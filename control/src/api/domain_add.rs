//! Adding a domain: what the customer typed, classified by shared's
//! `Integration::classify`; the one-owner rule (`portico_shared::ownership`):
//! a hostname another account holds is refused with the TXT proof that
//! would take it, and taken (the holder released) when this account proves
//! it controls the hostname's DNS.

use axum::extract::State;
use axum::http::StatusCode;
use portico_shared::lifecycle::{connect_deadline, Status};
use portico_shared::ownership::{self, txt_value, ChallengeLabel, Claim};
use portico_shared::{Hostname, Integration, Username};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domains::{username, view, DomainView};
use super::error::ErrorBody;
use super::{AccountAuth, ApiError, ApiJson, AppState};
use crate::lifecycle::release;
use crate::quota::Quota;
use crate::store::domains::{self, Domain, TargetColumns};
use crate::store::events::EventKind;
use crate::store::{checks, is_unique_violation, new_id};
use crate::unit::Unit;
use crate::verify::report::Check;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    /// What the customer typed: `sales.example.com`, `example.com`,
    /// `www.example.com`, or a pasted URL such as `https://example.com/`.
    #[schema(example = "sales.example.com")]
    pub hostname: String,
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

/// The TXT proof of `integration`'s host for `token`.
pub(crate) fn proof_view(
    state: &AppState,
    integration: &Integration,
    token: &str,
    check: Option<Check>,
) -> OwnershipProof {
    proof_view_with(&state.challenge_label(), integration, token, check)
}

/// [`proof_view`] with the label given.
pub(crate) fn proof_view_with(
    label: &ChallengeLabel,
    integration: &Integration,
    token: &str,
    check: Option<Check>,
) -> OwnershipProof {
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
        (status = 403, description = "`quota_exceeded`: the account is at its `domains` quota (`error.quota`, `error.limit`)", body = ErrorBody),
        (status = 409, description = "`domain_already_added` (this account) or `hostname_taken` (another account holds it and this one has not proven it controls its DNS; `error.proof` says how)", body = ErrorBody),
        (status = 422, description = "`host_*`, `domain_public_suffix`, `domain_platform`, `domain_special_use` (`.localhost`, `.local`, `.internal`, `.test`… are never customers' domains), `control_character`", body = ErrorBody),
    )
)]
pub async fn add_domain(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewDomain>,
) -> Result<(StatusCode, ApiJson<DomainView>), ApiError> {
    let username = username(&state, &auth.account_id).await?;
    let domain = add_one(&state, &auth.account_id, &username, &input.hostname, 0).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(view(&state, &username, &domain)),
    ))
}

/// Adds one hostname to `me`'s account, in a unit of work of its own
/// (nothing is left half-created when it fails): classified, refused when
/// already added or held by another account without proof, or moved from
/// it with one; its first check due `first_check_delay_ms` from now.
pub(crate) async fn add_one(
    state: &AppState,
    me: &str,
    username: &Username,
    typed: &str,
    first_check_delay_ms: i64,
) -> Result<Domain, ApiError> {
    let integration = Integration::classify(typed, &state.platform)
        .and_then(|integration| {
            integration.refuse_special_use(state.allowed_special_use())?;
            Ok(integration)
        })
        .map_err(|err| ApiError::invalid("hostname", err.code(), &err))?;
    // As typed when it is a bare name (`example.com`); a pasted URL is shown as the served host.
    let hostname = Hostname::parse(typed)
        .map(|h| h.to_string())
        .unwrap_or_else(|_| integration.served_host.to_string());
    let served = integration.served_host.clone();
    let (token, holder) = {
        let mut conn = state.store.pool().acquire().await?;
        if domains::has_served_host(&mut conn, me, &served).await? {
            return Err(already_added(&integration));
        }
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
                .prove(&integration, username, &token)
                .await;
            (proof, Some(check))
        }
        _ => (None, None),
    };
    let moved = match ownership::claim(holder.is_some(), proof) {
        Claim::Taken => return Err(taken(state, &integration, &token, proof_check)),
        Claim::Free => None,
        Claim::Move(_) => holder,
    };
    let mut accounts: Vec<&str> = Vec::new();
    if let Some(old) = &moved {
        // The old owner's resync runs first: its deletes are queued before ours.
        accounts.push(old.account_id.as_str());
    }
    accounts.push(me);
    state
        .units
        .run_as(me, &accounts, async |unit: &mut Unit| {
            let now = unit.now;
            if domains::has_served_host(unit.conn(), me, &served).await? {
                return Err(already_added(&integration));
            }
            state
                .quotas
                .check(unit.conn(), me, Quota::Domains, 1)
                .await?;
            // Whoever holds it now, under the locks: the proof covers only
            // the holder it was checked against.
            match (domains::holder_of(unit.conn(), &served).await?, &moved) {
                (None, _) => {}
                (Some(current), Some(old)) if current.id == old.id => {
                    release(unit, &current).await?;
                }
                (Some(_), _) => return Err(taken(state, &integration, &token, None)),
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
                    return Err(taken(state, &integration, &token, None))
                }
                other => other?,
            }
            if let Some(old) = &moved {
                // The custom hostname (and its certificate) changes owner in
                // place, before this domain's first certificate check.
                domains::record_handover(unit.conn(), &domain.id, &old.account_id, &old.id, now)
                    .await?;
            }
            // The verifier's first check: due at once, or later for the
            // items of a batch (spread, not fired at once).
            checks::schedule(unit.conn(), &domain.id, now + first_check_delay_ms).await?;
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
        .await
}
