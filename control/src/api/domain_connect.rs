//! Domain Connect in the API: the offer for one domain (the signed apply URL
//! of its DNS provider, or why not and the manual records), and the return
//! endpoint the provider sends the customer's browser back to.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::domains::{username, view, DnsRecordView, RootForwardView};
use super::error::ErrorBody;
use super::{AccountAuth, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::domain_connect::discovery::NotOffered;
use crate::domain_connect::offer::offer;
use crate::domain_connect::state::StateError;
use crate::store::{domains, idempotency, rfc3339};
use portico_shared::lifecycle::Status;

/// How long the return waits for the check before sending the browser on
/// (the check carries on either way).
const RETURN_CHECK_WAIT: Duration = Duration::from_secs(10);

/// The scope under which spent `state` nonces are kept.
const SPENT_SCOPE: &str = "domain-connect";

/// Why the button is not offered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotOfferedView {
    /// `not_configured` (the platform has no Domain Connect key),
    /// `already_connected`, `apex_by_address` (the platform's template
    /// forwards the bare domain; this root points it at the platform's
    /// addresses), `no_record` (the DNS provider does not announce
    /// Domain Connect), `bad_record`, `unreadable`, `malformed`, `refused`
    /// (a private address, plain HTTP, credentials in a URL),
    /// `template_unsupported`.
    pub code: String,
    /// A sentence for the customer, shown beside the manual records.
    pub message: String,
}

/// The offer for one domain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DomainConnectOffer {
    pub domain_id: String,
    /// Whether the dashboard may show "Connect automatically".
    pub offered: bool,
    /// Offered: where to send the customer's browser (the provider's consent
    /// page), signed by the platform.
    pub apply_url: Option<String>,
    /// Offered: the signed state the provider hands back (expires).
    pub state: Option<String>,
    /// Offered: where the provider sends the browser back to.
    pub redirect_uri: Option<String>,
    /// Offered: the DNS provider's name.
    pub provider_name: Option<String>,
    /// Offered: when `state` stops being honoured (RFC 3339).
    pub expires_at: Option<String>,
    /// Not offered: why.
    pub reason: Option<NotOfferedView>,
    /// The manual steps, always: the records to create.
    pub dns_records: Vec<DnsRecordView>,
    /// Root domains: the forward to create at the registrar.
    pub root_forward: Option<RootForwardView>,
}

fn not_offered_code(why: &NotOffered) -> &'static str {
    match why {
        NotOffered::NoRecord => "no_record",
        NotOffered::BadRecord(_) => "bad_record",
        NotOffered::Unreadable(_) => "unreadable",
        NotOffered::Malformed(_) => "malformed",
        NotOffered::Refused { .. } => "refused",
        NotOffered::TemplateUnsupported(_) => "template_unsupported",
    }
}

/// Offers Domain Connect for a domain: discovers its DNS provider
/// (`_domainconnect` TXT, the provider's settings, its support of the
/// platform's template) and answers the signed apply URL with a fresh
/// `state`, or why not and the manual records. Counted as a check in the
/// rate limits (it queries DNS and the provider).
#[utoipa::path(
    post,
    path = "/v1/domains/{domain_id}/domain-connect",
    tag = "domains",
    params(("domain_id" = String, Path)),
    security(("account_token" = [])),
    responses(
        (status = 200, body = DomainConnectOffer),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`insufficient_scope`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    )
)]
pub async fn offer_domain_connect(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(domain_id): ApiPath<String>,
) -> Result<ApiJson<DomainConnectOffer>, ApiError> {
    let row = domains::get(state.store.pool(), &auth.account_id, &domain_id)
        .await?
        .ok_or(ApiError::NotFound("domain"))?;
    let username = username(&state, &auth.account_id).await?;
    let domain = view(&state, &username, &row);
    let mut answer = DomainConnectOffer {
        domain_id: row.id.clone(),
        offered: false,
        apply_url: None,
        state: None,
        redirect_uri: None,
        provider_name: None,
        expires_at: None,
        reason: None,
        dns_records: domain.dns_records,
        root_forward: domain.root_forward,
    };
    let not = |code: &str, message: String| NotOfferedView {
        code: code.to_string(),
        message,
    };
    let (Some(dc), Some(scheduler)) = (state.domain_connect.as_deref(), state.verifier.as_ref())
    else {
        answer.reason = Some(not(
            "not_configured",
            "this platform does not offer Domain Connect: create the records below at your DNS provider".into(),
        ));
        return Ok(ApiJson(answer));
    };
    if row.status == Status::Connected {
        answer.reason = Some(not(
            "already_connected",
            "this domain is connected: nothing to set up".into(),
        ));
        return Ok(ApiJson(answer));
    }
    if row.integration.apex.by_address() {
        answer.reason = Some(not(
            "apex_by_address",
            "the platform's Domain Connect template forwards the bare domain, and this domain points it at the platform's addresses instead: create the records below at your DNS provider".into(),
        ));
        return Ok(ApiJson(answer));
    }
    let target = format!("{}.{}", username.as_str(), state.platform.host().as_str());
    let made = offer(
        dc,
        &scheduler.verifier.dns,
        &row.integration,
        &target,
        (&row.id, &row.account_id),
        state.clock.now_ms(),
    )
    .await;
    match made {
        Ok(offered) => {
            answer.offered = true;
            answer.apply_url = Some(offered.apply_url);
            answer.state = Some(offered.state);
            answer.redirect_uri = Some(offered.redirect_uri);
            answer.provider_name = Some(offered.provider_name);
            answer.expires_at = Some(rfc3339(offered.expires_at_ms));
        }
        Err(why) => {
            tracing::info!(domain_id = %row.id, reason = %why, "Domain Connect not offered");
            answer.reason = Some(not(
                not_offered_code(&why),
                format!("{why}: create the records below at your DNS provider"),
            ));
        }
    }
    Ok(ApiJson(answer))
}

/// What the DNS provider appends to the return URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnQuery {
    /// The `state` of the apply URL, as the provider hands it back.
    pub state: String,
    /// Set by the provider when the customer cancelled or it failed
    /// (`access_denied`, …): nothing is checked.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where the DNS provider sends the customer's browser after consent
/// (`redirect_uri`; no token: the signed `state` says which domain). A valid,
/// unspent, unexpired state checks the domain at once (as `…/verify` does,
/// within the rate limits) and answers 303 to the dashboard's view of the
/// domain. A forged, expired or spent state changes nothing.
#[utoipa::path(
    get,
    path = "/v1/domain-connect/return",
    tag = "domains",
    params(ReturnQuery),
    responses(
        (status = 303, description = "To the dashboard's view of the domain (`Location`)"),
        (status = 400, description = "`invalid_state` (forged or malformed), `state_expired`, `invalid_query`", body = ErrorBody),
        (status = 404, description = "Domain Connect is not configured", body = ErrorBody),
        (status = 409, description = "`state_used`: this return was already taken", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    )
)]
pub async fn domain_connect_return(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ReturnQuery>,
) -> Result<Response, ApiError> {
    let dc = state
        .domain_connect
        .clone()
        .ok_or(ApiError::NotFound("Domain Connect"))?;
    let now = state.clock.now_ms();
    let returned = dc
        .state_key
        .open(&query.state, now)
        .map_err(|err| match err {
            StateError::Expired => ApiError::BadRequest {
                code: "state_expired",
                message: err.to_string(),
            },
            _ => ApiError::BadRequest {
                code: "invalid_state",
                message: format!("{err}: nothing was changed"),
            },
        })?;
    if !idempotency::spend(state.store.pool(), SPENT_SCOPE, &returned.nonce, now).await? {
        return Err(ApiError::conflict(
            "state_used",
            "this return was already taken: open the domain in the dashboard",
        ));
    }
    let see_other =
        |location: String| (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response();
    let Some(row) = domains::get(
        state.store.pool(),
        &returned.account_id,
        &returned.domain_id,
    )
    .await?
    else {
        // Removed since: the list of domains.
        return Ok(see_other(
            dc.dashboard_url("").trim_end_matches('/').to_string(),
        ));
    };
    let location = dc.dashboard_url(&row.id);
    if query.error.is_some() {
        tracing::info!(domain_id = %row.id, error = ?query.error, description = ?query.error_description, "Domain Connect cancelled at the provider");
        return Ok(see_other(location));
    }
    if let Some(limits) = &state.limits {
        let key: [u8; 32] =
            Sha256::digest(format!("domain-connect-return:{}", row.account_id)).into();
        if let Some(refusal) = limits.charge_verify(&key) {
            return Ok(refusal);
        }
    }
    if let Some(scheduler) = state.verifier.clone() {
        let domain_id = row.id.clone();
        let check = tokio::spawn(async move { scheduler.check_now(&domain_id, now).await });
        match tokio::time::timeout(RETURN_CHECK_WAIT, check).await {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(err))) => {
                tracing::info!(domain_id = %row.id, error = %err, "check after Domain Connect not run")
            }
            Ok(Err(err)) => tracing::warn!(error = %err, "check after Domain Connect failed"),
            Err(_) => {
                tracing::info!(domain_id = %row.id, "check after Domain Connect still running")
            }
        }
    }
    Ok(see_other(location))
}
