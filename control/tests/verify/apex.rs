//! A root's bare domain pointed at the platform's addresses (apex by
//! address), over real DNS on loopback: the platform's "addresses" are
//! those `katie.portico.test` resolves to (192.0.2.10), as flattening at
//! the apex would show them.

use portico_control::verify::report::{CheckState, Report, Who, Works};
use portico_shared::lifecycle::Finding;
use portico_shared::{Apex, ApexAddresses};

use crate::world::*;

const WWW: &str = "www CNAME katie.portico.test.\n";

async fn by_address(zone: &str, apex: Apex) -> Report {
    let world = Scenario::simple("example.test", zone).start().await;
    let mut settings = world.settings();
    settings.apex_addresses = ApexAddresses::parse("192.0.2.10, 2001:db8::10").unwrap();
    let offered = settings.apex_addresses.clone();
    let verifier = world.verifier(settings);
    let mut subject = subject("example.test", Some("katie"));
    subject.integration = subject.integration.with_apex(apex, &offered).unwrap();
    verifier.verify(&subject, true, NOW).await
}

#[tokio::test]
async fn the_platforms_addresses_at_the_apex_pass_without_a_forward() {
    let zone = format!("@ A 192.0.2.10\n@ AAAA 2001:db8::10\n{WWW}");
    let report = by_address(&zone, Apex::Addresses).await;
    assert_check(
        &report,
        "apex_addresses",
        CheckState::Pass,
        &[
            "A 192.0.2.10",
            "AAAA 2001:db8::10",
            "the platform's addresses",
        ],
    );
    assert!(
        report
            .check(portico_control::verify::report::CheckName::RootForward)
            .is_none(),
        "no registrar forward is checked: {report:#?}"
    );
    assert!(report.ready, "{report:#?}");
    let works: Vec<Works> = report.addresses.iter().map(|f| f.works).collect();
    assert_eq!(works, [Works::Yes; 6], "{:#?}", report.addresses);
    assert!(report.addresses[0]
        .why
        .contains("redirects it to https://www.example.test"));
}

#[tokio::test]
async fn someone_elses_address_at_the_apex_is_named_with_the_record_to_delete() {
    let zone = format!("@ A 192.0.2.10\n@ A 127.0.0.9\n{WWW}");
    let report = by_address(&zone, Apex::Addresses).await;
    assert_check(
        &report,
        "apex_addresses",
        CheckState::Fail,
        &[
            "example.test A 127.0.0.9 instead of the platform's",
            "127.0.0.9 is not the platform's",
            "Delete the A record of `@` (example.test) → `127.0.0.9`.",
            "Then create AAAA `@` → `2001:db8::10`.",
        ],
    );
    assert_eq!(check(&report, "apex_addresses").who, Some(Who::CustomerDns));
    // Served at www: the bare domain's fault does not hold www back.
    assert_eq!(report.dns, Finding::Pointing);
    assert!(report.ready);
    assert_eq!(report.addresses[0].works, Works::No);
    assert_eq!(report.addresses[3].works, Works::Yes);
}

#[tokio::test]
async fn nothing_at_the_apex_yet_says_which_records_to_create() {
    let report = by_address(WWW, Apex::Addresses).await;
    assert_check(
        &report,
        "apex_addresses",
        CheckState::Fail,
        &[
            "no A record at the apex yet",
            "A `@` → `192.0.2.10`, AAAA `@` → `2001:db8::10`",
            "ALIAS or ANAME",
            "`@` → `katie.portico.test`",
        ],
    );
}

#[tokio::test]
async fn served_at_the_apex_it_connects_only_once_the_apex_points_here() {
    let wrong = by_address(&format!("@ A 127.0.0.9\n{WWW}"), Apex::AddressesMain).await;
    assert_eq!(wrong.dns, Finding::NotPointing, "{wrong:#?}");
    assert!(!wrong.ready);
    let right = by_address(&format!("@ A 192.0.2.10\n{WWW}"), Apex::AddressesMain).await;
    assert_eq!(right.dns, Finding::Pointing, "{right:#?}");
    assert!(right.ready);
    assert!(right.addresses[3]
        .why
        .contains("redirects it to https://example.test"));
}
