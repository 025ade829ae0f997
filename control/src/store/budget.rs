//! The `api_budgets` rows: one atomic statement per request taken, so that
//! replicas sharing the database share the budget (see
//! `cloudflare_api::budget` for the rule).

use sqlx::{Any, Pool};

/// The greater of the stored time and now, in SQL both stores run.
const START: &str = "(CASE WHEN tat_us > $1 THEN tat_us ELSE $1 END)";

/// Takes one request from budget `name` if it conforms: its theoretical
/// arrival time, advanced by `interval_us`, stays within `tolerance_us`
/// of `now_us`. `Ok(None)`: taken. `Ok(Some(wait_us))`: refused, conforming
/// again in `wait_us`.
pub async fn take(
    pool: &Pool<Any>,
    name: &str,
    now_us: i64,
    interval_us: i64,
    tolerance_us: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let taken = sqlx::query(&format!(
        "UPDATE api_budgets SET tat_us = {START} + $2 \
         WHERE name = $3 AND {START} + $2 <= $1 + $4"
    ))
    .bind(now_us)
    .bind(interval_us)
    .bind(name)
    .bind(tolerance_us)
    .execute(pool)
    .await?
    .rows_affected();
    if taken == 1 {
        return Ok(None);
    }
    let tat: Option<i64> = sqlx::query_scalar("SELECT tat_us FROM api_budgets WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    match tat {
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
