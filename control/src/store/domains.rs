//! Custom domains: what the customer added, its status and its settings.
//! A row is parsed here, once, into [`Domain`] (shared's `Integration` and
//! `lifecycle::Status`); nothing above the store reads its strings again.

use portico_shared::lifecycle::{DomainFacts, Status};
use portico_shared::{Apex, ApexSetup, Hostname, Integration, IntegrationKind, MainAddress};
use sqlx::{AnyConnection, AnyPool};

use super::Position;

/// The Index or 404 target: a page id or a URL, or neither (the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetColumns {
    pub page_id: Option<String>,
    pub url: Option<String>,
}

/// A stored domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub account_id: String,
    /// What the customer typed, as a name (`example.com` for a root).
    pub hostname: String,
    pub integration: Integration,
    pub status: Status,
    pub added_at: i64,
    pub connect_deadline: i64,
    pub connected_at: Option<i64>,
    pub index: TargetColumns,
    pub not_found: TargetColumns,
    pub updated_at: i64,
    /// Set while the edge should serve the domain (see migration 0002).
    pub published_at: Option<i64>,
    pub disconnected_at: Option<i64>,
    /// The token of the account's TXT proof for this host (migration 0003).
    pub ownership_token: Option<String>,
}

impl Domain {
    pub fn served_host(&self) -> &Hostname {
        &self.integration.served_host
    }

    /// Where its pages are served: the served host, or a root's bare name
    /// when the customer made it the main address.
    pub fn main_host(&self) -> &Hostname {
        self.integration.main_host()
    }

    /// What the lifecycle rules need to know about it.
    pub fn facts(&self) -> DomainFacts {
        DomainFacts {
            status: self.status,
            added_at: self.added_at,
            connect_deadline: self.connect_deadline,
            published: self.published_at.is_some(),
            disconnected_at: self.disconnected_at,
        }
    }

    /// True while it holds its served host against every other account.
    pub fn holds_host(&self) -> bool {
        portico_shared::ownership::holds(self.status, self.published_at.is_some())
    }
}

fn kind_text(kind: IntegrationKind) -> &'static str {
    match kind {
        IntegrationKind::Root => "root",
        IntegrationKind::Subdomain => "subdomain",
    }
}

/// The row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
struct DomainRow {
    id: String,
    account_id: String,
    hostname: String,
    kind: String,
    root: String,
    served_host: String,
    apex_setup: String,
    main_address: String,
    status: String,
    added_at: i64,
    connect_deadline: i64,
    connected_at: Option<i64>,
    index_page_id: Option<String>,
    index_url: Option<String>,
    not_found_page_id: Option<String>,
    not_found_url: Option<String>,
    updated_at: i64,
    published_at: Option<i64>,
    disconnected_at: Option<i64>,
    ownership_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("stored domain {id}: {what}")]
struct Corrupt {
    id: String,
    what: String,
}

impl TryFrom<DomainRow> for Domain {
    type Error = sqlx::Error;

    fn try_from(row: DomainRow) -> Result<Domain, sqlx::Error> {
        let corrupt = |what: String| {
            sqlx::Error::Decode(Box::new(Corrupt {
                id: row.id.clone(),
                what,
            }))
        };
        let host = |name: &str| {
            Hostname::parse(name).map_err(|err| corrupt(format!("host `{name}`: {err}")))
        };
        let kind = match row.kind.as_str() {
            "root" => IntegrationKind::Root,
            "subdomain" => IntegrationKind::Subdomain,
            other => return Err(corrupt(format!("kind `{other}`"))),
        };
        let apex = ApexSetup::parse(&row.apex_setup)
            .zip(MainAddress::parse(&row.main_address))
            .and_then(|(setup, main)| Apex::from_parts(setup, main).ok())
            .ok_or_else(|| {
                corrupt(format!(
                    "apex `{}` with main address `{}`",
                    row.apex_setup, row.main_address
                ))
            })?;
        let integration = Integration {
            kind,
            root: host(&row.root)?,
            served_host: host(&row.served_host)?,
            apex,
        };
        let status = Status::parse(&row.status)
            .ok_or_else(|| corrupt(format!("status `{}`", row.status)))?;
        Ok(Domain {
            integration,
            status,
            id: row.id,
            account_id: row.account_id,
            hostname: row.hostname,
            added_at: row.added_at,
            connect_deadline: row.connect_deadline,
            connected_at: row.connected_at,
            index: TargetColumns {
                page_id: row.index_page_id,
                url: row.index_url,
            },
            not_found: TargetColumns {
                page_id: row.not_found_page_id,
                url: row.not_found_url,
            },
            updated_at: row.updated_at,
            published_at: row.published_at,
            disconnected_at: row.disconnected_at,
            ownership_token: row.ownership_token,
        })
    }
}

const SELECT: &str =
    "SELECT d.id, d.account_id, d.hostname, d.kind, d.root, d.served_host, d.apex_setup, \
    d.main_address, d.status, \
    d.added_at, d.connect_deadline, d.connected_at, d.index_page_id, d.index_url, \
    d.not_found_page_id, d.not_found_url, d.updated_at, d.published_at, d.disconnected_at, \
    c.token AS ownership_token \
    FROM domains d LEFT JOIN ownership_challenges c \
    ON c.account_id = d.account_id AND c.served_host = d.served_host";

fn parse_one(row: Option<DomainRow>) -> Result<Option<Domain>, sqlx::Error> {
    row.map(Domain::try_from).transpose()
}

fn parse_all(rows: Vec<DomainRow>) -> Result<Vec<Domain>, sqlx::Error> {
    rows.into_iter().map(Domain::try_from).collect()
}

/// Stores a new domain (its ownership token is the account's challenge
/// for the host: see [`challenge_token`]).
pub async fn insert(conn: &mut AnyConnection, domain: &Domain) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO domains (id, account_id, hostname, kind, root, served_host, status, added_at, \
         connect_deadline, connected_at, index_page_id, index_url, not_found_page_id, not_found_url, \
         updated_at, published_at, disconnected_at, apex_setup, main_address) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(&domain.id)
    .bind(&domain.account_id)
    .bind(&domain.hostname)
    .bind(kind_text(domain.integration.kind))
    .bind(domain.integration.root.as_str())
    .bind(domain.integration.served_host.as_str())
    .bind(domain.status.as_str())
    .bind(domain.added_at)
    .bind(domain.connect_deadline)
    .bind(domain.connected_at)
    .bind(&domain.index.page_id)
    .bind(&domain.index.url)
    .bind(&domain.not_found.page_id)
    .bind(&domain.not_found.url)
    .bind(domain.updated_at)
    .bind(domain.published_at)
    .bind(domain.disconnected_at)
    .bind(domain.integration.apex.setup().as_str())
    .bind(domain.integration.apex.main().as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// The domain holding `served_host` against every other account
/// ([`Domain::holds_host`]), whichever account it is in.
/// Whether `account_id` already has a domain serving `served_host` (in any
/// status): one indexed lookup, not the account's whole list.
pub async fn has_served_host(
    conn: &mut AnyConnection,
    account_id: &str,
    served_host: &Hostname,
) -> Result<bool, sqlx::Error> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT id FROM domains WHERE served_host = $1 AND account_id = $2")
            .bind(served_host.as_str())
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

pub async fn holder_of(
    conn: &mut AnyConnection,
    served_host: &Hostname,
) -> Result<Option<Domain>, sqlx::Error> {
    let row = sqlx::query_as(&format!(
        "{SELECT} WHERE d.served_host = $1 \
         AND (d.status IN ('processing', 'connected') OR d.published_at IS NOT NULL)"
    ))
    .bind(served_host.as_str())
    .fetch_optional(conn)
    .await?;
    parse_one(row)
}

pub async fn get(
    pool: &AnyPool,
    account_id: &str,
    id: &str,
) -> Result<Option<Domain>, sqlx::Error> {
    let row = sqlx::query_as(&format!("{SELECT} WHERE d.id = $1 AND d.account_id = $2"))
        .bind(id)
        .bind(account_id)
        .fetch_optional(pool)
        .await?;
    parse_one(row)
}

pub async fn get_in(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<Domain>, sqlx::Error> {
    let row = sqlx::query_as(&format!("{SELECT} WHERE d.id = $1 AND d.account_id = $2"))
        .bind(id)
        .bind(account_id)
        .fetch_optional(conn)
        .await?;
    parse_one(row)
}

/// A domain by id alone: for the lifecycle (verifier, tests), not the API.
pub async fn get_any(conn: &mut AnyConnection, id: &str) -> Result<Option<Domain>, sqlx::Error> {
    let row = sqlx::query_as(&format!("{SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    parse_one(row)
}

/// A page of the account's domains, oldest first, after `after`.
pub async fn page(
    pool: &AnyPool,
    account_id: &str,
    after: &Position,
    limit: i64,
) -> Result<Vec<Domain>, sqlx::Error> {
    let rows = super::page_of(pool, SELECT, "d.", "added_at", account_id, after, limit).await?;
    parse_all(rows)
}

/// The account's domains, oldest first, on the pool or inside a transaction.
pub async fn list<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
) -> Result<Vec<Domain>, sqlx::Error> {
    let rows = sqlx::query_as(&format!(
        "{SELECT} WHERE d.account_id = $1 ORDER BY d.added_at, d.id"
    ))
    .bind(account_id)
    .fetch_all(executor)
    .await?;
    parse_all(rows)
}

/// The account's domains that have records in KV (connected, being
/// connected, or disconnected in their grace period): what publishing
/// reads, so that an account's processing domains cost it nothing.
pub async fn list_published(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<Domain>, sqlx::Error> {
    let rows = sqlx::query_as(&format!(
        "{SELECT} WHERE d.account_id = $1 AND d.published_at IS NOT NULL ORDER BY d.added_at, d.id"
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    parse_all(rows)
}

pub async fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    status: Status,
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

/// Sets a root's apex choice (already checked: `Integration::with_apex`).
pub async fn set_apex(
    conn: &mut AnyConnection,
    id: &str,
    apex: Apex,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE domains SET apex_setup = $1, main_address = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(apex.setup().as_str())
    .bind(apex.main().as_str())
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

/// Sets (`Some`) or clears (`None`) when the domain was published; the
/// account's resync in the same unit of work publishes or unpublishes it.
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

/// The account's proof token for `served_host`, made (from `fresh`) on
/// first use and kept afterwards: the TXT record the customer created from
/// an earlier answer stays valid.
pub async fn challenge_token(
    conn: &mut AnyConnection,
    account_id: &str,
    served_host: &Hostname,
    fresh: &str,
    now: i64,
) -> Result<String, sqlx::Error> {
    sqlx::query(
        "INSERT INTO ownership_challenges (account_id, served_host, token, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, served_host) DO NOTHING",
    )
    .bind(account_id)
    .bind(served_host.as_str())
    .bind(fresh)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let (token,): (String,) = sqlx::query_as(
        "SELECT token FROM ownership_challenges WHERE account_id = $1 AND served_host = $2",
    )
    .bind(account_id)
    .bind(served_host.as_str())
    .fetch_one(conn)
    .await?;
    Ok(token)
}

/// Records that `domain_id` took its host from `from_domain` (in the move's
/// unit of work): the custom hostname is to be handed over.
pub async fn record_handover(
    conn: &mut AnyConnection,
    domain_id: &str,
    from_account: &str,
    from_domain: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO certificate_handovers (domain_id, from_account, from_domain, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(domain_id)
    .bind(from_account)
    .bind(from_domain)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The hand-over still to do for `domain_id`: `(from_account, from_domain)`.
pub async fn pending_handover(
    pool: &AnyPool,
    domain_id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT from_account, from_domain FROM certificate_handovers WHERE domain_id = $1",
    )
    .bind(domain_id)
    .fetch_optional(pool)
    .await
}

pub async fn handover_done(pool: &AnyPool, domain_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM certificate_handovers WHERE domain_id = $1")
        .bind(domain_id)
        .execute(pool)
        .await?;
    Ok(())
}
