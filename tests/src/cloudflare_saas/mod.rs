//! A contract test server for Cloudflare for SaaS custom hostnames.
//!
//! This is a TEST DOUBLE of a remote service (Cloudflare's API), not
//! Cloudflare: it runs on 127.0.0.1:0 inside the test process, keeps custom
//! hostnames in memory, and enforces the documented request and answer
//! shapes, so that a client that passes here sends what Cloudflare accepts
//! and copes with what it answers. Certificates are never issued: tests
//! script the states a real hostname goes through. Rules, as the API
//! reference ("Custom Hostnames",
//! <https://developers.cloudflare.com/api/resources/custom_hostnames/>) and
//! the Cloudflare for SaaS guides state them:
//!
//! - `POST /client/v4/zones/{zone_id}/custom_hostnames` creates
//!   `{hostname, ssl?, custom_metadata?, custom_origin_server?,
//!   custom_origin_sni?}`; `hostname` at most 255 characters; `ssl.method`
//!   is `http`, `txt` or `email`, `ssl.type` is `dv`; `ssl.settings` holds
//!   `min_tls_version` (`1.0`–`1.3`), `http2`/`tls_1_3`/`early_hints`
//!   (`on`/`off`), `ciphers` (strings). A hostname the zone already has is
//!   refused: 409, code 1406 "Duplicate custom hostname found.".
//! - `GET …/custom_hostnames` lists, `?hostname=` (a match: every name that
//!   contains it, so clients must compare names themselves) or `?id=`, not
//!   both; `page` (from 1), `per_page` (5 to 50, default 20), `order`
//!   (`ssl`, `ssl_status`), `direction` (`asc`, `desc`), `ssl` (`0`, `1`),
//!   anything else refused; `result_info` `{page, per_page, count,
//!   total_count, total_pages}` says where the page stands, and a page past
//!   the last is empty. Pages list hostnames in the order they were created.
//! - `GET`/`PATCH`/`DELETE …/custom_hostnames/{custom_hostname_id}`. A PATCH
//!   whose `ssl` repeats the hostname's method and type asks for validation
//!   again: a `moved` or `deleted` hostname goes back to `pending`, a
//!   certificate that timed out, expired or was deleted back to
//!   `pending_validation` ("Hostname validation status": "send a PATCH
//!   request … with the same method and type"). A PATCH whose `ssl` names
//!   another method switches to it and restarts validation ("Can also be
//!   used to change validation type"). Every PATCH field is optional, so a
//!   PATCH of `custom_metadata` alone leaves the certificate as it is; it
//!   replaces the whole object (the docs say it "set[s] metadata for that
//!   hostname", nothing about merging). DELETE answers `{ "id" }`, without
//!   the envelope, as documented.
//! - Success codes as "Status codes – Custom hostnames" lists them: POST
//!   201, PATCH 202, GET and DELETE 200.
//! - `custom_metadata` ("Unique key/value metadata for this hostname", a
//!   map of string to string in the API reference; "Custom metadata":
//!   "must be valid JSON", "the total payload must not exceed 4 KB") is
//!   stored and returned as sent. Anything but an object of strings is
//!   refused with 400, code 1401 "Unable to encode the Custom Metadata as
//!   JSON" (the guide's example has a boolean value, the reference says
//!   strings: the double holds clients to the stricter reference), as is a
//!   payload over 4096 bytes; a zone without custom metadata access
//!   ([`SaasContractConfig::custom_metadata`] false) answers 403, code 1413.
//! - `ssl.method = "txt"` (Cloudflare for SaaS, "TXT" DCV): while the
//!   certificate is `pending_validation`, `ssl.validation_records` holds
//!   `{status: "pending", txt_name: "_acme-challenge.<hostname>",
//!   txt_value}`; `ownership_verification {type: "txt", name:
//!   "_cf-custom-hostname.<hostname>", value}` is always there
//!   ("Pre-validation"). The two use separate tokens.
//! - `Authorization: Bearer <API token>` is required (else 401, code 10000);
//!   another zone answers 404 (code 7003); bodies are
//!   `application/json` objects, and unknown fields are refused (400), so a
//!   misspelt field fails here rather than being ignored in production.
//! - Every other answer uses the envelope `{ success, errors: [{code,
//!   message}], messages, result }` (lists add `result_info`); a hostname
//!   carries `status`, `verification_errors`, `ownership_verification`,
//!   `ssl { id, type, method, status, settings, validation_errors,
//!   validation_records }` and, when set, `custom_metadata`. Error codes
//!   other than 1401, 1406, 1413, 1436, 10000 and 7003 are the double's own.
//!
//! Scripting: [`SaasContractServer::set_state`] puts a hostname in any state
//! (see [`HostnameState`]'s constructors), [`SaasContractServer::script`]
//! queues states played one per read of that hostname, and
//! [`SaasContractServer::inject`] answers the next requests with 429 (with
//! `Retry-After`) or 5xx before touching any state, and
//! [`SaasContractServer::stall`] holds the next ones (a hanging API).
//!
//! TXT validation: the double does not resolve DNS. A test plays the
//! customer creating a record with [`SaasContractServer::add_txt`] (what
//! Cloudflare's resolver would then see); each read of a TXT-validated
//! hostname checks the records as Cloudflare's retries would: the
//! ownership record makes a `pending` hostname `active` (its "does not
//! CNAME" error clears, as "Zero-downtime migration" says), the
//! `_acme-challenge` record makes a `pending_validation` certificate
//! `active` (issuance and deployment are instant here; script them when
//! they matter). A real resolver would tie the double to a DNS server and
//! add nothing the client could observe: it only reads the API.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

pub use crate::cloudflare_kv::Fault;
use crate::Result;
use handlers::{create, delete, edit, error, get_one, list};

mod handlers;

/// Cloudflare's code for a hostname the zone already has.
pub const DUPLICATE_CODE: u32 = 1406;
/// What Cloudflare says while a hostname does not point at the zone.
pub const NOT_CNAMED: &str = "custom hostname does not CNAME to this zone.";
/// The largest `per_page`.
pub const MAX_PER_PAGE: usize = 50;
/// The smallest `per_page`.
pub const MIN_PER_PAGE: usize = 5;

/// Cloudflare's code for `custom_metadata` it cannot take.
pub const METADATA_CODE: u32 = 1401;
/// Cloudflare's code for a zone without custom metadata access.
pub const NO_METADATA_ACCESS_CODE: u32 = 1413;
/// The largest `custom_metadata`, serialized ("must not exceed 4 KB").
pub const MAX_METADATA_BYTES: usize = 4096;

/// Who may call, and what the zone may do.
#[derive(Debug, Clone)]
pub struct SaasContractConfig {
    pub zone_id: String,
    pub api_token: String,
    /// Whether the zone has custom metadata access (Cloudflare enables it
    /// per account on request).
    pub custom_metadata: bool,
}

impl Default for SaasContractConfig {
    fn default() -> SaasContractConfig {
        SaasContractConfig {
            zone_id: "023e105f4ecef8ad9ca31a8372d0c353".into(),
            api_token: "test-cloudflare-api-token".into(),
            custom_metadata: true,
        }
    }
}

/// A custom hostname's state: what Cloudflare reports about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostnameState {
    /// `status`: `pending`, `active`, `moved`, `blocked`, `deleted`, …
    pub status: String,
    /// `ssl.status`: `initializing`, `pending_validation`, `pending_issuance`,
    /// `pending_deployment`, `active`, `validation_timed_out`, …
    pub ssl_status: String,
    /// `ssl.validation_errors[].message`.
    pub validation_errors: Vec<String>,
    /// `verification_errors[]`.
    pub verification_errors: Vec<String>,
}

impl HostnameState {
    pub fn new(status: &str, ssl_status: &str) -> HostnameState {
        HostnameState {
            status: status.into(),
            ssl_status: ssl_status.into(),
            validation_errors: Vec::new(),
            verification_errors: Vec::new(),
        }
    }

    pub fn with_validation_error(mut self, message: &str) -> HostnameState {
        self.validation_errors.push(message.into());
        self
    }

    pub fn with_verification_error(mut self, message: &str) -> HostnameState {
        self.verification_errors.push(message.into());
        self
    }

    /// Just created.
    pub fn initializing() -> HostnameState {
        HostnameState::new("pending", "initializing")
    }
    /// The authority is checking the name.
    pub fn pending_validation() -> HostnameState {
        HostnameState::new("pending", "pending_validation")
    }
    /// The name does not point at the zone (yet).
    pub fn not_cnamed() -> HostnameState {
        HostnameState::pending_validation().with_verification_error(NOT_CNAMED)
    }
    /// A CAA record excludes the authorities.
    pub fn caa_blocked() -> HostnameState {
        HostnameState::pending_validation().with_validation_error(
            "caa_error: CAA record(s) prevent the certificate authority from issuing",
        )
    }
    pub fn pending_issuance() -> HostnameState {
        HostnameState::new("pending", "pending_issuance")
    }
    pub fn pending_deployment() -> HostnameState {
        HostnameState::new("active", "pending_deployment")
    }
    pub fn active() -> HostnameState {
        HostnameState::new("active", "active")
    }
    pub fn validation_timed_out() -> HostnameState {
        HostnameState::new("pending", "validation_timed_out").with_verification_error(NOT_CNAMED)
    }
    pub fn moved() -> HostnameState {
        HostnameState::new("moved", "pending_validation").with_verification_error(NOT_CNAMED)
    }
    pub fn blocked() -> HostnameState {
        HostnameState::new("blocked", "pending_validation")
    }
}

/// A stored custom hostname, as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHostname {
    pub id: String,
    pub hostname: String,
    pub state: HostnameState,
    /// `ssl.method` as created (or last changed).
    pub method: String,
    /// The `ssl` object as sent at creation.
    pub ssl: Value,
    /// How many PATCHes asked for validation again.
    pub refreshes: u32,
    /// `custom_metadata` as last set (an object of strings).
    pub custom_metadata: Option<Value>,
    /// When it was created (ms since the Unix epoch): `created_at`, and
    /// where the validation schedule starts.
    pub created_ms: i64,
}

impl StoredHostname {
    /// `ownership_verification.name`.
    pub fn ownership_name(&self) -> String {
        format!("_cf-custom-hostname.{}", self.hostname)
    }

    /// `ownership_verification.value`.
    pub fn ownership_value(&self) -> String {
        format!("own-{}", self.id)
    }

    /// `ssl.validation_records[].txt_name` (TXT validation).
    pub fn dcv_name(&self) -> String {
        format!("_acme-challenge.{}", self.hostname)
    }

    /// `ssl.validation_records[].txt_value`, a token of its own.
    pub fn dcv_value(&self) -> String {
        format!("dcv-{}", self.id)
    }
}

/// One request that arrived (faulted or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    /// Path and query, e.g. `/client/v4/zones/…/custom_hostnames?hostname=a.example`.
    pub uri: String,
    /// When it arrived.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct Inner {
    hostnames: BTreeMap<String, StoredHostname>,
    scripts: HashMap<String, VecDeque<HostnameState>>,
    faults: VecDeque<Fault>,
    stalls: VecDeque<Duration>,
    hidden: Vec<String>,
    requests: Vec<Recorded>,
    next_id: u64,
    new_state: Option<HostnameState>,
    /// TXT records the customer created: name → values.
    txt: HashMap<String, Vec<String>>,
    /// [`SaasContractServer::validate_on_schedule`].
    schedule: Option<ValidationSchedule>,
}

/// Cloudflare validating HTTP-validated hostnames by itself, on its
/// backoff schedule ("Backoff schedule", Cloudflare for SaaS: attempt `n`
/// comes `min(floor(60 · 1.05ⁿ), 4 h)` s after the one before for the first
/// 10, `min(floor(60 · 1.15ⁿ), 4 h)` s for the remaining 65), each second
/// lasting `unit`.
#[derive(Clone)]
struct ValidationSchedule {
    unit: Duration,
    /// The attempt (0-based) at which a hostname's validation succeeds.
    succeeds_at: Arc<dyn Fn(&str) -> u32 + Send + Sync>,
}

/// When Cloudflare's attempt `n` comes, in seconds after creation.
pub fn cloudflare_attempt_s(n: u32) -> u64 {
    (0..n)
        .map(|k| {
            let base: f64 = if k < 10 { 1.05 } else { 1.15 };
            ((60.0 * base.powi(k as i32)).floor() as u64).min(4 * 3600)
        })
        .sum()
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

impl Inner {
    fn by_name(&mut self, hostname: &str) -> Option<&mut StoredHostname> {
        self.hostnames.values_mut().find(|h| h.hostname == hostname)
    }

    fn insert(
        &mut self,
        hostname: &str,
        state: HostnameState,
        ssl: Value,
        custom_metadata: Option<Value>,
    ) -> String {
        self.next_id += 1;
        let id = format!("{:08x}-0000-4000-8000-{:012x}", self.next_id, self.next_id);
        let method = ssl["method"].as_str().unwrap_or("http").to_string();
        self.hostnames.insert(
            id.clone(),
            StoredHostname {
                id: id.clone(),
                hostname: hostname.into(),
                state,
                method,
                ssl,
                refreshes: 0,
                custom_metadata,
                created_ms: now_ms(),
            },
        );
        id
    }

    /// A read of a hostname plays the next scripted state, then answers.
    fn read(&mut self, id: &str) -> Option<Value> {
        let hostname = self.hostnames.get(id)?.hostname.clone();
        if let Some(next) = self
            .scripts
            .get_mut(&hostname)
            .and_then(VecDeque::pop_front)
        {
            self.hostnames.get_mut(id)?.state = next;
        }
        let stored = self.hostnames.get(id)?;
        if let Some(schedule) = &self.schedule {
            let attempt = (schedule.succeeds_at)(&stored.hostname);
            let at = stored.created_ms
                + (schedule.unit.as_secs_f64() * 1_000.0 * cloudflare_attempt_s(attempt) as f64)
                    as i64;
            let waiting = stored.method == "http"
                && stored.state.status != "blocked"
                && !(stored.state.status == "active" && stored.state.ssl_status == "active");
            if waiting && now_ms() >= at {
                let state = &mut self.hostnames.get_mut(id)?.state;
                *state = HostnameState::active();
            }
        }
        let stored = self.hostnames.get(id)?;
        if stored.method == "txt" {
            let seen = |name: String, value: String| {
                self.txt
                    .get(&name)
                    .is_some_and(|values| values.contains(&value))
            };
            let owned = stored.state.status == "pending"
                && seen(stored.ownership_name(), stored.ownership_value());
            let validated = stored.state.ssl_status == "pending_validation"
                && seen(stored.dcv_name(), stored.dcv_value());
            let state = &mut self.hostnames.get_mut(id)?.state;
            if owned {
                state.status = "active".into();
                state.verification_errors.retain(|e| e != NOT_CNAMED);
            }
            if validated {
                state.ssl_status = "active".into();
                state.validation_errors.clear();
            }
        }
        self.hostnames.get(id).map(render)
    }
}

#[derive(Clone)]
struct Shared {
    config: Arc<SaasContractConfig>,
    inner: Arc<Mutex<Inner>>,
}

/// The running server; stopped when dropped.
pub struct SaasContractServer {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl Drop for SaasContractServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SaasContractServer {
    pub async fn start(config: SaasContractConfig) -> Result<SaasContractServer> {
        let shared = Shared {
            config: Arc::new(config),
            inner: Arc::default(),
        };
        let app = Router::new()
            .route(
                "/client/v4/zones/{zone}/custom_hostnames",
                get(list).post(create),
            )
            .route(
                "/client/v4/zones/{zone}/custom_hostnames/{id}",
                get(get_one).patch(edit).delete(delete),
            )
            .fallback(|| async { error(StatusCode::NOT_FOUND, 7000, "No route for that URI") })
            .method_not_allowed_fallback(|| async {
                error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    10405,
                    "Method not allowed for this route",
                )
            })
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(SaasContractServer { addr, shared, task })
    }

    /// The API base, as `cloudflare_api_url`: `http://127.0.0.1:<port>/client/v4`.
    pub fn api_url(&self) -> String {
        format!("http://{}/client/v4", self.addr)
    }

    pub fn config(&self) -> &SaasContractConfig {
        &self.shared.config
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap()
    }

    /// Every stored custom hostname.
    pub fn hostnames(&self) -> Vec<StoredHostname> {
        self.inner().hostnames.values().cloned().collect()
    }

    /// Validates HTTP-validated hostnames as Cloudflare would once their
    /// CNAME is in place: at Cloudflare's attempt `succeeds_at(hostname)`
    /// of its backoff schedule, each of its seconds lasting `unit` (a
    /// benchmark compresses time); the state changes when next read.
    pub fn validate_on_schedule(
        &self,
        unit: Duration,
        succeeds_at: impl Fn(&str) -> u32 + Send + Sync + 'static,
    ) {
        self.inner().schedule = Some(ValidationSchedule {
            unit,
            succeeds_at: Arc::new(succeeds_at),
        });
    }

    /// How many requests arrived (faulted or not).
    pub fn request_count(&self) -> usize {
        self.inner().requests.len()
    }

    /// The custom hostname named `hostname`.
    pub fn get(&self, hostname: &str) -> Option<StoredHostname> {
        self.inner().by_name(hostname).cloned()
    }

    /// Stores a custom hostname directly, without `custom_metadata` (one
    /// created by hand, or before clients recorded owners); returns its id.
    pub fn insert(&self, hostname: &str, state: HostnameState) -> String {
        let ssl = json!({ "method": "http", "type": "dv" });
        self.inner().insert(hostname, state, ssl, None)
    }

    /// Stores a custom hostname with `custom_metadata` and `ssl.method`
    /// (one created before a crash, or by another replica); returns its id.
    pub fn insert_with(
        &self,
        hostname: &str,
        state: HostnameState,
        method: &str,
        custom_metadata: Value,
    ) -> String {
        let ssl = json!({ "method": method, "type": "dv" });
        self.inner()
            .insert(hostname, state, ssl, Some(custom_metadata))
    }

    /// The custom hostname with this id.
    pub fn by_id(&self, id: &str) -> Option<StoredHostname> {
        self.inner().hostnames.get(id).cloned()
    }

    /// The customer creates a TXT record `name` = `value`: Cloudflare sees
    /// it at the hostname's next read.
    pub fn add_txt(&self, name: &str, value: &str) {
        self.inner()
            .txt
            .entry(name.into())
            .or_default()
            .push(value.into());
    }

    /// Puts `hostname` in `state` now; false when there is no such hostname.
    pub fn set_state(&self, hostname: &str, state: HostnameState) -> bool {
        match self.inner().by_name(hostname) {
            Some(stored) => {
                stored.state = state;
                true
            }
            None => false,
        }
    }

    /// Queues states for `hostname`: each later read (list or get) of it
    /// first moves it to the next one.
    pub fn script(&self, hostname: &str, states: impl IntoIterator<Item = HostnameState>) {
        self.inner()
            .scripts
            .entry(hostname.into())
            .or_default()
            .extend(states);
    }

    /// The state new hostnames start in (default: [`HostnameState::initializing`]).
    pub fn create_in(&self, state: HostnameState) {
        self.inner().new_state = Some(state);
    }

    /// The next list leaves `hostname` out, as if another replica created it
    /// between this client's lookup and its create.
    pub fn hide_from_next_list(&self, hostname: &str) {
        self.inner().hidden.push(hostname.into());
    }

    /// Answers the next request with `fault` (queued after earlier ones).
    pub fn inject(&self, fault: Fault) {
        self.inner().faults.push_back(fault);
    }

    /// Holds the next request this long before handling it (a slow or
    /// hanging API); queued after earlier stalls.
    pub fn stall(&self, duration: Duration) {
        self.inner().stalls.push_back(duration);
    }

    /// Drops the faults still queued (the outage is over).
    pub fn clear_faults(&self) {
        self.inner().faults.clear();
    }

    /// Every request that arrived, in order, faulted ones included.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner().requests.clone()
    }

    /// How many requests of `method` arrived.
    pub fn count(&self, method: &str) -> usize {
        self.inner()
            .requests
            .iter()
            .filter(|r| r.method == method)
            .count()
    }
}

/// RFC 3339, as Cloudflare writes `created_at`.
fn created_at(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".into())
}

/// The hostname as the API renders it.
fn render(stored: &StoredHostname) -> Value {
    let host = &stored.hostname;
    let id = &stored.id;
    let mut ssl = json!({
        "id": format!("ssl-{id}"),
        "type": "dv",
        "method": stored.method,
        "status": stored.state.ssl_status,
        "bundle_method": "ubiquitous",
        "wildcard": false,
        "settings": stored.ssl.get("settings").cloned().unwrap_or_else(|| json!({})),
    });
    if !stored.state.validation_errors.is_empty() {
        ssl["validation_errors"] = stored
            .state
            .validation_errors
            .iter()
            .map(|message| json!({ "message": message }))
            .collect();
    }
    if stored.state.ssl_status == "pending_validation" && stored.method == "http" {
        ssl["validation_records"] = json!([{
            "http_url": format!("http://{host}/.well-known/pki-validation/{id}.txt"),
            "http_body": format!("ca3-{id}"),
        }]);
    }
    if stored.state.ssl_status == "pending_validation" && stored.method == "txt" {
        ssl["validation_records"] = json!([{
            "status": "pending",
            "txt_name": stored.dcv_name(),
            "txt_value": stored.dcv_value(),
        }]);
    }
    let mut answer = json!({
        "id": id,
        "hostname": host,
        "created_at": created_at(stored.created_ms),
        "status": stored.state.status,
        "ssl": ssl,
        "ownership_verification": {
            "type": "txt",
            "name": stored.ownership_name(),
            "value": stored.ownership_value(),
        },
        "ownership_verification_http": {
            "http_url": format!("http://{host}/.well-known/cf-custom-hostname-challenge/{id}"),
            "http_body": id,
        },
    });
    if !stored.state.verification_errors.is_empty() {
        answer["verification_errors"] = json!(stored.state.verification_errors);
    }
    if let Some(metadata) = &stored.custom_metadata {
        answer["custom_metadata"] = metadata.clone();
    }
    answer
}
