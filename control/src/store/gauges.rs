//! What the metrics' store-read gauges read at each scrape: a few counts,
//! each one indexed or small (`/metrics`, docs/observability.md).

use sqlx::AnyPool;

/// Pending webhook messages, and when the oldest was created.
pub async fn webhook_backlog(pool: &AnyPool) -> Result<(i64, Option<i64>), sqlx::Error> {
    sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM webhook_messages WHERE state = 'pending'")
        .fetch_one(pool)
        .await
}

/// How many domains have each status.
pub async fn domains_by_status(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, COUNT(*) FROM domains GROUP BY status")
        .fetch_all(pool)
        .await
}
