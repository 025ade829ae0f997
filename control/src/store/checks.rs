//! The verifier's schedule: one `domain_checks` row per domain (when to
//! check it next, which replica holds it, the last report). Replicas claim
//! due rows with a lease — `FOR UPDATE SKIP LOCKED` on PostgreSQL, the one
//! writer of SQLite — so no two check one domain at once, and a crashed
//! replica's claims expire by themselves.

use sqlx::{AnyConnection, AnyPool};

use super::Backend;

/// Schedules a new domain's first check (called in the transaction that adds it).
pub async fn schedule(
    conn: &mut AnyConnection,
    domain_id: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO domain_checks (domain_id, next_check_at) VALUES ($1, $2) \
         ON CONFLICT (domain_id) DO UPDATE SET next_check_at = excluded.next_check_at",
    )
    .bind(domain_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` due domains for `holder` until `now + lease_ms`;
/// returns their ids, most overdue first.
pub async fn claim_due(
    pool: &AnyPool,
    backend: Backend,
    holder: &str,
    now: i64,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<String>, sqlx::Error> {
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE domain_checks SET claimed_by = $1, claimed_until = $2 WHERE domain_id IN (\
         SELECT domain_id FROM domain_checks WHERE next_check_at <= $3 AND claimed_until <= $3 \
         ORDER BY next_check_at LIMIT $4 {lock}) AND claimed_until <= $3 RETURNING domain_id"
    );
    let rows: Vec<(String,)> = sqlx::query_as(&sql)
        .bind(holder)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Claims one domain now, whatever its schedule (`POST …/verify`); false
/// while any unexpired claim holds it (another request's, on any replica,
/// or the scheduler's).
pub async fn claim_one(
    pool: &AnyPool,
    domain_id: &str,
    holder: &str,
    now: i64,
    lease_ms: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "INSERT INTO domain_checks (domain_id, next_check_at) VALUES ($1, $2) \
         ON CONFLICT (domain_id) DO NOTHING",
    )
    .bind(domain_id)
    .bind(now)
    .execute(pool)
    .await?;
    let done = sqlx::query(
        "UPDATE domain_checks SET claimed_by = $1, claimed_until = $2 \
         WHERE domain_id = $3 AND claimed_until <= $4",
    )
    .bind(holder)
    .bind(now + lease_ms)
    .bind(domain_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a check's outcome and report, schedules the next, releases the claim.
pub async fn finish(
    pool: &AnyPool,
    domain_id: &str,
    holder: &str,
    checked_at: i64,
    outcome: &str,
    report: &str,
    next_check_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE domain_checks SET checked_at = $1, outcome = $2, report = $3, next_check_at = $4, \
         claimed_by = NULL, claimed_until = 0 WHERE domain_id = $5 AND claimed_by = $6",
    )
    .bind(checked_at)
    .bind(outcome)
    .bind(report)
    .bind(next_check_at)
    .bind(domain_id)
    .bind(holder)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives a claim back without a result (the check could not run).
pub async fn release(
    pool: &AnyPool,
    domain_id: &str,
    holder: &str,
    next_check_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE domain_checks SET claimed_by = NULL, claimed_until = 0, next_check_at = $1 \
         WHERE domain_id = $2 AND claimed_by = $3",
    )
    .bind(next_check_at)
    .bind(domain_id)
    .bind(holder)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckRow {
    pub domain_id: String,
    pub next_check_at: i64,
    pub checked_at: Option<i64>,
    pub outcome: Option<String>,
    pub report: Option<String>,
}

pub async fn get(pool: &AnyPool, domain_id: &str) -> Result<Option<CheckRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT domain_id, next_check_at, checked_at, outcome, report FROM domain_checks WHERE domain_id = $1",
    )
    .bind(domain_id)
    .fetch_optional(pool)
    .await
}

/// The check rows of these domains (one query for a page of the domain
/// list, at most its 500 ids).
pub async fn for_domains(
    pool: &AnyPool,
    domain_ids: &[&str],
) -> Result<Vec<CheckRow>, sqlx::Error> {
    if domain_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT domain_id, next_check_at, checked_at, outcome, report FROM domain_checks \
         WHERE domain_id IN ({})",
        super::outbox::placeholders(domain_ids.len(), 0)
    );
    let mut query = sqlx::query_as(&sql);
    for id in domain_ids {
        query = query.bind(*id);
    }
    query.fetch_all(pool).await
}

/// How many routing-record writes for these keys (or under these prefixes)
/// still wait in the outbox or are parked (refused by KV): the verifier
/// reports `connected` only at zero.
pub async fn pending_routes(
    pool: &AnyPool,
    keys: &[String],
    prefixes: &[String],
) -> Result<i64, sqlx::Error> {
    let mut clauses = Vec::new();
    let mut n = 0;
    for _ in keys {
        n += 1;
        clauses.push(format!("key = ${n}"));
    }
    for _ in prefixes {
        n += 1;
        clauses.push(format!("key LIKE ${n}"));
    }
    if clauses.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE namespace = 'routes' AND ({0})) \
         + (SELECT COUNT(*) FROM outbox_parked WHERE namespace = 'routes' AND ({0}))",
        clauses.join(" OR ")
    );
    let mut query = sqlx::query_as::<_, (i64,)>(&sql);
    for key in keys {
        query = query.bind(key);
    }
    for prefix in prefixes {
        // Hostnames hold no `%` or `_` wildcards that matter: `_` matches
        // itself too, and a false match only makes the wait longer.
        query = query.bind(format!("{prefix}%"));
    }
    let (count,) = query.fetch_one(pool).await?;
    Ok(count)
}
