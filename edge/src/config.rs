//! The deployment's settings, from `wrangler.toml` vars and secrets, read
//! once per isolate.

use std::rc::Rc;

use portico_shared::origin_context::SigningKey;
use portico_shared::reverse_proxy::OriginBase;
use portico_shared::EdgeSettings;
use worker::{console_error, console_warn, Env};

use crate::proxy::Origin;

/// The deployment's settings, from `wrangler.toml` vars: read once per
/// isolate (vars are fixed for an isolate's life; a new deployment or a
/// changed `.dev.vars` starts new isolates).
pub struct Config {
    pub settings: EdgeSettings,
    pub platform_name: String,
    pub origin: Origin,
    /// `ORIGIN_SIGNING_SECRET`; without it (or with one too short) nothing
    /// of an account is proxied: see `handler::signed_context`.
    pub signing_key: Option<SigningKey>,
}

/// How long the origin has to start answering by default (ms): under the
/// 100 s Cloudflare gives an origin, so the visitor sees the platform's 504.
const DEFAULT_ORIGIN_TIMEOUT_MS: u32 = 30_000;

impl Config {
    fn from_env(env: &Env) -> Config {
        let var = |name: &str| env.var(name).map(|v| v.to_string()).unwrap_or_default();
        let platform_name = var("PLATFORM_NAME");
        let platform_origin = var("PLATFORM_ORIGIN");
        let timeout = var("ORIGIN_TIMEOUT_MS");
        let timeout_ms = match timeout.parse::<u32>() {
            Ok(ms) if ms > 0 => ms,
            _ => {
                if !timeout.is_empty() {
                    console_error!("ORIGIN_TIMEOUT_MS={timeout:?} is not a number of milliseconds: using {DEFAULT_ORIGIN_TIMEOUT_MS}");
                }
                DEFAULT_ORIGIN_TIMEOUT_MS
            }
        };
        let secret = var("ORIGIN_SIGNING_SECRET");
        let signing_key = match SigningKey::new(secret.as_bytes()) {
            Ok(key) => Some(key),
            Err(_) if secret.is_empty() => {
                console_warn!("ORIGIN_SIGNING_SECRET is not set: origin mounts answer 503 (certificate validation is still forwarded)");
                None
            }
            Err(err) => {
                console_error!("ORIGIN_SIGNING_SECRET: {err}; origin mounts answer 503");
                None
            }
        };
        Config {
            settings: EdgeSettings {
                https_redirect: var("HTTPS_REDIRECT") == "true",
            },
            platform_name: if platform_name.is_empty() {
                "Portico".to_string()
            } else {
                platform_name
            },
            origin: Origin {
                parsed: OriginBase::parse(&platform_origin),
                base: platform_origin.trim_end_matches('/').to_string(),
                timeout_ms,
            },
            signing_key,
        }
    }

    pub fn get(env: &Env) -> Rc<Config> {
        CONFIG.with(|config| {
            config
                .get_or_init(|| Rc::new(Config::from_env(env)))
                .clone()
        })
    }

    /// The isolate's config, once a request has read it.
    pub fn cached() -> Option<Rc<Config>> {
        CONFIG.with(|config| config.get().cloned())
    }
}

thread_local! {
    static CONFIG: std::cell::OnceCell<Rc<Config>> = const { std::cell::OnceCell::new() };
}

impl Default for Config {
    fn default() -> Config {
        Config {
            settings: EdgeSettings {
                https_redirect: false,
            },
            platform_name: "Portico".to_string(),
            origin: Origin {
                base: String::new(),
                parsed: None,
                timeout_ms: DEFAULT_ORIGIN_TIMEOUT_MS,
            },
            signing_key: None,
        }
    }
}
