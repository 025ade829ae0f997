//! Certificate states read in pages (`certs::cloudflare::view`) against the
//! custom hostnames contract server, which holds clients to the list
//! endpoint's paging contract: many domains' checks cost a few page reads,
//! not a lookup each, and follow Cloudflare's validation schedule.

use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_control::certs::backoff::Schedule;
use portico_control::certs::cloudflare::CloudflareCertificates;
use portico_control::certs::{
    CertificateError, CertificateOwner, CertificateState, Certificates, Validation,
};
use portico_shared::Hostname;
use portico_tests::cloudflare_saas::{HostnameState, SaasContractConfig, SaasContractServer};

const DOMAINS: usize = 120;
/// One of Cloudflare's seconds: attempt 1 comes 3 s after creation.
const UNIT: Duration = Duration::from_millis(50);

fn name(n: usize) -> String {
    format!("shop{n}.example.com")
}

fn owner(n: usize) -> CertificateOwner {
    CertificateOwner::new(format!("acc-{}", n % 7), format!("dom-{n}"))
}

/// Requests that looked one name up (`?hostname=`), and page reads of the zone.
fn reads(server: &SaasContractServer) -> (usize, usize) {
    let requests = server.requests();
    let gets = requests.iter().filter(|r| r.method == "GET");
    let by_name = gets.clone().filter(|r| r.uri.contains("hostname=")).count();
    let pages = gets
        .filter(|r| r.uri.contains("page=") && !r.uri.contains("hostname="))
        .count();
    (by_name, pages)
}

async fn check_all(certs: &Certificates) -> Vec<CertificateState> {
    let mut states = Vec::new();
    for n in 0..DOMAINS {
        let host = Hostname::parse(&name(n)).unwrap();
        let report = certs
            .ensure(&host, &owner(n), Validation::Http)
            .await
            .unwrap();
        states.push(report.state);
    }
    states
}

#[tokio::test]
async fn many_domains_checks_read_pages_on_cloudflares_schedule() {
    let server = SaasContractServer::start(SaasContractConfig::default())
        .await
        .unwrap();
    for n in 0..DOMAINS {
        server.insert_with(
            &name(n),
            HostnameState::pending_validation(),
            "http",
            owner(n).metadata(),
        );
    }
    let client = CloudflareCertificates::new(
        &server.api_url(),
        &server.config().zone_id,
        &server.config().api_token,
    )
    .unwrap()
    .with_paged_reads(Schedule { unit: UNIT });
    let client = Arc::new(client);
    let certs = Certificates::Cloudflare(client.clone());

    // The first check starts a zone read in the background and, until it
    // is done, checks ask nothing (a lookup each would spend the budget
    // the read needs): they say so.
    let host = Hostname::parse(&name(0)).unwrap();
    let first = certs.ensure(&host, &owner(0), Validation::Http).await;
    assert!(matches!(first, Err(CertificateError::Reading)), "{first:?}");
    let started = Instant::now();
    while client.zone_read_at_ms().is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "no zone read");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (by_name, pages) = reads(&server);
    // 120 hostnames, 50 a page.
    assert_eq!((by_name, pages), (0, 3));

    // Every domain checked: all from the page read, nothing asked.
    let before = server.requests().len();
    let states = check_all(&certs).await;
    assert!(states.iter().all(|s| *s == CertificateState::Pending));
    assert_eq!(
        server.requests().len(),
        before,
        "{:?}",
        &server.requests()[before..]
    );

    // Cloudflare validates them all; after its next attempt (3 s) the
    // states are stale, and the next checks start one zone read.
    for n in 0..DOMAINS {
        server.set_state(&name(n), HostnameState::active());
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let states = check_all(&certs).await;
        if states.iter().all(|s| *s == CertificateState::Active) {
            break;
        }
        assert!(Instant::now() < deadline, "not all active: {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (by_name, pages) = reads(&server);
    assert_eq!(by_name, 0, "never a lookup by name");
    assert!(
        pages >= 6 && pages % 3 == 0,
        "whole zone reads only: {pages} pages"
    );
    assert_eq!(
        server.count("PATCH"),
        0,
        "early in the schedule Cloudflare retries by itself"
    );
    assert_eq!(server.count("POST"), 0);
    // Every page asked for 50, as the contract allows (5 to 50).
    assert!(server
        .requests()
        .iter()
        .filter(|r| r.uri.contains("page="))
        .all(|r| r.uri.contains("per_page=50")));
}

#[tokio::test]
async fn a_name_no_read_listed_is_created_and_remembered() {
    let server = SaasContractServer::start(SaasContractConfig::default())
        .await
        .unwrap();
    server.insert_with(
        "old.example.com",
        HostnameState::active(),
        "http",
        owner(1).metadata(),
    );
    let client = Arc::new(
        CloudflareCertificates::new(
            &server.api_url(),
            &server.config().zone_id,
            &server.config().api_token,
        )
        .unwrap()
        .with_paged_reads(Schedule::default()),
    );
    let certs = Certificates::Cloudflare(client.clone());
    let old = Hostname::parse("old.example.com").unwrap();
    let first = certs.ensure(&old, &owner(1), Validation::Http).await;
    assert!(matches!(first, Err(CertificateError::Reading)), "{first:?}");
    while client.zone_read_at_ms().is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Created by another replica since the read: the create answers a
    // duplicate, then the name is looked up and the hostname taken.
    let theirs = server.insert_with(
        &name(2),
        HostnameState::pending_validation(),
        "http",
        owner(2).metadata(),
    );
    let host = Hostname::parse(&name(2)).unwrap();
    let report = certs
        .ensure(&host, &owner(2), Validation::Http)
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::Pending);
    assert_eq!(server.count("POST"), 1);
    assert_eq!(server.hostnames().len(), 2, "no second hostname");
    // A new name: created, then remembered; its next checks ask nothing.
    let new = Hostname::parse(&name(3)).unwrap();
    certs
        .ensure(&new, &owner(3), Validation::Http)
        .await
        .unwrap();
    let before = server.requests().len();
    for _ in 0..5 {
        certs
            .ensure(&new, &owner(3), Validation::Http)
            .await
            .unwrap();
        certs
            .ensure(&host, &owner(2), Validation::Http)
            .await
            .unwrap();
    }
    assert_eq!(server.requests().len(), before);
    assert!(server.by_id(&theirs).is_some());
    let report = certs
        .ensure(&old, &owner(1), Validation::Http)
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::Active);
}
