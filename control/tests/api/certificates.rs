//! Certificates follow domains through the API: adding a domain creates its
//! Cloudflare custom hostname (for the served host), an outage does not
//! fail the add, removing the domain deletes it.

use std::time::Duration;

use portico_control::certs::CertificateState;
use portico_control::config::{CertificateProvider, Settings};
use portico_shared::Hostname;
use portico_tests::cloudflare_saas::{Fault, SaasContractConfig, SaasContractServer};

use crate::both_stores;
use crate::helpers::{start, Db, TestApp, TestDatabase};

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
async fn until_gone(server: &SaasContractServer, hostname: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.get(hostname).is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{hostname} still has a custom hostname"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn adding_a_domain_requests_its_certificate_and_removing_it_deletes_it(db: Db) {
    let server = saas_server().await;
    let Some((app, _db)) = spawn(db, &server).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let sub = app.domain(&token, "sales.example.com").await;
    // A root is served (and certified) as its www host.
    let root = app.domain(&token, "example.org").await;
    let names: Vec<String> = server.hostnames().into_iter().map(|h| h.hostname).collect();
    assert_eq!(names, ["sales.example.com", "www.example.org"]);
    let created = server.get("sales.example.com").unwrap();
    assert_eq!(
        (created.ssl["method"].as_str(), created.ssl["type"].as_str()),
        (Some("http"), Some("dv"))
    );

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
    until_gone(&server, "sales.example.com").await;
    until_gone(&server, "www.example.org").await;
    app.stop().await;
}

async fn an_outage_does_not_fail_the_add(db: Db) {
    let server = saas_server().await;
    let Some((app, _db)) = spawn(db, &server).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
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
    let report = app
        .state
        .certificates
        .ensure(&Hostname::parse("sales.example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::Pending);
    assert!(server.get("sales.example.com").is_some());
    app.stop().await;
}

both_stores!(
    adding_a_domain_requests_its_certificate_and_removing_it_deletes_it,
    an_outage_does_not_fail_the_add,
);
