//! What the benchmark measures against: N accounts and M domains, the
//! customers' DNS that points every domain at its account (one zone per
//! account, on a local authoritative server), and a fresh database seeded
//! with them all `processing` and due for their first check.

use anyhow::Context;
use portico_control::store::{now_ms, Store};
use portico_tests::dns::{DnsServer, Zone};
use rand::RngCore;
use sqlx::{Connection, Executor, PgConnection};

/// Rows per seeding statement: far below both databases' parameter limits
/// (the values are written out, not bound) and a statement of ~100 kB.
const SEED_ROWS: usize = 1000;

/// Who owns what: domain `k` belongs to account `k % accounts`, so every
/// account holds `domains / accounts` of them (give or take one).
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub accounts: usize,
    pub domains: usize,
}

impl Scale {
    pub fn account_of(&self, domain: usize) -> usize {
        domain % self.accounts
    }

    /// `d<k>.c<account>.test`: a subdomain in its account's own zone.
    pub fn hostname(&self, domain: usize) -> String {
        format!("d{domain}.c{}.test", self.account_of(domain))
    }

    pub fn username(account: usize) -> String {
        format!("u{account}")
    }

    pub fn account_id(account: usize) -> String {
        format!("acc_{account:024x}")
    }

    fn domain_id(domain: usize) -> String {
        format!("dom_{domain:024x}")
    }

    /// How many domains `account` holds.
    pub fn domains_of(&self, account: usize) -> usize {
        self.domains / self.accounts + usize::from(account < self.domains % self.accounts)
    }

    /// The domains of `account`.
    fn domains_in(&self, account: usize) -> impl Iterator<Item = usize> {
        (account..self.domains).step_by(self.accounts)
    }
}

/// The local authoritative DNS server: zone `c<i>.test` per account with
/// `d<k> CNAME u<i>.portico.test.` for each of its domains, its nameserver
/// `ns1.dns-host.test` (127.0.0.1), the platform zone. It also plays the
/// recursive resolver the verifier asks, as in `verify_sweep`.
pub async fn dns(scale: Scale) -> anyhow::Result<DnsServer> {
    let mut zones = Vec::with_capacity(scale.accounts + 3);
    for account in 0..scale.accounts {
        let mut records = String::from("@ NS ns1.dns-host.test.\n");
        for domain in scale.domains_in(account) {
            records.push_str(&format!("d{domain} CNAME u{account}.portico.test.\n"));
        }
        zones.push(Zone::new(&format!("c{account}.test"), &records));
    }
    zones.push(Zone::new("dns-host.test", "ns1 A 127.0.0.1\n"));
    zones.push(Zone::new(
        "portico.test",
        "@ NS ns1.dns-host.test.\n* A 127.0.0.1\n",
    ));
    zones.push(Zone::new("test", ""));
    DnsServer::loopback(&zones)
        .await
        .map_err(|err| anyhow::anyhow!("the DNS server did not start: {err}"))
}

/// Where a run's data lives; a PostgreSQL database is dropped by [`Database::drop_now`].
pub struct Database {
    pub url: String,
    postgres_name: Option<String>,
}

fn postgres_url() -> String {
    std::env::var("PORTICO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl Database {
    /// A fresh SQLite file in `dir`, or a fresh database on the PostgreSQL
    /// server of `PORTICO_TEST_POSTGRES_URL` (default: loopback, `postgres`).
    pub async fn create(postgres: bool, dir: &std::path::Path) -> anyhow::Result<Database> {
        if !postgres {
            let path = dir.join("portico-scale.db");
            return Ok(Database {
                url: format!("sqlite://{}?mode=rwc", path.display()),
                postgres_name: None,
            });
        }
        let mut bytes = [0u8; 4];
        rand::thread_rng().fill_bytes(&mut bytes);
        let name = format!("portico_scale_{}", hex::encode(bytes));
        let base = postgres_url();
        let mut conn = PgConnection::connect(&base)
            .await
            .with_context(|| format!("PostgreSQL at {base} does not answer"))?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let _ = conn.close().await;
        let server = &base[..base.rfind('/').context("a database in the URL")?];
        Ok(Database {
            url: format!("{server}/{name}"),
            postgres_name: Some(name),
        })
    }

    pub async fn drop_now(&self) {
        let Some(name) = &self.postgres_name else {
            return;
        };
        if let Ok(mut conn) = PgConnection::connect(&postgres_url()).await {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// Writes every account and domain straight into the store (not through
/// the API: see the module docs of main.rs), each domain `processing`, its
/// first check due now. Multi-row inserts, one transaction per table chunk.
pub async fn seed(store: &Store, scale: Scale) -> anyhow::Result<()> {
    let now = now_ms();
    let deadline = now + 86_400_000;
    let accounts: Vec<String> = (0..scale.accounts)
        .map(|a| {
            format!(
                "('{}', '{}', {now})",
                Scale::account_id(a),
                Scale::username(a)
            )
        })
        .collect();
    insert(store, "accounts (id, username, created_at)", &accounts).await?;
    let domains: Vec<String> = (0..scale.domains)
        .map(|k| {
            let a = scale.account_of(k);
            let host = scale.hostname(k);
            format!(
                "('{}', '{}', '{host}', 'subdomain', 'c{a}.test', '{host}', 'processing', {now}, {deadline}, {now})",
                Scale::domain_id(k),
                Scale::account_id(a),
            )
        })
        .collect();
    insert(
        store,
        "domains (id, account_id, hostname, kind, root, served_host, status, added_at, connect_deadline, updated_at)",
        &domains,
    )
    .await?;
    let checks: Vec<String> = (0..scale.domains)
        .map(|k| format!("('{}', {now})", Scale::domain_id(k)))
        .collect();
    insert(store, "domain_checks (domain_id, next_check_at)", &checks).await?;
    // The add's TXT proof token, so the dashboards' answers carry what real ones do.
    let challenges: Vec<String> = (0..scale.domains)
        .map(|k| {
            format!(
                "('{}', '{}', '{k:032x}', {now})",
                Scale::account_id(scale.account_of(k)),
                scale.hostname(k)
            )
        })
        .collect();
    insert(
        store,
        "ownership_challenges (account_id, served_host, token, created_at)",
        &challenges,
    )
    .await?;
    Ok(())
}

/// `INSERT INTO <into> VALUES <rows>` in chunks, in one transaction.
async fn insert(store: &Store, into: &str, rows: &[String]) -> anyhow::Result<()> {
    let mut tx = store.pool().begin().await?;
    for chunk in rows.chunks(SEED_ROWS) {
        let sql = format!("INSERT INTO {into} VALUES {}", chunk.join(", "));
        sqlx::query(&sql)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("seeding {into}"))?;
    }
    tx.commit().await?;
    Ok(())
}
