//! Writes KV refuses for good are parked, so they block neither other keys
//! nor other accounts; the operator sees them (and the outbox) through the
//! admin endpoints and can send them again.

use portico_control::publish::{Drained, PublishSettings};
use portico_control::store::outbox::Namespace;
use portico_control::store::{now_ms, parked};
use portico_tests::cloudflare_kv::Fault;
use serde_json::Value;

use crate::both_stores;
use crate::fencing::{open_store, publisher, put};
use crate::helpers::{
    cloudflare_settings, kv_server, spawn_app, start, Db, TestDatabase, ADMIN_TOKEN, ROUTES_NS,
};

const REFUSED: Fault = Fault {
    status: 400,
    retry_after: None,
};

async fn parked_keys(app: &crate::helpers::TestApp) -> Vec<Value> {
    let (status, body) = app.get("/v1/admin/publishing/parked", ADMIN_TOKEN).await;
    assert_eq!(status, 200, "{body}");
    body["parked"].as_array().unwrap().clone()
}

async fn a_refused_key_is_parked_and_everything_else_publishes(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    let app = start(&settings).await;
    let (status, status_body) = app.get("/v1/admin/publishing", ADMIN_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(status_body["depth"], 0);
    assert_eq!(status_body["parked"], 0);
    assert!(status_body["oldest_age_seconds"].is_null());

    // Two writes Workers KV refuses: a key it never takes (refused by the
    // API, found by splitting the batch) and one over 512 bytes (refused
    // by the client before sending), queued among other accounts' writes.
    let long_key = format!("v1/h/{}", "a".repeat(600));
    put(app.store(), Namespace::Routes, ".", "{}").await;
    put(app.store(), Namespace::Routes, &long_key, "{}").await;
    app.account("katie").await;
    app.account("bob").await;
    app.published().await;
    for host in ["katie", "bob"] {
        assert!(
            server
                .get(ROUTES_NS, &format!("v1/h/{host}.portico.test"))
                .is_some(),
            "{host}"
        );
    }
    let parked = parked_keys(&app).await;
    let keys: Vec<&str> = parked.iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert_eq!(keys, vec![".", long_key.as_str()]);
    for write in &parked {
        assert_eq!(write["namespace"], "routes");
        assert_eq!(write["op"], "put");
        assert_eq!(write["attempts"], 1);
        assert!(write["id"].is_i64());
        assert!(write["parked_at"].is_string());
        assert!(write["retry_requested_at"].is_null());
        assert!(!write["error"].as_str().unwrap().is_empty());
    }
    assert!(
        parked[0]["error"].as_str().unwrap().contains("400"),
        "{}",
        parked[0]
    );

    let (_, status_body) = app.get("/v1/admin/publishing", ADMIN_TOKEN).await;
    assert_eq!(status_body["depth"], 0);
    assert_eq!(status_body["parked"], 2);
    let leader = &status_body["leader"];
    assert!(leader["holder"].as_str().unwrap().starts_with("pub_"));
    assert!(leader["token"].as_i64().unwrap() >= 1);
    assert!(leader["expires_in_ms"].as_i64().unwrap() > 0);

    // KV refuses one account's write (once): parked; retried by the operator, delivered.
    server.inject(REFUSED);
    app.account("carol").await;
    app.published().await;
    assert!(server.get(ROUTES_NS, "v1/h/carol.portico.test").is_none());
    let parked = parked_keys(&app).await;
    let carol = parked
        .iter()
        .find(|p| p["key"] == "v1/h/carol.portico.test")
        .expect("carol's host is parked");
    let (status, retried) = app
        .call(
            "POST",
            &format!("/v1/admin/publishing/parked/{}/retry", carol["id"]),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{retried}");
    assert!(retried["retry_requested_at"].is_string());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.get(ROUTES_NS, "v1/h/carol.portico.test").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the retry was not sent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    while parked_keys(&app).await.len() != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "carol's write stayed parked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Retrying what KV still refuses parks it again, with another attempt counted.
    let (status, body) = app
        .call(
            "POST",
            "/v1/admin/publishing/parked/retry",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!((status, body["retried"].as_u64()), (200, Some(2)));
    while parked_keys(&app).await.iter().any(|p| p["attempts"] != 2) {
        assert!(std::time::Instant::now() < deadline, "not retried");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.stop().await;
}

async fn a_parked_write_never_overwrites_a_newer_one(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let store = open_store(&database).await;
    let server = kv_server().await;
    let publisher = publisher(&store, &server, PublishSettings::default());
    let key = "v1/h/a.example";
    let parked_count = || async { parked::count(store.pool()).await.unwrap() };

    // Parked; a newer write is queued; a retry of the parked one is asked for:
    // in one batch, the newer write wins and the parked one is dropped.
    put(&store, Namespace::Routes, key, "v1").await;
    server.inject(REFUSED);
    assert_eq!(publisher.drain_once().await.unwrap(), Drained::Delivered(1));
    assert_eq!(parked_count().await, 1);
    put(&store, Namespace::Routes, key, "v2").await;
    parked::request_retry_all(store.pool(), now_ms())
        .await
        .unwrap();
    assert_eq!(publisher.drain_once().await.unwrap(), Drained::Delivered(1));
    assert_eq!(server.get(ROUTES_NS, key).as_deref(), Some("v2"));
    assert_eq!(parked_count().await, 0);

    // Parked; a newer write is delivered: it unparks the key; nothing is left to retry.
    put(&store, Namespace::Routes, key, "v3").await;
    server.inject(REFUSED);
    publisher.drain_once().await.unwrap();
    assert_eq!(parked_count().await, 1);
    put(&store, Namespace::Routes, key, "v4").await;
    publisher.drain_once().await.unwrap();
    assert_eq!(parked_count().await, 0);
    assert_eq!(
        parked::request_retry_all(store.pool(), now_ms())
            .await
            .unwrap(),
        0
    );
    assert_eq!(publisher.drain_once().await.unwrap(), Drained::Idle);
    assert_eq!(server.get(ROUTES_NS, key).as_deref(), Some("v4"));

    // Parked and retried alone: sent again, and unparked once delivered.
    put(&store, Namespace::Routes, key, "v5").await;
    server.inject(REFUSED);
    publisher.drain_once().await.unwrap();
    assert_eq!(server.get(ROUTES_NS, key).as_deref(), Some("v4"));
    let row = parked::list(store.pool(), 0, 10).await.unwrap().remove(0);
    assert!(parked::request_retry(store.pool(), row.outbox_id, now_ms())
        .await
        .unwrap()
        .is_some());
    assert_eq!(publisher.drain_once().await.unwrap(), Drained::Delivered(1));
    assert_eq!(server.get(ROUTES_NS, key).as_deref(), Some("v5"));
    assert_eq!(parked_count().await, 0);
    store.close().await;
}

async fn admin_endpoints_need_the_admin_token(db: Db) {
    let Some((app, _database)) = spawn_app(db).await else {
        return;
    };
    let (_, account_token) = app.account("katie").await;
    let endpoints = [
        ("GET", "/v1/admin/publishing"),
        ("GET", "/v1/admin/publishing/parked"),
        ("POST", "/v1/admin/publishing/parked/retry"),
        ("POST", "/v1/admin/publishing/parked/1/retry"),
    ];
    for (method, path) in endpoints {
        let (status, body) = app.call(method, path, None, None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "{path}"
        );
        let (status, body) = app.call(method, path, Some(&account_token), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{path}"
        );
    }
    let (status, body) = app
        .call(
            "POST",
            "/v1/admin/publishing/parked/1/retry",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = app
        .get("/v1/admin/publishing/parked?limit=0", ADMIN_TOKEN)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_query"))
    );
    let (status, body) = app.get("/v1/admin/publishing", ADMIN_TOKEN).await;
    assert_eq!(status, 200);
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        vec!["depth", "leader", "oldest_age_seconds", "parked", "replica"]
    );
    app.stop().await;
}

both_stores!(
    a_refused_key_is_parked_and_everything_else_publishes,
    a_parked_write_never_overwrites_a_newer_one,
    admin_endpoints_need_the_admin_token,
);

async fn a_parked_routing_record_keeps_its_domain_waiting(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let store = open_store(&database).await;
    let server = kv_server().await;
    let publisher = publisher(&store, &server, PublishSettings::default());
    let key = "v1/h/sales.example.com";
    put(&store, Namespace::Routes, key, "{}").await;
    server.inject(REFUSED);
    assert_eq!(publisher.drain_once().await.unwrap(), Drained::Delivered(1));
    // Not in KV: the verifier must not report the domain connected.
    let pending = |keys: Vec<String>, prefixes: Vec<String>| {
        let store = store.clone();
        async move {
            portico_control::store::checks::pending_routes(store.pool(), &keys, &prefixes)
                .await
                .unwrap()
        }
    };
    assert_eq!(pending(vec![key.into()], vec![]).await, 1);
    assert_eq!(pending(vec![], vec!["v1/h/sales.".into()]).await, 1);
    assert_eq!(pending(vec!["v1/h/other.example".into()], vec![]).await, 0);
    put(&store, Namespace::Routes, key, "{}").await;
    assert_eq!(pending(vec![key.into()], vec![]).await, 2);
    publisher.drain_once().await.unwrap();
    assert_eq!(pending(vec![key.into()], vec![]).await, 0);
    store.close().await;
}

both_stores!(a_parked_routing_record_keeps_its_domain_waiting);
