//! The reference dashboard: a dependency-free front end (HTML, CSS, ES
//! modules in `control/dashboard/`, embedded in the binary) served at `/`.
//! It signs in with an account API token and calls the public `/v1` API
//! like any platform's dashboard would. What customers type is checked in
//! the browser with `shared`'s wasm package (`--target web`, built by
//! `scripts/build-wasm-pkg` into `dashboard_wasm_dir`), read from disk at
//! run time so the crate builds without it; when it is missing the
//! dashboard still works with the API's checks alone.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Same origin only; wasm compiled by the page itself needs `'wasm-unsafe-eval'`
/// (not `'unsafe-eval'`); no inline scripts or styles, no framing.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; \
    script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
    object-src 'none'";

/// The dashboard's files, compiled in: `(name under /dashboard/, content type, body)`.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../dashboard/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/api.js"),
    ),
    (
        "checks.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/checks.js"),
    ),
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/ui.js"),
    ),
    (
        "domains.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/domains.js"),
    ),
    (
        "pages.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/pages.js"),
    ),
    (
        "mounts.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/mounts.js"),
    ),
    (
        "bulk.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/bulk.js"),
    ),
    (
        "webhooks.js",
        "text/javascript; charset=utf-8",
        include_str!("../dashboard/webhooks.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../dashboard/favicon.svg"),
    ),
];

const INDEX_HTML: &str = include_str!("../dashboard/index.html");

/// The wasm package's files the browser loads (nothing else under the directory is served).
const WASM_FILES: &[(&str, &str)] = &[
    ("portico_shared.js", "text/javascript; charset=utf-8"),
    ("portico_shared_bg.wasm", "application/wasm"),
];

#[derive(Clone)]
pub struct Dashboard {
    wasm_dir: Arc<PathBuf>,
    warned: Arc<AtomicBool>,
}

impl Dashboard {
    pub fn new(wasm_dir: PathBuf) -> Dashboard {
        Dashboard {
            wasm_dir: Arc::new(wasm_dir),
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// `/` and `/dashboard/…`; merged beside the API's routes.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(index))
            .route("/dashboard/wasm/{file}", get(wasm_file))
            .route("/dashboard/{file}", get(asset))
            .with_state(self)
    }

    /// Logged once per process, at the first request that finds it missing.
    fn warn_missing(&self, path: &std::path::Path, err: &std::io::Error) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                path = %path.display(),
                error = %err,
                "the dashboard's wasm package is missing (run scripts/build-wasm-pkg, or set \
                 PORTICO_DASHBOARD_WASM_DIR): the dashboard works, checking what customers type \
                 on the server only"
            );
        }
    }
}

/// Headers every dashboard response carries.
fn secured(mut response: Response, content_type: &'static str, cache: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

async fn index() -> Response {
    secured(
        INDEX_HTML.into_response(),
        "text/html; charset=utf-8",
        "no-cache",
    )
}

fn not_found() -> Response {
    secured(
        (StatusCode::NOT_FOUND, "not found\n").into_response(),
        "text/plain; charset=utf-8",
        "no-cache",
    )
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        // Revalidated each time: a new binary must never run against old modules.
        Some((_, content_type, body)) => secured((*body).into_response(), content_type, "no-cache"),
        None => not_found(),
    }
}

async fn wasm_file(State(dashboard): State<Dashboard>, Path(file): Path<String>) -> Response {
    let Some((name, content_type)) = WASM_FILES.iter().find(|(name, _)| *name == file) else {
        return not_found();
    };
    let path = dashboard.wasm_dir.join(name);
    let read = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || std::fs::read(path)).await
    };
    match read.unwrap_or_else(|join| Err(std::io::Error::other(join.to_string()))) {
        Ok(bytes) => secured(bytes.into_response(), content_type, "no-cache"),
        Err(err) => {
            dashboard.warn_missing(&path, &err);
            not_found()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use super::*;

    /// Collects what the tracing subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_missing_wasm_package_is_a_404_and_one_warning() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let dir = tempfile::tempdir().unwrap();
        let dashboard = Dashboard::new(dir.path().join("absent"));
        for file in [
            "portico_shared.js",
            "portico_shared_bg.wasm",
            "portico_shared.js",
        ] {
            let response = wasm_file(State(dashboard.clone()), Path(file.to_string())).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{file}");
        }
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            log.matches("the dashboard's wasm package is missing")
                .count(),
            1,
            "{log}"
        );
        assert!(
            log.contains("absent"),
            "the warning names the directory: {log}"
        );
    }
}
