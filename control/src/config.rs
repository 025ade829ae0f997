//! Settings: a TOML file (`--config`) and `PORTICO_*` environment variables,
//! the environment winning. Every key of the file is the name of its
//! variable without `PORTICO_`, in lower case (`PORTICO_LISTEN` ↔ `listen`).
//! The table of settings and defaults is in control/README.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use portico_shared::PlatformDomain;
use serde::{Deserialize, Serialize};

pub const DEFAULT_PLATFORM_DOMAIN: &str = "portico.test";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = ".portico";
pub const DEFAULT_CLOUDFLARE_API: &str = "https://api.cloudflare.com/client/v4";
pub const DEFAULT_LOCAL_EDGE_URL: &str = "http://127.0.0.1:8787";
/// `Strict-Transport-Security` max-age of Connected custom domains: one year.
pub const DEFAULT_HSTS_MAX_AGE_S: u32 = 365 * 24 * 60 * 60;
/// Cloudflare allows 1,200 requests per five minutes per user, across all
/// of that user's calls: this leaves room for the operator's own tools.
pub const DEFAULT_CLOUDFLARE_API_BUDGET: u32 = 1000;
/// Workers KV's share: with the custom hostnames' 1,000, 1,150 of
/// Cloudflare's 1,200 per user, 50 left for the operator's own calls.
pub const DEFAULT_CLOUDFLARE_KV_BUDGET: u32 = 150;

/// Where `scripts/build-wasm-pkg` puts the browser build of `shared` (from the repository root).
pub const DEFAULT_DASHBOARD_WASM_DIR: &str = "shared/pkg-web";

/// Why the settings cannot be used; each message names the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{name}: {message}")]
    Invalid { name: &'static str, message: String },
    #[error("{0} is required for this setup")]
    Missing(&'static str),
    #[error("{var}: {message}")]
    Variable { var: String, message: String },
}

pub(crate) fn invalid(name: &'static str, message: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        name,
        message: message.to_string(),
    }
}

/// What a file may hold: every key optional, unknown keys refused. The
/// fields are the one list of settings: the file's keys and, upper-cased
/// after `PORTICO_`, the variables (`overlay_env`).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub platform_domain: Option<String>,
    pub listen: Option<String>,
    pub data_dir: Option<String>,
    pub database_url: Option<String>,
    pub admin_token: Option<String>,
    pub dev: Option<bool>,
    pub dev_clock_offset_secs: Option<i64>,
    pub allow_test_domains: Option<bool>,
    pub log_format: Option<String>,
    pub log: Option<String>,
    pub kv: Option<String>,
    pub cloudflare_account_id: Option<String>,
    pub cloudflare_api_token: Option<String>,
    pub cloudflare_routes_namespace_id: Option<String>,
    pub cloudflare_content_namespace_id: Option<String>,
    pub cloudflare_api_url: Option<String>,
    pub local_kv_url: Option<String>,
    pub local_kv_token: Option<String>,
    pub certificate_provider: Option<String>,
    pub cloudflare_zone_id: Option<String>,
    pub cloudflare_api_budget: Option<u32>,
    pub cloudflare_kv_budget: Option<u32>,
    pub cloudflare_paged_reads: Option<bool>,
    pub hsts_max_age_s: Option<u32>,
    pub publish_batch_size: Option<usize>,
    pub publish_poll_ms: Option<u64>,
    pub publish_batch_bytes: Option<usize>,
    pub publish_lease_ms: Option<u64>,
    pub content_gc_delay_s: Option<u64>,
    // Webhooks (control/src/webhooks/).
    pub webhook_allow_http: Option<bool>,
    pub webhook_retry_schedule_s: Option<String>,
    pub webhook_disable_after_s: Option<u64>,
    pub webhook_poll_ms: Option<u64>,
    pub webhook_timeout_ms: Option<u64>,
    pub database_max_connections: Option<u32>,
    // The verifier (control/src/verify/).
    pub verifier: Option<bool>,
    pub dns_resolvers: Option<String>,
    pub dns_nameserver_port: Option<u16>,
    pub dns_nameserver_addresses: Option<String>,
    pub dns_timeout_ms: Option<u64>,
    pub forward_http_port: Option<u16>,
    pub forward_https_port: Option<u16>,
    pub forward_timeout_ms: Option<u64>,
    pub verify_allow_private_addresses: Option<bool>,
    pub apex_addresses: Option<String>,
    /// No longer read (refused): the provider decides (`certs::authorities`).
    pub caa_issuers: Option<String>,
    pub challenge_label: Option<String>,
    pub cdn_ranges_file: Option<String>,
    pub verify_concurrency: Option<usize>,
    pub verify_poll_ms: Option<u64>,
    pub verify_recheck_secs: Option<u64>,
    pub disconnect_grace_secs: Option<u64>,
    pub verify_publish_wait_ms: Option<u64>,
    // Domain Connect (control/src/domain_connect/).
    pub domain_connect_key_file: Option<String>,
    pub domain_connect_key_id: Option<String>,
    pub domain_connect_provider_name: Option<String>,
    pub domain_connect_return_url: Option<String>,
    pub domain_connect_state_secret: Option<String>,
    // The dashboard (control/src/dashboard.rs).
    pub dashboard_wasm_dir: Option<String>,
    // Rate limits (control/src/api/limits.rs).
    pub rate_limit_reads_per_min: Option<u32>,
    pub rate_limit_writes_per_min: Option<u32>,
    pub rate_limit_verify_per_min: Option<u32>,
    pub rate_limit_anonymous_per_min: Option<u32>,
    pub client_ip_header: Option<String>,
    // Quotas (control/src/quota.rs).
    pub quota_domains: Option<u64>,
    pub quota_pages: Option<u64>,
    pub quota_links: Option<u64>,
    pub quota_page_bytes: Option<u64>,
    pub quota_revisions_kept: Option<u64>,
    pub quota_webhook_endpoints: Option<u64>,
    pub quota_products: Option<u64>,
    pub quota_mounts: Option<u64>,
    // Metrics (control/src/metrics/).
    pub metrics_token: Option<String>,
}

impl RawSettings {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<RawSettings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// Lays `PORTICO_*` variables over what the file said: the `config`
    /// crate layers the two (each variable is its key in upper case after
    /// `PORTICO_`, so no key is listed twice) and reads numbers and
    /// booleans out of the variables' text. Variables that name no setting
    /// are ignored (the scripts' own `PORTICO_ROOT`, the tests'
    /// `PORTICO_TEST_*`); an empty variable counts as unset.
    pub fn overlay_env(self, env: &HashMap<String, String>) -> Result<RawSettings, ConfigError> {
        let keys = RawSettings::keys();
        let vars: config::Map<String, String> = env
            .iter()
            .filter(|(name, value)| {
                !value.is_empty()
                    && name
                        .strip_prefix(ENV_PREFIX)
                        .is_some_and(|key| keys.contains(&key.to_ascii_lowercase().as_str()))
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let file = config::Config::try_from(&self).map_err(|err| invalid("config", err))?;
        config::Config::builder()
            .add_source(file)
            .add_source(
                config::Environment::with_prefix(ENV_PREFIX.trim_end_matches('_'))
                    .prefix_separator("_")
                    .source(Some(vars.clone())),
            )
            .build()
            .and_then(|layered| layered.try_deserialize())
            .map_err(|err| env_error(err, &vars))
    }

    /// Every key a file may hold (and so every variable, upper-cased after
    /// `PORTICO_`), from the struct's own fields.
    pub fn keys() -> &'static [&'static str] {
        serde_aux::serde_introspection::serde_introspect::<RawSettings>()
    }
}

/// What every variable of a setting starts with.
pub const ENV_PREFIX: &str = "PORTICO_";

/// A layering error, naming the variable and its value where one was wrong.
fn env_error(err: config::ConfigError, vars: &config::Map<String, String>) -> ConfigError {
    if let config::ConfigError::Type {
        key: Some(key),
        unexpected,
        expected,
        ..
    } = &err
    {
        let var = format!("{ENV_PREFIX}{}", key.to_ascii_uppercase());
        let value = vars
            .get(&var)
            .cloned()
            .unwrap_or_else(|| unexpected.to_string());
        return ConfigError::Variable {
            message: format!("`{value}` is not valid (expected {expected})"),
            var,
        };
    }
    ConfigError::Variable {
        var: "PORTICO_*".into(),
        message: err.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where KV updates go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvSettings {
    /// Dropped with a log line: API-only use.
    None,
    /// The Workers KV REST API.
    Cloudflare {
        api_url: String,
        account_id: String,
        api_token: String,
        routes_namespace_id: String,
        content_namespace_id: String,
    },
    /// The local `wrangler dev` edge's dev-only bulk endpoints.
    Local { edge_url: String, token: String },
}

/// Who issues customers' certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateProvider {
    /// Nobody: the local stack serves plain HTTP on loopback.
    None,
    /// Cloudflare for SaaS custom hostnames in the platform's zone.
    Cloudflare {
        api_url: String,
        api_token: String,
        zone_id: String,
    },
}

/// Resolved, validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub platform_domain: PlatformDomain,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_max_connections: u32,
    /// `None` only in dev mode without a configured token; serve then makes one up.
    pub admin_token: Option<String>,
    /// May read `/metrics` (besides the admin token): the scraper's token.
    pub metrics_token: Option<String>,
    pub dev: bool,
    /// Development and tests only: added to every reading of the clock
    /// (`store::now_ms`), so the 24 h revert can be seen without waiting.
    pub dev_clock_offset_ms: i64,
    /// Customers may add `.test` names (the local stack and tests); every
    /// other special-use name is refused regardless.
    pub allow_test_domains: bool,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub kv: KvSettings,
    pub certificate_provider: CertificateProvider,
    /// Cloudflare API requests per five minutes, for every replica
    /// together (`cloudflare_api::budget`); 0: no client-side budget.
    pub cloudflare_api_budget: u32,
    /// Workers KV requests per five minutes for every replica together
    /// (`publish::budgeted`), with `kv = "cloudflare"`; 0: no budget.
    pub cloudflare_kv_budget: u32,
    /// Certificate states read in pages on Cloudflare's validation
    /// schedule (`certs::cloudflare::view`), rather than one lookup per
    /// check (false: tests that script states check by check).
    pub cloudflare_paged_reads: bool,
    /// `Strict-Transport-Security` max-age (seconds) the edge sends for
    /// Connected custom domains; 0: none. Always 0 without a certificate
    /// provider (the local stack serves plain HTTP).
    pub hsts_max_age_s: u32,
    /// The publisher: batches, polling, its lease.
    pub publish: crate::publish::settings::PublishSettings,
    /// The verifier: DNS, forward and CAA checks, and its schedule.
    pub verify: crate::verify::settings::VerifySettings,
    /// Webhook delivery: outbound rules, retries.
    pub webhooks: crate::webhooks::settings::WebhookSettings,
    /// The browser build of `shared` the dashboard loads (`scripts/build-wasm-pkg`).
    pub dashboard_wasm_dir: PathBuf,
    /// API rate limits per token and per client address (this replica's).
    pub rate_limits: crate::api::limits::RateLimitSettings,
    /// What each account may hold.
    pub quotas: crate::quota::Quotas,
    /// Domain Connect's signing key and names; `None`: not offered.
    pub domain_connect: Option<crate::domain_connect::settings::DomainConnectSettings>,
}

impl Settings {
    /// Reads the optional file, then the process environment.
    pub fn load(config: Option<&Path>) -> Result<Settings, ConfigError> {
        let raw = match config {
            Some(path) => RawSettings::from_file(path)?,
            None => RawSettings::default(),
        };
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("PORTICO_"))
            .collect();
        Settings::resolve(raw.overlay_env(&env)?)
    }

    pub fn resolve(raw: RawSettings) -> Result<Settings, ConfigError> {
        let mut verify = crate::verify::settings::VerifySettings::resolve(&raw)?;
        let publish = crate::publish::settings::PublishSettings::resolve(&raw)?;
        let webhooks = crate::webhooks::settings::WebhookSettings::resolve(&raw)?;
        let rate_limits = crate::api::limits::RateLimitSettings::resolve(&raw)?;
        let quotas = crate::quota::Quotas::resolve(&raw)?;
        let platform_domain = PlatformDomain::parse(
            raw.platform_domain
                .as_deref()
                .unwrap_or(DEFAULT_PLATFORM_DOMAIN),
        )
        .map_err(|err| invalid("platform_domain", err))?;
        let domain_connect = crate::domain_connect::settings::DomainConnectSettings::resolve(
            &raw,
            &platform_domain,
        )?;
        let listen = raw
            .listen
            .as_deref()
            .unwrap_or(DEFAULT_LISTEN)
            .parse()
            .map_err(|_| invalid("listen", "expected an address such as 127.0.0.1:8080"))?;
        let data_dir = PathBuf::from(raw.data_dir.as_deref().unwrap_or(DEFAULT_DATA_DIR));
        let database_url = raw.database_url.unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("portico.db").display()
            )
        });
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            return Err(invalid(
                "database_url",
                "expected a sqlite:// or postgres:// URL",
            ));
        }
        let log_format = match raw.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log_format",
                    format!("`{other}`: expected text or json"),
                ))
            }
        };
        let certificate_provider = match raw.certificate_provider.as_deref().unwrap_or("none") {
            "none" => CertificateProvider::None,
            "cloudflare" => {
                let zone_id = raw
                    .cloudflare_zone_id
                    .clone()
                    .ok_or(ConfigError::Missing("cloudflare_zone_id"))?;
                if zone_id.is_empty() || !zone_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(invalid(
                        "cloudflare_zone_id",
                        "expected the zone's id (32 hexadecimal digits, on the zone's Overview page)",
                    ));
                }
                CertificateProvider::Cloudflare {
                    api_url: raw
                        .cloudflare_api_url
                        .clone()
                        .unwrap_or_else(|| DEFAULT_CLOUDFLARE_API.to_string()),
                    api_token: raw
                        .cloudflare_api_token
                        .clone()
                        .ok_or(ConfigError::Missing("cloudflare_api_token"))?,
                    zone_id,
                }
            }
            other => {
                return Err(invalid(
                    "certificate_provider",
                    format!("`{other}`: expected none or cloudflare"),
                ))
            }
        };
        verify.authorities = crate::certs::authorities::for_provider(&certificate_provider);
        let kv = match raw.kv.as_deref().unwrap_or("none") {
            "none" => KvSettings::None,
            "cloudflare" => KvSettings::Cloudflare {
                api_url: raw
                    .cloudflare_api_url
                    .unwrap_or_else(|| DEFAULT_CLOUDFLARE_API.to_string()),
                account_id: raw
                    .cloudflare_account_id
                    .ok_or(ConfigError::Missing("cloudflare_account_id"))?,
                api_token: raw
                    .cloudflare_api_token
                    .ok_or(ConfigError::Missing("cloudflare_api_token"))?,
                routes_namespace_id: raw
                    .cloudflare_routes_namespace_id
                    .ok_or(ConfigError::Missing("cloudflare_routes_namespace_id"))?,
                content_namespace_id: raw
                    .cloudflare_content_namespace_id
                    .ok_or(ConfigError::Missing("cloudflare_content_namespace_id"))?,
            },
            "local" => KvSettings::Local {
                edge_url: raw
                    .local_kv_url
                    .unwrap_or_else(|| DEFAULT_LOCAL_EDGE_URL.to_string()),
                token: raw
                    .local_kv_token
                    .ok_or(ConfigError::Missing("local_kv_token"))?,
            },
            other => {
                return Err(invalid(
                    "kv",
                    format!("`{other}`: expected none, local or cloudflare"),
                ))
            }
        };
        let dev_clock_offset_ms = match raw.dev_clock_offset_secs.unwrap_or(0) {
            0 => 0,
            secs => {
                let production = !raw.dev.unwrap_or(false)
                    || !matches!(kv, KvSettings::None | KvSettings::Local { .. })
                    || certificate_provider != CertificateProvider::None
                    || !database_url.starts_with("sqlite:");
                if production {
                    return Err(invalid(
                        "dev_clock_offset_secs",
                        "shifts the clock for development and tests only: it needs dev = true, \
                         a SQLite database, kv = local or none and certificate_provider = none",
                    ));
                }
                secs.checked_mul(1000)
                    .ok_or_else(|| invalid("dev_clock_offset_secs", "too large"))?
            }
        };
        let hsts_max_age_s = match certificate_provider {
            CertificateProvider::None => 0,
            CertificateProvider::Cloudflare { .. } => {
                raw.hsts_max_age_s.unwrap_or(DEFAULT_HSTS_MAX_AGE_S)
            }
        };
        let admin_token = raw.admin_token.filter(|t| !t.trim().is_empty());
        if let Some(token) = &admin_token {
            if token.len() < 16 {
                return Err(invalid("admin_token", "use at least 16 characters"));
            }
        }
        let metrics_token = raw.metrics_token.filter(|t| !t.trim().is_empty());
        if metrics_token.as_ref().is_some_and(|token| token.len() < 16) {
            return Err(invalid("metrics_token", "use at least 16 characters"));
        }
        Ok(Settings {
            metrics_token,
            verify,
            dashboard_wasm_dir: PathBuf::from(
                raw.dashboard_wasm_dir
                    .as_deref()
                    .unwrap_or(DEFAULT_DASHBOARD_WASM_DIR),
            ),
            platform_domain,
            listen,
            data_dir,
            database_url,
            database_max_connections: raw.database_max_connections.unwrap_or(10).max(1),
            admin_token,
            dev: raw.dev.unwrap_or(false),
            dev_clock_offset_ms,
            allow_test_domains: raw.allow_test_domains.unwrap_or(false),
            log_format,
            log_filter: raw.log.unwrap_or_else(|| "info".to_string()),
            kv,
            certificate_provider,
            cloudflare_api_budget: raw
                .cloudflare_api_budget
                .unwrap_or(DEFAULT_CLOUDFLARE_API_BUDGET),
            cloudflare_kv_budget: raw
                .cloudflare_kv_budget
                .unwrap_or(DEFAULT_CLOUDFLARE_KV_BUDGET),
            cloudflare_paged_reads: raw.cloudflare_paged_reads.unwrap_or(true),
            hsts_max_age_s,
            publish,
            webhooks,
            rate_limits,
            quotas,
            domain_connect,
        })
    }

    /// `serve` refuses to start without an admin token unless `dev` is on.
    pub fn require_admin_token(&self) -> Result<(), ConfigError> {
        if self.admin_token.is_none() && !self.dev {
            return Err(ConfigError::Missing(
                "admin_token (PORTICO_ADMIN_TOKEN; or set PORTICO_DEV=true to have one made up and logged)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
