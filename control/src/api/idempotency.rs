//! `Idempotency-Key` on every authenticated POST under `/v1`, in one layer:
//! the first answer (2xx or 4xx) is kept per token and key for 24 h and
//! replayed, with `Idempotent-Replayed: true`, to a retry of the same
//! request; the same key on another request is a 422
//! `idempotency_key_reused`; while the first request runs, a 409
//! `idempotency_key_in_use`. A 5xx or a 429 is not kept: a retry runs again.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use super::{bearer, is_admin, token_hash, ApiError, AppState, MAX_BODY_BYTES};
use crate::store::accounts as account_store;
use crate::store::idempotency::{self as store, Answer, Claim, Horizon};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
pub const MAX_KEY_LEN: usize = 255;
/// How long an answer is kept: 24 h.
pub const KEPT_MS: i64 = 24 * 3600 * 1000;
/// A claim older than this without an answer was left by a crashed replica.
const IN_FLIGHT_MS: i64 = 10 * 60 * 1000;
/// The headers replayed with a kept answer.
const KEPT_HEADERS: [HeaderName; 2] = [CONTENT_TYPE, LOCATION];

/// The layer (`axum::middleware::from_fn_with_state`).
pub async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match run(&state, request, next).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn run(state: &AppState, request: Request, next: Next) -> Result<Response, ApiError> {
    let applies = request.method() == Method::POST
        && request.uri().path().starts_with("/v1/")
        && request.headers().contains_key(HEADER);
    if !applies {
        return Ok(next.run(request).await);
    }
    let (parts, body) = request.into_parts();
    // Unauthenticated: the handler answers 401, nothing is kept.
    let Some(token_id) = token_id(state, &parts).await? else {
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    let key = parse_key(parts.headers.get(HEADER))?;
    let body = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge {
            code: "body_too_large",
            message: format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        })?;
    let horizon = Horizon {
        now: state.clock.now_ms(),
        kept_ms: KEPT_MS,
        in_flight_ms: IN_FLIGHT_MS,
    };
    let pool = state.store.pool();
    match store::claim(pool, &token_id, &key, &fingerprint(&parts, &body), horizon).await? {
        Claim::InUse => Err(ApiError::conflict(
            "idempotency_key_in_use",
            "a request with this Idempotency-Key is still running: retry when it has answered",
        )),
        Claim::Reused => Err(ApiError::Invalid {
            code: "idempotency_key_reused",
            message: "this Idempotency-Key was used for another request (method, path or body) \
                      in the last 24 hours: use a new key"
                .into(),
            field: Some("Idempotency-Key".into()),
        }),
        Claim::Replay(answer) => Ok(replay(answer)),
        Claim::Mine => {
            let claim = Release {
                pool: pool.clone(),
                token_id,
                key,
                armed: true,
            };
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            Ok(claim.keep(response).await)
        }
    }
}

/// The token's id (`admin` for the admin token); `None` for no or an
/// unknown token.
async fn token_id(state: &AppState, parts: &Parts) -> Result<Option<String>, ApiError> {
    let Some(token) = bearer(parts) else {
        return Ok(None);
    };
    if is_admin(state, token) {
        return Ok(Some("admin".into()));
    }
    let found = account_store::account_for_token(state.store.pool(), &token_hash(token)).await?;
    Ok(found.map(|(token_id, _, _)| token_id))
}

/// 1 to 255 visible ASCII characters (a UUID, say).
fn parse_key(value: Option<&HeaderValue>) -> Result<String, ApiError> {
    let refuse = || ApiError::BadRequest {
        code: "invalid_idempotency_key",
        message: format!(
            "Idempotency-Key is 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID, say)"
        ),
    };
    let key = value.and_then(|v| v.to_str().ok()).ok_or_else(refuse)?;
    let valid = (1..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    valid.then(|| key.to_string()).ok_or_else(refuse)
}

/// What makes two requests the same: method, path (and query) and body.
fn fingerprint(parts: &Parts, body: &Bytes) -> String {
    let mut digest = Sha256::new();
    digest.update(parts.method.as_str());
    digest.update(b" ");
    digest.update(parts.uri.path_and_query().map_or("", |p| p.as_str()));
    digest.update(b"\n");
    digest.update(body);
    hex::encode(digest.finalize())
}

fn replay(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    headers.remove(CONTENT_TYPE);
    let kept: Vec<(String, String)> = serde_json::from_str(&answer.headers).unwrap_or_default();
    for (name, value) in kept {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// A claimed key: given up (deleted) unless an answer is kept, also when
/// the request is dropped half-way (the client went away).
struct Release {
    pool: AnyPool,
    token_id: String,
    key: String,
    armed: bool,
}

impl Release {
    /// Keeps a 2xx or 4xx answer (not a 429: the retry should run);
    /// anything else gives the key up before answering, so a retry runs.
    async fn keep(mut self, response: Response) -> Response {
        let status = response.status();
        let kept = status.is_success()
            || (status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS);
        if !kept {
            match store::release(&self.pool, &self.token_id, &self.key).await {
                Ok(()) => self.armed = false,
                Err(err) => tracing::warn!(error = %err, "could not release an idempotency key"),
            }
            return response;
        }
        let (parts, body) = response.into_parts();
        let Ok(body) = to_bytes(body, usize::MAX).await else {
            return ApiError::Internal("could not read the answer to keep".into()).into_response();
        };
        let Ok(text) = std::str::from_utf8(&body) else {
            return Response::from_parts(parts, Body::from(body));
        };
        let headers: Vec<(&str, &str)> = KEPT_HEADERS
            .iter()
            .filter_map(|name| Some((name.as_str(), parts.headers.get(name)?.to_str().ok()?)))
            .collect();
        let answer = Answer {
            status: status.as_u16(),
            headers: serde_json::to_string(&headers).unwrap_or_default(),
            body: text.to_string(),
        };
        match store::keep(&self.pool, &self.token_id, &self.key, &answer).await {
            Ok(()) => self.armed = false,
            Err(err) => tracing::warn!(error = %err, "could not keep an idempotent answer"),
        }
        Response::from_parts(parts, Body::from(body))
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Outside a runtime (shutting down) the claim is left to go stale.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (pool, token_id, key) = (self.pool.clone(), self.token_id.clone(), self.key.clone());
        runtime.spawn(async move {
            if let Err(err) = store::release(&pool, &token_id, &key).await {
                tracing::warn!(error = %err, "could not release an idempotency key");
            }
        });
    }
}

/// Every authenticated POST takes the header and may answer its errors:
/// said once here, for all.
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::Required;
    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the first answer (2xx or 4xx, not 429 or 5xx) is kept for \
             24 hours per token and key and replayed, with `Idempotent-Replayed: true`, to \
             the same request (method, path and body) sent again with the same key.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_KEY_LEN))
                .pattern(Some("^[!-~]+$")),
        ))
        .build();
    let errors = [
        (
            "400",
            "`invalid_idempotency_key`: 1 to 255 visible ASCII characters",
        ),
        (
            "409",
            "`idempotency_key_in_use`: a request with this Idempotency-Key is still running",
        ),
        (
            "422",
            "`idempotency_key_reused`: the Idempotency-Key was used for another request",
        ),
    ];
    for item in doc.paths.paths.values_mut() {
        let Some(operation) = item.post.as_mut() else {
            continue;
        };
        if operation.security.as_ref().is_none_or(Vec::is_empty) {
            continue;
        }
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(parameter.clone());
        for (status, said) in errors {
            super::openapi::document_error(operation, status, said);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        let ok = |key: &str| parse_key(Some(&HeaderValue::from_str(key).unwrap())).is_ok();
        assert!(ok("3f1c2a9e-8b1d-4c55-9d0e-6a7b8c9d0e1f"));
        assert!(ok(&"k".repeat(MAX_KEY_LEN)));
        assert!(!ok(&"k".repeat(MAX_KEY_LEN + 1)));
        assert!(!ok(""));
        assert!(!ok("two words"));
        assert!(parse_key(Some(&HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap())).is_err());
    }
}
