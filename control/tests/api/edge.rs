//! End to end: the control plane publishes through its `local` KV backend
//! into the real edge under `wrangler dev`, and the edge serves it.
//!
//! Needs the edge worker's development build (`scripts/build-edge --dev`;
//! `scripts/test` runs it first). Outside CI, a missing build skips this test with a message; in CI
//! (`CI=true`) it fails instead.

use serde_json::json;

use portico_tests::wrangler::WranglerDev;

use crate::helpers::{start, Db, TestDatabase};
use portico_control::config::KvSettings;

const LOCAL_KV_TOKEN: &str = "e2e-local-kv-token";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_serves_what_the_control_plane_publishes() {
    if !portico_tests::repo_root().join("build/index.js").is_file() && !in_ci() {
        println!(
            "SKIPPED: the edge worker is not built (run scripts/build-edge --dev, or scripts/test)"
        );
        return;
    }
    let edge = WranglerDev::builder()
        .var("LOCAL_KV_TOKEN", LOCAL_KV_TOKEN)
        .start()
        .await
        .expect("wrangler dev starts");
    let database = TestDatabase::new(Db::Sqlite).await.unwrap();
    let mut settings = database.settings();
    settings.kv = KvSettings::Local {
        edge_url: edge.url(""),
        token: LOCAL_KV_TOKEN.into(),
    };
    let app = start(&settings).await;

    let (_, token) = app.account("katie").await;
    let page = app.page(&token, "Offer", "<h1>Spring offer</h1>").await;
    app.post(
        "/v1/links",
        &token,
        json!({ "page_id": page["id"], "path": "offer" }),
    )
    .await;
    let domain = app.domain(&token, "sales.example.com").await;
    let domain_id = domain["id"].as_str().unwrap();
    app.post(
        "/v1/links",
        &token,
        json!({ "page_id": page["id"], "domain_id": domain_id, "path": "spring" }),
    )
    .await;
    app.published().await;

    // The platform host serves the link at once; the processing domain does not yet.
    let offer = edge.get("katie.portico.test", "/offer").await.unwrap();
    assert_eq!(offer.status(), 200, "{}", edge.log());
    assert!(offer.text().await.unwrap().contains("Spring offer"));
    let early = edge.get("sales.example.com", "/spring").await.unwrap();
    assert_eq!(early.status(), 404);
    assert!(early.text().await.unwrap().contains("not connected"));

    // Connected: the page, the default Index and the default 404 page.
    app.connect(domain_id).await;
    app.published().await;
    let spring = edge.get("sales.example.com", "/spring").await.unwrap();
    assert_eq!(spring.status(), 200);
    assert!(spring.text().await.unwrap().contains("Spring offer"));
    let index = edge.get("sales.example.com", "/").await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("Nothing here yet"));
    let missing = edge.get("sales.example.com", "/nope").await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found"));

    // New content shows at once.
    app.call(
        "PATCH",
        &format!("/v1/pages/{}", page["id"].as_str().unwrap()),
        Some(&token),
        Some(json!({ "content": "<h1>Summer offer</h1>" })),
    )
    .await;
    app.published().await;
    let summer = edge.get("sales.example.com", "/spring").await.unwrap();
    assert!(summer.text().await.unwrap().contains("Summer offer"));

    // Removed: the edge stops serving it.
    app.call(
        "DELETE",
        &format!("/v1/domains/{domain_id}"),
        Some(&token),
        None,
    )
    .await;
    app.published().await;
    let gone = edge.get("sales.example.com", "/spring").await.unwrap();
    assert_eq!(gone.status(), 404);
    assert!(gone.text().await.unwrap().contains("not connected"));
    app.stop().await;
}
