//! What the edge serves reaches KV: through the outbox, to the Workers KV
//! contract server, in order, surviving faults and restarts.

use std::sync::Arc;
use std::time::Duration;

use portico_control::publish::{BoxFuture, Drained, KvBackend, KvError, KvPut, NoKv, Publisher};
use portico_control::store::{outbox, Store};
use portico_shared::{HostRecord, PathRecord, Target};
use portico_tests::cloudflare_kv::Fault;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::both_stores;
use crate::helpers::{
    cloudflare_settings, kv_server, local_settings, start, Db, TestDatabase, CONTENT_NS, ROUTES_NS,
};

fn digest(html: &str) -> String {
    hex::encode(Sha256::digest(html.as_bytes()))
}

fn host_record(value: Option<String>) -> HostRecord {
    HostRecord::decode(value.expect("host record published").as_bytes()).unwrap()
}

fn site_targets(record: HostRecord) -> (Target, Target) {
    match record {
        HostRecord::Site {
            index, not_found, ..
        } => (index, not_found),
        other => panic!("not a site: {other:?}"),
    }
}

/// Every content key a routing put named was put before it.
fn assert_content_first(server: &portico_tests::cloudflare_kv::KvContractServer) {
    let mut content = std::collections::HashSet::new();
    for request in server.accepted() {
        if request.namespace == CONTENT_NS && request.op == "put" {
            content.extend(request.keys.iter().cloned());
        }
        if request.namespace == ROUTES_NS && request.op == "put" {
            let routes = server.entries(ROUTES_NS);
            for key in &request.keys {
                if let Some(value) = routes.get(key) {
                    for name in value
                        .split('"')
                        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                    {
                        assert!(
                            content.contains(&format!("v1/c/{name}")),
                            "{key} names {name} before its content was put"
                        );
                    }
                }
            }
        }
    }
}

async fn publishes_what_the_edge_serves(db: Db, local: bool) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let mut settings = database.settings();
    settings.kv = if local {
        local_settings(&server)
    } else {
        cloudflare_settings(&server)
    };
    // As with a certificate provider (resolve sets 0 without one).
    settings.hsts_max_age_s = 600;
    let app = start(&settings).await;

    // An account's platform host is always served, with the platform defaults.
    let (_, token) = app.account("katie").await;
    app.published().await;
    let (index, not_found) = site_targets(host_record(
        server.get(ROUTES_NS, "v1/h/katie.portico.test"),
    ));
    for target in [index, not_found] {
        let Target::Page { digest } = target else {
            panic!("default targets are pages")
        };
        let html = server
            .get(CONTENT_NS, &format!("v1/c/{}", digest.as_str()))
            .expect("default page content");
        assert_eq!(self::digest(&html), digest.as_str());
    }

    // A page linked on the platform host: content, then its path record.
    let page = app.page(&token, "Offer", "<h1>Offer v1</h1>").await;
    let (status, _) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "path": "offer" }),
        )
        .await;
    assert_eq!(status, 201);
    app.published().await;
    let v1 = digest("<h1>Offer v1</h1>");
    assert_eq!(
        server.get(CONTENT_NS, &format!("v1/c/{v1}")).as_deref(),
        Some("<h1>Offer v1</h1>")
    );
    let path = PathRecord::decode(
        server
            .get(ROUTES_NS, "v1/p/katie.portico.test/offer")
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert!(matches!(path.entries[0].target, Target::Page { ref digest } if digest.as_str() == v1));

    // A processing domain is not published; a connected root publishes www and the bare root's redirect.
    let domain = app.domain(&token, "example.com").await;
    let domain_id = domain["id"].as_str().unwrap();
    app.post(
        "/v1/links",
        &token,
        json!({ "page_id": page["id"], "domain_id": domain_id, "path": "sales" }),
    )
    .await;
    app.published().await;
    assert!(server.get(ROUTES_NS, "v1/h/www.example.com").is_none());
    assert!(server
        .get(ROUTES_NS, "v1/p/www.example.com/sales")
        .is_none());
    app.connect(domain_id).await;
    app.published().await;
    let www = host_record(server.get(ROUTES_NS, "v1/h/www.example.com"));
    // Connected (so its certificate is active): HSTS on its host and its paths.
    assert_eq!(www.hsts(), Some(600));
    let sales = |server: &portico_tests::cloudflare_kv::KvContractServer| {
        PathRecord::decode(
            server
                .get(ROUTES_NS, "v1/p/www.example.com/sales")
                .unwrap()
                .as_bytes(),
        )
        .unwrap()
    };
    assert_eq!(sales(&server).hsts, Some(600));
    // Never on the platform's own host (the platform's zone sets its own policy).
    assert_eq!(
        host_record(server.get(ROUTES_NS, "v1/h/katie.portico.test")).hsts(),
        None
    );
    site_targets(www);
    // Disconnected but still published (the grace period): no HSTS; back on reconnecting.
    portico_control::lifecycle::mark_disconnected(
        &app.state.units,
        domain_id,
        "the CNAME is gone",
        app.state.clock.now_ms(),
    )
    .await
    .unwrap();
    app.published().await;
    let www = host_record(server.get(ROUTES_NS, "v1/h/www.example.com"));
    assert_eq!((www.hsts(), sales(&server).hsts), (None, None));
    app.connect(domain_id).await;
    app.published().await;
    let www = host_record(server.get(ROUTES_NS, "v1/h/www.example.com"));
    assert_eq!((www.hsts(), sales(&server).hsts), (Some(600), Some(600)));
    assert_eq!(
        host_record(server.get(ROUTES_NS, "v1/h/example.com")),
        HostRecord::redirect(portico_shared::Hostname::parse("www.example.com").unwrap())
    );
    assert!(server
        .get(ROUTES_NS, "v1/p/www.example.com/sales")
        .is_some());
    let (_, read) = app.get(&format!("/v1/domains/{domain_id}"), &token).await;
    assert_eq!(read["status"], "connected");
    assert!(read["connected_at"].is_string());

    // Settings: Index a page, 404 an external URL.
    let home = app.page(&token, "Home", "<h1>Home</h1>").await;
    let (status, _) = app
        .call(
            "PUT",
            &format!("/v1/domains/{domain_id}/settings"),
            Some(&token),
            Some(json!({ "index": { "type": "page", "page_id": home["id"] }, "not_found": { "type": "url", "url": "https://other.org/404" } })),
        )
        .await;
    assert_eq!(status, 200);
    app.published().await;
    let (index, not_found) =
        site_targets(host_record(server.get(ROUTES_NS, "v1/h/www.example.com")));
    assert!(
        matches!(index, Target::Page { ref digest } if digest.as_str() == self::digest("<h1>Home</h1>"))
    );
    assert_eq!(
        not_found,
        Target::External {
            url: "https://other.org/404".into()
        }
    );

    // New content: a new content key and every path that shows the page follows.
    app.call(
        "PATCH",
        &format!("/v1/pages/{}", page["id"].as_str().unwrap()),
        Some(&token),
        Some(json!({ "content": "<h1>Offer v2</h1>" })),
    )
    .await;
    app.published().await;
    let v2 = digest("<h1>Offer v2</h1>");
    assert_eq!(
        server.get(CONTENT_NS, &format!("v1/c/{v2}")).as_deref(),
        Some("<h1>Offer v2</h1>")
    );
    for key in [
        "v1/p/katie.portico.test/offer",
        "v1/p/www.example.com/sales",
    ] {
        let record = PathRecord::decode(server.get(ROUTES_NS, key).unwrap().as_bytes()).unwrap();
        assert!(
            matches!(record.entries[0].target, Target::Page { ref digest } if digest.as_str() == v2),
            "{key}"
        );
    }

    // Removing the domain deletes all its keys; the platform host stays.
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/domains/{domain_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    app.published().await;
    let routes = server.entries(ROUTES_NS);
    assert!(
        routes.keys().all(|k| !k.contains("example.com")),
        "{:?}",
        routes.keys()
    );
    assert!(routes.contains_key("v1/h/katie.portico.test"));
    assert!(routes.contains_key("v1/p/katie.portico.test/offer"));

    // Deleting the link unpublishes its path.
    let (_, links) = app.get("/v1/links", &token).await;
    app.call(
        "DELETE",
        &format!("/v1/links/{}", links["links"][0]["id"].as_str().unwrap()),
        Some(&token),
        None,
    )
    .await;
    app.published().await;
    assert!(server
        .get(ROUTES_NS, "v1/p/katie.portico.test/offer")
        .is_none());

    assert_content_first(&server);
    app.stop().await;
}

async fn publishes_to_cloudflare(db: Db) {
    publishes_what_the_edge_serves(db, false).await
}

async fn publishes_to_the_local_edge(db: Db) {
    publishes_what_the_edge_serves(db, true).await
}

async fn retries_429_and_5xx_until_delivered(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    server.inject(Fault {
        status: 429,
        retry_after: Some(1),
    });
    server.inject(Fault {
        status: 503,
        retry_after: None,
    });
    server.inject(Fault {
        status: 500,
        retry_after: None,
    });
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    let app = start(&settings).await;
    let started = std::time::Instant::now();
    app.account("katie").await;
    app.published().await;
    // Retry-After: 1 was honoured.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(server.attempts() >= 5, "{} attempts", server.attempts());
    assert!(server.get(ROUTES_NS, "v1/h/katie.portico.test").is_some());
    assert_content_first(&server);
    app.stop().await;
}

async fn a_restart_converges_and_nothing_is_lost(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    // The first run cannot deliver anything: every request fails.
    for _ in 0..1000 {
        server.inject(Fault {
            status: 500,
            retry_after: None,
        });
    }
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    let page = app.page(&token, "Offer", "<h1>Offer</h1>").await;
    app.post(
        "/v1/links",
        &token,
        json!({ "page_id": page["id"], "path": "offer" }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(outbox::pending(app.store().pool()).await.unwrap() > 0);
    app.stop().await;
    assert!(server.entries(ROUTES_NS).is_empty());

    // The next run, with KV reachable again, delivers everything.
    let server = kv_server().await;
    settings.kv = cloudflare_settings(&server);
    let app = start(&settings).await;
    app.published().await;
    assert!(server.get(ROUTES_NS, "v1/h/katie.portico.test").is_some());
    assert!(server
        .get(ROUTES_NS, "v1/p/katie.portico.test/offer")
        .is_some());
    assert_eq!(
        server
            .get(CONTENT_NS, &format!("v1/c/{}", digest("<h1>Offer</h1>")))
            .as_deref(),
        Some("<h1>Offer</h1>")
    );
    assert_content_first(&server);
    app.stop().await;
}

/// A backend that acknowledges nothing: the crash-before-acknowledgement case.
struct Failing;

fn down<'a>() -> BoxFuture<'a, Result<(), KvError>> {
    Box::pin(async { Err(KvError::transient("down")) })
}

impl KvBackend for Failing {
    fn name(&self) -> &'static str {
        "failing"
    }
    fn put<'a>(
        &'a self,
        _: outbox::Namespace,
        _: &'a [KvPut],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        down()
    }
    fn delete<'a>(
        &'a self,
        _: outbox::Namespace,
        _: &'a [String],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        down()
    }
}

async fn one_publisher_at_a_time_and_rows_stay_until_acknowledged(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let store = Store::connect(&database.url, 2).await.unwrap();
    store.migrate().await.unwrap();
    {
        let mut conn = store.pool().acquire().await.unwrap();
        outbox::enqueue_put(
            &mut conn,
            outbox::Namespace::Routes,
            "v1/h/x.example",
            "{}",
            0,
        )
        .await
        .unwrap();
    }
    let publisher = |backend: Arc<dyn KvBackend>| {
        Publisher::new(
            store.clone(),
            backend,
            100,
            Duration::from_millis(10),
            Arc::new(Notify::new()),
        )
    };
    // A failed delivery keeps every row.
    let failing = publisher(Arc::new(Failing));
    assert!(failing.drain_once().await.is_err());
    assert_eq!(outbox::pending(store.pool()).await.unwrap(), 1);
    // It holds the lease: another replica does not publish meanwhile.
    let second = publisher(Arc::new(NoKv));
    assert_eq!(second.drain_once().await.unwrap(), Drained::NotLeader);
    assert_eq!(outbox::pending(store.pool()).await.unwrap(), 1);
    // Once the holder lets go (as at shutdown), the other delivers.
    failing.release().await;
    assert_eq!(second.drain_once().await.unwrap(), Drained::Delivered(1));
    assert_eq!(second.drain_once().await.unwrap(), Drained::Idle);
    assert_eq!(outbox::pending(store.pool()).await.unwrap(), 0);
    assert_eq!(failing.drain_once().await.unwrap(), Drained::NotLeader);
    store.close().await;
}

both_stores!(
    publishes_to_cloudflare,
    publishes_to_the_local_edge,
    retries_429_and_5xx_until_delivered,
    a_restart_converges_and_nothing_is_lost,
    one_publisher_at_a_time_and_rows_stay_until_acknowledged,
);

/// Signals when a put starts, then takes a while to acknowledge it.
struct Slow {
    started: Arc<Notify>,
    delivered: Arc<std::sync::atomic::AtomicUsize>,
}

impl KvBackend for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }
    fn put<'a>(
        &'a self,
        _: outbox::Namespace,
        pairs: &'a [KvPut],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        Box::pin(async move {
            self.started.notify_one();
            tokio::time::sleep(Duration::from_millis(700)).await;
            self.delivered
                .fetch_add(pairs.len(), std::sync::atomic::Ordering::SeqCst);
            Ok(())
        })
    }
    fn delete<'a>(
        &'a self,
        _: outbox::Namespace,
        _: &'a [String],
    ) -> BoxFuture<'a, Result<(), KvError>> {
        Box::pin(async { Ok(()) })
    }
}

async fn shutdown_finishes_the_batch_in_flight(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let started = Arc::new(Notify::new());
    let delivered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backend = Arc::new(Slow {
        started: started.clone(),
        delivered: delivered.clone(),
    });
    let app = crate::helpers::start_with_backend(&database.settings(), backend).await;
    app.account("katie").await;
    // The publisher is inside its first put: stop now.
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .unwrap();
    let store = Store::connect(&database.url, 1).await.unwrap();
    app.stop().await;
    assert!(delivered.load(std::sync::atomic::Ordering::SeqCst) > 0);
    // The batch was acknowledged and its rows deleted before the publisher stopped.
    assert_eq!(outbox::pending(store.pool()).await.unwrap(), 0);
    store.close().await;
}

both_stores!(shutdown_finishes_the_batch_in_flight);

async fn republishing_converges_after_the_platform_domain_changes(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    let app = start(&settings).await;
    app.account("katie").await;
    app.published().await;
    assert!(server.get(ROUTES_NS, "v1/h/katie.portico.test").is_some());
    // Nothing changed: nothing to write.
    let written =
        portico_control::publish::sync::republish_all(app.store(), &app.state.units.records)
            .await
            .unwrap();
    assert_eq!(written, 0);
    app.stop().await;

    settings.platform_domain = portico_shared::PlatformDomain::parse("pages.example.net").unwrap();
    let app = start(&settings).await;
    let written =
        portico_control::publish::sync::republish_all(app.store(), &app.state.units.records)
            .await
            .unwrap();
    assert_eq!(written, 2, "one put, one delete");
    app.state.published();
    app.published().await;
    assert!(server.get(ROUTES_NS, "v1/h/katie.portico.test").is_none());
    assert!(server
        .get(ROUTES_NS, "v1/h/katie.pages.example.net")
        .is_some());
    app.stop().await;
}

both_stores!(republishing_converges_after_the_platform_domain_changes);

#[tokio::test]
async fn bulk_requests_stay_within_the_api_limits() {
    use portico_control::publish::kv_cloudflare::CloudflareKv;
    let server = kv_server().await;
    let client = CloudflareKv::from_settings(&cloudflare_settings(&server))
        .unwrap()
        .unwrap();
    let pairs: Vec<KvPut> = (0..10_001)
        .map(|i| KvPut {
            key: format!("v1/h/host{i}.example"),
            value: "{}".into(),
        })
        .collect();
    client.put(outbox::Namespace::Routes, &pairs).await.unwrap();
    let keys: Vec<String> = pairs.iter().map(|p| p.key.clone()).collect();
    client
        .delete(outbox::Namespace::Routes, &keys[..10_000])
        .await
        .unwrap();
    let sizes: Vec<(&str, usize)> = server
        .accepted()
        .iter()
        .map(|r| (r.op, r.keys.len()))
        .collect();
    assert_eq!(sizes, vec![("put", 10_000), ("put", 1), ("delete", 10_000)]);
    assert_eq!(server.entries(ROUTES_NS).len(), 1);

    // A refused request (here: bad credentials) is an error an operator must fix.
    let mut wrong = cloudflare_settings(&server);
    if let portico_control::config::KvSettings::Cloudflare { api_token, .. } = &mut wrong {
        *api_token = "wrong".into();
    }
    let client = CloudflareKv::from_settings(&wrong).unwrap().unwrap();
    let err = client
        .put(outbox::Namespace::Routes, &pairs[..1])
        .await
        .unwrap_err();
    assert!(err.permanent(), "{err}");
    assert_eq!(
        err.kind,
        portico_control::publish::KvFailure::Setup,
        "{err}"
    );
    assert!(err.to_string().contains("401"), "{err}");
}
