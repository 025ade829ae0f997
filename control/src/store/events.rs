//! The account's activity feed.

use sqlx::{AnyConnection, AnyPool};

/// What happened. Stable snake_case names: dashboards switch on them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    DomainAdded,
    DomainConnected,
    DomainDisconnected,
    /// Not connected by its deadline: the integration was reverted (removed).
    DomainExpired,
    DomainRemoved,
    /// Another account proved control of the host's DNS: the domain was
    /// removed from this one.
    DomainReleased,
    /// The domain's certificate became active (a managed one only).
    CertificateActive,
    /// The certificate provider could not issue the domain's certificate.
    CertificateFailed,
    /// A webhook endpoint failed for days and was switched off.
    WebhookDisabled,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DomainAdded => "domain_added",
            EventKind::DomainConnected => "domain_connected",
            EventKind::DomainDisconnected => "domain_disconnected",
            EventKind::DomainExpired => "domain_expired",
            EventKind::DomainRemoved => "domain_removed",
            EventKind::DomainReleased => "domain_released",
            EventKind::CertificateActive => "certificate_active",
            EventKind::CertificateFailed => "certificate_failed",
            EventKind::WebhookDisabled => "webhook_disabled",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        [
            EventKind::DomainAdded,
            EventKind::DomainConnected,
            EventKind::DomainDisconnected,
            EventKind::DomainExpired,
            EventKind::DomainRemoved,
            EventKind::DomainReleased,
            EventKind::CertificateActive,
            EventKind::CertificateFailed,
            EventKind::WebhookDisabled,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub account_id: String,
    pub kind: String,
    pub domain_id: Option<String>,
    pub hostname: Option<String>,
    pub message: String,
    pub occurred_at: i64,
}

pub async fn record(
    conn: &mut AnyConnection,
    account_id: &str,
    kind: EventKind,
    domain_id: Option<&str>,
    hostname: Option<&str>,
    message: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO events (account_id, kind, domain_id, hostname, message, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account_id)
    .bind(kind.as_str())
    .bind(domain_id)
    .bind(hostname)
    .bind(message)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Newest first; `before` is the id of the last event of the previous page.
pub async fn page(
    pool: &AnyPool,
    account_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, account_id, kind, domain_id, hostname, message, occurred_at FROM events \
         WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await
}
