//! The CNAME diagnoses end to end, against real DNS servers on loopback:
//! the scenarios where what the servers do matters (case, several
//! nameservers, a provider recognised by its nameservers, a zone cut, a
//! wildcard). The rules' other cases are table tests over observations
//! (`control/src/verify/diagnose/tests.rs`).

use portico_control::verify::report::CheckState;
use portico_shared::lifecycle::Finding;
use portico_tests::dns::Zone;

use crate::world::*;

#[tokio::test]
async fn a_correct_cname_passes_and_the_domain_is_ready() {
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "nameservers",
        CheckState::Pass,
        &["ns1.dns-host.test"],
    );
    assert_check(&report, "cname", CheckState::Pass, &["katie.portico.test"]);
    assert_check(&report, "propagation", CheckState::Pass, &[]);
    assert_check(&report, "certificate", CheckState::Pass, &["not managed"]);
    assert_eq!(report.dns, Finding::Pointing);
    assert!(report.ready, "{report:#?}");
}

#[tokio::test]
async fn case_and_trailing_dot_do_not_matter() {
    let world = Scenario::simple("example.test", "Sales CNAME KATIE.Portico.TEST.\n")
        .start()
        .await;
    let report = verify(&world, "SALES.example.test.").await;
    assert_check(&report, "cname", CheckState::Pass, &[]);
}

#[tokio::test]
async fn another_accounts_username_cannot_connect_it() {
    let world = Scenario::simple("example.test", "sales CNAME bob.portico.test.\n")
        .start()
        .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "cname",
        CheckState::Fail,
        &["another account", "`bob`", "only the account"],
    );
    assert_eq!(report.dns, Finding::NotPointing);
    // For bob, the same record is right.
    let verifier = world.verifier(world.settings());
    let bob = verifier
        .verify(&subject("sales.example.test", Some("bob")), true, NOW)
        .await;
    assert!(bob.ready, "{bob:#?}");
}

#[tokio::test]
async fn address_records_beside_the_cname_on_another_nameserver() {
    // One nameserver has the CNAME; the other still has the parking page's AAAA.
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .nameservers(&["ns1.dns-host.test", "ns2.dns-host.test"])
        .served_by(1, "sales AAAA 2001:db8::dead\n")
        .start()
        .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "nameservers",
        CheckState::Fail,
        &["disagree", "ns2.dns-host.test", "2001:db8::dead"],
    );
    assert_eq!(report.dns, Finding::Mixed);
    assert!(!report.ready);
}

#[tokio::test]
async fn the_customers_own_cdn_proxy_hides_the_cname() {
    let world = Scenario::simple(
        "example.test",
        "sales A 104.16.132.229\nsales AAAA 2606:4700::6810:84e5\n",
    )
    .nameservers(&["pam.ns.cloudflare.com"])
    .start()
    .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "cname",
        CheckState::Fail,
        &["Cloudflare", "proxied", "DNS only (grey cloud)"],
    );
    assert_eq!(report.provider.as_ref().unwrap().name, "Cloudflare");
}

#[tokio::test]
async fn a_cname_at_the_bare_root_instead_of_www() {
    // Providers that allow it flatten or serve a CNAME at the root; here the
    // root is a name inside the zone `test` so the server will hold it.
    let world = Scenario::simple("test", "example CNAME katie.portico.test.\n")
        .start()
        .await;
    let report = verify(&world, "example.test").await;
    assert_eq!(report.served_host, "www.example.test");
    assert_check(
        &report,
        "cname",
        CheckState::Fail,
        &["bare root", "`www`", "`@`"],
    );
}

#[tokio::test]
async fn authoritative_first_resolvers_still_cached() {
    // The nameserver has the new record; resolvers still hold "no such name".
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .public("")
        .start()
        .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(&report, "cname", CheckState::Pass, &[]);
    assert_check(
        &report,
        "propagation",
        CheckState::Pending,
        &["cache", "asks your nameservers directly"],
    );
    assert!(
        report.ready,
        "propagation does not hold up connecting: {report:#?}"
    );
}

#[tokio::test]
async fn a_nameserver_that_does_not_host_the_zone() {
    // ns2 answers, but for no zone of ours: REFUSED (a lame delegation).
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .nameservers(&["ns1.dns-host.test", "ns2.dns-host.test"])
        .start()
        .await;
    drop(world.nameservers);
    let lame = portico_tests::dns::DnsServer::start(
        std::net::SocketAddr::new(portico_tests::dns::loopback(3), world.nameserver_port),
        &[Zone::new("unrelated.test", "")],
    )
    .await;
    let first = portico_tests::dns::DnsServer::start(
        std::net::SocketAddr::new(portico_tests::dns::loopback(2), world.nameserver_port),
        &[Zone::new(
            "example.test",
            "@ NS ns1.dns-host.test.\n@ NS ns2.dns-host.test.\nsales CNAME katie.portico.test.\n",
        )],
    )
    .await;
    let (Ok(_lame), Ok(_first)) = (lame, first) else {
        eprintln!("port taken meanwhile; skipped");
        return;
    };
    let world = World {
        resolver: world.resolver,
        nameservers: Vec::new(),
        nameserver_port: world.nameserver_port,
    };
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "nameservers",
        CheckState::Warn,
        &["REFUSED", "lame delegation"],
    );
    assert_check(&report, "cname", CheckState::Pass, &[]);
}

#[tokio::test]
async fn a_domain_that_does_not_exist() {
    let world = Scenario::simple("example.test", "").start().await;
    let report = verify(&world, "sales.nowhere.test").await;
    assert_check(
        &report,
        "nameservers",
        CheckState::Fail,
        &["no nameservers", "registered"],
    );
    assert_eq!(report.dns, Finding::NotPointing);
}

#[tokio::test]
async fn nameserver_addresses_can_be_given_instead_of_looked_up() {
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    // Pointed at an address where nothing answers: the override is what is asked.
    let mut settings = world.settings();
    settings.dns.nameserver_addresses = vec![("*".into(), "127.0.0.9".parse().unwrap())];
    let report = world
        .verifier(settings)
        .verify(&subject("sales.example.test", Some("katie")), true, NOW)
        .await;
    assert_check(
        &report,
        "nameservers",
        CheckState::Pending,
        &["no nameserver answered"],
    );
    let mut settings = world.settings();
    settings.dns.nameserver_addresses =
        vec![("ns1.dns-host.test".into(), "127.0.0.2".parse().unwrap())];
    let report = world
        .verifier(settings)
        .verify(&subject("sales.example.test", Some("katie")), true, NOW)
        .await;
    assert_check(&report, "cname", CheckState::Pass, &[]);
}

#[tokio::test]
async fn a_name_answered_only_by_a_wildcard_passes_with_a_warning() {
    let world = Scenario::simple("example.test", "* CNAME katie.portico.test.\n")
        .start()
        .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "cname",
        CheckState::Warn,
        &[
            "through the wildcard `*.example.test`",
            "every name under example.test",
            "silently wins",
            "create the CNAME at host `sales`",
        ],
    );
    assert_eq!(report.dns, Finding::Pointing);
    assert!(report.ready, "{report:#?}");
}

#[tokio::test]
async fn an_explicit_record_beside_a_wildcard_elsewhere_passes() {
    let world = Scenario::simple(
        "example.test",
        "* CNAME parking.example.net.\nsales CNAME katie.portico.test.\n",
    )
    .start()
    .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(&report, "cname", CheckState::Pass, &["katie.portico.test"]);
}
