//! The `cloudflare` certificate provider against the custom hostnames
//! contract server: every state a hostname goes through, every fault, and
//! whose each hostname is (two domains' never touch each other; legacy
//! ones are adopted; a hand-over keeps the certificate; TXT validation).

use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_control::certs::cloudflare::CloudflareCertificates;
use portico_control::certs::{
    CertificateError, CertificateOwner, CertificateState, Certificates, HandOver, RecordPurpose,
    Validation, Who,
};
use portico_shared::Hostname;
use portico_tests::cloudflare_saas::{
    Fault, HostnameState, SaasContractConfig, SaasContractServer,
};

const HOST: &str = "sales.example.com";

async fn server() -> SaasContractServer {
    SaasContractServer::start(SaasContractConfig::default())
        .await
        .unwrap()
}

/// The provider, pointed at `server`; it asks for validation again on every
/// check, so tests see each refresh.
fn provider(server: &SaasContractServer) -> Certificates {
    provider_with_token(server, &server.config().api_token)
}

fn provider_with_token(server: &SaasContractServer, token: &str) -> Certificates {
    let client = CloudflareCertificates::new(&server.api_url(), &server.config().zone_id, token)
        .unwrap()
        .with_refresh_interval(Duration::ZERO);
    Certificates::Cloudflare(Arc::new(client))
}

fn host() -> Hostname {
    Hostname::parse(HOST).unwrap()
}

/// The domain most tests request certificates for.
fn owner() -> CertificateOwner {
    CertificateOwner::new("acc-katie", "dom-sales")
}

/// Another account's domain of the same name.
fn other() -> CertificateOwner {
    CertificateOwner::new("acc-bob", "dom-bob-sales")
}

/// `owner()`'s certificate for `HOST`, validated over HTTP.
async fn ensure(
    certs: &Certificates,
) -> Result<portico_control::certs::CertificateReport, CertificateError> {
    certs.ensure(&host(), &owner(), Validation::Http).await
}

/// Stores `owner()`'s hostname, as if created before a crash.
fn insert_owned(server: &SaasContractServer, state: HostnameState) -> String {
    server.insert_with(HOST, state, "http", owner().metadata())
}

#[tokio::test]
async fn creates_the_hostname_once_and_follows_it_to_active() {
    let server = server().await;
    let certs = provider(&server);

    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::Pending, "{report:?}");
    let created = server.get(HOST).expect("created");
    assert_eq!(created.method, "http");
    assert_eq!(created.ssl["type"], "dv");
    assert_eq!(created.custom_metadata, Some(owner().metadata()));
    assert!(
        report.records.is_empty(),
        "HTTP validation asks for no records"
    );

    let steps = [
        (
            HostnameState::not_cnamed(),
            CertificateState::Pending,
            Some(Who::Customer),
            "does not point at the platform",
        ),
        (
            HostnameState::pending_validation(),
            CertificateState::Pending,
            None,
            "validating",
        ),
        (
            HostnameState::pending_issuance(),
            CertificateState::Pending,
            None,
            "issuing",
        ),
        (
            HostnameState::pending_deployment(),
            CertificateState::Pending,
            None,
            "deploying",
        ),
        (HostnameState::active(), CertificateState::Active, None, ""),
    ];
    for (state, expected, who, cause) in steps {
        let label = format!("{}/{}", state.status, state.ssl_status);
        assert!(server.set_state(HOST, state));
        let report = ensure(&certs).await.unwrap();
        assert_eq!(
            (report.state, report.who),
            (expected, who),
            "{label}: {report:?}"
        );
        assert!(
            report.found.contains(&label.replace('/', ", certificate ")),
            "{label}: {}",
            report.found
        );
        match expected {
            CertificateState::Active => assert_eq!((report.cause, report.fix), (None, None)),
            _ => {
                assert!(report.cause.unwrap().contains(cause), "{label}");
                assert!(report.fix.is_some(), "{label}");
            }
        }
    }
    assert_eq!(server.count("POST"), 1, "never a second create");
    assert_eq!(server.hostnames().len(), 1);
    // HTTP validation: Cloudflare is asked again while validation is pending.
    assert!(server.get(HOST).unwrap().refreshes >= 2);
}

#[tokio::test]
async fn plays_a_scripted_transition_check_by_check() {
    let server = server().await;
    let certs = provider(&server);
    insert_owned(&server, HostnameState::initializing());
    server.script(
        HOST,
        [
            HostnameState::pending_validation(),
            HostnameState::pending_issuance(),
            HostnameState::active(),
        ],
    );
    let mut states = Vec::new();
    for _ in 0..3 {
        states.push(ensure(&certs).await.unwrap().state);
    }
    use CertificateState::*;
    assert_eq!(states, [Pending, Pending, Active]);
}

#[tokio::test]
async fn finds_a_hostname_created_before_a_crash_instead_of_creating_another() {
    let server = server().await;
    let certs = provider(&server);
    let id = insert_owned(&server, HostnameState::not_cnamed());
    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::Pending);
    assert_eq!(server.count("POST"), 0);
    assert_eq!(server.hostnames().len(), 1);
    assert_eq!(server.get(HOST).unwrap().id, id);
}

#[tokio::test]
async fn a_duplicate_answer_adopts_the_hostname_already_there() {
    let server = server().await;
    let certs = provider(&server);
    // Another replica created it between this one's lookup and its create.
    let id = insert_owned(&server, HostnameState::pending_issuance());
    server.hide_from_next_list(HOST);
    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::Pending, "{report:?}");
    assert!(
        report.found.contains("pending_issuance"),
        "{}",
        report.found
    );
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "POST", "GET"]);
    assert_eq!(server.hostnames().len(), 1);
    assert_eq!(server.get(HOST).unwrap().id, id);
}

#[tokio::test]
async fn only_the_exact_name_counts() {
    let server = server().await;
    let certs = provider(&server);
    // `?hostname=` matches these too; they are other customers' hostnames.
    server.insert("shop.sales.example.com", HostnameState::active());
    server.insert("sales.example.com.au", HostnameState::active());
    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::Pending);
    assert_eq!(server.hostnames().len(), 3);
    certs.remove(&host(), &owner()).await.unwrap();
    let left: Vec<String> = server.hostnames().into_iter().map(|h| h.hostname).collect();
    assert_eq!(left, ["shop.sales.example.com", "sales.example.com.au"]);
}

#[tokio::test]
async fn looks_through_every_page_of_matches() {
    let server = server().await;
    let certs = provider(&server);
    for i in 0..60 {
        server.insert(
            &format!("shop{i}.sales.example.com"),
            HostnameState::active(),
        );
    }
    // Stored last, so listed on the second page of 50.
    let id = insert_owned(&server, HostnameState::active());
    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::Active, "{report:?}");
    assert_eq!(server.count("POST"), 0);
    assert!(server.requests().iter().any(|r| r.uri.contains("page=2")));
    certs.remove(&host(), &owner()).await.unwrap();
    assert!(server.hostnames().iter().all(|h| h.id != id));
    assert_eq!(server.hostnames().len(), 60);
}

#[tokio::test]
async fn a_deleted_hostname_is_created_again() {
    let server = server().await;
    let certs = provider(&server);
    let old = server.insert(HOST, HostnameState::new("deleted", "deleted"));
    ensure(&certs).await.unwrap();
    assert_eq!(server.count("POST"), 1);
    assert!(server
        .hostnames()
        .iter()
        .any(|h| h.id != old && h.hostname == HOST));
}

#[tokio::test]
async fn failures_say_why_and_what_to_do_and_stalled_validation_is_restarted() {
    let server = server().await;
    let certs = provider(&server);
    insert_owned(&server, HostnameState::validation_timed_out());
    let report = ensure(&certs).await.unwrap();
    assert_eq!(
        (report.state, report.who),
        (CertificateState::Failed, Some(Who::Customer))
    );
    assert!(report.cause.unwrap().contains("could not validate"));
    assert!(report.fix.unwrap().contains("CNAME"));
    // The report says what happened; Cloudflare was asked to try again.
    let stored = server.get(HOST).unwrap();
    assert_eq!(
        (stored.refreshes, stored.state.ssl_status.as_str()),
        (1, "pending_validation")
    );
    assert_eq!(
        ensure(&certs).await.unwrap().state,
        CertificateState::Pending
    );

    server.set_state(HOST, HostnameState::caa_blocked());
    let report = ensure(&certs).await.unwrap();
    assert_eq!(
        (report.state, report.who),
        (CertificateState::Failed, Some(Who::Customer))
    );
    assert!(report.cause.unwrap().contains("CAA"));
    assert!(report.fix.unwrap().contains("letsencrypt.org"));

    server.set_state(HOST, HostnameState::moved());
    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::Failed);
    assert_eq!(
        server.get(HOST).unwrap().state.status,
        "pending",
        "refreshed"
    );

    server.set_state(HOST, HostnameState::blocked());
    let refreshes = server.get(HOST).unwrap().refreshes;
    let report = ensure(&certs).await.unwrap();
    assert_eq!(
        (report.state, report.who),
        (CertificateState::Failed, Some(Who::Platform))
    );
    assert!(report.fix.unwrap().contains("support"));
    assert_eq!(
        server.get(HOST).unwrap().refreshes,
        refreshes,
        "no point asking again"
    );
}

#[tokio::test]
async fn retries_rate_limits_and_server_errors() {
    let server = server().await;
    let certs = provider(&server);
    server.inject(Fault {
        status: 429,
        retry_after: Some(1),
    });
    server.inject(Fault {
        status: 502,
        retry_after: None,
    });
    let started = Instant::now();
    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::Pending);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    // Two faults, then the lookup, the create and the refresh.
    assert_eq!(server.count("GET"), 3);
    assert_eq!(server.count("POST"), 1);
}

#[tokio::test]
async fn reports_unavailable_when_faults_outlast_the_budget() {
    let server = server().await;
    let certs = provider(&server);
    for _ in 0..5 {
        server.inject(Fault {
            status: 503,
            retry_after: None,
        });
    }
    let err = ensure(&certs).await.unwrap_err();
    assert!(matches!(err, CertificateError::Unavailable(_)), "{err}");
    assert_eq!(server.requests().len(), 5);

    // Inside an API request: two attempts, quickly.
    for _ in 0..2 {
        server.inject(Fault {
            status: 500,
            retry_after: None,
        });
    }
    let started = Instant::now();
    let err = certs
        .request(&host(), &owner(), Validation::Http)
        .await
        .unwrap_err();
    assert!(matches!(err, CertificateError::Unavailable(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // A Retry-After beyond the budget ends the retries at once.
    server.inject(Fault {
        status: 429,
        retry_after: Some(600),
    });
    let before = server.requests().len();
    let err = ensure(&certs).await.unwrap_err();
    assert!(err.to_string().contains("429"), "{err}");
    assert_eq!(server.requests().len(), before + 1);
    assert!(server.hostnames().is_empty());
}

#[tokio::test]
async fn a_hanging_api_never_holds_a_request_or_a_check_for_long() {
    let server = server().await;
    let certs = provider(&server);
    server.stall(Duration::from_secs(60));
    let started = Instant::now();
    let err = certs
        .request(&host(), &owner(), Validation::Http)
        .await
        .unwrap_err();
    assert!(matches!(err, CertificateError::Unavailable(_)), "{err}");
    let waited = started.elapsed();
    assert!(
        waited >= portico_control::certs::REQUEST_DEADLINE
            && waited < portico_control::certs::REQUEST_DEADLINE + Duration::from_secs(2),
        "{waited:?}"
    );
    // The next check, with the API answering again, carries on.
    assert_eq!(
        ensure(&certs).await.unwrap().state,
        CertificateState::Pending
    );
    assert_eq!(server.hostnames().len(), 1);
}

#[tokio::test]
async fn a_refused_token_is_reported_not_retried() {
    let server = server().await;
    let certs = provider_with_token(&server, "revoked-token");
    let err = ensure(&certs).await.unwrap_err();
    assert!(matches!(err, CertificateError::Refused(_)), "{err}");
    assert!(err.to_string().contains("SSL and Certificates"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn removal_deletes_the_hostname_and_is_idempotent() {
    let server = server().await;
    let certs = provider(&server);
    ensure(&certs).await.unwrap();
    certs.remove(&host(), &owner()).await.unwrap();
    assert!(server.get(HOST).is_none());
    assert_eq!(server.count("DELETE"), 1);
    certs.remove(&host(), &owner()).await.unwrap();
    assert_eq!(server.count("DELETE"), 1, "nothing left to delete");

    insert_owned(&server, HostnameState::active());
    server.inject(Fault {
        status: 502,
        retry_after: None,
    });
    certs.remove(&host(), &owner()).await.unwrap();
    assert!(server.get(HOST).is_none(), "retried through the fault");
}

#[tokio::test]
async fn the_none_provider_says_certificates_are_not_managed() {
    let report = Certificates::None
        .ensure(&host(), &owner(), Validation::Txt)
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::NotManaged);
    assert!(report.found.contains("not managed"), "{}", report.found);
    assert!(report.found.contains(HOST));
    assert_eq!((report.cause, report.fix, report.who), (None, None, None));
    assert!(report.records.is_empty());
    Certificates::None.remove(&host(), &owner()).await.unwrap();
    assert_eq!(
        Certificates::None
            .hand_over(&host(), &owner(), &other())
            .await
            .unwrap(),
        HandOver::NotManaged
    );
}

/// `portico-control sweep-certificates [--delete]` against the contract server.
async fn sweep_command(
    server: &SaasContractServer,
    data_dir: &std::path::Path,
    delete: bool,
) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_portico-control"));
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("PORTICO_")) {
        command.env_remove(name);
    }
    command
        .arg("sweep-certificates")
        .env("PORTICO_DATA_DIR", data_dir)
        .env("PORTICO_CERTIFICATE_PROVIDER", "cloudflare")
        .env("PORTICO_CLOUDFLARE_API_URL", server.api_url())
        .env("PORTICO_CLOUDFLARE_API_TOKEN", &server.config().api_token)
        .env("PORTICO_CLOUDFLARE_ZONE_ID", &server.config().zone_id);
    if delete {
        command.arg("--delete");
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_command_lists_then_deletes_hostnames_without_a_domain() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    // Legacy (no owner recorded): no domain is served at its name.
    let id = server.insert("old.example.com", HostnameState::active());
    // Its metadata names a domain the (empty) store does not have.
    let gone = server.insert_with(
        "gone.example.com",
        HostnameState::pending_validation(),
        "http",
        owner().metadata(),
    );
    let listed = sweep_command(&server, dir.path(), false).await;
    assert!(
        listed.contains(&format!("old.example.com\tactive\t{id}")),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("gone.example.com\tpending\t{gone}")),
        "{listed}"
    );
    assert!(listed.contains("--delete"), "{listed}");
    assert_eq!(server.hostnames().len(), 2, "listing deletes nothing");
    let deleted = sweep_command(&server, dir.path(), true).await;
    assert!(deleted.contains("deleted 2"), "{deleted}");
    assert!(server.hostnames().is_empty());
    let again = sweep_command(&server, dir.path(), true).await;
    assert!(
        again.contains("every custom hostname belongs to a domain"),
        "{again}"
    );
}

#[tokio::test]
async fn two_domains_hostnames_never_touch_each_other() {
    let server = server().await;
    let certs = provider(&server);
    ensure(&certs).await.unwrap();
    let katie = server.get(HOST).unwrap();
    server.set_state(HOST, HostnameState::active());
    let before = server.requests().len();

    // Another account's domain of the same name: reported, never adopted.
    let report = certs
        .ensure(&host(), &other(), Validation::Http)
        .await
        .unwrap();
    assert_eq!(
        (report.state, report.who),
        (CertificateState::HeldElsewhere, Some(Who::Platform)),
        "{report:?}"
    );
    assert_eq!(report.holder, Some(owner()));
    assert!(!report.found.contains("acc-katie") && !report.found.contains("dom-sales"));
    let methods: Vec<String> = server.requests()[before..]
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(methods, ["GET"], "looked, changed nothing");

    // Removing the other domain leaves this one's.
    certs.remove(&host(), &other()).await.unwrap();
    certs.remove_in_background(host(), other());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.count("DELETE"), 0);
    let kept = server.get(HOST).unwrap();
    assert_eq!(
        (kept.id, kept.custom_metadata),
        (katie.id.clone(), Some(owner().metadata()))
    );
    assert_eq!(
        ensure(&certs).await.unwrap().state,
        CertificateState::Active
    );

    // Once this domain's is removed, the other's is created with its own owner.
    certs.remove(&host(), &owner()).await.unwrap();
    assert!(server.get(HOST).is_none());
    certs
        .ensure(&host(), &other(), Validation::Http)
        .await
        .unwrap();
    let created = server.get(HOST).unwrap();
    assert_ne!(created.id, katie.id);
    assert_eq!(created.custom_metadata, Some(other().metadata()));
}

#[tokio::test]
async fn a_duplicate_answer_for_another_domain_s_hostname_takes_nothing() {
    let server = server().await;
    let certs = provider(&server);
    // The other domain's was created between this lookup and this create.
    let id = server.insert_with(HOST, HostnameState::active(), "http", other().metadata());
    server.hide_from_next_list(HOST);
    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::HeldElsewhere, "{report:?}");
    assert_eq!(report.holder, Some(other()));
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "POST", "GET"]);
    let stored = server.get(HOST).unwrap();
    assert_eq!(
        (stored.id, stored.custom_metadata),
        (id, Some(other().metadata()))
    );
}

#[tokio::test]
async fn metadata_set_by_hand_is_not_portico_s_to_take() {
    let server = server().await;
    let certs = provider(&server);
    server.insert_with(
        HOST,
        HostnameState::active(),
        "http",
        serde_json::json!({ "customer_id": "12345" }),
    );
    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::HeldElsewhere);
    assert_eq!(report.holder, None);
    certs.remove(&host(), &owner()).await.unwrap();
    assert_eq!((server.count("PATCH"), server.count("DELETE")), (0, 0));
}

#[tokio::test]
async fn a_legacy_hostname_is_adopted_by_recording_its_owner() {
    let server = server().await;
    let certs = provider(&server);
    // Created before owners were recorded, when one name had one domain.
    let id = server.insert(HOST, HostnameState::active());

    // `remove` cannot tell it from another domain's not yet adopted one:
    // it stays, for the sweep (which reads the store) to judge.
    certs.remove(&host(), &owner()).await.unwrap();
    assert_eq!(server.count("DELETE"), 0);

    let report = ensure(&certs).await.unwrap();
    assert_eq!(report.state, CertificateState::Active, "{report:?}");
    let adopted = server.get(HOST).unwrap();
    assert_eq!(adopted.id, id, "the same hostname, certificate and all");
    assert_eq!(adopted.custom_metadata, Some(owner().metadata()));
    assert_eq!(adopted.state, HostnameState::active());
    assert_eq!((server.count("POST"), server.count("PATCH")), (0, 1));
    assert_eq!(
        adopted.refreshes, 0,
        "the metadata alone: no new validation"
    );

    // From now on it is this domain's: another's request leaves it be, and
    // this domain's removal deletes it.
    let report = certs
        .ensure(&host(), &other(), Validation::Http)
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::HeldElsewhere);
    certs.remove(&host(), &owner()).await.unwrap();
    assert!(server.get(HOST).is_none());
}

#[tokio::test]
async fn a_hand_over_keeps_the_hostname_and_its_active_certificate() {
    let server = server().await;
    let certs = provider(&server);
    ensure(&certs).await.unwrap();
    server.set_state(HOST, HostnameState::active());
    let id = server.get(HOST).unwrap().id;

    let moved = certs.hand_over(&host(), &owner(), &other()).await.unwrap();
    assert_eq!(moved, HandOver::Moved { id: id.clone() });
    let stored = server.get(HOST).unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(stored.custom_metadata, Some(other().metadata()));
    assert_eq!(
        stored.state,
        HostnameState::active(),
        "never without a certificate"
    );
    assert_eq!(stored.refreshes, 0);

    // The new owner finds it active; the old one no longer owns it.
    let report = certs
        .ensure(&host(), &other(), Validation::Http)
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::Active);
    assert_eq!(server.count("POST"), 1, "only the first owner's create");
    certs.remove(&host(), &owner()).await.unwrap();
    assert!(
        server.get(HOST).is_some(),
        "the old owner's removal leaves it"
    );
    assert_eq!(
        ensure(&certs).await.unwrap().state,
        CertificateState::HeldElsewhere
    );

    // Idempotent.
    let again = certs.hand_over(&host(), &owner(), &other()).await.unwrap();
    assert_eq!(again, HandOver::AlreadyThere { id: id.clone() });
    // A third domain's hand-over from the first touches nothing.
    let third = CertificateOwner::new("acc-carol", "dom-carol");
    let refused = certs.hand_over(&host(), &owner(), &third).await.unwrap();
    assert_eq!(
        refused,
        HandOver::HeldElsewhere {
            holder: Some(other())
        }
    );
    assert_eq!(
        server.get(HOST).unwrap().custom_metadata,
        Some(other().metadata())
    );
    // Nothing to hand over: `ensure` creates it for the new owner later.
    let none = certs
        .hand_over(
            &Hostname::parse("new.example.com").unwrap(),
            &owner(),
            &other(),
        )
        .await
        .unwrap();
    assert_eq!(none, HandOver::NoneExists);

    // A legacy hostname counts as the old owner's.
    let legacy = server.insert("legacy.example.com", HostnameState::active());
    let legacy_host = Hostname::parse("legacy.example.com").unwrap();
    let moved = certs
        .hand_over(&legacy_host, &owner(), &other())
        .await
        .unwrap();
    assert_eq!(moved, HandOver::Moved { id: legacy.clone() });
    assert_eq!(
        server.by_id(&legacy).unwrap().custom_metadata,
        Some(other().metadata())
    );
}

#[tokio::test]
async fn txt_validation_returns_the_records_and_goes_active_before_the_cname_moves() {
    let server = server().await;
    let certs = provider(&server);
    let report = certs
        .ensure(&host(), &owner(), Validation::Txt)
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::Pending);
    let created = server.get(HOST).unwrap();
    assert_eq!(created.method, "txt");
    assert_eq!(created.custom_metadata, Some(owner().metadata()));

    // The site is live elsewhere: the CNAME does not point at the zone.
    server.set_state(HOST, HostnameState::not_cnamed());
    let report = certs
        .ensure(&host(), &owner(), Validation::Txt)
        .await
        .unwrap();
    assert_eq!(
        (report.state, report.who),
        (CertificateState::Pending, Some(Who::Customer)),
        "{report:?}"
    );
    let stored = server.get(HOST).unwrap();
    let records: Vec<(&str, &str, &str, RecordPurpose)> = report
        .records
        .iter()
        .map(|r| {
            (
                r.record_type.as_str(),
                r.name.as_str(),
                r.value.as_str(),
                r.purpose,
            )
        })
        .collect();
    assert_eq!(
        records,
        [
            (
                "TXT",
                stored.ownership_name().as_str(),
                stored.ownership_value().as_str(),
                RecordPurpose::Ownership
            ),
            (
                "TXT",
                stored.dcv_name().as_str(),
                stored.dcv_value().as_str(),
                RecordPurpose::Certificate
            ),
        ]
    );
    let fix = report.fix.unwrap();
    assert!(fix.contains("_acme-challenge.sales.example.com"), "{fix}");

    // The customer creates exactly what the report lists.
    for record in &report.records {
        server.add_txt(&record.name, &record.value);
    }
    let report = certs
        .ensure(&host(), &owner(), Validation::Txt)
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::Active, "{report:?}");
    assert!(report.records.is_empty(), "nothing left to create");
    assert_eq!(server.count("POST"), 1);
}

#[tokio::test]
async fn switching_validation_patches_the_method_until_the_certificate_is_active() {
    let server = server().await;
    let certs = provider(&server);
    ensure(&certs).await.unwrap();
    server.set_state(HOST, HostnameState::not_cnamed());

    let report = certs
        .ensure(&host(), &owner(), Validation::Txt)
        .await
        .unwrap();
    let stored = server.get(HOST).unwrap();
    assert_eq!(stored.method, "txt");
    assert_eq!(stored.refreshes, 0, "the switch is this interval's request");
    assert_eq!(report.records.len(), 2, "{report:?}");

    ensure(&certs).await.unwrap();
    assert_eq!(server.get(HOST).unwrap().method, "http", "and back");

    // An active certificate keeps its method: a switch would validate it again.
    server.set_state(HOST, HostnameState::active());
    let patches = server.count("PATCH");
    let report = certs
        .ensure(&host(), &owner(), Validation::Txt)
        .await
        .unwrap();
    assert_eq!(report.state, CertificateState::Active);
    assert_eq!(server.count("PATCH"), patches);
    assert_eq!(server.get(HOST).unwrap().method, "http");

    // A legacy hostname is adopted and switched in one PATCH.
    let legacy = server.insert("legacy.example.com", HostnameState::pending_validation());
    let legacy_host = Hostname::parse("legacy.example.com").unwrap();
    let patches = server.count("PATCH");
    certs
        .ensure(&legacy_host, &owner(), Validation::Txt)
        .await
        .unwrap();
    let adopted = server.by_id(&legacy).unwrap();
    assert_eq!(
        (adopted.method.as_str(), adopted.custom_metadata),
        ("txt", Some(owner().metadata()))
    );
    assert_eq!(server.count("PATCH"), patches + 1);
}

#[tokio::test]
async fn a_zone_without_custom_metadata_is_reported_as_such() {
    let server = SaasContractServer::start(SaasContractConfig {
        custom_metadata: false,
        ..SaasContractConfig::default()
    })
    .await
    .unwrap();
    let certs = provider(&server);
    let err = ensure(&certs).await.unwrap_err();
    assert!(matches!(err, CertificateError::Refused(_)), "{err}");
    assert!(err.to_string().contains("custom metadata"), "{err}");
    assert!(server.hostnames().is_empty());
}
