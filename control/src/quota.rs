//! Per-account quotas: how many domains, pages, links, products, mounts and webhook endpoints
//! an account may have, how many bytes its pages may hold, and how many
//! revisions of a page are kept. Checked inside the unit of work that adds
//! (the account row is locked there), so two concurrent adds at the limit
//! cannot both pass. 0 means no limit.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;

use crate::api::ApiError;
use crate::config::{ConfigError, RawSettings};

pub const DEFAULT_DOMAINS: u64 = 1_000;
pub const DEFAULT_PAGES: u64 = 1_000;
pub const DEFAULT_LINKS: u64 = 5_000;
/// 256 MiB of current page content.
pub const DEFAULT_PAGE_BYTES: u64 = 256 * 1024 * 1024;
pub const DEFAULT_REVISIONS_KEPT: u64 = 50;
pub const DEFAULT_WEBHOOK_ENDPOINTS: u64 = 10;
pub const DEFAULT_PRODUCTS: u64 = 1_000;
pub const DEFAULT_MOUNTS: u64 = 5_000;

/// What a quota counts; `error.quota` in a `quota_exceeded` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Quota {
    Domains,
    Pages,
    Links,
    /// The bytes of every page's current content.
    PageBytes,
    WebhookEndpoints,
    Products,
    Mounts,
}

impl Quota {
    fn what(self) -> &'static str {
        match self {
            Quota::Domains => "domains",
            Quota::Pages => "pages",
            Quota::Links => "links",
            Quota::PageBytes => "bytes of page content",
            Quota::WebhookEndpoints => "webhook endpoints",
            Quota::Products => "products",
            Quota::Mounts => "mounts",
        }
    }

    /// The account's current use, read on the unit's connection.
    async fn used(self, conn: &mut AnyConnection, account_id: &str) -> Result<i64, sqlx::Error> {
        let sql = match self {
            Quota::Domains => "SELECT COUNT(*) FROM domains WHERE account_id = $1",
            Quota::Pages => "SELECT COUNT(*) FROM pages WHERE account_id = $1",
            Quota::Links => "SELECT COUNT(*) FROM links WHERE account_id = $1",
            Quota::PageBytes => {
                "SELECT CAST(COALESCE(SUM(r.size), 0) AS BIGINT) FROM pages p \
                 JOIN page_revisions r ON r.page_id = p.id AND r.number = p.current_revision \
                 WHERE p.account_id = $1"
            }
            Quota::WebhookEndpoints => {
                "SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = $1"
            }
            Quota::Products => "SELECT COUNT(*) FROM products WHERE account_id = $1",
            Quota::Mounts => "SELECT COUNT(*) FROM mounts WHERE account_id = $1",
        };
        let (used,): (i64,) = sqlx::query_as(sql).bind(account_id).fetch_one(conn).await?;
        Ok(used)
    }
}

/// One quota's use, as `GET /v1/account` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    pub quota: Quota,
    pub used: i64,
    /// `null`: no limit.
    pub limit: Option<u64>,
}

/// The limits every account gets (`quota_*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    pub domains: u64,
    pub pages: u64,
    pub links: u64,
    pub page_bytes: u64,
    /// Revisions kept per page: storing a new one prunes the oldest.
    pub revisions_kept: u64,
    pub webhook_endpoints: u64,
    pub products: u64,
    pub mounts: u64,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas {
            domains: DEFAULT_DOMAINS,
            pages: DEFAULT_PAGES,
            links: DEFAULT_LINKS,
            page_bytes: DEFAULT_PAGE_BYTES,
            revisions_kept: DEFAULT_REVISIONS_KEPT,
            webhook_endpoints: DEFAULT_WEBHOOK_ENDPOINTS,
            products: DEFAULT_PRODUCTS,
            mounts: DEFAULT_MOUNTS,
        }
    }
}

impl Quotas {
    pub fn resolve(raw: &RawSettings) -> Result<Quotas, ConfigError> {
        let default = Quotas::default();
        Ok(Quotas {
            domains: raw.quota_domains.unwrap_or(default.domains),
            pages: raw.quota_pages.unwrap_or(default.pages),
            links: raw.quota_links.unwrap_or(default.links),
            page_bytes: raw.quota_page_bytes.unwrap_or(default.page_bytes),
            revisions_kept: raw.quota_revisions_kept.unwrap_or(default.revisions_kept),
            webhook_endpoints: raw
                .quota_webhook_endpoints
                .unwrap_or(default.webhook_endpoints),
            products: raw.quota_products.unwrap_or(default.products),
            mounts: raw.quota_mounts.unwrap_or(default.mounts),
        })
    }

    /// The limit, `None` when there is none.
    pub fn limit(&self, quota: Quota) -> Option<u64> {
        let limit = match quota {
            Quota::Domains => self.domains,
            Quota::Pages => self.pages,
            Quota::Links => self.links,
            Quota::PageBytes => self.page_bytes,
            Quota::WebhookEndpoints => self.webhook_endpoints,
            Quota::Products => self.products,
            Quota::Mounts => self.mounts,
        };
        (limit > 0).then_some(limit)
    }

    /// Refuses adding `adding` to the account's use of `quota` past its
    /// limit. Call inside the unit of work that adds, with the account locked.
    pub async fn check(
        &self,
        conn: &mut AnyConnection,
        account_id: &str,
        quota: Quota,
        adding: i64,
    ) -> Result<(), ApiError> {
        let Some(limit) = self.limit(quota) else {
            return Ok(());
        };
        if adding <= 0 {
            return Ok(());
        }
        let used = quota.used(conn, account_id).await?;
        if used.saturating_add(adding) > i64::try_from(limit).unwrap_or(i64::MAX) {
            return Err(ApiError::QuotaExceeded {
                quota,
                limit,
                message: format!(
                    "this account may have at most {limit} {}; it has {used}: remove some, or ask the platform for a higher limit",
                    quota.what()
                ),
            });
        }
        Ok(())
    }

    /// The account's use of every quota, with its limit (`GET /v1/account`).
    pub async fn usage(
        &self,
        conn: &mut AnyConnection,
        account_id: &str,
    ) -> Result<Vec<Usage>, sqlx::Error> {
        let mut usage = Vec::new();
        for quota in [
            Quota::Domains,
            Quota::Pages,
            Quota::Links,
            Quota::PageBytes,
            Quota::WebhookEndpoints,
            Quota::Products,
            Quota::Mounts,
        ] {
            usage.push(Usage {
                quota,
                used: quota.used(conn, account_id).await?,
                limit: self.limit(quota),
            });
        }
        Ok(usage)
    }

    /// The oldest revision number to keep when `current` is the newest.
    pub fn oldest_kept(&self, current: i64) -> Option<i64> {
        let kept = i64::try_from(self.revisions_kept).ok().filter(|k| *k > 0)?;
        Some(current - kept + 1)
    }
}
