//! The platform host's (`<username>.<platform domain>`) Index and 404
//! settings; no row means the defaults.

use sqlx::AnyConnection;

use super::domains::TargetColumns;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformHostSettings {
    pub index: TargetColumns,
    pub not_found: TargetColumns,
}

#[derive(sqlx::FromRow)]
struct Row {
    index_page_id: Option<String>,
    index_url: Option<String>,
    not_found_page_id: Option<String>,
    not_found_url: Option<String>,
}

/// The account's settings, on the pool or inside a unit of work.
pub async fn get<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account_id: &str,
) -> Result<PlatformHostSettings, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT index_page_id, index_url, not_found_page_id, not_found_url \
         FROM platform_host_settings WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(executor)
    .await?;
    Ok(row
        .map(|row| PlatformHostSettings {
            index: TargetColumns {
                page_id: row.index_page_id,
                url: row.index_url,
            },
            not_found: TargetColumns {
                page_id: row.not_found_page_id,
                url: row.not_found_url,
            },
        })
        .unwrap_or_default())
}

pub async fn set(
    conn: &mut AnyConnection,
    account_id: &str,
    settings: &PlatformHostSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO platform_host_settings \
         (account_id, index_page_id, index_url, not_found_page_id, not_found_url, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (account_id) DO UPDATE SET index_page_id = $2, index_url = $3, \
         not_found_page_id = $4, not_found_url = $5, updated_at = $6",
    )
    .bind(account_id)
    .bind(&settings.index.page_id)
    .bind(&settings.index.url)
    .bind(&settings.not_found.page_id)
    .bind(&settings.not_found.url)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
