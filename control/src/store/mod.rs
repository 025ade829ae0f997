//! The store: sqlx over the `Any` driver, so one set of runtime queries runs
//! on SQLite (the embedded default) and PostgreSQL (several replicas). SQL
//! here is written for both: `$n` parameters, BIGINT times in Unix
//! milliseconds, TEXT ids, no booleans.

pub mod accounts;
pub mod budget;
pub mod checks;
pub mod domains;
pub mod events;
pub mod gauges;
pub mod idempotency;
pub mod lease;
pub mod links;
pub mod mounts;
pub mod outbox;
pub mod pages;
pub mod parked;
pub mod platform_host;
pub mod products;
pub mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use rand::RngCore;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Executor};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// A row's place in a list ordered by `(key, id)`: a page starts after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The sort key (a time or a number).
    pub key: i64,
    /// The row's id; empty where the key alone is unique.
    pub id: String,
}

impl Position {
    /// In a list whose sort key is unique (a number).
    pub fn numbered(key: i64) -> Position {
        Position {
            key,
            id: String::new(),
        }
    }

    /// Before every row: where the first page starts.
    pub fn start() -> Position {
        Position::numbered(i64::MIN)
    }
}

/// One page of an account's rows in `(key, id)` order after `after`:
/// `select` is `SELECT … FROM …` and `alias` the table's prefix (`p.`, or
/// empty) for its `account_id`, `key` column and `id`. Keyset, never OFFSET.
pub async fn page_of<R>(
    pool: &AnyPool,
    select: &str,
    alias: &str,
    key: &str,
    account_id: &str,
    after: &Position,
    limit: i64,
) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(&format!(
        "{select} WHERE {alias}account_id = $1 AND ({alias}{key}, {alias}id) > ($2, $3) \
         ORDER BY {alias}{key}, {alias}id LIMIT $4"
    ))
    .bind(account_id)
    .bind(after.key)
    .bind(&after.id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A pool and which database it talks to.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects; for a SQLite file, creates its directory first.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        if backend == Backend::Sqlite {
            if let Some(dir) =
                sqlite_file(url).and_then(|file| file.parent().map(Path::to_path_buf))
            {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(&dir).map_err(|source| StoreError::DataDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
            }
        }
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Readers do not block the writer; the file survives crashes.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Store { pool, backend })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies the in-tree migrations not applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Ready: the database answers and every migration is applied.
    pub async fn ready(&self) -> Result<(), String> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|err| format!("database: {err}"))?;
        let latest = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations ORDER BY version DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await
                .unwrap_or(None);
        match applied {
            Some((version,)) if version >= latest => Ok(()),
            _ => Err(format!(
                "migrations not applied (the latest is {latest}): run `portico-control migrate`"
            )),
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file a `sqlite://path?...` URL names, unless it is in memory.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(Path::new(path))
    }
}

/// Milliseconds since the Unix epoch, by the wall clock: for leases and
/// outbox ages. The lifecycle reads `clock::Clock`, which development may shift.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 for the API.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A random id with a prefix that says what it names (`dom_…`, `pg_…`).
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// Serializes the account's changes (see `accounts.revision` in the
/// migrations). The first statement of every transaction that changes what
/// an account publishes; false when the account does not exist.
pub async fn lock_account(conn: &mut AnyConnection, account_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE accounts SET revision = revision + 1 WHERE id = $1")
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// True for a unique-constraint violation (a lost race with another writer).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .map(|db| db.is_unique_violation())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_file() {
        assert_eq!(
            sqlite_file("sqlite://.portico/portico.db?mode=rwc"),
            Some(Path::new(".portico/portico.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert!(new_id("dom").starts_with("dom_"));
    }
}
