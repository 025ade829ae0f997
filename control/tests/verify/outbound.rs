//! The verifier never sends DNS queries or HTTP requests to private,
//! loopback, link-local or otherwise reserved addresses that a customer's
//! zone names, unless development allows it; the report diagnoses the
//! setup without anything found at such an address.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use portico_control::verify::outbound::Outbound;
use portico_control::verify::report::{CheckState, Who};
use portico_tests::dns::DnsServer;

use crate::world::*;

/// The zone's nameserver (`ns1.dns-host.test` at 127.0.0.2) replaced by one
/// that counts the queries it gets and answers each with the CNAME.
async fn counting_nameserver(world: &mut World) -> Arc<AtomicUsize> {
    let addr = world.nameservers[0].addr;
    world.nameservers.clear();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let answer = move |query: &hickory_proto::op::Message| {
        counter.fetch_add(1, Ordering::SeqCst);
        Some(hickory_proto::op::Message::error_msg(
            query.metadata.id,
            hickory_proto::op::OpCode::Query,
            hickory_proto::op::ResponseCode::ServFail,
        ))
    };
    for _ in 0..100 {
        // The replaced server lets go of its port when its task ends.
        match DnsServer::custom(addr, answer.clone()).await {
            Ok(server) => {
                world.nameservers.push(server);
                return asked;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    panic!("cannot take over {addr}");
}

#[tokio::test]
async fn a_zone_naming_a_private_nameserver_is_not_queried() {
    let mut world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let asked = counting_nameserver(&mut world).await;

    // Development (the local stack) asks it.
    let report = verify(&world, "sales.example.test").await;
    assert!(asked.load(Ordering::SeqCst) > 0, "{report:#?}");

    // Production does not, and says why.
    asked.store(0, Ordering::SeqCst);
    let mut settings = world.settings();
    settings.dns.outbound = Outbound::PUBLIC_ONLY;
    let verifier = world.verifier(settings);
    let report = verifier
        .verify(&subject("sales.example.test", Some("katie")), true, NOW)
        .await;
    assert_eq!(asked.load(Ordering::SeqCst), 0, "{report:#?}");
    assert_check(
        &report,
        "nameservers",
        CheckState::Fail,
        &[
            "ns1.dns-host.test",
            "127.0.0.2 is a loopback address",
            "never sends queries",
            "private or reserved addresses",
            "DNS provider's",
        ],
    );
    assert_eq!(check(&report, "nameservers").who, Some(Who::CustomerDns));
    assert_ne!(check(&report, "cname").state, CheckState::Pass);
}

#[tokio::test]
async fn nameserver_addresses_the_operator_gives_are_asked() {
    let mut world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let asked = counting_nameserver(&mut world).await;
    let mut settings = world.settings();
    settings.dns.outbound = Outbound::PUBLIC_ONLY;
    settings.dns.nameserver_addresses = vec![("*".into(), "127.0.0.2".parse().unwrap())];
    world
        .verifier(settings)
        .verify(&subject("sales.example.test", Some("katie")), true, NOW)
        .await;
    assert!(asked.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn every_kind_of_reserved_nameserver_address_is_refused() {
    for (address, kind) in [
        ("10.0.0.53", "a private-network address"),
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.53", "a carrier-grade NAT (shared) address"),
        ("192.0.2.53", "an address reserved for documentation"),
        ("198.18.0.53", "an address reserved for benchmarking"),
    ] {
        let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
            .zone(portico_tests::dns::Zone::new(
                "private-dns.test",
                &format!("ns1 A {address}\n"),
            ))
            .nameservers(&["ns1.private-dns.test"])
            .start()
            .await;
        let mut settings = world.settings();
        settings.dns.outbound = Outbound::PUBLIC_ONLY;
        let report = world
            .verifier(settings)
            .verify(&subject("sales.example.test", Some("katie")), true, NOW)
            .await;
        assert_check(
            &report,
            "nameservers",
            CheckState::Fail,
            &[&format!("{address} is {kind}")],
        );
    }
}

#[tokio::test]
async fn the_root_forward_is_never_requested_at_a_reserved_address() {
    for (record, kind) in [
        ("@ AAAA 64:ff9b::7f00:1", "a NAT64 address"),
        ("@ AAAA 2002:7f00:1::1", "a 6to4 address"),
        ("@ AAAA ::ffff:127.0.0.1", "a loopback address"),
        ("@ A 198.18.0.1", "an address reserved for benchmarking"),
        ("@ A 203.0.113.80", "an address reserved for documentation"),
        (
            "@ A 100.100.100.100",
            "a carrier-grade NAT (shared) address",
        ),
    ] {
        let world = Scenario::simple(
            "example.test",
            &format!("{record}\nwww CNAME katie.portico.test.\n"),
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
            &[kind, "private or reserved", "never requests"],
        );
    }
}
