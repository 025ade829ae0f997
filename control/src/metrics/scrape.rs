//! `GET /metrics`: the Prometheus scrape. Readable with the metrics token
//! (`metrics_token`, for the scraper) or the admin token; never with an
//! account's token. The gauges that describe the shared store (outbox,
//! webhooks, domains, the publisher lease) are read from it here.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{metrics, render, StatusLabels};
use crate::api::{bearer_token, is_admin, token_hash, ApiError, AppState};
use crate::store::{accounts as account_store, gauges, lease, now_ms, outbox, parked};

/// OpenMetrics text, which Prometheus reads natively.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn scrape(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer_token(&headers).ok_or(ApiError::Unauthorized)?;
    if !(is_admin(&state, token) || state.is_metrics_token(token)) {
        return match account_store::account_for_token(state.store.pool(), &token_hash(token))
            .await?
        {
            Some(_) => Err(ApiError::Forbidden(
                "/metrics needs the metrics token or the admin token, not an account API token",
            )),
            None => Err(ApiError::Unauthorized),
        };
    }
    if let Err(err) = refresh(&state).await {
        // The in-process metrics are still worth a scrape.
        metrics().scrape_errors.inc();
        tracing::warn!(error = %err, "metrics: could not read the store's gauges");
    }
    Ok(([(CONTENT_TYPE, OPENMETRICS)], render()).into_response())
}

/// Reads the store's gauges.
async fn refresh(state: &AppState) -> Result<(), sqlx::Error> {
    let pool = state.store.pool();
    let m = metrics();
    let now = now_ms();
    let age = |oldest: Option<i64>| oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);

    let (depth, oldest) = outbox::depth(pool).await?;
    m.outbox_depth.set(depth);
    m.outbox_oldest_age.set(age(oldest));
    m.parked_writes.set(parked::count(pool).await?);

    let (backlog, oldest) = gauges::webhook_backlog(pool).await?;
    m.webhook_backlog.set(backlog);
    m.webhook_oldest_age.set(age(oldest));

    let counted = gauges::domains_by_status(pool).await?;
    for status in [
        portico_shared::lifecycle::Status::Processing,
        portico_shared::lifecycle::Status::Connected,
        portico_shared::lifecycle::Status::Disconnected,
    ] {
        let count = counted
            .iter()
            .find(|(name, _)| name == status.as_str())
            .map_or(0, |(_, count)| *count);
        m.domains
            .get_or_create(&StatusLabels {
                status: status.as_str(),
            })
            .set(count);
    }

    let lease = lease::current(pool).await?;
    let leads = lease.expires_at > now && lease.holder.is_some() && lease.holder == state.replica;
    m.publisher_leader.set(i64::from(leads));
    Ok(())
}
