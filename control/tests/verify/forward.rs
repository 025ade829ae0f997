//! The root forward, against a real HTTP server playing the registrar.

use portico_control::verify::outbound::Outbound;
use portico_control::verify::report::{CheckState, Who, Works};
use portico_tests::forwarder::{Forward, Forwarder};

use crate::world::*;

const ZONE: &str = "@ A 127.0.0.1\nwww CNAME katie.portico.test.\n";

async fn forwarded(
    root: &str,
    zone: &str,
    hosts: &[(&str, Forward)],
) -> portico_control::verify::report::Report {
    let forwarder = Forwarder::start(hosts).await.unwrap();
    let world = Scenario::simple(root, zone).start().await;
    let verifier = world.verifier(world.settings_with(forwarder.addr.port()));
    verifier
        .verify(&subject(root, Some("katie")), true, NOW)
        .await
}

fn redirect(status: u16, to: &str, keep_path: bool) -> Forward {
    Forward::Redirect {
        status,
        to: to.into(),
        keep_path,
    }
}

#[tokio::test]
async fn a_permanent_forward_keeping_the_path_passes() {
    let report = forwarded(
        "example.test",
        ZONE,
        &[(
            "example.test",
            redirect(301, "https://www.example.test", true),
        )],
    )
    .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Pass,
        &["301 https://www.example.test/some/path?x=1"],
    );
    assert!(report.ready);
    let works: Vec<Works> = report.addresses.iter().map(|f| f.works).collect();
    assert_eq!(
        works,
        [
            Works::No,
            Works::Yes,
            Works::Yes,
            Works::Yes,
            Works::Yes,
            Works::Yes
        ],
        "{:#?}",
        report.addresses
    );
}

#[tokio::test]
async fn a_temporary_forward_works_but_warns() {
    for status in [302, 307] {
        let report = forwarded(
            "example.test",
            ZONE,
            &[(
                "example.test",
                redirect(status, "https://www.example.test", true),
            )],
        )
        .await;
        assert_check(
            &report,
            "root_forward",
            CheckState::Warn,
            &["temporary", "Permanent (301)"],
        );
        assert_eq!(report.addresses[1].works, Works::Yes);
    }
}

#[tokio::test]
async fn forward_path_off_drops_the_path() {
    let report = forwarded(
        "example.test",
        ZONE,
        &[(
            "example.test",
            redirect(301, "https://www.example.test/", false),
        )],
    )
    .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &["drops the path", "Forward path"],
    );
    assert_eq!(
        check(&report, "root_forward").who,
        Some(Who::RegistrarForwarding)
    );
}

#[tokio::test]
async fn a_forward_that_drops_the_query_string() {
    let report = forwarded(
        "example.test",
        ZONE,
        &[(
            "example.test",
            redirect(301, "https://www.example.test/some/path", false),
        )],
    )
    .await;
    assert_check(&report, "root_forward", CheckState::Warn, &["query string"]);
}

#[tokio::test]
async fn a_forward_to_plain_http() {
    let report = forwarded(
        "example.test",
        ZONE,
        &[(
            "example.test",
            redirect(301, "http://www.example.test", true),
        )],
    )
    .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Warn,
        &["not https://", "https://www.example.test"],
    );
}

#[tokio::test]
async fn masked_forwarding() {
    let report = forwarded(
        "example.test",
        ZONE,
        &[(
            "example.test",
            Forward::Masked {
                to: "https://www.example.test".into(),
            },
        )],
    )
    .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &["masked", "forward only"],
    );
}

#[tokio::test]
async fn a_parking_page_instead_of_a_forward() {
    let report = forwarded("example.test", ZONE, &[("example.test", Forward::Page)]).await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &["page of its own"],
    );
}

#[tokio::test]
async fn www_redirecting_back_to_the_root_is_a_loop() {
    // "Redirect www" on: the registrar took over www, which forwards back.
    let zone = "@ A 127.0.0.1\nwww A 127.0.0.1\n";
    let report = forwarded(
        "example.test",
        zone,
        &[
            (
                "example.test",
                redirect(301, "https://www.example.test", true),
            ),
            (
                "www.example.test",
                redirect(301, "http://example.test", true),
            ),
        ],
    )
    .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &["infinite loop", "do not redirect www"],
    );
}

#[tokio::test]
async fn nothing_answers() {
    let world = Scenario::simple("example.test", ZONE).start().await;
    // Port 9 (discard) is closed on loopback.
    let report = verify(&world, "example.test").await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &["nothing answers http://example.test"],
    );
    assert_eq!(report.addresses[1].works, Works::No);
}

#[tokio::test]
async fn no_address_at_the_root() {
    let world = Scenario::simple("example.test", "www CNAME katie.portico.test.\n")
        .start()
        .await;
    let report = verify(&world, "example.test").await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &["no A or AAAA records"],
    );
}

#[tokio::test]
async fn hsts_preloaded_tlds_can_never_forward_over_plain_http() {
    let world = Scenario::simple("example.app", ZONE).start().await;
    let report = verify(&world, "example.app").await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &[".app", "HSTS preload", "can never"],
    );
    assert_eq!(report.addresses[1].works, Works::No);
}

#[tokio::test]
async fn private_addresses_are_refused_unless_development_allows_them() {
    let forwarder = Forwarder::start(&[(
        "example.test",
        redirect(301, "https://www.example.test", true),
    )])
    .await
    .unwrap();
    let world = Scenario::simple("example.test", ZONE).start().await;
    let mut settings = world.settings_with(forwarder.addr.port());
    settings.dns.outbound = Outbound::PUBLIC_ONLY;
    let report = world
        .verifier(settings)
        .verify(&subject("example.test", Some("katie")), true, NOW)
        .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &["127.0.0.1", "a loopback address", "private or reserved"],
    );
    for (zone, address) in [
        ("10.0.0.5", "10.0.0.5"),
        ("169.254.169.254", "169.254.169.254"),
    ] {
        let world = Scenario::simple(
            "example.test",
            &format!("@ A {zone}\nwww CNAME katie.portico.test.\n"),
        )
        .start()
        .await;
        let mut settings = world.settings();
        settings.dns.outbound = Outbound::PUBLIC_ONLY;
        let report = world
            .verifier(settings)
            .verify(&subject("example.test", Some("katie")), true, NOW)
            .await;
        assert_check(
            &report,
            "root_forward",
            CheckState::Fail,
            &[address, "private"],
        );
    }
}

#[tokio::test]
async fn subdomains_have_no_root_forward() {
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let report = verify(&world, "sales.example.test").await;
    assert!(report
        .check(portico_control::verify::report::CheckName::RootForward)
        .is_none());
    assert!(report.addresses.is_empty());
}

#[tokio::test]
async fn a_dead_address_beside_a_working_forward_is_named() {
    // 127.0.0.1 serves the forward; nothing answers at ::1 or 127.0.0.5 on
    // that port (the forwarder listens on 127.0.0.1 only).
    let report = forwarded(
        "example.test",
        "@ A 127.0.0.1\n@ A 127.0.0.5\n@ AAAA ::1\nwww CNAME katie.portico.test.\n",
        &[(
            "example.test",
            redirect(301, "https://www.example.test", true),
        )],
    )
    .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Warn,
        &[
            "301 https://www.example.test/some/path?x=1",
            "example.test AAAA ::1 does not answer",
            "IPv6 visitors",
            "Delete the AAAA record of `@` (example.test) → `::1`",
            "example.test A 127.0.0.5 does not answer",
            "Delete the A record of `@` (example.test) → `127.0.0.5`",
        ],
    );
    let check = check(&report, "root_forward");
    assert!(
        !check
            .cause
            .clone()
            .unwrap_or_default()
            .contains("A 127.0.0.1 does not"),
        "{check:#?}"
    );
    assert!(
        report.ready,
        "the working forward still connects: {report:#?}"
    );
}

#[tokio::test]
async fn every_address_dead_fails_naming_each() {
    let report = forwarded(
        "example.test",
        "@ A 127.0.0.5\n@ AAAA ::1\nwww CNAME katie.portico.test.\n",
        &[(
            "example.test",
            redirect(301, "https://www.example.test", true),
        )],
    )
    .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &["nothing answers", "127.0.0.5", "::1"],
    );
}

/// The GoDaddy workaround: `pages.<root>` connected as a subdomain, the
/// root forwarded to `https://pages.<root>`, `www` following the root.
#[tokio::test]
async fn the_workaround_forward_is_checked_and_its_table_computed() {
    let zone = "@ A 127.0.0.1\nwww A 127.0.0.1\npages CNAME katie.portico.test.\n";
    let forwarder = Forwarder::start(&[
        (
            "example.test",
            redirect(301, "https://pages.example.test", true),
        ),
        (
            "www.example.test",
            redirect(301, "http://example.test", true),
        ),
    ])
    .await
    .unwrap();
    let world = Scenario::simple("example.test", zone)
        .nameservers(&["ns41.domaincontrol.com"])
        .start()
        .await;
    let verifier = world.verifier(world.settings_with(forwarder.addr.port()));
    let report = verifier
        .verify(&subject("pages.example.test", Some("katie")), true, NOW)
        .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Pass,
        &["301 https://pages.example.test/some/path?x=1"],
    );
    let table: Vec<(&str, Works)> = report
        .addresses
        .iter()
        .map(|f| (f.url.as_str(), f.works))
        .collect();
    assert_eq!(
        table,
        [
            ("https://example.test", Works::No),
            ("http://example.test", Works::Yes),
            ("example.test", Works::Yes),
            ("https://www.example.test", Works::No),
            ("http://www.example.test", Works::Yes),
            ("www.example.test", Works::Yes),
        ],
        "{:#?}",
        report.addresses
    );
    // The advice given for the root before says the same.
    let advice = portico_control::verify::workaround::advice(
        portico_control::verify::provider::identify(&["ns41.domaincontrol.com".into()]).unwrap(),
        "example.test",
        "katie.portico.test",
        false,
    );
    assert!(
        advice.contains("Then https://pages.example.test, http://example.test, example.test, http://www.example.test, www.example.test work; https://example.test, https://www.example.test will not"),
        "{advice}"
    );

    // The root forwarding to www instead: named like any wrong forward.
    let forwarder = Forwarder::start(&[(
        "example.test",
        redirect(301, "https://www.example.test", true),
    )])
    .await
    .unwrap();
    let verifier = world.verifier(world.settings_with(forwarder.addr.port()));
    let report = verifier
        .verify(&subject("pages.example.test", Some("katie")), true, NOW)
        .await;
    assert_check(
        &report,
        "root_forward",
        CheckState::Fail,
        &["forwards to www.example.test, not to pages.example.test"],
    );
    assert!(report
        .addresses
        .iter()
        .take(3)
        .all(|f| f.works == Works::No));

    // Elsewhere than at a provider that cannot forward, `pages` is just a
    // subdomain: no root forward is asked for.
    let plain = Scenario::simple("example.test", zone).start().await;
    let report = plain
        .verifier(plain.settings_with(forwarder.addr.port()))
        .verify(&subject("pages.example.test", Some("katie")), true, NOW)
        .await;
    assert!(report.addresses.is_empty());
    assert!(report
        .checks
        .iter()
        .all(|c| c.name.as_str() != "root_forward"));
}
