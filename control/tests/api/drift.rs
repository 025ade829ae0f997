//! What Workers KV holds, compared with the store: listing keys through the
//! KV client, and `republish --verify` finding and repairing drift.

use portico_control::publish::drift;
use portico_control::publish::kv_cloudflare::CloudflareKv;
use portico_control::publish::{list_all, KvBackend, KvFailure, KvPut};
use portico_control::store::outbox::{self, Namespace};

use crate::both_stores;
use crate::helpers::{
    cloudflare_settings, kv_server, local_settings, start, Db, TestDatabase, CONTENT_NS, ROUTES_NS,
};

#[tokio::test]
async fn lists_every_key_across_pages() {
    let server = kv_server().await;
    let kv = CloudflareKv::from_settings(&cloudflare_settings(&server))
        .unwrap()
        .unwrap();
    let pairs: Vec<KvPut> = (0..2500)
        .map(|i| KvPut {
            key: format!("v1/h/{i:04}.example"),
            value: "{}".into(),
        })
        .collect();
    kv.put(Namespace::Routes, &pairs).await.unwrap();
    server.insert(ROUTES_NS, "zz-other", "x");
    let listed = list_all(&kv, Namespace::Routes, Some("v1/h/"))
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(|k| k.name.as_str()).collect();
    let expected: Vec<&str> = pairs.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(names, expected);
    // Three pages of at most 1000 keys.
    let all = list_all(&kv, Namespace::Routes, None).await.unwrap();
    assert_eq!(all.len(), 2501);
    assert!(list_all(&kv, Namespace::Content, None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_local_edge_cannot_list_and_says_so() {
    let server = kv_server().await;
    let kv = CloudflareKv::from_settings(&local_settings(&server))
        .unwrap()
        .unwrap();
    let err = list_all(&kv, Namespace::Routes, None).await.unwrap_err();
    assert_eq!(err.kind, KvFailure::Setup);
    assert!(err.message.contains("cannot list"), "{}", err.message);
    // It never asked the server.
    assert_eq!(server.attempts(), 0);
}

async fn a_wiped_namespace_is_reported_then_rebuilt_by_full(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    app.page(&token, "Offer", "<h1>Offer</h1>").await;
    app.published().await;
    let kv = CloudflareKv::from_settings(&settings.kv).unwrap().unwrap();
    let clean = drift::observe(app.store(), &kv).await.unwrap();
    assert!(clean.is_clean(), "{}", clean.render());
    let routes = server.entries(ROUTES_NS);
    let content = server.entries(CONTENT_NS);
    assert!(!routes.is_empty() && !content.is_empty());

    server.wipe(ROUTES_NS);
    server.wipe(CONTENT_NS);
    let report = drift::observe(app.store(), &kv).await.unwrap();
    let expected_routes: Vec<String> = routes.keys().cloned().collect();
    let expected_content: Vec<String> = content.keys().cloned().collect();
    assert_eq!(report.routes.missing, expected_routes);
    assert_eq!(report.content.missing, expected_content);
    assert!(report.routes.extra.is_empty() && report.routes.stale.is_empty());
    // Verifying touches nothing.
    assert_eq!(outbox::pending(app.store().pool()).await.unwrap(), 0);
    assert!(server.entries(ROUTES_NS).is_empty());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["content"]["missing"].as_array().unwrap().len(),
        content.len()
    );
    assert!(report.render().contains("KV differs from the store."));

    // The old republish trusts kv_published: it writes nothing.
    let written =
        portico_control::publish::sync::republish_all(app.store(), &app.state.units.records)
            .await
            .unwrap();
    assert_eq!(written, 0);
    let written = drift::rewrite_all(app.store(), &app.state.units.records)
        .await
        .unwrap();
    assert_eq!(written, routes.len() + content.len());
    app.state.published();
    app.published().await;
    assert_eq!(server.entries(ROUTES_NS), routes);
    assert_eq!(server.entries(CONTENT_NS), content);
    let after = drift::observe(app.store(), &kv).await.unwrap();
    assert!(after.is_clean(), "{}", after.render());
    app.stop().await;
}

async fn extra_and_stale_keys_are_found_and_repaired(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    let app = start(&settings).await;
    app.account("katie").await;
    app.published().await;
    let kv = CloudflareKv::from_settings(&settings.kv).unwrap().unwrap();
    let routes = server.entries(ROUTES_NS);
    let content = server.entries(CONTENT_NS);
    let host = "v1/h/katie.portico.test";
    let content_key = content.keys().next().unwrap().clone();

    server.insert(ROUTES_NS, "v1/h/stray.example", "{}");
    server.insert(ROUTES_NS, host, "{\"v\":1,\"stale\":true}");
    server.insert(CONTENT_NS, &content_key, "<p>tampered</p>");
    // Not ours (another format version): never judged.
    server.insert(ROUTES_NS, "v2/h/katie.portico.test", "{}");
    // Content an older run wrote that nothing names (as after --full).
    let stray_html = "<p>old</p>";
    let stray = format!(
        "v1/c/{}",
        portico_control::publish::sync::sha256_hex(stray_html.as_bytes())
    );
    kv.put(
        Namespace::Content,
        &[KvPut {
            key: stray.clone(),
            value: stray_html.into(),
        }],
    )
    .await
    .unwrap();
    let report = drift::observe(app.store(), &kv).await.unwrap();
    assert_eq!(report.routes.extra, vec!["v1/h/stray.example"]);
    assert_eq!(report.routes.stale, vec![host]);
    assert_eq!(report.content.stale, vec![content_key.clone()]);
    assert_eq!(report.content.extra, vec![stray.clone()]);
    assert!(report.routes.missing.is_empty() && report.content.missing.is_empty());
    assert_eq!(outbox::pending(app.store().pool()).await.unwrap(), 0);

    let written = drift::repair(app.store(), &app.state.units.records, &report)
        .await
        .unwrap();
    assert_eq!(written, 3, "one delete, two puts");
    app.state.published();
    app.published().await;
    let mut expected = routes.clone();
    expected.insert("v2/h/katie.portico.test".into(), "{}".into());
    assert_eq!(server.entries(ROUTES_NS), expected);
    // Extra content is not deleted at once: it waits for collection.
    let mut expected = content.clone();
    expected.insert(stray.clone(), stray_html.into());
    assert_eq!(server.entries(CONTENT_NS), expected);
    let after = drift::observe(app.store(), &kv).await.unwrap();
    assert!(after.is_clean(), "{}", after.render());
    let marked: (Option<i64>,) =
        sqlx::query_as("SELECT unreferenced_since FROM kv_published WHERE key = $1")
            .bind(&stray)
            .fetch_one(app.store().pool())
            .await
            .unwrap();
    assert!(marked.0.is_some());
    app.stop().await;
}

both_stores!(
    a_wiped_namespace_is_reported_then_rebuilt_by_full,
    extra_and_stale_keys_are_found_and_repaired,
);

async fn unreferenced_content_stays_for_the_delay_then_is_deleted(db: Db) {
    use portico_control::publish::{Drained, PublishSettings, Publisher};
    use portico_control::store::{now_ms, Store};
    use serde_json::json;
    use std::sync::Arc;
    use std::time::Duration;

    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    let page = app.page(&token, "Offer", "<h1>Spring offer</h1>").await;
    let (status, _) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "path": "offer" }),
        )
        .await;
    assert_eq!(status, 201);
    app.published().await;
    let path = "v1/p/katie.portico.test/offer";
    let old_record = server.get(ROUTES_NS, path).expect("the link is published");
    let old_content = format!(
        "v1/c/{}",
        portico_control::publish::sync::sha256_hex(b"<h1>Spring offer</h1>")
    );
    assert!(old_record.contains(&old_content[5..]), "{old_record}");
    assert!(server.get(CONTENT_NS, &old_content).is_some());

    let (status, _) = app
        .call(
            "PATCH",
            &format!("/v1/pages/{}", page["id"].as_str().unwrap()),
            Some(&token),
            Some(json!({ "content": "<h1>Summer offer</h1>" })),
        )
        .await;
    assert_eq!(status, 200);
    app.published().await;
    assert_ne!(server.get(ROUTES_NS, path).unwrap(), old_record);
    app.stop().await;

    let store = Store::connect(&database.url, 2).await.unwrap();
    let kv = CloudflareKv::from_settings(&settings.kv).unwrap().unwrap();
    let publisher = Publisher::with_settings(
        store.clone(),
        Arc::new(kv),
        PublishSettings {
            content_gc_delay: Duration::from_secs(3600),
            ..PublishSettings::default()
        },
        Arc::new(tokio::sync::Notify::new()),
    );
    let now = now_ms();
    // Within the delay an edge still holding the old record finds its content.
    for later in [0, 60_000, 3_599_000] {
        assert_eq!(
            publisher.collect_content(now + later).await.unwrap(),
            Some(0)
        );
        assert_eq!(publisher.drain_once().await.unwrap(), Drained::Idle);
        assert!(server.get(CONTENT_NS, &old_content).is_some(), "{later}");
    }
    // Past it, the old content goes; what the new record names stays.
    assert_eq!(
        publisher.collect_content(now + 3_601_000).await.unwrap(),
        Some(1)
    );
    assert_eq!(publisher.drain_once().await.unwrap(), Drained::Delivered(1));
    assert!(server.get(CONTENT_NS, &old_content).is_none());
    let new_content = format!(
        "v1/c/{}",
        portico_control::publish::sync::sha256_hex(b"<h1>Summer offer</h1>")
    );
    assert!(server.get(CONTENT_NS, &new_content).is_some());
    let kv = CloudflareKv::from_settings(&settings.kv).unwrap().unwrap();
    let report = drift::observe(&store, &kv).await.unwrap();
    assert!(report.is_clean(), "{}", report.render());
    // Nothing left to collect; the built-in pages are still named.
    assert_eq!(
        publisher.collect_content(now + 7_200_000).await.unwrap(),
        Some(0)
    );
    publisher.release().await;
    store.close().await;
}

both_stores!(unreferenced_content_stays_for_the_delay_then_is_deleted);
