//! A contract test server for the Workers KV REST API's bulk endpoints.
//!
//! This is a TEST DOUBLE of a remote service (Cloudflare's API), not
//! Cloudflare: it runs on 127.0.0.1:0 inside the test process, keeps what it
//! is sent in memory, and enforces the documented request shapes so that a
//! client that passes here sends what Cloudflare accepts. Rules enforced, as
//! the API documentation states them:
//!
//! - `PUT /client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk`
//!   writes a JSON array of `{ "key", "value", "base64"?, "expiration"?,
//!   "expiration_ttl"?, "metadata"? }`; `base64: true` means `value` is
//!   base64 of the bytes to store.
//! - `POST …/bulk/delete` deletes a JSON array of key names.
//! - `Authorization: Bearer <API token>` is required (else 401, code 10000);
//!   an unknown account or namespace answers 404.
//! - The body is JSON (`Content-Type: application/json`, else 400).
//! - At most 10,000 pairs (or keys) per request, and at most 100 MB of body
//!   (413); keys are 1 to 512 bytes and never `.` or `..`; values at most
//!   25 MiB; `expiration_ttl` at least 60 seconds.
//! - `metadata` is a JSON value of at most 1024 bytes serialized, stored with
//!   the key and returned by listings.
//! - Answers use Cloudflare's envelope `{ success, errors, messages, result }`
//!   with `result: { successful_key_count, unsuccessful_keys }`.
//! - `GET …/keys?limit=&cursor=&prefix=` lists keys in lexicographic (byte)
//!   order: `limit` 10 to 1000 (default 1000; anything else, or a non-number,
//!   is refused with 400), `prefix` filters, `cursor` is opaque (only a value
//!   this server handed out is accepted, else 400). The answer is `result:
//!   [{ name, metadata? }]` and `result_info: { count, cursor }`, `cursor`
//!   empty on the last page.
//!
//! The local edge's dev-only copy of these endpoints
//! (`/__portico/kv/<BINDING>/bulk`, `…/bulk/delete`, its own token) is
//! served too, mapped onto the same namespaces, so the control plane's
//! `local` KV backend is tested against the same rules. It has no listing:
//! neither has the local edge.
//!
//! Faults can be injected: the next requests answer 429 (with
//! `Retry-After`) or 5xx, before touching any state. Requests can be held
//! (a slow API): from `hold()` until `release()`, each request that arrives
//! waits before it is looked at, then is handled as usual.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::Result;

/// At most this many pairs or keys in one request.
pub const MAX_PAIRS: usize = 10_000;
/// At most this many bytes of request body.
pub const MAX_BODY_BYTES: usize = 100_000_000;
/// Keys are at most 512 bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// Values are at most 25 MiB.
pub const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;
/// Metadata is at most 1024 bytes serialized.
pub const MAX_METADATA_BYTES: usize = 1024;
/// A listing page holds 10 to 1000 keys; 1000 when `limit` is absent.
pub const LIST_LIMIT_MIN: usize = 10;
pub const LIST_LIMIT_MAX: usize = 1000;
/// Listing cursors start with this (then base64 of the last key listed).
const CURSOR_TAG: &str = "portico-kv-double:";

/// Who may call and which namespaces exist.
#[derive(Debug, Clone)]
pub struct KvContractConfig {
    pub account_id: String,
    pub api_token: String,
    /// Namespace ids that exist in the account.
    pub namespaces: Vec<String>,
    /// The local edge's token, for `/__portico/kv/<BINDING>/…`.
    pub local_token: String,
    /// Binding name → namespace id, for the local edge's endpoints.
    pub local_bindings: Vec<(String, String)>,
}

impl Default for KvContractConfig {
    fn default() -> KvContractConfig {
        KvContractConfig {
            account_id: "0123456789abcdef0123456789abcdef".into(),
            api_token: "test-cloudflare-api-token".into(),
            namespaces: vec!["routes-namespace-id".into(), "content-namespace-id".into()],
            local_token: "test-local-kv-token".into(),
            local_bindings: vec![
                ("ROUTES".into(), "routes-namespace-id".into()),
                ("CONTENT".into(), "content-namespace-id".into()),
            ],
        }
    }
}

/// A fault to answer with, once, instead of handling a request.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    /// Seconds, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

/// One request that was accepted (after faults and validation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub namespace: String,
    /// `put` or `delete`.
    pub op: &'static str,
    pub keys: Vec<String>,
    /// When the server accepted it.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct Inner {
    data: HashMap<String, BTreeMap<String, Vec<u8>>>,
    /// Namespace → key → metadata, for keys written with some.
    metadata: HashMap<String, HashMap<String, Value>>,
    faults: VecDeque<Fault>,
    accepted: Vec<Recorded>,
    /// Every request that arrived, faulted or not.
    attempts: usize,
}

#[derive(Clone)]
struct Shared {
    config: Arc<KvContractConfig>,
    inner: Arc<Mutex<Inner>>,
    /// True while arriving requests are held.
    gate: Arc<tokio::sync::watch::Sender<bool>>,
    /// How many requests are held now.
    held: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Shared {
    async fn pass_gate(&self) {
        let mut gate = self.gate.subscribe();
        if !*gate.borrow_and_update() {
            return;
        }
        self.held.send_modify(|n| *n += 1);
        // The count goes down even when the client gives up (the handler is dropped).
        struct Leaving<'a>(&'a tokio::sync::watch::Sender<usize>);
        impl Drop for Leaving<'_> {
            fn drop(&mut self) {
                self.0.send_modify(|n| *n -= 1);
            }
        }
        let _leaving = Leaving(&self.held);
        let _ = gate.wait_for(|held| !*held).await;
    }
}

/// The running server; stopped when dropped.
pub struct KvContractServer {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl Drop for KvContractServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl KvContractServer {
    pub async fn start(config: KvContractConfig) -> Result<KvContractServer> {
        let shared = Shared {
            config: Arc::new(config),
            inner: Arc::default(),
            gate: Arc::new(tokio::sync::watch::channel(false).0),
            held: Arc::new(tokio::sync::watch::channel(0).0),
        };
        let app = Router::new()
            .route(
                "/client/v4/accounts/{account}/storage/kv/namespaces/{namespace}/bulk",
                put(cloudflare_bulk),
            )
            .route(
                "/client/v4/accounts/{account}/storage/kv/namespaces/{namespace}/bulk/delete",
                post(cloudflare_bulk),
            )
            .route(
                "/client/v4/accounts/{account}/storage/kv/namespaces/{namespace}/keys",
                get(cloudflare_list),
            )
            .route("/__portico/kv/{binding}/bulk", put(local_bulk))
            .route("/__portico/kv/{binding}/bulk/delete", post(local_bulk))
            .fallback(|| async {
                envelope_error(StatusCode::NOT_FOUND, 7000, "No route for that URI")
            })
            // Checked by hand below, to answer 413 in the envelope.
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1024 * 1024))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(KvContractServer { addr, shared, task })
    }

    /// The API base, as `cloudflare_api_url`: `http://127.0.0.1:<port>/client/v4`.
    pub fn api_url(&self) -> String {
        format!("http://{}/client/v4", self.addr)
    }

    /// The local edge's base, as `local_kv_url`: `http://127.0.0.1:<port>`.
    pub fn edge_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> &KvContractConfig {
        &self.shared.config
    }

    /// The value of `key` in namespace `namespace_id`, as text.
    pub fn get(&self, namespace_id: &str, key: &str) -> Option<String> {
        let inner = self.shared.inner.lock().unwrap();
        inner
            .data
            .get(namespace_id)
            .and_then(|ns| ns.get(key))
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    }

    /// Every key and value of a namespace, as text.
    pub fn entries(&self, namespace_id: &str) -> BTreeMap<String, String> {
        let inner = self.shared.inner.lock().unwrap();
        inner
            .data
            .get(namespace_id)
            .map(|ns| {
                ns.iter()
                    .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The metadata stored with `key`, if any.
    pub fn metadata(&self, namespace_id: &str, key: &str) -> Option<Value> {
        let inner = self.shared.inner.lock().unwrap();
        inner
            .metadata
            .get(namespace_id)
            .and_then(|ns| ns.get(key))
            .cloned()
    }

    /// Writes `key` directly, as another writer (or an old bug) would.
    pub fn insert(&self, namespace_id: &str, key: &str, value: &str) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner
            .data
            .entry(namespace_id.to_string())
            .or_default()
            .insert(key.to_string(), value.as_bytes().to_vec());
        if let Some(ns) = inner.metadata.get_mut(namespace_id) {
            ns.remove(key);
        }
    }

    /// Empties a namespace, as if it were wiped.
    pub fn wipe(&self, namespace_id: &str) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.data.remove(namespace_id);
        inner.metadata.remove(namespace_id);
    }

    /// Answers the next request with `fault` (queued after earlier ones).
    pub fn inject(&self, fault: Fault) {
        self.shared.inner.lock().unwrap().faults.push_back(fault);
    }

    /// The requests accepted so far, in order.
    pub fn accepted(&self) -> Vec<Recorded> {
        self.shared.inner.lock().unwrap().accepted.clone()
    }

    /// How many requests were accepted and how many keys they carried, without
    /// copying them (a benchmark samples this while hundreds of thousands arrive).
    pub fn accepted_counts(&self) -> (usize, usize) {
        let inner = self.shared.inner.lock().unwrap();
        let keys = inner.accepted.iter().map(|r| r.keys.len()).sum();
        (inner.accepted.len(), keys)
    }

    /// Holds every request that arrives from now on until [`release`](Self::release).
    pub fn hold(&self) {
        self.shared.gate.send_replace(true);
    }

    /// Lets the held requests (and later ones) through.
    pub fn release(&self) {
        self.shared.gate.send_replace(false);
    }

    /// Waits until at least `count` requests are held.
    pub async fn wait_until_held(&self, count: usize) {
        let mut held = self.shared.held.subscribe();
        let _ = held.wait_for(|n| *n >= count).await;
    }

    /// How many requests arrived, faulted ones included.
    pub fn attempts(&self) -> usize {
        self.shared.inner.lock().unwrap().attempts
    }
}

fn envelope_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "success": false,
        "errors": [{ "code": code, "message": message }],
        "messages": [],
        "result": null,
    });
    (status, axum::Json(body)).into_response()
}

async fn cloudflare_bulk(
    State(shared): State<Shared>,
    Path((account, namespace)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.pass_gate().await;
    let token = shared.config.api_token.clone();
    if account != shared.config.account_id {
        return handle(&shared, &headers, &token, None, method, body);
    }
    let known = shared.config.namespaces.contains(&namespace);
    handle(
        &shared,
        &headers,
        &token,
        known.then_some(namespace),
        method,
        body,
    )
}

async fn local_bulk(
    State(shared): State<Shared>,
    Path(binding): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.pass_gate().await;
    let token = shared.config.local_token.clone();
    let namespace = shared
        .config
        .local_bindings
        .iter()
        .find(|(b, _)| *b == binding)
        .map(|(_, id)| id.clone());
    handle(&shared, &headers, &token, namespace, method, body)
}

async fn cloudflare_list(
    State(shared): State<Shared>,
    Path((account, namespace)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    shared.pass_gate().await;
    let fault = {
        let mut inner = shared.inner.lock().unwrap();
        inner.attempts += 1;
        inner.faults.pop_front()
    };
    if let Some(fault) = fault {
        return fault_response(&fault);
    }
    if !authorized(&headers, &shared.config.api_token) {
        return envelope_error(StatusCode::UNAUTHORIZED, 10_000, "Authentication error");
    }
    if account != shared.config.account_id || !shared.config.namespaces.contains(&namespace) {
        return envelope_error(StatusCode::NOT_FOUND, 10_013, "namespace not found");
    }
    let mut limit = LIST_LIMIT_MAX;
    let mut cursor = None;
    let mut prefix = String::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*name {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (LIST_LIMIT_MIN..=LIST_LIMIT_MAX).contains(&n) => limit = n,
                _ => {
                    return envelope_error(
                        StatusCode::BAD_REQUEST,
                        10_026,
                        "limit must be a number from 10 to 1000",
                    )
                }
            },
            "cursor" if !value.is_empty() => {
                let after = value
                    .strip_prefix(CURSOR_TAG)
                    .and_then(|b| {
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(b)
                            .ok()
                    })
                    .and_then(|bytes| String::from_utf8(bytes).ok());
                let Some(after) = after else {
                    return envelope_error(StatusCode::BAD_REQUEST, 10_026, "invalid cursor");
                };
                cursor = Some(after);
            }
            "prefix" => prefix = value.into_owned(),
            _ => {}
        }
    }
    let inner = shared.inner.lock().unwrap();
    let empty = BTreeMap::new();
    let keys = inner.data.get(&namespace).unwrap_or(&empty);
    let start = match &cursor {
        Some(after) => std::ops::Bound::Excluded(after.clone()),
        None => std::ops::Bound::Unbounded,
    };
    let mut page: Vec<&String> = keys
        .range((start, std::ops::Bound::Unbounded))
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(&prefix))
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = match (more, page.last()) {
        (true, Some(last)) => format!(
            "{CURSOR_TAG}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes())
        ),
        _ => String::new(),
    };
    let metadata = inner.metadata.get(&namespace);
    let result: Vec<Value> = page
        .iter()
        .map(|name| match metadata.and_then(|m| m.get(*name)) {
            Some(meta) => json!({ "name": name, "metadata": meta }),
            None => json!({ "name": name }),
        })
        .collect();
    let body = json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": result,
        "result_info": { "count": page.len(), "cursor": next },
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn fault_response(fault: &Fault) -> Response {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = envelope_error(status, 10_013, "injected fault");
    if let Some(seconds) = fault.retry_after {
        response
            .headers_mut()
            .insert("retry-after", seconds.to_string().parse().unwrap());
    }
    response
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| given == token)
}

fn handle(
    shared: &Shared,
    headers: &HeaderMap,
    token: &str,
    namespace: Option<String>,
    method: Method,
    body: Bytes,
) -> Response {
    let fault = {
        let mut inner = shared.inner.lock().unwrap();
        inner.attempts += 1;
        inner.faults.pop_front()
    };
    if let Some(fault) = fault {
        return fault_response(&fault);
    }
    if !authorized(headers, token) {
        return envelope_error(StatusCode::UNAUTHORIZED, 10_000, "Authentication error");
    }
    let Some(namespace) = namespace else {
        return envelope_error(StatusCode::NOT_FOUND, 10_013, "namespace not found");
    };
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return envelope_error(
            StatusCode::BAD_REQUEST,
            10_026,
            "the body must be application/json",
        );
    }
    if body.len() > MAX_BODY_BYTES {
        return envelope_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            10_046,
            "request body exceeds 100 MB",
        );
    }
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return envelope_error(
            StatusCode::BAD_REQUEST,
            10_026,
            "the body must be a JSON array",
        );
    };
    if items.len() > MAX_PAIRS {
        return envelope_error(
            StatusCode::BAD_REQUEST,
            10_026,
            "at most 10,000 items per request",
        );
    }
    let result = if method == Method::PUT {
        bulk_put(shared, &namespace, &items)
    } else {
        bulk_delete(shared, &namespace, &items)
    };
    match result {
        Ok(count) => {
            let body = json!({
                "success": true,
                "errors": [],
                "messages": [],
                "result": { "successful_key_count": count, "unsuccessful_keys": [] },
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(message) => envelope_error(StatusCode::BAD_REQUEST, 10_026, &message),
    }
}

fn check_key(key: &str) -> std::result::Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "key of {} bytes: keys are 1 to 512 bytes",
            key.len()
        ));
    }
    if key == "." || key == ".." {
        return Err("`.` and `..` are not valid keys".into());
    }
    Ok(())
}

fn bulk_put(
    shared: &Shared,
    namespace: &str,
    items: &[Value],
) -> std::result::Result<usize, String> {
    let mut pairs = Vec::with_capacity(items.len());
    for item in items {
        let object = item
            .as_object()
            .ok_or("each item is an object with key and value")?;
        let key = object
            .get("key")
            .and_then(Value::as_str)
            .ok_or("each item has a string key")?;
        check_key(key)?;
        let value = object
            .get("value")
            .and_then(Value::as_str)
            .ok_or("each item has a string value")?;
        let is_base64 = match object.get("base64") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err("base64 is a boolean".into()),
        };
        let bytes = if is_base64 {
            base64::engine::general_purpose::STANDARD
                .decode(value)
                .map_err(|_| format!("`{key}`: value is not valid base64"))?
        } else {
            value.as_bytes().to_vec()
        };
        if bytes.len() > MAX_VALUE_BYTES {
            return Err(format!("`{key}`: values are at most 25 MiB"));
        }
        if let Some(ttl) = object.get("expiration_ttl") {
            if ttl.as_u64().is_none_or(|ttl| ttl < 60) {
                return Err(format!("`{key}`: expiration_ttl is at least 60 seconds"));
            }
        }
        let metadata = match object.get("metadata") {
            None | Some(Value::Null) => None,
            Some(meta) => {
                if meta.to_string().len() > MAX_METADATA_BYTES {
                    return Err(format!("`{key}`: metadata is at most 1024 bytes"));
                }
                Some(meta.clone())
            }
        };
        pairs.push((key.to_string(), bytes, metadata));
    }
    let mut inner = shared.inner.lock().unwrap();
    let count = pairs.len();
    let keys = pairs.iter().map(|(k, _, _)| k.clone()).collect();
    for (key, bytes, metadata) in pairs {
        let stored = inner.metadata.entry(namespace.to_string()).or_default();
        match metadata {
            Some(meta) => stored.insert(key.clone(), meta),
            None => stored.remove(&key),
        };
        inner
            .data
            .entry(namespace.to_string())
            .or_default()
            .insert(key, bytes);
    }
    inner.accepted.push(Recorded {
        at: std::time::Instant::now(),
        namespace: namespace.to_string(),
        op: "put",
        keys,
    });
    Ok(count)
}

fn bulk_delete(
    shared: &Shared,
    namespace: &str,
    items: &[Value],
) -> std::result::Result<usize, String> {
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        let key = item.as_str().ok_or("the body is an array of key names")?;
        check_key(key)?;
        keys.push(key.to_string());
    }
    let mut inner = shared.inner.lock().unwrap();
    let ns = inner.data.entry(namespace.to_string()).or_default();
    for key in &keys {
        ns.remove(key);
    }
    if let Some(stored) = inner.metadata.get_mut(namespace) {
        for key in &keys {
            stored.remove(key);
        }
    }
    let count = keys.len();
    inner.accepted.push(Recorded {
        at: std::time::Instant::now(),
        namespace: namespace.to_string(),
        op: "delete",
        keys,
    });
    Ok(count)
}
