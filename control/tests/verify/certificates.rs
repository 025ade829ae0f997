//! CAA, DNSSEC, the DNS provider's advice.

use hickory_proto::rr::RecordType;
use portico_control::verify::report::{CheckState, Who, Works};
use portico_tests::dns::{dnskey_rdata, ds_rdata, key_tag, DnsServer, Zone};

use crate::world::*;

const OK: &str = "sales CNAME katie.portico.test.\n";

#[tokio::test]
async fn caa_that_excludes_the_platforms_authorities() {
    let world = Scenario::simple(
        "example.test",
        &format!("{OK}@ CAA 0 issue \"sectigo.com\"\n"),
    )
    .start()
    .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "caa",
        CheckState::Fail,
        &["sectigo.com", "letsencrypt.org", "CAA 0 issue"],
    );
    assert_eq!(check(&report, "caa").who, Some(Who::CustomerDns));
}

#[tokio::test]
async fn caa_that_allows_one_of_them_passes() {
    let world = Scenario::simple(
        "example.test",
        &format!("{OK}@ CAA 0 issue \"sectigo.com\"\n@ CAA 0 issue \"letsencrypt.org\"\n"),
    )
    .start()
    .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(&report, "caa", CheckState::Pass, &["letsencrypt.org"]);
}

#[tokio::test]
async fn caa_closest_to_the_name_wins() {
    // The name's own set allows pki.goog; the root's would not.
    let world = Scenario::simple(
        "example.test",
        "shop.eu CNAME katie.portico.test.\neu CAA 0 issue \"pki.goog\"\n@ CAA 0 issue \";\"\n",
    )
    .start()
    .await;
    let report = verify(&world, "shop.eu.example.test").await;
    assert_check(&report, "caa", CheckState::Pass, &["pki.goog"]);
    let world = Scenario::simple(
        "example.test",
        "shop.eu CNAME katie.portico.test.\n@ CAA 0 issue \";\"\n",
    )
    .start()
    .await;
    let report = verify(&world, "shop.eu.example.test").await;
    assert_check(&report, "caa", CheckState::Fail, &["no authority at all"]);
}

#[tokio::test]
async fn no_caa_passes() {
    let world = Scenario::simple("example.test", OK).start().await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(&report, "caa", CheckState::Pass, &["no CAA records"]);
}

#[tokio::test]
async fn a_stale_ds_record() {
    // The registry (the resolvers' view) has a DS; the zone publishes no DNSKEY.
    let public = Zone::new("example.test", &format!("@ NS ns1.dns-host.test.\n{OK}")).raw(
        "@",
        RecordType::DS,
        ds_rdata(12345),
    );
    let world = Scenario::simple("example.test", OK).start().await;
    // Replace the resolver with one that also knows the DS.
    let resolver = DnsServer::loopback(&[
        public,
        platform_zone(),
        Zone::new("dns-host.test", "ns1 A 127.0.0.2\n"),
    ])
    .await
    .unwrap();
    let world = World { resolver, ..world };
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "dnssec",
        CheckState::Fail,
        &["stale DS", "12345", "no DNSKEY", "remove the DS"],
    );
}

#[tokio::test]
async fn a_ds_for_another_key_is_stale_too() {
    let key = dnskey_rdata(&[7u8; 64]);
    let world = Scenario::simple("example.test", OK).start().await;
    let served = Zone::new("example.test", &format!("@ NS ns1.dns-host.test.\n{OK}")).raw(
        "@",
        RecordType::DNSKEY,
        key.clone(),
    );
    let port = world.nameserver_port;
    drop(world.nameservers);
    let Ok(ns) = DnsServer::start(
        std::net::SocketAddr::new(portico_tests::dns::loopback(2), port),
        &[served],
    )
    .await
    else {
        eprintln!("port taken meanwhile; skipped");
        return;
    };
    let public = Zone::new("example.test", &format!("@ NS ns1.dns-host.test.\n{OK}")).raw(
        "@",
        RecordType::DS,
        ds_rdata(key_tag(&key).wrapping_add(1)),
    );
    let resolver = DnsServer::loopback(&[
        public.clone(),
        platform_zone(),
        Zone::new("dns-host.test", "ns1 A 127.0.0.2\n"),
    ])
    .await
    .unwrap();
    let world2 = World {
        resolver,
        nameservers: vec![ns],
        nameserver_port: port,
    };
    let report = verify(&world2, "sales.example.test").await;
    assert_check(&report, "dnssec", CheckState::Fail, &["stale DS"]);
    // The matching DS passes.
    let public = Zone::new("example.test", &format!("@ NS ns1.dns-host.test.\n{OK}")).raw(
        "@",
        RecordType::DS,
        ds_rdata(key_tag(&key)),
    );
    let resolver = DnsServer::loopback(&[
        public,
        platform_zone(),
        Zone::new("dns-host.test", "ns1 A 127.0.0.2\n"),
    ])
    .await
    .unwrap();
    let world3 = World { resolver, ..world2 };
    let report = verify(&world3, "sales.example.test").await;
    assert_check(&report, "dnssec", CheckState::Pass, &["signed"]);
}

#[tokio::test]
async fn validating_resolvers_servfail_while_the_nameservers_answer() {
    let world = Scenario::simple("example.test", OK).start().await;
    let public = Zone::new("example.test", &format!("@ NS ns1.dns-host.test.\n{OK}")).raw(
        "@",
        RecordType::DS,
        ds_rdata(4242),
    );
    let upstream = DnsServer::loopback(&[
        public,
        platform_zone(),
        Zone::new("dns-host.test", "ns1 A 127.0.0.2\n"),
    ])
    .await
    .unwrap();
    let validating = DnsServer::validating_resolver(
        "127.0.0.1:0".parse().unwrap(),
        upstream.addr,
        "example.test",
    )
    .await
    .unwrap();
    let world = World {
        resolver: validating,
        ..world
    };
    let report = verify(&world, "sales.example.test").await;
    // The nameservers answer: the CNAME itself is right.
    assert_check(&report, "cname", CheckState::Pass, &[]);
    assert_check(
        &report,
        "propagation",
        CheckState::Fail,
        &["SERVFAIL", "DNSSEC"],
    );
    assert_check(
        &report,
        "dnssec",
        CheckState::Fail,
        &["stale DS", "the resolvers do already"],
    );
    drop(upstream);
}

#[tokio::test]
async fn godaddy_roots_get_the_subdomain_workaround_and_the_honest_table() {
    let world = Scenario::simple("example.test", "www CNAME katie.portico.test.\n")
        .nameservers(&["ns41.domaincontrol.com", "ns42.domaincontrol.com"])
        .start()
        .await;
    let report = verify(&world, "example.test").await;
    assert_eq!(report.provider.as_ref().unwrap().name, "GoDaddy");
    assert_check(
        &report,
        "dns_provider",
        CheckState::Warn,
        &[
            "GoDaddy",
            "CNAME `pages`",
            "https://pages.example.test",
            "will not",
        ],
    );
    let table: Vec<(String, Works)> = report
        .addresses
        .iter()
        .map(|f| (f.url.clone(), f.works))
        .collect();
    assert_eq!(
        table,
        [
            ("https://example.test".to_string(), Works::No),
            ("http://example.test".to_string(), Works::No),
            ("example.test".to_string(), Works::No),
            ("https://www.example.test".to_string(), Works::Yes),
            ("http://www.example.test".to_string(), Works::Yes),
            ("www.example.test".to_string(), Works::Yes),
        ]
    );
}

#[tokio::test]
async fn provider_specific_advice_for_a_missing_record() {
    let world = Scenario::simple("example.test", "")
        .nameservers(&["dns1.registrar-servers.com"])
        .start()
        .await;
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "cname",
        CheckState::Fail,
        &["Namecheap", "Advanced DNS"],
    );
    assert_check(&report, "dns_provider", CheckState::Pass, &["Namecheap"]);
}

#[tokio::test]
async fn a_timeout_or_servfail_is_inconclusive() {
    use hickory_proto::op::ResponseCode;
    use portico_shared::lifecycle::Finding;
    for code in [Some(ResponseCode::ServFail), None] {
        let world = Scenario::simple("example.test", OK).start().await;
        let port = world.nameserver_port;
        drop(world.nameservers);
        let Ok(broken) = DnsServer::broken(
            std::net::SocketAddr::new(portico_tests::dns::loopback(2), port),
            code,
        )
        .await
        else {
            eprintln!("port taken meanwhile; skipped");
            return;
        };
        let world = World {
            nameservers: vec![broken],
            ..world
        };
        let report = verify(&world, "sales.example.test").await;
        assert_eq!(report.dns, Finding::Inconclusive, "{report:#?}");
        assert_check(
            &report,
            "nameservers",
            CheckState::Pending,
            &["no nameserver answered"],
        );
        assert_check(&report, "cname", CheckState::Pending, &[]);
    }
}
