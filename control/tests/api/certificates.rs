//! Certificates follow domains through the API: nothing is requested when a
//! domain is added; the first check that finds ownership proven creates its
//! Cloudflare custom hostname (for the served host), removing the domain
//! deletes it; and through the verifier's
//! lifecycle: processing while the certificate is pending or failed,
//! connected once it is active, removed when the domain is reverted, and
//! complete without any certificate under the `none` provider.

use std::time::Duration;

use portico_control::certs::sweep::{sweep, Orphan};
use portico_control::certs::{CertificateOwner, CertificateState, Certificates, Validation};
use portico_control::config::{CertificateProvider, Settings};
use portico_shared::Hostname;
use portico_tests::cloudflare_kv::KvContractServer;
use portico_tests::cloudflare_saas::{
    Fault, HostnameState, SaasContractConfig, SaasContractServer,
};
use serde_json::Value;

use crate::both_stores;
use crate::helpers::{cloudflare_settings, kv_server, start, Db, TestApp, TestDatabase, ROUTES_NS};
use crate::world::{Scenario, World};

const HOUR: i64 = 60 * 60 * 1000;

/// The custom hostnames contract server and an app whose
/// `certificate_provider = cloudflare` points at it.
pub async fn saas_server() -> SaasContractServer {
    SaasContractServer::start(SaasContractConfig::default())
        .await
        .unwrap()
}

pub fn with_cloudflare_certificates(
    mut settings: Settings,
    server: &SaasContractServer,
) -> Settings {
    // These tests script states check by check: every check reads its
    // hostname by name (paged reads: control/tests/certificates.rs).
    settings.cloudflare_paged_reads = false;
    settings.certificate_provider = CertificateProvider::Cloudflare {
        api_url: server.api_url(),
        api_token: server.config().api_token.clone(),
        zone_id: server.config().zone_id.clone(),
    };
    settings
}

async fn spawn(db: Db, server: &SaasContractServer) -> Option<(TestApp, TestDatabase)> {
    let database = TestDatabase::new(db).await?;
    let app = start(&with_cloudflare_certificates(database.settings(), server)).await;
    Some((app, database))
}

/// Waits for a background removal.
pub async fn until_gone(server: &SaasContractServer, hostname: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.get(hostname).is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{hostname} still has a custom hostname"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Nothing that costs before proof: adding creates no custom hostname; the
/// first check that finds the CNAME naming the account does, owned by the
/// domain; removing the domain deletes it.
async fn the_certificate_is_requested_once_dns_proves_ownership_and_removed_with_the_domain(
    db: Db,
) {
    let world = Scenario::simple(
        "example.test",
        "sales CNAME katie.portico.test.\nwww CNAME katie.portico.test.\n",
    )
    .start()
    .await;
    let saas = saas_server().await;
    let Some((app, _db, _kv)) = verifying_app(db, &world, Some(&saas)).await else {
        return;
    };
    let (account_id, token) = app.account("katie").await;
    let sub = app.domain(&token, SALES).await;
    // A root is served (and certified) as its www host.
    let root = app.domain(&token, "example.test").await;
    assert!(
        saas.hostnames().is_empty(),
        "nothing requested before proof"
    );
    for domain in [&sub, &root] {
        verify(&app, &token, domain["id"].as_str().unwrap()).await;
    }
    let mut names: Vec<String> = saas.hostnames().into_iter().map(|h| h.hostname).collect();
    names.sort();
    assert_eq!(names, [SALES, "www.example.test"]);
    let created = saas.get(SALES).unwrap();
    assert_eq!(
        (created.ssl["method"].as_str(), created.ssl["type"].as_str()),
        (Some("http"), Some("dv"))
    );
    // Each names its domain, so removing one domain touches no other's.
    for (domain, host) in [(&sub, SALES), (&root, "www.example.test")] {
        let owner = CertificateOwner::new(&account_id, domain["id"].as_str().unwrap());
        assert_eq!(
            saas.get(host).unwrap().custom_metadata,
            Some(owner.metadata())
        );
    }

    for domain in [&sub, &root] {
        let (status, _) = app
            .call(
                "DELETE",
                &format!("/v1/domains/{}", domain["id"].as_str().unwrap()),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, 204);
    }
    until_gone(&saas, SALES).await;
    until_gone(&saas, "www.example.test").await;
    app.stop().await;
}

async fn an_outage_does_not_fail_the_add(db: Db) {
    let server = saas_server().await;
    let Some((app, _db)) = spawn(db, &server).await else {
        return;
    };
    let (account_id, token) = app.account("katie").await;
    for _ in 0..10 {
        server.inject(Fault {
            status: 503,
            retry_after: None,
        });
    }
    let started = std::time::Instant::now();
    let domain = app.domain(&token, "sales.example.com").await;
    assert_eq!(domain["status"], "processing");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the add does not wait out the outage"
    );
    assert!(server.hostnames().is_empty());

    // The verifier's next check, once the outage is over, creates it.
    server.clear_faults();
    let owner = CertificateOwner::new(account_id, domain["id"].as_str().unwrap());
    let report = app
        .state
        .certificates
        .ensure(
            &Hostname::parse("sales.example.com").unwrap(),
            &owner,
            Validation::Http,
        )
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::Pending);
    let created = server.get("sales.example.com").unwrap();
    assert_eq!(created.custom_metadata, Some(owner.metadata()));
    app.stop().await;
}

/// The service with the verifier on `world`'s DNS, KV at a contract server,
/// and certificates from `saas` (`None`: `certificate_provider = none`).
async fn verifying_app(
    db: Db,
    world: &World,
    saas: Option<&SaasContractServer>,
) -> Option<(TestApp, TestDatabase, KvContractServer)> {
    verifying_app_with(db, world, saas, |_| {}).await
}

/// [`verifying_app`] with other settings changed by `tweak`.
pub(crate) async fn verifying_app_with(
    db: Db,
    world: &World,
    saas: Option<&SaasContractServer>,
    tweak: impl FnOnce(&mut Settings),
) -> Option<(TestApp, TestDatabase, KvContractServer)> {
    let database = TestDatabase::new(db).await?;
    let mut settings = database.settings();
    settings.verify = world.settings();
    settings.verify.publish_wait = Duration::from_secs(5);
    let kv = kv_server().await;
    settings.kv = cloudflare_settings(&kv);
    if let Some(saas) = saas {
        settings = with_cloudflare_certificates(settings, saas);
    }
    tweak(&mut settings);
    let app = start(&settings).await;
    Some((app, database, kv))
}

/// `POST /v1/domains/{id}/verify`: (status, the certificate check).
pub(crate) async fn verify(app: &TestApp, token: &str, id: &str) -> (String, Value) {
    let (status, body) = app.verify_domain(id, token).await;
    assert_eq!(status, 200, "{body}");
    let certificate = body["report"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "certificate")
        .unwrap_or_else(|| panic!("no certificate check in {body}"))
        .clone();
    (body["status"].as_str().unwrap().to_string(), certificate)
}

const POINTING: &str = "sales CNAME katie.portico.test.\n";

/// How many events of `kind` the account's activity holds.
async fn events_of(app: &TestApp, token: &str, kind: &str) -> usize {
    let (status, events) = app.get("/v1/events", token).await;
    assert_eq!(status, 200, "{events}");
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == kind)
        .count()
}
const SALES: &str = "sales.example.test";

async fn processing_while_the_certificate_is_pending_then_connected_once_active(db: Db) {
    let world = Scenario::simple("example.test", POINTING).start().await;
    let saas = saas_server().await;
    let Some((app, _db, kv)) = verifying_app(db, &world, Some(&saas)).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, SALES).await;
    let id = domain["id"].as_str().unwrap();
    assert!(saas.get(SALES).is_none(), "nothing requested when added");
    verify(&app, &token, id).await;
    assert!(
        saas.get(SALES).is_some(),
        "requested once the CNAME proves it"
    );

    // DNS is right, the certificate is not: processing, and nothing published.
    for state in [
        HostnameState::pending_validation(),
        HostnameState::pending_issuance(),
        HostnameState::pending_deployment(),
    ] {
        let label = state.ssl_status.clone();
        saas.set_state(SALES, state);
        let (status, certificate) = verify(&app, &token, id).await;
        assert_eq!(status, "processing", "{label}");
        assert_eq!(certificate["state"], "pending", "{label}: {certificate}");
        assert!(certificate["found"].as_str().unwrap().contains(&label));
        assert!(certificate["cause"].is_string(), "{label}: {certificate}");
        assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_none());
    }

    assert_eq!(events_of(&app, &token, "certificate_active").await, 0);
    saas.set_state(SALES, HostnameState::active());
    let (status, certificate) = verify(&app, &token, id).await;
    assert_eq!(status, "connected");
    assert_eq!(certificate["state"], "pass", "{certificate}");
    assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_some());
    assert_eq!(saas.count("POST"), 1, "one custom hostname, ever");
    // Told once, not at every later check.
    verify(&app, &token, id).await;
    assert_eq!(events_of(&app, &token, "certificate_active").await, 1);

    let (status, _) = app
        .call("DELETE", &format!("/v1/domains/{id}"), Some(&token), None)
        .await;
    assert_eq!(status, 204);
    until_gone(&saas, SALES).await;
    app.stop().await;
}

async fn a_failed_certificate_keeps_it_processing_with_the_cause_and_the_fix(db: Db) {
    let world = Scenario::simple("example.test", POINTING).start().await;
    let saas = saas_server().await;
    let Some((app, _db, _kv)) = verifying_app(db, &world, Some(&saas)).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, SALES).await;
    let id = domain["id"].as_str().unwrap();
    verify(&app, &token, id).await;
    for (state, who, words) in [
        (
            HostnameState::caa_blocked(),
            "customer_dns",
            "letsencrypt.org",
        ),
        (
            HostnameState::validation_timed_out(),
            "customer_dns",
            "CNAME",
        ),
        (HostnameState::blocked(), "platform", "support"),
    ] {
        let label = format!("{}/{}", state.status, state.ssl_status);
        saas.set_state(SALES, state);
        let (status, certificate) = verify(&app, &token, id).await;
        assert_eq!(status, "processing", "{label}");
        assert_eq!(certificate["state"], "fail", "{label}: {certificate}");
        assert_eq!(certificate["who"], who, "{label}: {certificate}");
        assert!(certificate["cause"].is_string(), "{label}");
        assert!(
            certificate["fix"].as_str().unwrap().contains(words),
            "{label}: {certificate}"
        );
    }
    // One event when it failed, not one per failing check.
    assert_eq!(events_of(&app, &token, "certificate_failed").await, 1);
    app.stop().await;
}

async fn a_reverted_domain_loses_its_certificate(db: Db) {
    let world = Scenario::simple("example.test", POINTING).start().await;
    let saas = saas_server().await;
    let Some((app, _db, _kv)) = verifying_app(db, &world, Some(&saas)).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, SALES).await;
    let id = domain["id"].as_str().unwrap();
    // The CNAME proves ownership; the certificate never becomes active.
    let added = {
        let mut conn = app.store().pool().acquire().await.unwrap();
        portico_control::store::domains::get_any(&mut conn, id)
            .await
            .unwrap()
            .unwrap()
            .added_at
    };
    let scheduler = app.state.verifier.clone().expect("the app has a verifier");
    assert_eq!(scheduler.tick(added).await.unwrap(), 1);
    assert!(
        saas.get(SALES).is_some(),
        "requested once proven, kept while the domain may connect"
    );
    assert_eq!(scheduler.tick(added + 24 * HOUR).await.unwrap(), 1);
    let (status, _) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(status, 404, "reverted");
    until_gone(&saas, SALES).await;
    app.stop().await;
}

async fn without_a_certificate_provider_the_lifecycle_completes(db: Db) {
    let world = Scenario::simple("example.test", POINTING).start().await;
    let Some((app, _db, kv)) = verifying_app(db, &world, None).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, SALES).await;
    let (status, certificate) = verify(&app, &token, domain["id"].as_str().unwrap()).await;
    assert_eq!(status, "connected");
    assert_eq!(certificate["state"], "pass", "{certificate}");
    assert!(
        certificate["found"]
            .as_str()
            .unwrap()
            .contains("not managed"),
        "{certificate}"
    );
    assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_some());
    app.stop().await;
}

async fn the_sweep_keeps_every_domain_s_hostname_and_finds_the_rest(db: Db) {
    let saas = saas_server().await;
    let Some((app, _db)) = spawn(db, &saas).await else {
        return;
    };
    let (account_id, token) = app.account("katie").await;
    let sales = app.domain(&token, "sales.example.com").await;
    app.domain(&token, "example.org").await;
    // Their custom hostnames, as the verifier creates them once DNS proves
    // ownership: one owned by its domain, one from before owners were
    // recorded (judged by its name).
    let owned = CertificateOwner::new(&account_id, sales["id"].as_str().unwrap());
    saas.insert_with(
        "sales.example.com",
        HostnameState::active(),
        "http",
        owned.metadata(),
    );
    saas.insert("www.example.org", HostnameState::active());
    // Removals lost to a crash: a legacy hostname (no owner recorded; judged
    // by its name) and one whose metadata names a domain that is gone.
    saas.insert("old.example.com", HostnameState::active());
    let gone = CertificateOwner::new(&account_id, "no-such-domain");
    saas.insert_with(
        "gone.example.com",
        HostnameState::active(),
        "http",
        gone.metadata(),
    );
    // Judged by the domain id its metadata names, whatever its name.
    let kept = CertificateOwner::new(&account_id, sales["id"].as_str().unwrap());
    saas.insert_with(
        "renamed.example.com",
        HostnameState::active(),
        "http",
        kept.metadata(),
    );
    let certificates = app.state.certificates.clone();
    let names = |orphans: Vec<Orphan>| -> Vec<String> {
        let mut names: Vec<String> = orphans.into_iter().map(|o| o.hostname).collect();
        names.sort();
        names
    };
    let orphans = sweep(app.store(), &certificates, false).await.unwrap();
    let owners: Vec<Option<CertificateOwner>> = orphans.iter().map(|o| o.owner.clone()).collect();
    assert!(
        owners.contains(&Some(gone)) && owners.contains(&None),
        "{owners:?}"
    );
    assert_eq!(names(orphans), ["gone.example.com", "old.example.com"]);
    assert_eq!(saas.hostnames().len(), 5, "listing deletes nothing");
    let orphans = sweep(app.store(), &certificates, true).await.unwrap();
    assert_eq!(names(orphans), ["gone.example.com", "old.example.com"]);
    let mut left: Vec<String> = saas.hostnames().into_iter().map(|h| h.hostname).collect();
    left.sort();
    assert_eq!(
        left,
        [
            "renamed.example.com",
            "sales.example.com",
            "www.example.org"
        ]
    );
    assert!(sweep(app.store(), &certificates, true)
        .await
        .unwrap()
        .is_empty());
    assert!(sweep(app.store(), &Certificates::None, true)
        .await
        .unwrap()
        .is_empty());
    app.stop().await;
}

/// A site live elsewhere: the customer proves ownership by TXT while the
/// CNAME still points at the old host. The certificate is requested with
/// TXT validation, the API returns the records Cloudflare asks for, and once
/// they exist the certificate is active — before the CNAME moves.
async fn a_txt_proof_gets_the_certificate_ready_before_the_cname_moves(db: Db) {
    let world = Scenario::simple(
        "example.test",
        "sales CNAME old-host.example.net.\n_portico-challenge.sales TXT \"portico-verification=k4tietoken\"\n",
    )
    .start()
    .await;
    let saas = saas_server().await;
    let Some((app, _db, kv)) = verifying_app(db, &world, Some(&saas)).await else {
        return;
    };
    let (account_id, token) = app.account("katie").await;
    {
        let mut conn = app.store().pool().acquire().await.unwrap();
        portico_control::store::domains::challenge_token(
            &mut conn,
            &account_id,
            &Hostname::parse(SALES).unwrap(),
            "k4tietoken",
            0,
        )
        .await
        .unwrap();
    }
    let domain = app.domain(&token, SALES).await;
    let id = domain["id"].as_str().unwrap();
    assert_eq!(
        domain["ownership_proof"]["value"],
        "portico-verification=k4tietoken"
    );
    let (_, body) = app.verify_domain(id, &token).await;
    assert_eq!(body["status"], "processing");
    let created = saas.get(SALES).expect("requested once the TXT proves it");
    assert_eq!(created.ssl["method"], "txt", "{created:?}");
    // Cloudflare's tokens are ready a few seconds later, while the hostname
    // does not CNAME to the zone yet.
    saas.set_state(SALES, HostnameState::not_cnamed());
    let (_, body) = app.verify_domain(id, &token).await;
    let records = body["report"]["certificate_records"]
        .as_array()
        .unwrap_or_else(|| panic!("no certificate records: {body}"));
    let purposes: Vec<&str> = records
        .iter()
        .map(|r| r["purpose"].as_str().unwrap())
        .collect();
    assert!(
        purposes.contains(&"ownership") && purposes.contains(&"certificate"),
        "{body}"
    );
    for record in records {
        assert_eq!(record["type"], "TXT");
        saas.add_txt(
            record["name"].as_str().unwrap(),
            record["value"].as_str().unwrap(),
        );
    }
    let (status, certificate) = verify(&app, &token, id).await;
    assert_eq!(certificate["state"], "pass", "{certificate}");
    assert_eq!(status, "processing", "served only once the CNAME moves");
    assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_none());
    app.stop().await;
}

/// Katie's site had its certificate; the DNS now names bob, who adds the
/// hostname. The custom hostname is handed over in place — same id, the
/// certificate still active, nothing deleted or created — before bob's
/// first certificate check, and bob connects at once.
async fn a_moved_hostname_keeps_its_certificate(db: Db) {
    let world = Scenario::simple("example.test", "sales CNAME bob.portico.test.\n")
        .start()
        .await;
    let saas = saas_server().await;
    let Some((app, _db, _kv)) = verifying_app(db, &world, Some(&saas)).await else {
        return;
    };
    let (katie_id, katie) = app.account("katie").await;
    let (bob_id, bob) = app.account("bob").await;
    let old = app.domain(&katie, SALES).await;
    let old_id = old["id"].as_str().unwrap();
    app.connect(old_id).await;
    let katie_owner = CertificateOwner::new(&katie_id, old_id);
    let id = saas.insert_with(
        SALES,
        HostnameState::active(),
        "http",
        katie_owner.metadata(),
    );

    let (status, added) = app
        .post(
            "/v1/domains",
            &bob,
            serde_json::json!({ "hostname": SALES }),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let new_id = added["id"].as_str().unwrap();
    let (status, certificate) = verify(&app, &bob, new_id).await;
    assert_eq!(certificate["state"], "pass", "{certificate}");
    assert_eq!(status, "connected");
    let now = saas.get(SALES).unwrap();
    assert_eq!(now.id, id, "the same custom hostname");
    assert_eq!(
        now.custom_metadata,
        Some(CertificateOwner::new(&bob_id, new_id).metadata())
    );
    assert_eq!((saas.count("POST"), saas.count("DELETE")), (0, 0));
    app.stop().await;
}

both_stores!(
    a_moved_hostname_keeps_its_certificate,
    a_txt_proof_gets_the_certificate_ready_before_the_cname_moves,
    the_certificate_is_requested_once_dns_proves_ownership_and_removed_with_the_domain,
    an_outage_does_not_fail_the_add,
    processing_while_the_certificate_is_pending_then_connected_once_active,
    a_failed_certificate_keeps_it_processing_with_the_cause_and_the_fix,
    a_reverted_domain_loses_its_certificate,
    without_a_certificate_provider_the_lifecycle_completes,
    the_sweep_keeps_every_domain_s_hostname_and_finds_the_rest,
);
