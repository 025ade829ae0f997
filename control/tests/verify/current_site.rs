//! What stops working: a hostname (or a root's bare domain) that serves a
//! site today, against a real HTTP server on loopback playing that site.

use portico_control::verify::report::{CheckName, CheckState, Who};
use portico_tests::dns::Zone;
use portico_tests::forwarder::{Forward, Forwarder};

use crate::world::*;

async fn verified_with_site(
    scenario: Scenario<'_>,
    host: &str,
    sites: &[(&str, Forward)],
) -> portico_control::verify::report::Report {
    let site = Forwarder::start(sites).await.unwrap();
    let world = scenario.start().await;
    let verifier = world.verifier(world.settings_with(site.addr.port()));
    let mut subject = subject(host, Some("katie"));
    subject.ownership_token = Some("t0k3n".into());
    verifier.verify(&subject, true, NOW).await
}

#[tokio::test]
async fn a_subdomain_serving_a_site_today_is_named_before_it_stops() {
    let report = verified_with_site(
        Scenario::simple("example.test", "shop A 127.0.0.1\n"),
        "shop.example.test",
        &[("shop.example.test", Forward::Page)],
    )
    .await;
    assert_check(
        &report,
        "current_site",
        CheckState::Warn,
        &[
            "shop.example.test serves a site today (HTTP 200 over HTTP from 127.0.0.1)",
            "stops being reachable at this address",
            "To switch without downtime",
            "`portico-verification=t0k3n`",
        ],
    );
    assert_eq!(check(&report, "current_site").who, Some(Who::CustomerDns));
}

#[tokio::test]
async fn a_site_reached_through_another_cname_names_it() {
    let report = verified_with_site(
        Scenario::simple("example.test", "shop CNAME shops.host.test.\n")
            .zone(Zone::new("host.test", "shops A 127.0.0.1\n")),
        "shop.example.test",
        &[("shop.example.test", Forward::Page)],
    )
    .await;
    assert_check(
        &report,
        "current_site",
        CheckState::Warn,
        &["from 127.0.0.1, through its CNAME to shops.host.test"],
    );
}

#[tokio::test]
async fn nothing_answering_loses_nothing_and_a_host_pointing_here_is_not_asked() {
    // The site's server knows no such host: it answers 404.
    let report = verified_with_site(
        Scenario::simple("example.test", "shop A 127.0.0.1\n"),
        "shop.example.test",
        &[("elsewhere.example.test", Forward::Page)],
    )
    .await;
    assert_check(
        &report,
        "current_site",
        CheckState::Pass,
        &["nothing stops working"],
    );
    let report = verified_with_site(
        Scenario::simple("example.test", "shop CNAME katie.portico.test.\n"),
        "shop.example.test",
        &[("shop.example.test", Forward::Page)],
    )
    .await;
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.name != CheckName::CurrentSite),
        "{:#?}",
        report.checks
    );
}

#[tokio::test]
async fn a_root_whose_bare_domain_serves_a_site_is_told_the_forward_replaces_it() {
    let report = verified_with_site(
        Scenario::simple(
            "example.test",
            "@ A 127.0.0.1\nwww CNAME katie.portico.test.\n",
        ),
        "example.test",
        &[("example.test", Forward::Page)],
    )
    .await;
    assert_check(
        &report,
        "current_site",
        CheckState::Warn,
        &[
            "example.test serves a site today (HTTP 200 over HTTP from 127.0.0.1)",
            "once example.test forwards to https://www.example.test",
        ],
    );
}
