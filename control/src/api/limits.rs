//! Rate limits: one GCRA bucket per API token and route class (reads: GET;
//! writes: other methods; verify: `POST /v1/domains/{id}/verify` and
//! `…/domain-connect`, which query DNS and providers), and one
//! per client address for requests without a token. A request with a token
//! that turns out unknown (401) is charged to its address's bucket too, and
//! once that bucket is empty the address is refused before any token lookup,
//! so a token-guessing script gets 429s. The buckets live in this replica's
//! memory: N replicas allow up to N times the configured rates.
//!
//! Answers carry `RateLimit-Policy` and `RateLimit`
//! (draft-ietf-httpapi-ratelimit-headers-10); refusals are 429
//! `rate_limited` with `Retry-After`.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HeaderName, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::{bearer_token, is_admin, ApiError, AppState};
use crate::config::{invalid, ConfigError, RawSettings};

pub const DEFAULT_READS_PER_MIN: u32 = 1200;
pub const DEFAULT_WRITES_PER_MIN: u32 = 300;
pub const DEFAULT_VERIFY_PER_MIN: u32 = 30;
pub const DEFAULT_ANONYMOUS_PER_MIN: u32 = 60;

/// How many buckets a limiter holds before idle ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// Requests per minute for each class; 0 switches a class off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub reads_per_min: u32,
    pub writes_per_min: u32,
    pub verify_per_min: u32,
    /// Per client address, for requests without a valid token.
    pub anonymous_per_min: u32,
    /// The header a trusted proxy puts the client's address in (its last
    /// value is used); none: the TCP peer's address.
    pub client_ip_header: Option<HeaderName>,
}

impl Default for RateLimitSettings {
    fn default() -> RateLimitSettings {
        RateLimitSettings {
            reads_per_min: DEFAULT_READS_PER_MIN,
            writes_per_min: DEFAULT_WRITES_PER_MIN,
            verify_per_min: DEFAULT_VERIFY_PER_MIN,
            anonymous_per_min: DEFAULT_ANONYMOUS_PER_MIN,
            client_ip_header: None,
        }
    }
}

impl RateLimitSettings {
    /// No limits (tests that are not about them).
    pub fn off() -> RateLimitSettings {
        RateLimitSettings {
            reads_per_min: 0,
            writes_per_min: 0,
            verify_per_min: 0,
            anonymous_per_min: 0,
            client_ip_header: None,
        }
    }

    pub fn resolve(raw: &RawSettings) -> Result<RateLimitSettings, ConfigError> {
        let default = RateLimitSettings::default();
        let client_ip_header = raw
            .client_ip_header
            .as_deref()
            .map(|name| {
                HeaderName::try_from(name.trim())
                    .map_err(|_| invalid("client_ip_header", "expected a header name"))
            })
            .transpose()?;
        Ok(RateLimitSettings {
            reads_per_min: raw
                .rate_limit_reads_per_min
                .unwrap_or(default.reads_per_min),
            writes_per_min: raw
                .rate_limit_writes_per_min
                .unwrap_or(default.writes_per_min),
            verify_per_min: raw
                .rate_limit_verify_per_min
                .unwrap_or(default.verify_per_min),
            anonymous_per_min: raw
                .rate_limit_anonymous_per_min
                .unwrap_or(default.anonymous_per_min),
            client_ip_header,
        })
    }
}

/// Which bucket a request is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Reads,
    Writes,
    Verify,
}

impl Class {
    pub fn of(method: &Method, path: &str) -> Class {
        if *method == Method::GET || *method == Method::HEAD {
            return Class::Reads;
        }
        let is_verify = path
            .strip_prefix("/v1/domains/")
            .and_then(|rest| {
                rest.strip_suffix("/verify")
                    .or_else(|| rest.strip_suffix("/domain-connect"))
            })
            .is_some_and(|id| !id.is_empty() && !id.contains('/'));
        if *method == Method::POST && is_verify {
            Class::Verify
        } else {
            Class::Writes
        }
    }
}

type Limiter<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// One class's limiter and how it is described in the headers.
struct Bucket<K: Hash + Eq + Clone> {
    policy: &'static str,
    per_min: u32,
    limiter: Limiter<K>,
}

/// What a bucket said about one request.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    policy: &'static str,
    per_min: u32,
    remaining: u32,
    /// Seconds until the bucket is full again (allowed), or until the next
    /// request can pass (refused).
    seconds: u64,
    allowed: bool,
}

impl<K: Hash + Eq + Clone> Bucket<K> {
    fn new(policy: &'static str, per_min: u32) -> Option<Bucket<K>> {
        let burst = NonZeroU32::new(per_min)?;
        let limiter = RateLimiter::dashmap(Quota::per_minute(burst))
            .with_middleware::<StateInformationMiddleware>();
        Some(Bucket {
            policy,
            per_min,
            limiter,
        })
    }

    fn check(&self, key: &K) -> Verdict {
        if self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let interval = snapshot.quota().replenish_interval();
                let refill = interval * (self.per_min.saturating_sub(remaining));
                Verdict {
                    policy: self.policy,
                    per_min: self.per_min,
                    remaining,
                    seconds: ceil_seconds(refill),
                    allowed: true,
                }
            }
            Err(not_until) => Verdict {
                policy: self.policy,
                per_min: self.per_min,
                remaining: 0,
                seconds: ceil_seconds(not_until.wait_time_from(self.limiter.clock().now())).max(1),
                allowed: false,
            },
        }
    }
}

fn ceil_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

impl Verdict {
    fn write(&self, headers: &mut HeaderMap) {
        let policy = format!("\"{}\";q={};w=60", self.policy, self.per_min);
        let current = format!(
            "\"{}\";r={};t={}",
            self.policy, self.remaining, self.seconds
        );
        for (name, value) in [("ratelimit-policy", policy), ("ratelimit", current)] {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(name, value);
            }
        }
    }

    fn refusal(&self) -> Response {
        let message = format!(
            "too many requests: at most {} per minute ({}); try again in {} s",
            self.per_min, self.policy, self.seconds
        );
        let mut response = ApiError::RateLimited(message).into_response();
        self.write(response.headers_mut());
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(self.seconds));
        response
    }
}

/// This replica's buckets.
pub struct RateLimits {
    reads: Option<Bucket<[u8; 32]>>,
    writes: Option<Bucket<[u8; 32]>>,
    verify: Option<Bucket<[u8; 32]>>,
    anonymous: Option<Bucket<IpAddr>>,
    client_ip_header: Option<HeaderName>,
    /// Addresses whose failed token lookups emptied their bucket, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl RateLimits {
    /// `None` when every class is off.
    pub fn new(settings: &RateLimitSettings) -> Option<RateLimits> {
        let limits = RateLimits {
            reads: Bucket::new("reads", settings.reads_per_min),
            writes: Bucket::new("writes", settings.writes_per_min),
            verify: Bucket::new("verify", settings.verify_per_min),
            anonymous: Bucket::new("anonymous", settings.anonymous_per_min),
            client_ip_header: settings.client_ip_header.clone(),
            blocked: Mutex::new(HashMap::new()),
        };
        let any = limits.reads.is_some()
            || limits.writes.is_some()
            || limits.verify.is_some()
            || limits.anonymous.is_some();
        any.then_some(limits)
    }

    /// Charges a check that no token asked for (Domain Connect's return) to
    /// the verify bucket of `key`: the refusal when it is empty.
    pub fn charge_verify(&self, key: &[u8; 32]) -> Option<Response> {
        match self.verify.as_ref().map(|bucket| bucket.check(key)) {
            Some(verdict) if !verdict.allowed => Some(verdict.refusal()),
            _ => None,
        }
    }

    fn class(&self, class: Class) -> Option<&Bucket<[u8; 32]>> {
        match class {
            Class::Reads => self.reads.as_ref(),
            Class::Writes => self.writes.as_ref(),
            Class::Verify => self.verify.as_ref(),
        }
    }

    /// The client's address: the trusted proxy's header when configured
    /// (its last value: the one that proxy appended), else the TCP peer's;
    /// as a bucket key ([`client_key`]).
    fn client_address(&self, request: &Request) -> IpAddr {
        let from_header = self.client_ip_header.as_ref().and_then(|name| {
            let value = request.headers().get_all(name).iter().next_back()?;
            let last = value.to_str().ok()?.rsplit(',').next()?.trim();
            last.parse::<IpAddr>()
                .ok()
                .or_else(|| last.parse::<SocketAddr>().ok().map(|a| a.ip()))
        });
        from_header
            .or_else(|| {
                request
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|info| info.0.ip())
            })
            .map(client_key)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// A refusal while the address is blocked for failed token lookups.
    fn blocked(&self, address: IpAddr) -> Option<Verdict> {
        let anonymous = self.anonymous.as_ref()?;
        let mut blocked = self.blocked.lock().expect("never poisoned");
        let until = *blocked.get(&address)?;
        let now = Instant::now();
        if until <= now {
            blocked.remove(&address);
            return None;
        }
        Some(Verdict {
            policy: anonymous.policy,
            per_min: anonymous.per_min,
            remaining: 0,
            seconds: ceil_seconds(until - now).max(1),
            allowed: false,
        })
    }

    /// Charges a failed token lookup to the address; blocks it once its bucket is empty.
    fn failed_lookup(&self, address: IpAddr) {
        let Some(anonymous) = &self.anonymous else {
            return;
        };
        let verdict = anonymous.check(&address);
        if !verdict.allowed {
            let mut blocked = self.blocked.lock().expect("never poisoned");
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            blocked.insert(address, now + Duration::from_secs(verdict.seconds));
        }
    }
}

/// Every operation but the health checks may answer 429: said once here, for all.
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    const SAID: &str = "`rate_limited`: too many requests for this token (or, without one, this address); `Retry-After` says when to try again (`RateLimit-Policy` and `RateLimit` are on every limited answer)";
    for (path, item) in doc.paths.paths.iter_mut() {
        if exempt(path) {
            continue;
        }
        for operation in super::openapi::operations_mut(item) {
            super::openapi::document_error(operation, "429", SAID);
        }
    }
}

/// One bucket per IPv4 address and per IPv6 /64 (what one subscriber
/// usually gets, so rotating through it does not help); IPv4-mapped IPv6
/// addresses count as their IPv4 one.
fn client_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// Health checks are never limited.
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// The middleware (`api::app` layers it over every route).
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limits) = state.limits.clone() else {
        return next.run(request).await;
    };
    if exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let address = limits.client_address(&request);
    let token = bearer_token(request.headers()).map(str::to_owned);
    let Some(token) = token else {
        let verdict = limits.anonymous.as_ref().map(|b| b.check(&address));
        return finish(verdict, next, request).await;
    };
    // The operator's token is not limited.
    if is_admin(&state, &token) {
        return next.run(request).await;
    }
    if let Some(refusal) = limits.blocked(address) {
        return refusal.refusal();
    }
    let class = Class::of(request.method(), request.uri().path());
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let verdict = limits.class(class).map(|bucket| bucket.check(&digest));
    let response = finish(verdict, next, request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        limits.failed_lookup(address);
    }
    response
}

async fn finish(verdict: Option<Verdict>, next: Next, request: Request) -> Response {
    match verdict {
        Some(verdict) if !verdict.allowed => verdict.refusal(),
        Some(verdict) => {
            let mut response = next.run(request).await;
            verdict.write(response.headers_mut());
            response
        }
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let table = [
            (Method::GET, "/v1/domains", Class::Reads),
            (Method::GET, "/v1/domains/dom_1/verify", Class::Reads),
            (Method::POST, "/v1/domains", Class::Writes),
            (Method::POST, "/v1/domains/dom_1/verify", Class::Verify),
            (
                Method::POST,
                "/v1/domains/dom_1/domain-connect",
                Class::Verify,
            ),
            (Method::POST, "/v1/domains//verify", Class::Writes),
            (Method::POST, "/v1/domains/a/b/verify", Class::Writes),
            (Method::DELETE, "/v1/domains/dom_1", Class::Writes),
            (Method::PATCH, "/v1/pages/pg_1", Class::Writes),
        ];
        for (method, path, class) in table {
            assert_eq!(Class::of(&method, path), class, "{method} {path}");
        }
    }

    #[test]
    fn a_bucket_refuses_after_its_quota_and_says_when() {
        let bucket = Bucket::<u8>::new("writes", 2).unwrap();
        let first = bucket.check(&1);
        assert!(first.allowed);
        assert_eq!(first.remaining, 1);
        assert!(bucket.check(&1).allowed);
        let refused = bucket.check(&1);
        assert!(!refused.allowed);
        assert!((1..=30).contains(&refused.seconds), "{}", refused.seconds);
        assert!(bucket.check(&2).allowed, "another key has its own bucket");
        let mut headers = HeaderMap::new();
        refused.write(&mut headers);
        assert_eq!(headers["ratelimit-policy"], "\"writes\";q=2;w=60");
        assert!(headers["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"writes\";r=0;t="));
    }

    #[test]
    fn clients_are_keyed_by_ipv4_address_and_ipv6_64() {
        let table = [
            ("192.0.2.7", "192.0.2.7"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
            ("2001:db8:1:2:ffff::1", "2001:db8:1:2::"),
        ];
        for (address, key) in table {
            let address: IpAddr = address.parse().unwrap();
            assert_eq!(client_key(address), key.parse::<IpAddr>().unwrap());
        }
    }

    #[test]
    fn zero_switches_a_class_off() {
        assert!(RateLimits::new(&RateLimitSettings::off()).is_none());
        let limits = RateLimits::new(&RateLimitSettings {
            verify_per_min: 5,
            ..RateLimitSettings::off()
        })
        .unwrap();
        assert!(limits.class(Class::Reads).is_none());
        assert!(limits.class(Class::Verify).is_some());
    }
}
