//! Incremental publishing: one change writes the keys it affects and no
//! others, whatever the size of the account. Counted at the Workers KV
//! contract server (keys in accepted bulk writes and deletes), for a small
//! and a large account, which must write exactly as many.

use portico_tests::cloudflare_kv::KvContractServer;
use serde_json::json;

use crate::both_stores;
use crate::helpers::{cloudflare_settings, kv_server, start, Db, TestApp, TestDatabase};

both_stores!(one_change_writes_as_many_keys_in_a_large_account_as_in_a_small_one);

/// Keys written (put or deleted) at the KV so far.
fn keys_written(server: &KvContractServer) -> usize {
    server.accepted().iter().map(|r| r.keys.len()).sum()
}

/// An account with `size` pages, each linked on its platform host, and
/// `size / 5` connected domains, each linking two pages; then one change of
/// each kind. Returns the keys each change wrote.
async fn changes_in_an_account_of(db: Db, size: usize) -> Option<Vec<(&'static str, usize)>> {
    let database = TestDatabase::new(db).await?;
    let server = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    let mut pages = Vec::new();
    for n in 0..size {
        let page = app
            .page(&token, &format!("Page {n}"), &format!("<h1>Page {n}</h1>"))
            .await;
        link(&app, &token, &page["id"], &format!("p{n}"), None).await;
        pages.push(page);
    }
    for n in 0..size / 5 {
        let domain = app
            .domain(&token, &format!("www.site{n}.example.com"))
            .await;
        let id = domain["id"].as_str().unwrap().to_string();
        app.connect(&id).await;
        for k in 0..2 {
            link(
                &app,
                &token,
                &pages[n + k]["id"],
                &format!("d{k}"),
                Some(&id),
            )
            .await;
        }
    }
    app.published().await;

    let mut written = Vec::new();
    let mut measure = |what: &'static str, before: usize| {
        written.push((what, keys_written(&server) - before));
    };

    // A page shown on its platform path and on two domains: new content.
    let before = keys_written(&server);
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/v1/pages/{}", pages[1]["id"].as_str().unwrap()),
            Some(&token),
            Some(json!({ "content": "<h1>Page 1, again</h1>" })),
        )
        .await;
    assert_eq!(status, 200);
    app.published().await;
    measure("page content changed", before);

    // One more page linked on the platform host.
    let before = keys_written(&server);
    let page = app.page(&token, "New", "<h1>New</h1>").await;
    link(&app, &token, &page["id"], "new", None).await;
    app.published().await;
    measure("page added and linked", before);

    // One more domain connected.
    let before = keys_written(&server);
    let domain = app.domain(&token, "www.late.example.com").await;
    app.connect(domain["id"].as_str().unwrap()).await;
    app.published().await;
    measure("domain connected", before);

    app.stop().await;
    Some(written)
}

async fn link(
    app: &TestApp,
    token: &str,
    page_id: &serde_json::Value,
    path: &str,
    domain_id: Option<&str>,
) {
    let mut body = json!({ "page_id": page_id, "path": path });
    if let Some(domain_id) = domain_id {
        body["domain_id"] = json!(domain_id);
    }
    let (status, answer) = app.post("/v1/links", token, body).await;
    assert_eq!(status, 201, "{answer}");
}

async fn one_change_writes_as_many_keys_in_a_large_account_as_in_a_small_one(db: Db) {
    let Some(small) = changes_in_an_account_of(db, 10).await else {
        return;
    };
    let large = changes_in_an_account_of(db, 60).await.unwrap();
    assert_eq!(
        small, large,
        "keys written per change: small, large account"
    );
    // And what they are: the new content and the three records showing it;
    // the new content and its path record; the domain's host record(s).
    let counts: Vec<usize> = small.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts[0], 4, "{small:?}");
    assert_eq!(counts[1], 2, "{small:?}");
    assert!((1..=2).contains(&counts[2]), "{small:?}");
}
