//! The API the double serves: each request is recorded, may be stalled or
//! faulted, is checked (token, zone, documented shapes), then handled.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::{
    render, HostnameState, Recorded, Shared, DUPLICATE_CODE, MAX_METADATA_BYTES, MAX_PER_PAGE,
    METADATA_CODE, MIN_PER_PAGE, NO_METADATA_ACCESS_CODE,
};

pub(super) fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "success": false,
        "errors": [{ "code": code, "message": message }],
        "messages": [],
        "result": null,
    });
    (status, axum::Json(body)).into_response()
}

fn ok(result: Value) -> Response {
    answer(StatusCode::OK, result)
}

/// A success with the status "Status codes – Custom hostnames" gives it.
fn answer(status: StatusCode, result: Value) -> Response {
    let body = json!({ "success": true, "errors": [], "messages": [], "result": result });
    (status, axum::Json(body)).into_response()
}

fn bad(message: impl AsRef<str>) -> Response {
    error(StatusCode::BAD_REQUEST, 1400, message.as_ref())
}

/// Records the request, plays a queued stall and fault, checks the token
/// and the zone.
async fn gate(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    zone: &str,
) -> Option<Response> {
    let stall = {
        let mut inner = shared.inner.lock().unwrap();
        inner.requests.push(Recorded {
            method: method.to_string(),
            uri: uri.to_string(),
            at: std::time::Instant::now(),
        });
        inner.stalls.pop_front()
    };
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    let fault = shared.inner.lock().unwrap().faults.pop_front();
    if let Some(fault) = fault {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = error(status, 10_013, "injected fault");
        if let Some(seconds) = fault.retry_after {
            response
                .headers_mut()
                .insert("retry-after", seconds.to_string().parse().unwrap());
        }
        return Some(response);
    }
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| given == shared.config.api_token);
    if !authorized {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            10_000,
            "Authentication error",
        ));
    }
    if zone != shared.config.zone_id {
        return Some(error(
            StatusCode::NOT_FOUND,
            7003,
            "Could not route to /zones: perhaps your object identifier is invalid?",
        ));
    }
    None
}

/// The body as a JSON object whose keys are all in `allowed`.
fn json_object(
    headers: &HeaderMap,
    body: &[u8],
    allowed: &[&str],
) -> std::result::Result<Map<String, Value>, String> {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err("the body must be application/json".into());
    }
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Err("the body must be a JSON object".into());
    };
    if let Some(unknown) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unknown field `{unknown}`"));
    }
    Ok(object)
}

fn one_of(value: &Value, field: &str, allowed: &[&str]) -> std::result::Result<(), String> {
    match value.as_str() {
        Some(text) if allowed.contains(&text) => Ok(()),
        _ => Err(format!("{field} must be one of {allowed:?}")),
    }
}

/// The documented `ssl` object.
fn check_ssl(ssl: &Value) -> std::result::Result<(), String> {
    let Some(ssl) = ssl.as_object() else {
        return Err("ssl must be an object".into());
    };
    for (key, value) in ssl {
        match key.as_str() {
            "method" => one_of(value, "ssl.method", &["http", "txt", "email"])?,
            "type" => one_of(value, "ssl.type", &["dv"])?,
            "bundle_method" => one_of(
                value,
                "ssl.bundle_method",
                &["ubiquitous", "optimal", "force"],
            )?,
            "certificate_authority" => one_of(
                value,
                "ssl.certificate_authority",
                &["digicert", "google", "lets_encrypt", "ssl_com"],
            )?,
            "wildcard" | "cloudflare_branding" if value.is_boolean() => {}
            "custom_certificate" | "custom_key" if value.is_string() => {}
            "custom_cert_bundle" if value.is_array() => {}
            "settings" => check_settings(value)?,
            other => {
                return Err(format!(
                    "ssl.{other} is not a documented field (or has the wrong type)"
                ))
            }
        }
    }
    if !ssl.contains_key("method") || !ssl.contains_key("type") {
        return Err("ssl needs method and type".into());
    }
    Ok(())
}

fn check_settings(settings: &Value) -> std::result::Result<(), String> {
    let Some(settings) = settings.as_object() else {
        return Err("ssl.settings must be an object".into());
    };
    for (key, value) in settings {
        match key.as_str() {
            "min_tls_version" => one_of(
                value,
                "ssl.settings.min_tls_version",
                &["1.0", "1.1", "1.2", "1.3"],
            )?,
            "http2" | "tls_1_3" | "early_hints" => {
                one_of(value, &format!("ssl.settings.{key}"), &["on", "off"])?
            }
            "ciphers"
                if value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string)) => {}
            other => {
                return Err(format!(
                    "ssl.settings.{other} is not a documented setting (or has the wrong type)"
                ))
            }
        }
    }
    Ok(())
}

/// The refusal of `custom_metadata` other than the documented object of
/// strings of at most 4 KB, or of any in a zone without access.
fn metadata_refusal(shared: &Shared, metadata: &Value) -> Option<Response> {
    if !shared.config.custom_metadata {
        return Some(error(
            StatusCode::FORBIDDEN,
            NO_METADATA_ACCESS_CODE,
            "No custom metadata access has been allocated for this zone.",
        ));
    }
    let refuse = |why: &str| {
        error(
            StatusCode::BAD_REQUEST,
            METADATA_CODE,
            &format!(
                "Unable to encode the Custom Metadata as JSON. Check your input and try again. ({why})"
            ),
        )
    };
    let Some(object) = metadata.as_object() else {
        return Some(refuse("custom_metadata must be an object"));
    };
    if let Some((key, _)) = object.iter().find(|(_, value)| !value.is_string()) {
        return Some(refuse(&format!("custom_metadata.{key} must be a string")));
    }
    (metadata.to_string().len() > MAX_METADATA_BYTES)
        .then(|| refuse("custom_metadata exceeds 4 KB"))
}

/// A hostname Cloudflare would take: DNS labels, at most 255 characters.
fn check_hostname(hostname: &str) -> std::result::Result<(), String> {
    let labels: Vec<&str> = hostname.split('.').collect();
    let valid = hostname.len() <= 255
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if valid {
        Ok(())
    } else {
        Err(format!("`{hostname}` is not a valid hostname"))
    }
}

pub(super) async fn create(
    State(shared): State<Shared>,
    Path(zone): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = gate(&shared, &method, &uri, &headers, &zone).await {
        return refused;
    }
    let object = match json_object(
        &headers,
        &body,
        &[
            "hostname",
            "ssl",
            "custom_metadata",
            "custom_origin_server",
            "custom_origin_sni",
        ],
    ) {
        Ok(object) => object,
        Err(why) => return bad(why),
    };
    let Some(hostname) = object.get("hostname").and_then(Value::as_str) else {
        return bad("hostname is required");
    };
    if let Err(why) = check_hostname(hostname) {
        return bad(why);
    }
    let ssl = object
        .get("ssl")
        .cloned()
        .unwrap_or_else(|| json!({ "method": "http", "type": "dv" }));
    if let Err(why) = check_ssl(&ssl) {
        return bad(why);
    }
    let metadata = object.get("custom_metadata").cloned();
    if let Some(metadata) = &metadata {
        if let Some(refused) = metadata_refusal(&shared, metadata) {
            return refused;
        }
    }
    let mut inner = shared.inner.lock().unwrap();
    if inner
        .hostnames
        .values()
        .any(|h| h.hostname == hostname && h.state.status != "deleted")
    {
        return error(
            StatusCode::CONFLICT,
            DUPLICATE_CODE,
            "Duplicate custom hostname found.",
        );
    }
    let state = inner
        .new_state
        .clone()
        .unwrap_or_else(HostnameState::initializing);
    let id = inner.insert(hostname, state, ssl, metadata);
    answer(StatusCode::CREATED, render(&inner.hostnames[&id]))
}

pub(super) async fn list(
    State(shared): State<Shared>,
    Path(zone): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = gate(&shared, &method, &uri, &headers, &zone).await {
        return refused;
    }
    let mut params = HashMap::new();
    for (key, value) in query {
        match key.as_str() {
            "hostname"
            | "id"
            | "page"
            | "per_page"
            | "order"
            | "direction"
            | "ssl"
            | "certificate_authority"
            | "custom_origin_server" => {
                params.insert(key, value);
            }
            other => return bad(format!("unknown query parameter `{other}`")),
        }
    }
    if params.contains_key("hostname") && params.contains_key("id") {
        return bad("hostname and id cannot be used together");
    }
    let number = |name: &str, default: usize| match params.get(name) {
        None => Ok(default),
        Some(text) => text.parse::<usize>().ok().filter(|n| *n >= 1).ok_or(()),
    };
    let (Ok(page), Ok(per_page)) = (number("page", 1), number("per_page", 20)) else {
        return bad("page and per_page are positive numbers");
    };
    // "per_page: maximum 50, minimum 5, default 20"; "page: minimum 1".
    if !(MIN_PER_PAGE..=MAX_PER_PAGE).contains(&per_page) {
        return bad(format!("per_page is from {MIN_PER_PAGE} to {MAX_PER_PAGE}"));
    }
    let allowed = [
        ("order", &["ssl", "ssl_status"][..]),
        ("direction", &["asc", "desc"][..]),
        ("ssl", &["0", "1"][..]),
    ];
    for (name, values) in allowed {
        if let Some(value) = params.get(name) {
            if !values.contains(&value.as_str()) {
                return bad(format!("{name} is one of {}", values.join(", ")));
            }
        }
    }
    if params.get("hostname").is_some_and(|h| h.len() > 255) {
        return bad("hostname is at most 255 characters");
    }
    let mut inner = shared.inner.lock().unwrap();
    let hidden = std::mem::take(&mut inner.hidden);
    let ids: Vec<String> = inner
        .hostnames
        .values()
        .filter(|h| !hidden.contains(&h.hostname))
        .filter(|h| {
            params
                .get("hostname")
                .is_none_or(|q| h.hostname.contains(q.as_str()))
        })
        .filter(|h| params.get("id").is_none_or(|q| h.id == *q))
        .map(|h| h.id.clone())
        .collect();
    let total = ids.len();
    let on_page: Vec<Value> = ids
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .filter_map(|id| inner.read(id))
        .collect();
    let body = json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": on_page,
        "result_info": {
            "page": page,
            "per_page": per_page,
            "count": on_page.len(),
            "total_count": total,
            "total_pages": total.div_ceil(per_page),
        },
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        1436,
        "The custom hostname was not found.",
    )
}

pub(super) async fn get_one(
    State(shared): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = gate(&shared, &method, &uri, &headers, &zone).await {
        return refused;
    }
    match shared.inner.lock().unwrap().read(&id) {
        Some(hostname) => ok(hostname),
        None => not_found(),
    }
}

pub(super) async fn edit(
    State(shared): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = gate(&shared, &method, &uri, &headers, &zone).await {
        return refused;
    }
    let object = match json_object(
        &headers,
        &body,
        &[
            "ssl",
            "custom_metadata",
            "custom_origin_server",
            "custom_origin_sni",
        ],
    ) {
        Ok(object) => object,
        Err(why) => return bad(why),
    };
    if let Some(ssl) = object.get("ssl") {
        if let Err(why) = check_ssl(ssl) {
            return bad(why);
        }
    }
    if let Some(metadata) = object.get("custom_metadata") {
        if let Some(refused) = metadata_refusal(&shared, metadata) {
            return refused;
        }
    }
    let mut inner = shared.inner.lock().unwrap();
    let Some(stored) = inner.hostnames.get_mut(&id) else {
        return not_found();
    };
    if let Some(metadata) = object.get("custom_metadata") {
        stored.custom_metadata = Some(metadata.clone());
    }
    if let Some(ssl) = object.get("ssl") {
        let method = ssl["method"].as_str().unwrap_or_default().to_string();
        let state = &mut stored.state;
        if method != stored.method {
            stored.method = method;
            state.ssl_status = "pending_validation".into();
            state.validation_errors.clear();
        } else {
            // The same method and type: validate again.
            stored.refreshes += 1;
            if matches!(state.status.as_str(), "moved" | "deleted") {
                state.status = "pending".into();
            }
            if matches!(
                state.ssl_status.as_str(),
                "validation_timed_out"
                    | "initializing_timed_out"
                    | "issuance_timed_out"
                    | "deployment_timed_out"
                    | "expired"
                    | "deleted"
            ) {
                state.ssl_status = "pending_validation".into();
                state.validation_errors.clear();
            }
        }
    }
    answer(StatusCode::ACCEPTED, render(stored))
}

pub(super) async fn delete(
    State(shared): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = gate(&shared, &method, &uri, &headers, &zone).await {
        return refused;
    }
    match shared.inner.lock().unwrap().hostnames.remove(&id) {
        // Documented without the envelope.
        Some(_) => (StatusCode::OK, axum::Json(json!({ "id": id }))).into_response(),
        None => not_found(),
    }
}
