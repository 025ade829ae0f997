//! A domain's diagnostics: the last verification report, and a check on
//! demand. The report is data (`verify::report`); dashboards render it.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::{AccountAuth, ApiError, ApiJson, ApiPath, AppState};
use crate::lifecycle::scheduler::ScheduleError;
use crate::store::domains;
use crate::store::{checks, rfc3339};
use crate::verify::report::{CheckSummary, Report};
use portico_shared::lifecycle::Status;

/// The verification of one domain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Diagnostics {
    pub domain_id: String,
    /// The status now; `null` when the check reverted the domain (not
    /// connected within 24 hours, so removed).
    pub status: Option<Status>,
    /// When the verifier looks next (RFC 3339).
    pub next_check_at: Option<String>,
    /// The last report; `null` until the first check (due seconds after adding).
    pub report: Option<Report>,
}

/// The summary shown with a domain (`GET /v1/domains/{id}`).
pub(crate) async fn summary(
    state: &AppState,
    domain_id: &str,
) -> Result<Option<CheckSummary>, ApiError> {
    Ok(checks::get(state.store.pool(), domain_id)
        .await?
        .and_then(|row| summary_of(&row)))
}

/// The summaries of a page of the account's domains, by domain id
/// (`GET /v1/domains`); the ids are the account's own.
pub(crate) async fn summaries(
    state: &AppState,
    domain_ids: &[&str],
) -> Result<std::collections::HashMap<String, CheckSummary>, ApiError> {
    Ok(checks::for_domains(state.store.pool(), domain_ids)
        .await?
        .iter()
        .filter_map(|row| Some((row.domain_id.clone(), summary_of(row)?)))
        .collect())
}

/// `None` until the first check has stored a report.
fn summary_of(row: &checks::CheckRow) -> Option<CheckSummary> {
    let next = Some(rfc3339(row.next_check_at));
    row.report
        .as_deref()
        .and_then(|json| serde_json::from_str::<Report>(json).ok())
        .map(|report| report.summary(next))
}

/// The last verification report of a domain: every check with its state,
/// what was found and, when it is not passing, the cause, the fix and who
/// must act.
#[utoipa::path(
    get,
    path = "/v1/domains/{domain_id}/diagnostics",
    tag = "domains",
    params(("domain_id" = String, Path)),
    security(("account_token" = [])),
    responses((status = 200, body = Diagnostics), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_diagnostics(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(domain_id): ApiPath<String>,
) -> Result<ApiJson<Diagnostics>, ApiError> {
    let row = domains::get(state.store.pool(), &auth.account_id, &domain_id)
        .await?
        .ok_or(ApiError::NotFound("domain"))?;
    let check = checks::get(state.store.pool(), &row.id).await?;
    Ok(ApiJson(Diagnostics {
        domain_id: row.id.clone(),
        status: Some(row.status),
        next_check_at: check.as_ref().map(|c| rfc3339(c.next_check_at)),
        report: check
            .and_then(|c| c.report)
            .and_then(|json| serde_json::from_str(&json).ok()),
    }))
}

/// Checks a domain now (DNS from its authoritative nameservers, the root
/// forward, CAA, DNSSEC, the certificate) and applies what follows: a
/// domain that is ready is published and connected. Returns the report.
#[utoipa::path(
    post,
    path = "/v1/domains/{domain_id}/verify",
    tag = "domains",
    params(("domain_id" = String, Path)),
    security(("account_token" = [])),
    responses(
        (status = 200, body = Diagnostics),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`verification_in_progress`: a check of this domain is already running", body = ErrorBody),
    )
)]
pub async fn verify_domain(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiPath(domain_id): ApiPath<String>,
) -> Result<ApiJson<Diagnostics>, ApiError> {
    let row = domains::get(state.store.pool(), &auth.account_id, &domain_id)
        .await?
        .ok_or(ApiError::NotFound("domain"))?;
    let scheduler = state
        .verifier
        .clone()
        .ok_or_else(|| ApiError::Internal("no verifier configured".into()))?;
    let outcome = match scheduler.check_now(&row.id, state.clock.now_ms()).await {
        Ok(Some(outcome)) => outcome,
        Ok(None) => return Err(ApiError::NotFound("domain")),
        Err(ScheduleError::Busy) => {
            return Err(ApiError::conflict(
                "verification_in_progress",
                "this domain is being checked right now: its report will be at …/diagnostics in a moment",
            ))
        }
        Err(ScheduleError::Database(err)) => return Err(err.into()),
        Err(err) => return Err(ApiError::Internal(err.to_string())),
    };
    Ok(ApiJson(Diagnostics {
        domain_id: row.id,
        status: outcome.status,
        next_check_at: outcome.status.map(|_| rfc3339(outcome.next_check_at)),
        report: Some(outcome.report),
    }))
}
