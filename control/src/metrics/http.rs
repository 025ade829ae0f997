//! Every HTTP answer carries an `x-request-id` (the caller's, when sane; a
//! new UUID otherwise), every log line of the request carries it (the
//! request's tracing span), and every request is counted by its route
//! template and status with its latency.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use super::{metrics, HttpLabels};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a caller.
const MAX_REQUEST_ID: usize = 128;

/// A request id from a caller is kept when it is 1 to 128 characters of
/// letters, digits and `-_.:` (UUIDs, ULIDs, trace ids); anything else
/// (control characters, spaces, a megabyte) is replaced, so that a log
/// line never carries what a caller smuggled in.
pub fn sane_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Wraps `router`: request ids (outermost, so that even a refused request
/// answers with one) and HTTP metrics by route template.
pub fn layer<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(middleware::from_fn(measure))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(middleware::from_fn(drop_insane_request_id))
}

/// Removes a caller's request id that is not sane, so that one is made.
async fn drop_insane_request_id(mut request: Request, next: Next) -> Response {
    if let Some(value) = request.headers().get(&REQUEST_ID) {
        if !sane_request_id(value) {
            request.headers_mut().remove(&REQUEST_ID);
        }
    }
    next.run(request).await
}

/// Counts the request by its route template (never the raw path: the label
/// set stays bounded and carries no customer's names).
async fn measure(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    metrics()
        .http_duration
        .get_or_create(&HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: the known ones, `other` for the rest (any token
/// is a valid method: unbounded otherwise).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The request's id, for its tracing span.
pub fn request_id_of<B>(request: &axum::http::Request<B>) -> &str {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_callers_are_kept_only_when_sane() {
        for kept in [
            "0f5c3b3e-5a43-4c8e-9b1f-2d7d3c1e0a9b",
            "01HF8X3K9Z",
            "trace.span:1_2",
            &"a".repeat(128),
        ] {
            assert!(
                sane_request_id(&HeaderValue::from_str(kept).unwrap()),
                "{kept}"
            );
        }
        for replaced in ["", "has space", "semi;colon", "ümlaut", &"a".repeat(129)] {
            let value = HeaderValue::from_bytes(replaced.as_bytes()).unwrap();
            assert!(!sane_request_id(&value), "{replaced}");
        }
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
