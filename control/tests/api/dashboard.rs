//! The dashboard's static side: served at `/` with a strict
//! Content-Security-Policy, every module it imports served, no inline
//! script, and the wasm package read from `dashboard_wasm_dir` (missing:
//! 404, the dashboard carries on with the API's checks). The screens
//! themselves are tested in a browser (tests/tests/dashboard_browser.rs).

use std::collections::BTreeSet;

use crate::helpers::{start, Db, TestDatabase};

async fn fetch(app: &crate::helpers::TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .send()
        .await
        .expect("the service answers")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header on {}", response.url()))
}

fn assert_secured(response: &reqwest::Response) {
    let csp = header(response, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    assert_eq!(header(response, "x-frame-options"), "DENY");
}

/// `./name.js` modules a script imports.
fn imports(script: &str) -> Vec<String> {
    script
        .split("from '")
        .skip(1)
        .filter_map(|rest| rest.split('\'').next())
        .filter(|spec| spec.starts_with("./"))
        .map(|spec| spec.trim_start_matches("./").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_dashboard_with_a_strict_policy_and_every_module_it_imports() {
    let database = TestDatabase::new(Db::Sqlite).await.unwrap();
    let mut settings = database.settings();
    settings.dashboard_wasm_dir = tempfile::tempdir().unwrap().path().join("absent");
    let app = start(&settings).await;

    let index = fetch(&app, "/").await;
    assert_eq!(index.status(), 200);
    assert_secured(&index);
    assert_eq!(header(&index, "content-type"), "text/html; charset=utf-8");
    let html = index.text().await.unwrap();
    // Nothing inline for the policy to refuse, nothing from another origin.
    assert!(!html.contains("<script>") && !html.contains(" style=") && !html.contains(" onclick"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains(r#"<script type="module" src="/dashboard/app.js"></script>"#));
    assert!(html.contains(r#"href="/dashboard/app.css""#));

    // Every module reachable from app.js is served as JavaScript, with the same headers.
    let mut seen = BTreeSet::new();
    let mut queue = vec!["app.js".to_string()];
    while let Some(module) = queue.pop() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let response = fetch(&app, &format!("/dashboard/{module}")).await;
        assert_eq!(response.status(), 200, "{module}");
        assert_secured(&response);
        assert_eq!(
            header(&response, "content-type"),
            "text/javascript; charset=utf-8"
        );
        let script = response.text().await.unwrap();
        assert!(
            !script.contains("innerHTML") && !script.contains("eval("),
            "{module} builds elements, never parses HTML"
        );
        assert!(
            !script.contains("?token=") && !script.contains("&token="),
            "{module}: the token goes in a header, never a URL"
        );
        queue.extend(imports(&script));
    }
    assert!(seen.len() >= 6, "modules found: {seen:?}");
    let css = fetch(&app, "/dashboard/app.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");

    // Only the files the dashboard has; the API keeps its JSON 404.
    for path in [
        "/dashboard/nothing.js",
        "/dashboard/..%2FCargo.toml",
        "/dashboard/wasm/package.json",
        "/dashboard/wasm/..%2F..%2FCargo.toml",
    ] {
        let response = fetch(&app, path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_secured(&response);
    }
    let (status, body) = app.call("GET", "/v1/nothing", None, None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");

    // The wasm package is not built here: 404, and the dashboard still loads.
    let wasm = fetch(&app, "/dashboard/wasm/portico_shared.js").await;
    assert_eq!(wasm.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_wasm_package_from_its_directory() {
    let database = TestDatabase::new(Db::Sqlite).await.unwrap();
    let package = tempfile::tempdir().unwrap();
    std::fs::write(
        package.path().join("portico_shared.js"),
        "export default async function init() {}\n",
    )
    .unwrap();
    std::fs::write(
        package.path().join("portico_shared_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(package.path().join("package.json"), "{}").unwrap();
    let mut settings = database.settings();
    settings.dashboard_wasm_dir = package.path().to_path_buf();
    let app = start(&settings).await;

    let glue = fetch(&app, "/dashboard/wasm/portico_shared.js").await;
    assert_eq!(glue.status(), 200);
    assert_secured(&glue);
    assert_eq!(
        header(&glue, "content-type"),
        "text/javascript; charset=utf-8"
    );
    let wasm = fetch(&app, "/dashboard/wasm/portico_shared_bg.wasm").await;
    assert_eq!(wasm.status(), 200);
    assert_eq!(header(&wasm, "content-type"), "application/wasm");
    assert_eq!(wasm.bytes().await.unwrap().as_ref(), b"\0asm\x01\0\0\0");
    // Other files of the package directory are not served.
    assert_eq!(
        fetch(&app, "/dashboard/wasm/package.json").await.status(),
        404
    );
    app.stop().await;
}
