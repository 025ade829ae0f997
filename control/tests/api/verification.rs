//! The verifier in the service: on demand (`POST …/verify`), on its
//! schedule (`Scheduler::tick` with the clock passed in), and the lifecycle
//! it drives — against DNS on loopback, on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use portico_control::lifecycle::scheduler::Scheduler;
use portico_control::store::checks;
use portico_tests::cloudflare_kv::Fault;

use crate::both_stores;
use crate::helpers::*;
use crate::world::{Scenario, World};

const HOUR: i64 = 60 * 60 * 1000;

async fn app_with(
    db: Db,
    world: &World,
    kv: bool,
) -> Option<(
    TestApp,
    TestDatabase,
    Option<portico_tests::cloudflare_kv::KvContractServer>,
)> {
    let database = TestDatabase::new(db).await?;
    let mut settings = database.settings();
    settings.verify = world.settings();
    settings.verify.publish_wait = Duration::from_secs(5);
    let server = if kv {
        let server = kv_server().await;
        settings.kv = cloudflare_settings(&server);
        Some(server)
    } else {
        None
    };
    let app = start(&settings).await;
    Some((app, database, server))
}

fn scheduler(app: &TestApp) -> Arc<Scheduler> {
    app.state.verifier.clone().expect("the app has a verifier")
}

async fn added_at(app: &TestApp, domain_id: &str) -> i64 {
    let mut conn = app.store().pool().acquire().await.unwrap();
    portico_control::store::domains::get_any(&mut conn, domain_id)
        .await
        .unwrap()
        .unwrap()
        .added_at
}

use crate::helpers::check as problem;

async fn verify_connects_only_once_the_record_is_in_kv(db: Db) {
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let Some((app, _db, kv)) = app_with(db, &world, true).await else {
        return;
    };
    let kv = kv.unwrap();
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.test").await;
    let id = domain["id"].as_str().unwrap();
    let (status, body) = app.verify_domain(id, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "connected", "{body}");
    assert_eq!(body["report"]["ready"], true);
    // The routing record was in KV before the status said connected.
    assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_some());
    let (_, events) = app.get("/v1/events", &token).await;
    assert_eq!(events["events"][0]["kind"], "domain_connected");
    // The summary comes with the domain, the full report at …/diagnostics.
    let (_, domain) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(domain["status"], "connected");
    assert_eq!(domain["verification"]["ready"], true, "{domain}");
    let (status, diagnostics) = app
        .get(&format!("/v1/domains/{id}/diagnostics"), &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(problem(&diagnostics["report"], "cname")["state"], "pass");
    app.stop().await;
}

async fn kv_down_keeps_it_processing_and_retries_soon(db: Db) {
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let kv = kv_server().await;
    let mut settings = database.settings();
    settings.verify = world.settings();
    settings.verify.publish_wait = Duration::from_millis(300);
    settings.kv = cloudflare_settings(&kv);
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    app.published().await;
    for _ in 0..6 {
        kv.inject(Fault {
            status: 503,
            retry_after: Some(2),
        });
    }
    let domain = app.domain(&token, "sales.example.test").await;
    let id = domain["id"].as_str().unwrap();
    let (_, body) = app.verify_domain(id, &token).await;
    assert_eq!(body["status"], "processing", "{body}");
    assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_none());
    let check = checks::get(app.store().pool(), id).await.unwrap().unwrap();
    let checked = check.checked_at.unwrap();
    assert!(check.next_check_at - checked <= 5_000, "retries soon");
    app.stop().await;
}

async fn a_wrong_record_stays_processing_with_the_diagnosis(db: Db) {
    let world = Scenario::simple("example.test", "sales CNAME bob.portico.test.\n")
        .start()
        .await;
    let Some((app, _db, _)) = app_with(db, &world, false).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.test").await;
    let id = domain["id"].as_str().unwrap();
    let (_, body) = app.verify_domain(id, &token).await;
    assert_eq!(body["status"], "processing");
    let cname = problem(&body["report"], "cname");
    assert_eq!(cname["state"], "fail");
    assert_eq!(cname["who"], "customer_dns");
    assert!(
        cname["cause"].as_str().unwrap().contains("another account"),
        "{cname}"
    );
    let (_, domain) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(domain["verification"]["ready"], false);
    assert!(domain["verification"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "cname"));
    // The list carries the same summary (dashboards show what is missing without a request per domain).
    let (_, list) = app.get("/v1/domains", &token).await;
    assert_eq!(list["domains"][0]["verification"], domain["verification"]);
    // A domain not checked yet has none.
    let unchecked = app.domain(&token, "shop.example.test").await;
    let (_, list) = app.get("/v1/domains", &token).await;
    let listed = list["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == unchecked["id"])
        .unwrap();
    assert!(listed.get("verification").is_none(), "{listed}");
    app.stop().await;
}

async fn not_connected_in_24_hours_is_reverted(db: Db) {
    let world = Scenario::simple("example.test", "").start().await;
    let Some((app, _db, _)) = app_with(db, &world, false).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.test").await;
    let id = domain["id"].as_str().unwrap().to_string();
    let added = added_at(&app, &id).await;
    let scheduler = scheduler(&app);
    // Checked within seconds of adding, then again and again: still processing.
    assert_eq!(scheduler.tick(added).await.unwrap(), 1);
    let next = checks::get(app.store().pool(), &id)
        .await
        .unwrap()
        .unwrap()
        .next_check_at;
    assert!(next - added <= 5_000);
    assert_eq!(scheduler.tick(added + 23 * HOUR).await.unwrap(), 1);
    let (status, _) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(status, 200);
    // Not before it is due…
    assert_eq!(scheduler.tick(added + 23 * HOUR + 1000).await.unwrap(), 0);
    // …and at 24 h it is reverted: removed, nothing published, an event says why.
    assert_eq!(scheduler.tick(added + 24 * HOUR).await.unwrap(), 1);
    let (status, _) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(status, 404);
    let (_, events) = app.get("/v1/events", &token).await;
    assert_eq!(events["events"][0]["kind"], "domain_expired");
    assert!(events["events"][0]["message"]
        .as_str()
        .unwrap()
        .contains("24 hours"));
    app.stop().await;
}

async fn connected_domains_disconnect_then_are_unpublished_after_the_grace_period(db: Db) {
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let kv = kv_server().await;
    let mut settings = database.settings();
    settings.verify = world.settings();
    settings.verify.policy.disconnect_grace_ms = 2 * HOUR;
    settings.kv = cloudflare_settings(&kv);
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.test").await;
    let id = domain["id"].as_str().unwrap().to_string();
    let added = added_at(&app, &id).await;
    let scheduler = scheduler(&app);
    scheduler.tick(added).await.unwrap();
    let (_, body) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(body["status"], "connected");
    // The customer points the record elsewhere.
    drop(world);
    let world = Scenario::simple("example.test", "sales CNAME katie.kartra.com.\n")
        .start()
        .await;
    let mut settings2 = settings.clone();
    settings2.verify = world.settings();
    settings2.verify.policy.disconnect_grace_ms = 2 * HOUR;
    let verifier = portico_control::verify::Verifier::new(
        settings2.verify.clone(),
        settings2.platform_domain.clone(),
        portico_control::certs::Certificates::None,
    )
    .unwrap();
    let scheduler = Arc::new(Scheduler::new(app.state.units.clone(), Arc::new(verifier)));
    // Rechecked hourly: found pointing elsewhere → disconnected, still served.
    assert_eq!(scheduler.tick(added + 2 * HOUR).await.unwrap(), 1);
    let (_, body) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(body["status"], "disconnected");
    let (_, events) = app.get("/v1/events", &token).await;
    assert_eq!(events["events"][0]["kind"], "domain_disconnected");
    assert!(
        events["events"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Kartra"),
        "{events}"
    );
    app.published().await;
    assert!(
        kv.get(ROUTES_NS, "v1/h/sales.example.test").is_some(),
        "served through the grace period"
    );
    // After the grace period: unpublished.
    assert_eq!(scheduler.tick(added + 4 * HOUR).await.unwrap(), 1);
    app.published().await;
    assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_none());
    let (_, body) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(body["status"], "disconnected");
    app.stop().await;
}

async fn a_timeout_or_servfail_alone_never_changes_a_status(db: Db) {
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let Some((app, _db, _)) = app_with(db, &world, false).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.test").await;
    let id = domain["id"].as_str().unwrap().to_string();
    let added = added_at(&app, &id).await;
    scheduler(&app).tick(added).await.unwrap();
    let port = world.nameserver_port;
    let World {
        resolver,
        nameservers,
        ..
    } = world;
    drop(nameservers);
    let Ok(broken) = portico_tests::dns::DnsServer::broken(
        std::net::SocketAddr::new(portico_tests::dns::loopback(2), port),
        Some(hickory_proto::op::ResponseCode::ServFail),
    )
    .await
    else {
        return;
    };
    let _keep = (resolver, broken);
    // Connected, then SERVFAIL at the hourly recheck and at 25 h: still connected.
    for at in [added + HOUR, added + 25 * HOUR] {
        scheduler(&app).tick(at).await.unwrap();
        let (_, body) = app.get(&format!("/v1/domains/{id}"), &token).await;
        assert_eq!(body["status"], "connected", "{body}");
    }
    app.stop().await;
}

async fn replicas_never_claim_the_same_domain(db: Db) {
    let world = Scenario::simple("example.test", "").start().await;
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let mut settings = database.settings();
    settings.verify = world.settings();
    // Only the two simulated replicas claim: the app's own schedule is off.
    settings.verify.scheduled = false;
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    for n in 0..40 {
        app.domain(&token, &format!("s{n}.example.test")).await;
    }
    let store = app.store().clone();
    let now = portico_control::store::now_ms() + 1000;
    let claim = |holder: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            checks::claim_due(store.pool(), store.backend(), holder, now, 60_000, 25)
                .await
                .unwrap()
        })
    };
    let (a, b) = (claim("replica-a"), claim("replica-b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(a.iter().all(|id| !b.contains(id)), "{a:?} {b:?}");
    assert_eq!(a.len() + b.len(), 40);
    // Claimed rows are not due again until their lease ends.
    assert!(
        checks::claim_due(store.pool(), store.backend(), "replica-c", now, 60_000, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        checks::claim_due(
            store.pool(),
            store.backend(),
            "replica-c",
            now + 61_000,
            60_000,
            100
        )
        .await
        .unwrap()
        .len(),
        40
    );
    app.stop().await;
}

async fn the_first_check_comes_within_seconds_of_adding(db: Db) {
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let mut settings = database.settings();
    settings.verify = world.settings();
    settings.verify.scheduled = true;
    settings.verify.poll_interval = Duration::from_millis(100);
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.test").await;
    let id = domain["id"].as_str().unwrap();
    let started = std::time::Instant::now();
    loop {
        let (_, body) = app.get(&format!("/v1/domains/{id}"), &token).await;
        if body["status"] == "connected" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not connected in time: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

both_stores!(
    verify_connects_only_once_the_record_is_in_kv,
    kv_down_keeps_it_processing_and_retries_soon,
    a_wrong_record_stays_processing_with_the_diagnosis,
    not_connected_in_24_hours_is_reverted,
    connected_domains_disconnect_then_are_unpublished_after_the_grace_period,
    a_timeout_or_servfail_alone_never_changes_a_status,
    replicas_never_claim_the_same_domain,
    the_first_check_comes_within_seconds_of_adding,
);
