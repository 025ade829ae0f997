//! Custom domains: what the customer added, its status and its settings.

use sqlx::{AnyConnection, AnyPool};

/// Where a domain is in its lifecycle.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    /// Added; waiting for DNS and a certificate (until `connect_deadline`).
    Processing,
    /// Published: the edge serves it.
    Connected,
    /// Was connected; its DNS no longer points at the platform. Not served.
    Disconnected,
}

impl DomainStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainStatus::Processing => "processing",
            DomainStatus::Connected => "connected",
            DomainStatus::Disconnected => "disconnected",
        }
    }

    pub fn parse(text: &str) -> Option<DomainStatus> {
        match text {
            "processing" => Some(DomainStatus::Processing),
            "connected" => Some(DomainStatus::Connected),
            "disconnected" => Some(DomainStatus::Disconnected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DomainRow {
    pub id: String,
    pub account_id: String,
    pub hostname: String,
    pub kind: String,
    pub root: String,
    pub served_host: String,
    pub status: String,
    pub added_at: i64,
    pub connect_deadline: i64,
    pub connected_at: Option<i64>,
    pub index_page_id: Option<String>,
    pub index_url: Option<String>,
    pub not_found_page_id: Option<String>,
    pub not_found_url: Option<String>,
    pub updated_at: i64,
    /// Set while the edge should serve the domain (see migration 0002).
    pub published_at: Option<i64>,
    pub disconnected_at: Option<i64>,
}

impl DomainRow {
    pub fn status(&self) -> DomainStatus {
        DomainStatus::parse(&self.status).unwrap_or(DomainStatus::Processing)
    }
}

const COLUMNS: &str = "id, account_id, hostname, kind, root, served_host, status, added_at, \
    connect_deadline, connected_at, index_page_id, index_url, not_found_page_id, not_found_url, updated_at, \
    published_at, disconnected_at";

pub async fn insert(conn: &mut AnyConnection, row: &DomainRow) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO domains ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(&row.hostname)
    .bind(&row.kind)
    .bind(&row.root)
    .bind(&row.served_host)
    .bind(&row.status)
    .bind(row.added_at)
    .bind(row.connect_deadline)
    .bind(row.connected_at)
    .bind(&row.index_page_id)
    .bind(&row.index_url)
    .bind(&row.not_found_page_id)
    .bind(&row.not_found_url)
    .bind(row.updated_at)
    .bind(row.published_at)
    .bind(row.disconnected_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The active (processing or connected) domain serving `served_host`, any account.
pub async fn active_by_served_host(
    conn: &mut AnyConnection,
    served_host: &str,
) -> Result<Option<DomainRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domains WHERE served_host = $1 AND status IN ('processing', 'connected')"
    ))
    .bind(served_host)
    .fetch_optional(conn)
    .await
}

pub async fn get(
    pool: &AnyPool,
    account_id: &str,
    id: &str,
) -> Result<Option<DomainRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domains WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(pool)
    .await
}

pub async fn get_in(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<DomainRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domains WHERE id = $1 AND account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(conn)
    .await
}

/// A domain by id alone: for the lifecycle (verifier, tests), not the API.
pub async fn get_any(conn: &mut AnyConnection, id: &str) -> Result<Option<DomainRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM domains WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The account's rows, on the pool or inside a transaction.
pub async fn list<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
) -> Result<Vec<DomainRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM domains WHERE account_id = $1 ORDER BY added_at, id"
    ))
    .bind(account_id)
    .fetch_all(executor)
    .await
}

pub async fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    status: DomainStatus,
    connected_at: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE domains SET status = $1, connected_at = $2, updated_at = $3 WHERE id = $4")
        .bind(status.as_str())
        .bind(connected_at)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The Index and 404 targets: a page id or a URL each, or neither (the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetColumns {
    pub page_id: Option<String>,
    pub url: Option<String>,
}

pub async fn set_targets(
    conn: &mut AnyConnection,
    id: &str,
    index: &TargetColumns,
    not_found: &TargetColumns,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE domains SET index_page_id = $1, index_url = $2, not_found_page_id = $3, \
         not_found_url = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(&index.page_id)
    .bind(&index.url)
    .bind(&not_found.page_id)
    .bind(&not_found.url)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM domains WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets (`Some`) or clears (`None`) when the domain was published; the next
/// `sync_account` in the same transaction publishes or unpublishes it.
pub async fn set_published(
    conn: &mut AnyConnection,
    id: &str,
    published_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE domains SET published_at = $1 WHERE id = $2")
        .bind(published_at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_disconnected_at(
    conn: &mut AnyConnection,
    id: &str,
    disconnected_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE domains SET disconnected_at = $1 WHERE id = $2")
        .bind(disconnected_at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
