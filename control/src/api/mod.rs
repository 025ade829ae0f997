//! The REST API under `/v1`: one module per resource, `ApiError` for every
//! failure, the OpenAPI document built from the same handlers that serve
//! the routes (utoipa-axum), so every route is documented by construction.

pub mod accounts;
pub mod admin;
pub mod diagnostics;
pub mod domain_add;
pub mod domain_batch;
pub mod domain_connect;
pub mod domains;
pub mod error;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod limits;
pub mod links;
pub mod mounts;
mod openapi;
pub mod pages;
pub mod paging;
mod paths;
pub mod platform_host;
pub mod products;
pub mod tokens;
pub mod webhooks;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::{Json, Router};
use portico_shared::PlatformDomain;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ApiJson, ApiPath, ApiQuery};

use crate::certs::Certificates;
use crate::clock::Clock;
use crate::store::accounts::TokenScope;
use crate::store::{accounts as account_store, now_ms, Store};
use crate::unit::Units;

/// Largest request body: 2 MiB (a page's HTML, at most [`MAX_PAGE_BYTES`],
/// may grow when escaped as JSON).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Largest page content: 1 MiB of UTF-8 HTML.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub platform: PlatformDomain,
    admin_token_hash: Arc<[u8; 32]>,
    /// Wakes the publisher after a commit that enqueued KV writes.
    pub publish_wake: Arc<Notify>,
    /// Customers' certificates (`certificate_provider`).
    pub certificates: Certificates,
    /// The DNS verifier (`POST /v1/domains/{id}/verify`).
    pub verifier: Option<Arc<crate::lifecycle::scheduler::Scheduler>>,
    /// Every change to an account goes through one of these.
    pub units: Units,
    /// The lifecycle's clock.
    pub clock: Clock,
    /// This replica's publisher id (the lease's holder when it publishes).
    pub replica: Option<String>,
    /// Webhook endpoints' outbound rules.
    pub webhooks: crate::webhooks::settings::WebhookSettings,
    /// Customers may add `.test` names (`allow_test_domains`).
    pub allow_test_domains: bool,
    /// This replica's rate limits (`None`: off).
    pub limits: Option<Arc<limits::RateLimits>>,
    /// What each account may hold.
    pub quotas: crate::quota::Quotas,
    /// Domain Connect (`domain_connect_*`; `None`: not offered).
    pub domain_connect: Option<Arc<crate::domain_connect::settings::DomainConnectSettings>>,
    /// The scraper's token for `/metrics` (`metrics_token`), hashed.
    metrics_token_hash: Option<Arc<[u8; 32]>>,
}

impl AppState {
    pub fn new(units: Units, admin_token: &str) -> AppState {
        AppState {
            store: units.store.clone(),
            platform: units.records.platform.clone(),
            admin_token_hash: Arc::new(Sha256::digest(admin_token.as_bytes()).into()),
            publish_wake: units.wake.clone(),
            certificates: Certificates::None,
            verifier: None,
            clock: units.clock,
            units,
            replica: None,
            webhooks: Default::default(),
            allow_test_domains: false,
            limits: None,
            quotas: Default::default(),
            domain_connect: None,
            metrics_token_hash: None,
        }
    }

    /// The token that may read `/metrics` besides the admin token.
    pub fn with_metrics_token(mut self, token: Option<&str>) -> AppState {
        self.metrics_token_hash =
            token.map(|token| Arc::new(Sha256::digest(token.as_bytes()).into()));
        self
    }

    /// Whether `token` is the metrics token (compared without early exit).
    pub(crate) fn is_metrics_token(&self, token: &str) -> bool {
        self.metrics_token_hash
            .as_deref()
            .is_some_and(|hash| same_digest(token, hash))
    }

    /// Domain Connect (`domain_connect_*`).
    pub fn with_domain_connect(
        mut self,
        settings: Option<crate::domain_connect::settings::DomainConnectSettings>,
    ) -> AppState {
        self.domain_connect = settings.map(Arc::new);
        self
    }

    /// Rate limits (`rate_limit_*`).
    pub fn with_rate_limits(mut self, settings: &limits::RateLimitSettings) -> AppState {
        self.limits = limits::RateLimits::new(settings).map(Arc::new);
        self
    }

    /// Quotas (`quota_*`).
    pub fn with_quotas(mut self, quotas: crate::quota::Quotas) -> AppState {
        self.quotas = quotas;
        self
    }

    /// Lets customers add `.test` names (the local stack and tests).
    pub fn with_test_domains(mut self, allow: bool) -> AppState {
        self.allow_test_domains = allow;
        self
    }

    /// The special-use suffixes customers may add names under.
    pub fn allowed_special_use(&self) -> &'static [&'static str] {
        if self.allow_test_domains {
            &["test"]
        } else {
            &[]
        }
    }

    /// The webhook settings (`webhook_*`).
    pub fn with_webhooks(
        mut self,
        settings: crate::webhooks::settings::WebhookSettings,
    ) -> AppState {
        self.webhooks = settings;
        self
    }

    /// This replica's publisher id, shown to operators.
    pub fn with_replica(mut self, holder: &str) -> AppState {
        self.replica = Some(holder.to_string());
        self
    }

    /// The DNS verifier.
    pub fn with_verifier(
        mut self,
        verifier: Arc<crate::lifecycle::scheduler::Scheduler>,
    ) -> AppState {
        self.verifier = Some(verifier);
        self
    }

    /// Where TXT ownership proofs live (the verifier's setting).
    pub fn challenge_label(&self) -> portico_shared::ownership::ChallengeLabel {
        self.verifier
            .as_ref()
            .map(|scheduler| scheduler.verifier.settings.challenge_label.clone())
            .unwrap_or_default()
    }

    /// The certificate provider (the default is `none`).
    pub fn with_certificates(mut self, certificates: Certificates) -> AppState {
        self.certificates = certificates;
        self
    }

    /// Call after committing a transaction that enqueued KV writes.
    pub fn published(&self) {
        self.publish_wake.notify_one();
    }
}

/// The SHA-256 (hex) that a token is stored as.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_token(&parts.headers)
}

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

pub(crate) fn is_admin(state: &AppState, token: &str) -> bool {
    same_digest(token, &state.admin_token_hash)
}

/// Whether `token` hashes to `hash`, comparing every byte: no early exit.
fn same_digest(token: &str, hash: &[u8; 32]) -> bool {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    digest
        .iter()
        .zip(hash.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// The platform operator: `Authorization: Bearer <admin token>`.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<AdminAuth, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        if is_admin(state, token) {
            return Ok(AdminAuth);
        }
        match account_store::account_for_token(state.store.pool(), &token_hash(token)).await? {
            Some(_) => Err(ApiError::Forbidden(
                "this endpoint needs the admin token, not an account API token",
            )),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// An account, through one of its API tokens: live (not revoked, not of a
/// deleted account: 401 `unauthorized`), not expired (401 `token_expired`),
/// and `write`-scoped unless the request only reads (GET, HEAD; otherwise
/// 403 `insufficient_scope`).
pub struct AccountAuth {
    pub account_id: String,
    pub token_id: String,
}

/// How often a token's `last_used_at` is written, at most: a minute, so
/// that reads do not each cost a write.
const TOUCH_EVERY_MS: i64 = 60_000;

impl FromRequestParts<AppState> for AccountAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<AccountAuth, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        if is_admin(state, token) {
            return Err(ApiError::Forbidden(
                "this endpoint needs an account API token, not the admin token",
            ));
        }
        let pool = state.store.pool();
        let Some(found) = account_store::token(pool, &token_hash(token)).await? else {
            return Err(ApiError::Unauthorized);
        };
        let now = now_ms();
        if found.expires_at.is_some_and(|at| at <= now) {
            return Err(ApiError::TokenExpired);
        }
        let reads = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if found.scope == TokenScope::Read && !reads {
            return Err(ApiError::InsufficientScope);
        }
        if found
            .last_used_at
            .is_none_or(|at| now - at > TOUCH_EVERY_MS)
        {
            if let Err(err) = account_store::touch_token(pool, &found.id, now).await {
                tracing::warn!(error = %err, "could not record token use");
            }
        }
        Ok(AccountAuth {
            account_id: found.account_id,
            token_id: found.id,
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portico control plane",
        description = "Custom domains, pages and their links for a page-hosting platform. \
            Errors are `{ \"error\": { \"code\", \"message\" } }` with a stable snake_case code.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "accounts", description = "Accounts (admin token) and the caller's own account"),
        (name = "tokens", description = "Account API tokens"),
        (name = "domains", description = "Custom domains and their Index/404 settings"),
        (name = "pages", description = "Pages and their content revisions"),
        (name = "links", description = "Pages at paths on domains or the platform host"),
        (name = "products", description = "The account's products on the platform (memberships, checkouts, videos, calendars, help desks), registered by the platform"),
        (name = "mounts", description = "Products served at a path or path prefix on domains or the platform host"),
        (name = "events", description = "The account's activity"),
        (name = "webhooks", description = "Signed webhooks (Standard Webhooks): endpoints, secrets, the delivery log"),
        (name = "admin", description = "Operating the platform (admin token): publishing"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme =
            || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme("admin_token", scheme());
        components.add_security_scheme("account_token", scheme());
    }
}

/// The documented routes and the OpenAPI document that describes them.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(accounts::create_account))
        .routes(routes!(accounts::get_account, accounts::delete_account))
        .routes(routes!(accounts::own_account, accounts::delete_own_account))
        .routes(routes!(tokens::issue_for_account))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(domains::list_domains, domain_add::add_domain))
        .routes(routes!(domain_batch::add_domains))
        .routes(routes!(domains::get_domain, domains::remove_domain))
        .routes(routes!(domains::get_settings, domains::put_settings))
        .routes(routes!(domains::put_apex))
        .routes(routes!(diagnostics::get_diagnostics))
        .routes(routes!(diagnostics::verify_domain))
        .routes(routes!(domain_connect::offer_domain_connect))
        .routes(routes!(domain_connect::domain_connect_return))
        .routes(routes!(pages::list_pages, pages::create_page))
        .routes(routes!(
            pages::get_page,
            pages::update_page,
            pages::delete_page
        ))
        .routes(routes!(pages::list_revisions))
        .routes(routes!(links::list_links, links::create_link))
        .routes(routes!(
            links::get_link,
            links::change_link,
            links::delete_link
        ))
        .routes(routes!(products::list_products, products::create_product))
        .routes(routes!(
            products::get_product,
            products::change_product,
            products::delete_product
        ))
        .routes(routes!(mounts::list_mounts, mounts::create_mount))
        .routes(routes!(
            mounts::get_mount,
            mounts::change_mount,
            mounts::delete_mount
        ))
        .routes(routes!(
            platform_host::get_platform_host_settings,
            platform_host::put_platform_host_settings
        ))
        .routes(routes!(events::list_events))
        .routes(routes!(webhooks::list_endpoints, webhooks::create_endpoint))
        .routes(routes!(
            webhooks::get_endpoint,
            webhooks::update_endpoint,
            webhooks::delete_endpoint
        ))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::list_messages))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(admin::publishing_status))
        .routes(routes!(admin::list_parked))
        .routes(routes!(admin::retry_parked))
        .routes(routes!(admin::retry_all_parked))
        .split_for_parts();
    let mut doc = doc;
    openapi::document_control_characters(&mut doc);
    openapi::document_bodies(&mut doc);
    idempotency::document(&mut doc);
    limits::document(&mut doc);
    (router, openapi::state_text_rules(doc))
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (router, doc) = api_router();
    let doc = Arc::new(doc);
    router
        .route(
            "/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        // The Prometheus scrape: outside the documented API, as text.
        .route("/metrics", get(crate::metrics::scrape::scrape))
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::no_method)
        .layer(from_fn_with_state(state.clone(), idempotency::idempotent))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Outside idempotency: a replayed answer counts against the limit too.
        .layer(from_fn_with_state(state.clone(), limits::limit))
        .layer(
            // One INFO line per request (method, path, status, latency), in
            // a span carrying the request id, so every line logged while
            // serving it does too; headers, and so tokens, are never logged.
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<axum::body::Body>| {
                    tracing::info_span!(
                        "request",
                        request_id = %crate::metrics::http::request_id_of(request),
                        method = %request.method(),
                        uri = %request.uri(),
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// `null` and absent told apart in a change (absent: unchanged; null: cleared).
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}
