//! The admin HTTP server of the local DNS provider: the JSON API under
//! `/api` and the HTML page at `/` with its form posts (no JavaScript; each
//! form posts, then the page is shown again).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::page;
use super::records::{NewForward, NewRecord, ProviderError};
use super::ProviderHandle;

pub fn router(provider: ProviderHandle) -> Router {
    Router::new()
        .route("/", get(show_page))
        .route(
            "/api/records",
            get(list_records).post(create_record).delete(delete_records),
        )
        .route("/api/forwards", get(list_forwards))
        .route(
            "/api/forwards/{host}",
            put(put_forward).delete(delete_forward),
        )
        .route("/records", post(form_add_record))
        .route("/records/delete", post(form_delete_record))
        .route("/forwards", post(form_set_forward))
        .route("/forwards/delete", post(form_delete_forward))
        .fallback(|| async {
            error(&ProviderError {
                status: 404,
                code: "not_found",
                message: "no such endpoint: see GET / or /api/records".into(),
            })
        })
        .method_not_allowed_fallback(|| async {
            error(&ProviderError {
                status: 405,
                code: "method_not_allowed",
                message: "this endpoint does not take that method".into(),
            })
        })
        .with_state(provider)
}

fn error(err: &ProviderError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        Json(json!({ "error": { "code": err.code, "message": err.message } })),
    )
        .into_response()
}

/// Any JSON body (the content type is not insisted on): 400 when it is not
/// JSON, 422 when it is not the expected fields.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ProviderError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ProviderError {
        status: 400,
        code: "malformed_json",
        message: format!("the body is not JSON: {e}"),
    })?;
    serde_json::from_value(value).map_err(|e| ProviderError {
        status: 422,
        code: "invalid_body",
        message: format!("the body is not what this endpoint takes: {e}"),
    })
}

async fn list_records(State(provider): State<ProviderHandle>) -> Response {
    Json(json!({ "records": provider.records() })).into_response()
}

async fn create_record(State(provider): State<ProviderHandle>, bytes: Bytes) -> Response {
    match body::<NewRecord>(&bytes).and_then(|new| provider.add_record(&new)) {
        Ok(record) => (StatusCode::CREATED, Json(record)).into_response(),
        Err(err) => error(&err),
    }
}

async fn delete_records(
    State(provider): State<ProviderHandle>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (Some(name), Some(kind)) = (query.get("name"), query.get("type")) else {
        return error(&ProviderError {
            status: 400,
            code: "invalid_query",
            message: "say which records: ?name=sales.shop.test&type=CNAME (and &value= for one of several)".into(),
        });
    };
    match provider.remove_records(name, kind, query.get("value").map(String::as_str)) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => error(&err),
    }
}

async fn list_forwards(State(provider): State<ProviderHandle>) -> Response {
    Json(json!({ "forwards": provider.forwards() })).into_response()
}

async fn put_forward(
    State(provider): State<ProviderHandle>,
    Path(host): Path<String>,
    bytes: Bytes,
) -> Response {
    match body::<NewForward>(&bytes).and_then(|new| provider.set_forward(&host, &new)) {
        Ok(rule) => Json(rule).into_response(),
        Err(err) => error(&err),
    }
}

async fn delete_forward(
    State(provider): State<ProviderHandle>,
    Path(host): Path<String>,
) -> Response {
    match provider.remove_forward(&host) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => error(&err),
    }
}

async fn show_page(State(provider): State<ProviderHandle>) -> Response {
    render(&provider, StatusCode::OK, None, &HashMap::new())
}

fn render(
    provider: &ProviderHandle,
    status: StatusCode,
    problem: Option<&ProviderError>,
    typed: &HashMap<String, String>,
) -> Response {
    let html = page::render(&provider.records(), &provider.forwards(), problem, typed);
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// After a form: back to the page (303), or the page again with the
/// problem and what was typed (422).
fn after_form<T>(
    provider: &ProviderHandle,
    result: Result<T, ProviderError>,
    typed: &HashMap<String, String>,
) -> Response {
    match result {
        Ok(_) => Redirect::to("/").into_response(),
        Err(err) => {
            let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
            render(provider, status, Some(&err), typed)
        }
    }
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

async fn form_add_record(
    State(provider): State<ProviderHandle>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let ttl = field(&form, "ttl").trim();
    let result = if ttl.is_empty() {
        Ok(None)
    } else {
        ttl.parse::<u32>().map(Some).map_err(|_| ProviderError {
            status: 422,
            code: "invalid_ttl",
            message: format!("`{ttl}` is not a number of seconds"),
        })
    }
    .and_then(|ttl| {
        provider.add_record(&NewRecord {
            name: field(&form, "name").into(),
            kind: field(&form, "type").into(),
            value: field(&form, "value").into(),
            ttl,
        })
    });
    after_form(&provider, result, &form)
}

async fn form_delete_record(
    State(provider): State<ProviderHandle>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let value = Some(field(&form, "value"));
    let result = provider.remove_records(field(&form, "name"), field(&form, "type"), value);
    after_form(&provider, result, &HashMap::new())
}

async fn form_set_forward(
    State(provider): State<ProviderHandle>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let status = field(&form, "status").trim();
    let result = if status.is_empty() {
        Ok(None)
    } else {
        status.parse::<u16>().map(Some).map_err(|_| ProviderError {
            status: 422,
            code: "invalid_status",
            message: format!("`{status}` is not an HTTP status"),
        })
    }
    .and_then(|status| {
        provider.set_forward(
            field(&form, "host"),
            &NewForward {
                to: field(&form, "to").into(),
                status,
                // An unticked checkbox sends nothing.
                keep_path: Some(form.contains_key("keep_path")),
            },
        )
    });
    after_form(&provider, result, &form)
}

async fn form_delete_forward(
    State(provider): State<ProviderHandle>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let result = provider.remove_forward(field(&form, "host"));
    after_form(&provider, result, &HashMap::new())
}
