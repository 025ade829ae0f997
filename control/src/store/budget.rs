//! The `api_budgets` rows: one atomic statement per request taken, so that
//! replicas sharing the database share the budget (see
//! `cloudflare_api::budget` for the rule), and the counts of the current
//! fixed window (granted, turned away) for the budget's gauge.

use sqlx::{Any, Pool};

/// The greater of the stored time and now, in SQL both stores run.
const START: &str = "(CASE WHEN tat_us > $1 THEN tat_us ELSE $1 END)";

/// Takes one request from budget `name` if it conforms: its theoretical
/// arrival time, advanced by `interval_us`, stays within `tolerance_us`
/// of `now_us`; counted in the fixed window starting at `window_start_us`.
/// `Ok(None)`: taken. `Ok(Some(wait_us))`: refused, conforming again in
/// `wait_us`.
pub async fn take(
    pool: &Pool<Any>,
    name: &str,
    now_us: i64,
    interval_us: i64,
    tolerance_us: i64,
    window_start_us: i64,
) -> Result<Option<i64>, sqlx::Error> {
    // SET reads the row as it was before the statement (both stores).
    let taken = sqlx::query(&format!(
        "UPDATE api_budgets SET tat_us = {START} + $2, \
         window_used = CASE WHEN window_start_us = $5 THEN window_used + 1 ELSE 1 END, \
         window_refused = CASE WHEN window_start_us = $5 THEN window_refused ELSE 0 END, \
         window_start_us = $5 \
         WHERE name = $3 AND {START} + $2 <= $1 + $4"
    ))
    .bind(now_us)
    .bind(interval_us)
    .bind(name)
    .bind(tolerance_us)
    .bind(window_start_us)
    .execute(pool)
    .await?
    .rows_affected();
    if taken == 1 {
        return Ok(None);
    }
    match arrival(pool, name).await? {
        Some(tat) => Ok(Some(
            (tat.max(now_us) + interval_us - now_us - tolerance_us).max(1),
        )),
        None => {
            // A budget the migrations did not create: made on first use.
            sqlx::query("INSERT INTO api_budgets (name, tat_us) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .execute(pool)
                .await?;
            Ok(Some(1))
        }
    }
}

/// The stored theoretical arrival time of budget `name` (µs), if it has a row.
pub async fn arrival(pool: &Pool<Any>, name: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT tat_us FROM api_budgets WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
}

/// Counts one request that gave up waiting for budget `name` (deferred to
/// a later check) in the window starting at `window_start_us`.
pub async fn refused(
    pool: &Pool<Any>,
    name: &str,
    window_start_us: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_budgets SET \
         window_refused = CASE WHEN window_start_us = $2 THEN window_refused + 1 ELSE 1 END, \
         window_used = CASE WHEN window_start_us = $2 THEN window_used ELSE 0 END, \
         window_start_us = $2 WHERE name = $1",
    )
    .bind(name)
    .bind(window_start_us)
    .execute(pool)
    .await?;
    Ok(())
}

/// Requests granted and turned away in the window starting at
/// `window_start_us` (zeros for a window nothing was asked in).
pub async fn usage(
    pool: &Pool<Any>,
    name: &str,
    window_start_us: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT window_start_us, window_used, window_refused FROM api_budgets WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((start, used, refused)) if start == window_start_us => (used, refused),
        _ => (0, 0),
    })
}
