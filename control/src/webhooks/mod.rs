//! Signed webhooks, per the Standard Webhooks specification: an account's
//! endpoints get a message for each event they subscribe to, written in the
//! transaction of the change that caused it ([`enqueue`], called by the
//! unit of work), then delivered at least once and in order per domain by
//! [`deliver::Deliverer`], with retries for more than a day.
//!
//! A message's body: `{"type": "domain.connected", "timestamp": <RFC 3339>,
//! "data": {"account_id", "message", "domain": <the domain as the API
//! returns it>}}`. The guarantees in full: docs/webhooks.md.

pub mod deliver;
pub mod settings;
pub mod sign;

use portico_shared::ownership::ChallengeLabel;
use portico_shared::{PlatformDomain, Username};
use serde_json::json;
use sqlx::AnyConnection;

use crate::api::domains::view_with;
use crate::store::domains::{self, Domain};
use crate::store::events::EventKind;
use crate::store::webhooks::{self, NewMessage};
use crate::store::{accounts, new_id, rfc3339};

/// Every event type an endpoint can subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "domain.added",
    "domain.connected",
    "domain.disconnected",
    "domain.expired",
    "domain.removed",
    "domain.released",
    "certificate.active",
    "certificate.failed",
    "webhook.disabled",
];

/// The webhook `type` of an event.
pub fn event_type(kind: EventKind) -> &'static str {
    match kind {
        EventKind::DomainAdded => "domain.added",
        EventKind::DomainConnected => "domain.connected",
        EventKind::DomainDisconnected => "domain.disconnected",
        EventKind::DomainExpired => "domain.expired",
        EventKind::DomainRemoved => "domain.removed",
        EventKind::DomainReleased => "domain.released",
        EventKind::CertificateActive => "certificate.active",
        EventKind::CertificateFailed => "certificate.failed",
        EventKind::WebhookDisabled => "webhook.disabled",
    }
}

/// What a domain's view is built with.
#[derive(Debug, Clone)]
pub struct Views {
    pub platform: PlatformDomain,
    pub challenge_label: ChallengeLabel,
    /// The platform's apex addresses (a root's view lists its records).
    pub apex_addresses: portico_shared::ApexAddresses,
}

/// Queues a message about `domain` for each of its account's enabled
/// endpoints that subscribe to `kind`, in the caller's transaction. The
/// domain is read again, so the message shows it after the change (as it
/// was, when the change removed it).
pub async fn enqueue(
    conn: &mut AnyConnection,
    views: &Views,
    domain: &Domain,
    kind: EventKind,
    message: &str,
    now: i64,
) -> Result<usize, sqlx::Error> {
    let event_type = event_type(kind);
    let endpoints: Vec<_> = webhooks::list_endpoints(conn, &domain.account_id)
        .await?
        .into_iter()
        .filter(|endpoint| endpoint.wants(event_type))
        .collect();
    if endpoints.is_empty() {
        return Ok(0);
    }
    let Some(account) = accounts::get_in(conn, &domain.account_id).await? else {
        return Ok(0);
    };
    let Ok(username) = Username::parse(&account.username) else {
        return Ok(0);
    };
    let now_domain = domains::get_in(conn, &domain.account_id, &domain.id).await?;
    let view = view_with(
        &views.platform,
        &views.challenge_label,
        &views.apex_addresses,
        &username,
        now_domain.as_ref().unwrap_or(domain),
    );
    let body = json!({
        "type": event_type,
        "timestamp": rfc3339(now),
        "data": {
            "account_id": domain.account_id,
            "message": message,
            "domain": view,
        },
    })
    .to_string();
    for endpoint in &endpoints {
        webhooks::enqueue(
            conn,
            &NewMessage {
                endpoint_id: &endpoint.id,
                message_id: &new_id("msg"),
                event_type,
                ordering_key: &domain.id,
                payload: &body,
                now,
            },
        )
        .await?;
    }
    Ok(endpoints.len())
}
