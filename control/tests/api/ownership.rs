//! One owner per hostname: a hostname another account holds (processing,
//! connected, or disconnected but still published) is refused with the TXT
//! proof's instructions and nothing about the holder; a proof in DNS (the
//! CNAME naming the claimant, or its TXT token) releases the holder and
//! moves the hostname, unpublishing the old owner's records before the new
//! owner's are published. Against DNS on loopback, on SQLite and PostgreSQL.

use portico_control::store::domains;
use portico_shared::Hostname;
use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::*;
use crate::world::{Scenario, World};
use portico_tests::cloudflare_kv::KvContractServer;

async fn app_with(db: Db, world: &World) -> Option<(TestApp, TestDatabase, KvContractServer)> {
    let database = TestDatabase::new(db).await?;
    let mut settings = database.settings();
    settings.verify = world.settings();
    let kv = kv_server().await;
    settings.kv = cloudflare_settings(&kv);
    let app = start(&settings).await;
    Some((app, database, kv))
}

/// Gives `account_id` a known proof token for `host`, as an earlier
/// `hostname_taken` answer would have.
async fn seed_token(app: &TestApp, account_id: &str, host: &str, token: &str) {
    let mut conn = app.store().pool().acquire().await.unwrap();
    let made = domains::challenge_token(
        &mut conn,
        account_id,
        &Hostname::parse(host).unwrap(),
        token,
        0,
    )
    .await
    .unwrap();
    assert_eq!(made, token);
}

async fn add(app: &TestApp, token: &str, hostname: &str) -> (u16, Value) {
    app.post("/v1/domains", token, json!({ "hostname": hostname }))
        .await
}

fn events_of(events: &Value) -> Vec<&str> {
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}

async fn a_held_hostname_is_refused_with_how_to_prove_it(db: Db) {
    let world = Scenario::simple("example.test", "").start().await;
    let Some((app, _db, _kv)) = app_with(db, &world).await else {
        return;
    };
    let (_, katie) = app.account("katie").await;
    let (_, bob) = app.account("bob").await;
    let held = app.domain(&katie, "sales.example.test").await;
    assert_eq!(
        held["ownership_proof"]["name"],
        "_portico-challenge.sales.example.test"
    );
    assert_eq!(held["ownership_proof"]["host"], "_portico-challenge.sales");

    let (status, body) = add(&app, &bob, "sales.example.test").await;
    assert_eq!(status, 409, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], "hostname_taken");
    let proof = &error["proof"];
    assert_eq!(proof["type"], "TXT");
    assert_eq!(proof["name"], "_portico-challenge.sales.example.test");
    let value = proof["value"].as_str().unwrap();
    assert!(value.starts_with("portico-verification="), "{proof}");
    assert_ne!(
        value, held["ownership_proof"]["value"],
        "each account has its own token"
    );
    assert_eq!(proof["check"]["state"], "pending", "{proof}");
    assert_eq!(proof["check"]["who"], "customer_dns", "{proof}");
    assert!(
        !body.to_string().contains("katie"),
        "never who holds it: {body}"
    );
    // The token stays the same, so a record created from the first answer holds.
    let (_, again) = add(&app, &bob, "sales.example.test").await;
    assert_eq!(again["error"]["proof"]["value"], value);
    // Nothing was created for bob, nothing changed for katie.
    let (_, list) = app.get("/v1/domains", &bob).await;
    assert_eq!(list["domains"], json!([]));
    let (_, list) = app.get("/v1/domains", &katie).await;
    assert_eq!(list["domains"][0]["status"], "processing");
    app.stop().await;
}

async fn a_txt_proof_releases_a_squatter_and_tells_it_nothing_more(db: Db) {
    let world = Scenario::simple(
        "example.test",
        "_portico-challenge.sales TXT \"portico-verification=b0b5token\"\n",
    )
    .start()
    .await;
    let Some((app, _db, _kv)) = app_with(db, &world).await else {
        return;
    };
    let (_, squatter) = app.account("squatter").await;
    let (bob_id, bob) = app.account("bob").await;
    let squatted = app.domain(&squatter, "sales.example.test").await;
    seed_token(&app, &bob_id, "sales.example.test", "b0b5token").await;

    let (status, body) = add(&app, &bob, "sales.example.test").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "processing");
    assert_ne!(body["id"], squatted["id"]);

    let (_, list) = app.get("/v1/domains", &squatter).await;
    assert_eq!(
        list["domains"],
        json!([]),
        "the squatter's claim is released"
    );
    let (_, events) = app.get("/v1/events", &squatter).await;
    assert_eq!(events_of(&events)[0], "domain_released", "{events}");
    assert!(!events.to_string().contains("bob"), "{events}");
    let (_, events) = app.get("/v1/events", &bob).await;
    assert_eq!(events_of(&events)[0], "domain_added");
    // The squatter cannot take it back without a proof of its own.
    let (status, body) = add(&app, &squatter, "sales.example.test").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("hostname_taken"))
    );
    // Bob's own report shows the proof; the certificate may now be requested.
    let id = body_id(&app, &bob).await;
    let (_, report) = app.verify_domain(&id, &bob).await;
    let ownership = check(&report["report"], "ownership");
    assert_eq!(ownership["state"], "pass", "{report}");
    assert_ne!(
        check(&report["report"], "certificate")["found"],
        "not requested yet"
    );
    app.stop().await;
}

async fn body_id(app: &TestApp, token: &str) -> String {
    let (_, list) = app.get("/v1/domains", token).await;
    list["domains"][0]["id"].as_str().unwrap().to_string()
}

async fn a_wrong_txt_is_diagnosed_and_moves_nothing(db: Db) {
    let world = Scenario::simple(
        "example.test",
        "_portico-challenge.sales TXT \"portico-verification=someone-elses\"\n",
    )
    .start()
    .await;
    let Some((app, _db, _kv)) = app_with(db, &world).await else {
        return;
    };
    let (_, katie) = app.account("katie").await;
    let (bob_id, bob) = app.account("bob").await;
    app.domain(&katie, "sales.example.test").await;
    seed_token(&app, &bob_id, "sales.example.test", "b0b5token").await;
    let (status, body) = add(&app, &bob, "sales.example.test").await;
    assert_eq!(status, 409, "{body}");
    let check = &body["error"]["proof"]["check"];
    assert_eq!(check["state"], "fail", "{body}");
    assert!(
        check["found"].as_str().unwrap().contains("someone-elses"),
        "{check}"
    );
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("portico-verification=b0b5token"),
        "{check}"
    );
    assert_eq!(check["who"], "customer_dns");
    let (_, list) = app.get("/v1/domains", &katie).await;
    assert_eq!(list["domains"].as_array().unwrap().len(), 1);
    app.stop().await;
}

async fn nothing_costly_is_requested_before_proof(db: Db) {
    let world = Scenario::simple("example.test", "").start().await;
    let Some((app, _db, _kv)) = app_with(db, &world).await else {
        return;
    };
    let (_, katie) = app.account("katie").await;
    let domain = app.domain(&katie, "sales.example.test").await;
    let id = domain["id"].as_str().unwrap();
    let (_, report) = app.verify_domain(id, &katie).await;
    let certificate = check(&report["report"], "certificate");
    assert_eq!(certificate["state"], "pending", "{report}");
    assert_eq!(certificate["found"], "not requested yet");
    let ownership = check(&report["report"], "ownership");
    assert_eq!(ownership["state"], "pending");
    assert!(
        ownership["fix"]
            .as_str()
            .unwrap()
            .contains("_portico-challenge.sales.example.test"),
        "{ownership}"
    );
    app.stop().await;
}

/// Katie's site was connected; the DNS now names bob (the domain was sold,
/// or moved to the agency's account). While katie's domain is disconnected
/// but still served (its grace period), nobody can add it without proof;
/// bob's CNAME is that proof: katie's records go, bob's come, and katie's
/// later grace expiry cannot touch bob's.
async fn a_cname_naming_the_claimant_moves_a_host_still_in_its_grace_period(db: Db) {
    let world = Scenario::simple("example.test", "sales CNAME bob.portico.test.\n")
        .start()
        .await;
    let Some((app, _db, kv)) = app_with(db, &world).await else {
        return;
    };
    let (_, katie) = app.account("katie").await;
    let (_, mallory) = app.account("mallory").await;
    let (_, bob) = app.account("bob").await;
    let page = app.page(&katie, "Katie's offer", "<h1>katie</h1>").await;
    let old = app.domain(&katie, "sales.example.test").await;
    let old_id = old["id"].as_str().unwrap();
    let (status, _) = app
        .call(
            "PUT",
            &format!("/v1/domains/{old_id}/settings"),
            Some(&katie),
            Some(json!({ "index": { "type": "page", "page_id": page["id"] } })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            "/v1/links",
            &katie,
            json!({ "page_id": page["id"], "domain_id": old_id, "path": "offer" }),
        )
        .await;
    assert_eq!(status, 201);
    app.connect(old_id).await;
    let state = &app.state;
    portico_control::lifecycle::mark_disconnected(
        &state.units,
        old_id,
        "its CNAME names another account",
        state.clock.now_ms(),
    )
    .await
    .unwrap();
    app.published().await;
    assert!(kv.get(ROUTES_NS, "v1/p/sales.example.test/offer").is_some());

    // Disconnected but published: still held. Mallory has no proof.
    let (status, body) = add(&app, &mallory, "sales.example.test").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("hostname_taken")),
        "{body}"
    );

    // Bob's CNAME proves it: the host moves, katie's records are unpublished.
    let (status, body) = add(&app, &bob, "sales.example.test").await;
    assert_eq!(status, 201, "{body}");
    let bob_id = body["id"].as_str().unwrap().to_string();
    app.published().await;
    assert!(kv.get(ROUTES_NS, "v1/p/sales.example.test/offer").is_none());
    assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_none());
    let (_, events) = app.get("/v1/events", &katie).await;
    assert_eq!(events_of(&events)[0], "domain_released", "{events}");

    let (_, verified) = app.verify_domain(&bob_id, &bob).await;
    assert_eq!(verified["status"], "connected", "{verified}");
    let record = kv
        .get(ROUTES_NS, "v1/h/sales.example.test")
        .expect("bob's host record");
    let katie_digest = page["digest"].as_str().unwrap_or("no digest");
    assert!(
        !record.contains(katie_digest),
        "never katie's page on bob's host: {record}"
    );
    assert!(kv.get(ROUTES_NS, "v1/p/sales.example.test/offer").is_none());

    // Katie's domain is gone, so no grace expiry of hers can unpublish bob's.
    let scheduler = app.state.verifier.clone().unwrap();
    let later = app.state.clock.now_ms() + 48 * 60 * 60 * 1000;
    scheduler.tick(later).await.unwrap();
    app.published().await;
    assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_some());
    let (_, domain) = app.get(&format!("/v1/domains/{bob_id}"), &bob).await;
    assert_eq!(domain["status"], "connected");
    app.stop().await;
}

both_stores!(
    a_held_hostname_is_refused_with_how_to_prove_it,
    a_txt_proof_releases_a_squatter_and_tells_it_nothing_more,
    a_wrong_txt_is_diagnosed_and_moves_nothing,
    nothing_costly_is_requested_before_proof,
    a_cname_naming_the_claimant_moves_a_host_still_in_its_grace_period,
);
