//! A root's bare domain by address (`PUT /v1/domains/{id}/apex`): the
//! choice, the exact records it answers with, its refusals, and what is
//! published for each main address.

use portico_shared::{ApexAddresses, HostRecord, Hostname};
use serde_json::{json, Value};

use portico_control::certs::CertificateOwner;
use portico_tests::cloudflare_saas::HostnameState;

use crate::both_stores;
use crate::certificates::{saas_server, until_gone, verify, verifying_app_with};
use crate::helpers::{cloudflare_settings, kv_server, start, Db, TestDatabase, ROUTES_NS};
use crate::world::Scenario;

fn host_record(value: Option<String>) -> HostRecord {
    HostRecord::decode(value.expect("host record published").as_bytes()).unwrap()
}

fn redirect_to(host: &str) -> HostRecord {
    HostRecord::redirect(Hostname::parse(host).unwrap())
}

async fn put_apex(
    app: &crate::helpers::TestApp,
    token: &str,
    id: &str,
    body: Value,
) -> (u16, Value) {
    app.call(
        "PUT",
        &format!("/v1/domains/{id}/apex"),
        Some(token),
        Some(body),
    )
    .await
}

fn records(domain: &Value) -> Vec<(String, String, String)> {
    domain["dns_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_string(),
                r["host"].as_str().unwrap().to_string(),
                r["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn a_root_points_its_bare_domain_at_the_platforms_addresses(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    settings.verify.apex_addresses = ApexAddresses::parse("192.0.2.10, 2001:db8::10").unwrap();
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;

    let domain = app.domain(&token, "example.com").await;
    let id = domain["id"].as_str().unwrap().to_string();
    assert_eq!(domain["apex"]["setup"], "forward");
    assert_eq!(domain["apex"]["main_address"], "www");
    assert_eq!(domain["apex"]["addresses_offered"], true);
    assert_eq!(domain["apex"]["flattening_target"], "katie.portico.test");
    assert_eq!(
        domain["apex"]["address_records"],
        json!([
            { "type": "A", "host": "@", "name": "example.com", "value": "192.0.2.10" },
            { "type": "AAAA", "host": "@", "name": "example.com", "value": "2001:db8::10" },
        ])
    );
    assert_eq!(records(&domain).len(), 1, "the CNAME only, by forward");
    assert!(domain["root_forward"].is_object());

    let (status, chosen) = put_apex(&app, &token, &id, json!({ "setup": "addresses" })).await;
    assert_eq!(status, 200, "{chosen}");
    assert_eq!(chosen["apex"]["setup"], "addresses");
    assert_eq!(chosen["main_host"], "www.example.com");
    assert!(chosen["root_forward"].is_null(), "no registrar forward");
    assert_eq!(
        records(&chosen),
        [
            ("CNAME", "www", "katie.portico.test"),
            ("A", "@", "192.0.2.10"),
            ("AAAA", "@", "2001:db8::10"),
        ]
        .map(|(t, h, v)| (t.to_string(), h.to_string(), v.to_string()))
    );
    let (_, read) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(read["apex"]["setup"], "addresses", "stored: {read}");

    // Published, served at www: the bare root redirects to www.
    let page = app.page(&token, "Offer", "<h1>Offer</h1>").await;
    let (status, _) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "domain_id": id, "path": "sales" }),
        )
        .await;
    assert_eq!(status, 201);
    app.connect(&id).await;
    app.published().await;
    assert_eq!(
        host_record(server.get(ROUTES_NS, "v1/h/example.com")),
        redirect_to("www.example.com")
    );
    assert!(matches!(
        host_record(server.get(ROUTES_NS, "v1/h/www.example.com")),
        HostRecord::Site { .. }
    ));

    // The apex as the main address: served there, www redirects to it.
    let (status, at_apex) = put_apex(
        &app,
        &token,
        &id,
        json!({ "setup": "addresses", "main_address": "apex" }),
    )
    .await;
    assert_eq!(status, 200, "{at_apex}");
    assert_eq!(at_apex["main_host"], "example.com");
    assert_eq!(at_apex["served_host"], "www.example.com");
    app.published().await;
    assert!(matches!(
        host_record(server.get(ROUTES_NS, "v1/h/example.com")),
        HostRecord::Site { .. }
    ));
    assert_eq!(
        host_record(server.get(ROUTES_NS, "v1/h/www.example.com")),
        redirect_to("example.com")
    );
    assert!(server.get(ROUTES_NS, "v1/p/example.com/sales").is_some());
    assert!(
        server
            .get(ROUTES_NS, "v1/p/www.example.com/sales")
            .is_none(),
        "www only redirects"
    );
    let (_, links) = app.get("/v1/links", &token).await;
    assert!(
        links.to_string().contains("example.com/sales") && !links.to_string().contains("www."),
        "links are shown at the main address: {links}"
    );

    // Back to the forward: www again, the bare root's redirect kept.
    let (status, back) = put_apex(&app, &token, &id, json!({ "setup": "forward" })).await;
    assert_eq!(status, 200, "{back}");
    assert!(back["root_forward"].is_object());
    app.published().await;
    assert_eq!(
        host_record(server.get(ROUTES_NS, "v1/h/example.com")),
        redirect_to("www.example.com")
    );
    assert!(server
        .get(ROUTES_NS, "v1/p/www.example.com/sales")
        .is_some());
    assert!(server.get(ROUTES_NS, "v1/p/example.com/sales").is_none());
    app.stop().await;
}

async fn bad_apex_choices_are_refused_with_a_code(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let mut settings = database.settings();
    settings.verify.apex_addresses = ApexAddresses::parse("192.0.2.10").unwrap();
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    let root = app.domain(&token, "example.com").await;
    let root = root["id"].as_str().unwrap();
    let sub = app.domain(&token, "sales.example.com").await;
    assert!(sub["apex"].is_null(), "a subdomain has no bare domain");
    let sub = sub["id"].as_str().unwrap();
    let cases = [
        (
            root,
            json!({ "setup": "forward", "main_address": "apex" }),
            422,
            "apex_main_needs_addresses",
        ),
        (sub, json!({ "setup": "addresses" }), 422, "apex_not_root"),
        (root, json!({ "setup": "alias" }), 422, "invalid_body"),
        (
            root,
            json!({ "setup": "addresses", "extra": 1 }),
            422,
            "invalid_body",
        ),
        (root, json!({}), 422, "invalid_body"),
        (
            "dom_missing",
            json!({ "setup": "addresses" }),
            404,
            "not_found",
        ),
    ];
    for (id, body, status, code) in cases {
        let (got, answer) = put_apex(&app, &token, id, body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
    }
    let (_, unchanged) = app.get(&format!("/v1/domains/{root}"), &token).await;
    assert_eq!(unchanged["apex"]["setup"], "forward");
    app.stop().await;
}

async fn apex_by_address_is_not_offered_without_addresses(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let app = start(&database.settings()).await;
    let (_, token) = app.account("katie").await;
    let root = app.domain(&token, "example.com").await;
    assert_eq!(root["apex"]["addresses_offered"], false);
    assert_eq!(root["apex"]["address_records"], json!([]));
    let (status, answer) = put_apex(
        &app,
        &token,
        root["id"].as_str().unwrap(),
        json!({ "setup": "addresses" }),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "apex_addresses_not_offered");
    app.stop().await;
}

/// The bare domain gets its own custom hostname (Cloudflare for SaaS
/// contract double), owned by the domain and asked for under the same
/// rules as www's; served at the apex, connecting waits for it; back to the
/// forward, or removed, it goes.
async fn the_bare_domain_by_address_has_its_own_certificate(db: Db) {
    // `katie.portico.test` resolves to 192.0.2.10 in the world's platform zone.
    let world = Scenario::simple(
        "example.test",
        "@ A 192.0.2.10\nwww CNAME katie.portico.test.\n",
    )
    .start()
    .await;
    let saas = saas_server().await;
    let Some((app, _db, kv)) = verifying_app_with(db, &world, Some(&saas), |settings| {
        settings.verify.apex_addresses = ApexAddresses::parse("192.0.2.10").unwrap();
    })
    .await
    else {
        return;
    };
    let (account_id, token) = app.account("katie").await;
    let domain = app.domain(&token, "example.test").await;
    let id = domain["id"].as_str().unwrap().to_string();
    let (status, _) = put_apex(
        &app,
        &token,
        &id,
        json!({ "setup": "addresses", "main_address": "apex" }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        saas.hostnames().is_empty(),
        "nothing requested before proof"
    );
    verify(&app, &token, &id).await;
    let owner = CertificateOwner::new(&account_id, &id).metadata();
    for host in ["www.example.test", "example.test"] {
        let created = saas.get(host).unwrap_or_else(|| panic!("{host} requested"));
        assert_eq!(created.custom_metadata, Some(owner.clone()), "{host}");
    }

    saas.set_state("www.example.test", HostnameState::active());
    saas.set_state("example.test", HostnameState::pending_validation());
    let (status, certificate) = verify(&app, &token, &id).await;
    assert_eq!(
        status, "processing",
        "served at the apex: waits for its certificate"
    );
    assert_eq!(certificate["state"], "pending", "{certificate}");
    assert!(
        certificate["found"]
            .as_str()
            .unwrap()
            .starts_with("example.test: "),
        "{certificate}"
    );
    saas.set_state("example.test", HostnameState::active());
    let (status, certificate) = verify(&app, &token, &id).await;
    assert_eq!(status, "connected", "{certificate}");
    assert!(matches!(
        host_record(kv.get(ROUTES_NS, "v1/h/example.test")),
        HostRecord::Site { .. }
    ));

    // Back to the forward: the bare domain's certificate is no longer needed.
    let (status, _) = put_apex(&app, &token, &id, json!({ "setup": "forward" })).await;
    assert_eq!(status, 200);
    until_gone(&saas, "example.test").await;
    assert!(saas.get("www.example.test").is_some());
    let (status, _) = app
        .call("DELETE", &format!("/v1/domains/{id}"), Some(&token), None)
        .await;
    assert_eq!(status, 204);
    until_gone(&saas, "www.example.test").await;
    app.stop().await;
}

both_stores!(
    the_bare_domain_by_address_has_its_own_certificate,
    a_root_points_its_bare_domain_at_the_platforms_addresses,
    bad_apex_choices_are_refused_with_a_code,
    apex_by_address_is_not_offered_without_addresses,
);
