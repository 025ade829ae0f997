//! `ApiError`: every failure the API answers with, as
//! `{ "error": { "code", "message" } }` (plus `field` for field errors).
//! Codes are stable snake_case strings that dashboards can switch on.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The error body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: `unauthorized`, `not_found`, `hostname_taken`, `host_wildcard`, …
    pub code: String,
    /// A sentence the customer can act on.
    pub message: String,
    /// The request field the error is about, for field errors (422).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `hostname_taken` only: how to prove the hostname is yours (a TXT
    /// record), and what the last look at it found. Never who holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<super::domain_add::OwnershipProof>,
    /// `quota_exceeded` only: which quota (`domains`, `pages`, `links`,
    /// `page_bytes`, `webhook_endpoints`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<crate::quota::Quota>,
    /// `quota_exceeded` only: the quota's limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON, or a query parameter is malformed.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401: no token, or an unknown or revoked one.
    #[error("send `Authorization: Bearer <token>` with a valid API token")]
    Unauthorized,
    /// 401 `token_expired`: the token's `expires_at` has passed.
    #[error("this API token expired: create a new one")]
    TokenExpired,
    /// 403 `insufficient_scope`: a `read` token asked to change something.
    #[error("this API token has the `read` scope: only GET requests; use a `write` token to make changes")]
    InsufficientScope,
    /// 403: a valid token of the wrong kind for this endpoint.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404: no such object (or it belongs to another account).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// 405: the endpoint exists, the method does not.
    #[error("this endpoint does not take that method")]
    MethodNotAllowed,
    /// 409: the request conflicts with existing state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 409 `hostname_taken`: another account holds the hostname; the body
    /// says how to prove it is yours.
    #[error("{message}")]
    HostnameTaken {
        message: String,
        proof: Box<super::domain_add::OwnershipProof>,
    },
    /// 403 `quota_exceeded`: the account is at one of its quotas.
    #[error("{message}")]
    QuotaExceeded {
        quota: crate::quota::Quota,
        limit: u64,
        message: String,
    },
    /// 429 `rate_limited`: too many requests; `api::limits` adds the headers.
    #[error("{0}")]
    RateLimited(String),
    /// 413: the body or the page content is too large.
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    /// 415: the body is not sent as `application/json`.
    #[error("send the body as JSON with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// 422: a field is invalid; `code` comes from shared's rules where they apply.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        field: Option<Cow<'static, str>>,
    },
    /// 500: logged; the answer says nothing more.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &'static str, code: &'static str, message: impl ToString) -> ApiError {
        ApiError::Invalid {
            code,
            message: message.to_string(),
            field: Some(Cow::Borrowed(field)),
        }
    }

    /// 422 `control_character`: `field` (a body field, a path or query
    /// parameter) holds a NUL or another control character.
    pub fn control_character(field: &str, err: &portico_shared::text::TextError) -> ApiError {
        ApiError::Invalid {
            code: err.code(),
            message: format!("`{field}` {err}"),
            field: Some(Cow::Owned(field.to_string())),
        }
    }

    pub fn conflict(code: &'static str, message: impl ToString) -> ApiError {
        ApiError::Conflict {
            code,
            message: message.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::TokenExpired => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_)
            | ApiError::InsufficientScope
            | ApiError::QuotaExceeded { .. } => StatusCode::FORBIDDEN,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } | ApiError::HostnameTaken { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::TooLarge { code, .. }
            | ApiError::Invalid { code, .. } => code,
            ApiError::HostnameTaken { .. } => "hostname_taken",
            ApiError::Unauthorized => "unauthorized",
            ApiError::TokenExpired => "token_expired",
            ApiError::InsufficientScope => "insufficient_scope",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::QuotaExceeded { .. } => "quota_exceeded",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// The caller's account was deleted after its request was authenticated:
/// the same answer its next request gets from the token check.
impl From<crate::unit::AccountDeleted> for ApiError {
    fn from(_: crate::unit::AccountDeleted) -> ApiError {
        ApiError::Unauthorized
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> ApiError {
        // PostgreSQL refuses text it cannot store (a NUL byte: 22021;
        // 22P05): the caller's input, never a 500. The checks at the
        // boundary should have caught it first.
        if let sqlx::Error::Database(db) = &err {
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return ApiError::Invalid {
                    code: "control_character",
                    message: "the request holds a character that cannot be stored (such as NUL): remove it"
                        .into(),
                    field: None,
                };
            }
        }
        ApiError::Internal(format!("database: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let field = match &self {
            ApiError::Invalid { field, .. } => field.as_ref().map(|f| f.to_string()),
            _ => None,
        };
        let proof = match &self {
            ApiError::HostnameTaken { proof, .. } => Some((**proof).clone()),
            _ => None,
        };
        let (quota, limit) = match &self {
            ApiError::QuotaExceeded { quota, limit, .. } => (Some(*quota), Some(*limit)),
            _ => (None, None),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.to_string(),
                field,
                proof,
                quota,
                limit,
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        // RFC 6750 §3: the scheme, and why a token was refused.
        let challenge = match &self {
            ApiError::Unauthorized => Some("Bearer"),
            ApiError::TokenExpired => Some(r#"Bearer error="invalid_token""#),
            ApiError::InsufficientScope => {
                Some(r#"Bearer error="insufficient_scope", scope="write""#)
            }
            _ => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> ApiError {
        ApiError::NotFound("object")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::BadRequest {
            code: "invalid_query",
            message: rejection.body_text(),
        }
    }
}

/// `Json` whose rejections are `ApiError`s, in two steps so each failure is
/// named right: not JSON at all → 400 `malformed_json`; JSON of the wrong
/// shape → 422 `invalid_body`; never axum's plain text, never a 500.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge {
                        code: "body_too_large",
                        message: format!(
                            "the request body is larger than {} bytes",
                            super::MAX_BODY_BYTES
                        ),
                    }
                } else {
                    ApiError::BadRequest {
                        code: "bad_body",
                        message: rejection.body_text(),
                    }
                }
            })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|err| ApiError::BadRequest {
                code: "malformed_json",
                message: format!("the body is not valid JSON: {err}"),
            })?;
        // Every body is an object: serde would also fill a struct from an
        // array of its fields in order (`[null, null]`), which no client means.
        if !value.is_object() {
            return Err(ApiError::Invalid {
                code: "invalid_body",
                message: "the body is a JSON object (`{ ... }`)".into(),
                field: None,
            });
        }
        refuse_control_characters(&value, &mut String::new())?;
        let parsed = serde_json::from_value(value).map_err(|err| ApiError::Invalid {
            code: "invalid_body",
            message: format!("the body does not have the expected fields: {err}"),
            field: None,
        })?;
        Ok(ApiJson(parsed))
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// Body fields that hold HTML and so may span lines (tabs and line breaks
/// kept); every other string is one line.
pub(super) const MULTILINE_FIELDS: &[&str] = &["content"];

/// Walks a JSON body: a NUL or another control character in any string
/// (or key) is a 422 naming the field (`title`, `index.url`), before any
/// handler sees it.
fn refuse_control_characters(
    value: &serde_json::Value,
    field: &mut String,
) -> Result<(), ApiError> {
    use portico_shared::text::{check_line, check_multiline};
    match value {
        serde_json::Value::String(text) => {
            let last = field.rsplit('.').next().unwrap_or("");
            let checked = if MULTILINE_FIELDS.contains(&last) {
                check_multiline(text)
            } else {
                check_line(text)
            };
            checked.map_err(|err| ApiError::control_character(body_field(field), &err))
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = field.len();
                field.push_str(&format!("[{index}]"));
                refuse_control_characters(item, field)?;
                field.truncate(len);
            }
            Ok(())
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                let len = field.len();
                if !field.is_empty() {
                    field.push('.');
                }
                check_line(key).map_err(|err| ApiError::control_character("a field name", &err))?;
                field.push_str(key);
                refuse_control_characters(item, field)?;
                field.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn body_field(field: &str) -> &str {
    if field.is_empty() {
        "the body"
    } else {
        field
    }
}

/// `Path` whose rejections are 404s, and whose parameters holding a NUL or
/// another control character are 422s (an id never holds one; PostgreSQL
/// would refuse to compare against it).
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ApiPath<T>, ApiError> {
        if let Ok(params) = RawPathParams::from_request_parts(parts, state).await {
            for (name, value) in &params {
                portico_shared::text::check_line(value)
                    .map_err(|err| ApiError::control_character(name, &err))?;
            }
        }
        let Path(value) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

/// `Query` whose rejections are 400s with our body, and whose parameters
/// holding a control character are 422s.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<ApiQuery<T>, ApiError> {
        if let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
            for (name, value) in &pairs {
                portico_shared::text::check_line(name)
                    .map_err(|err| ApiError::control_character("a query parameter name", &err))?;
                portico_shared::text::check_line(value)
                    .map_err(|err| ApiError::control_character(name, &err))?;
            }
        }
        let Query(value) = Query::<T>::try_from_uri(&parts.uri)?;
        Ok(ApiQuery(value))
    }
}

/// Used by the fallback: a path the API does not have.
pub async fn no_route(_: Request) -> ApiError {
    ApiError::NotFound("endpoint")
}

/// A path the API has, with a method it does not take.
pub async fn no_method(_: Request) -> ApiError {
    ApiError::MethodNotAllowed
}
