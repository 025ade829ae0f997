//! The delegation, walked from the parent, against real DNS servers on
//! loopback: a resolver for which the customer's zone is lame (SERVFAIL, as
//! real resolvers answer), the parent zone's server referring to the
//! delegated nameservers, and those nameservers silent or refusing.

use std::net::SocketAddr;

use hickory_proto::op::{Message, MessageType, OpCode};
use hickory_proto::rr::rdata::NS;
use hickory_proto::rr::{Name, RData, Record};
use portico_control::verify::report::{CheckState, Who};
use portico_shared::lifecycle::Finding;
use portico_tests::dns::{loopback, DnsServer, Zone};

use crate::world::*;

/// The registry's server for `test` (127.0.0.9): refers every name under
/// example.test to `ns1.gone.test`, without answering for it.
async fn registry(port: u16) -> portico_tests::Result<DnsServer> {
    DnsServer::custom(SocketAddr::new(loopback(9), port), |query: &Message| {
        let mut reply = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
        reply.metadata.authoritative = false;
        reply.authorities.push(Record::from_rdata(
            Name::from_ascii("example.test.").unwrap(),
            300,
            RData::NS(NS(Name::from_ascii("ns1.gone.test.").unwrap())),
        ));
        Some(reply)
    })
    .await
}

/// The world: the resolvers know `test` and the nameservers' addresses;
/// example.test is lame to them. `delegated`: what runs at ns1.gone.test
/// (127.0.0.2), `None` for nothing at all.
async fn lame_world(delegated: Option<&[Zone]>) -> Option<World> {
    let upstream = DnsServer::loopback(&[
        Zone::new("test", "@ NS ns.registry.test.\nns.registry A 127.0.0.9\n"),
        Zone::new("gone.test", "ns1 A 127.0.0.2\n"),
        platform_zone(),
    ])
    .await
    .unwrap();
    let resolver = DnsServer::lame_resolver(
        SocketAddr::new(loopback(1), 0),
        upstream.addr,
        "example.test",
    )
    .await
    .unwrap();
    for _ in 0..20 {
        let Ok(parent) = registry(0).await else {
            continue;
        };
        let port = parent.addr.port();
        let mut servers = vec![upstream, parent];
        if let Some(zones) = delegated {
            match DnsServer::start(SocketAddr::new(loopback(2), port), zones).await {
                Ok(server) => servers.push(server),
                Err(_) => {
                    eprintln!("port taken meanwhile; skipped");
                    return None;
                }
            }
        }
        return Some(World {
            resolver,
            nameservers: servers,
            nameserver_port: port,
        });
    }
    None
}

#[tokio::test]
async fn nameservers_that_do_not_answer_are_named_not_a_missing_record() {
    let Some(world) = lame_world(None).await else {
        return;
    };
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "nameservers",
        CheckState::Fail,
        &[
            "delegated by test to ns1.gone.test",
            "ns1.gone.test does not answer",
            "lame delegation",
            "At your registrar",
        ],
    );
    assert_eq!(check(&report, "nameservers").who, Some(Who::Registrar));
    let cname = check(&report, "cname");
    assert_eq!(cname.state, CheckState::Pending, "{report:#?}");
    assert!(
        !format!("{cname:?}").contains("no CNAME record"),
        "{cname:#?}"
    );
    assert_eq!(
        report.dns,
        Finding::Inconclusive,
        "status never changes on this alone"
    );
    assert!(!report.ready);
}

#[tokio::test]
async fn nameservers_that_refuse_the_zone_are_named() {
    let Some(world) = lame_world(Some(&[Zone::new("unrelated.test", "")])).await else {
        return;
    };
    let report = verify(&world, "sales.example.test").await;
    assert_check(
        &report,
        "nameservers",
        CheckState::Fail,
        &[
            "ns1.gone.test refuses to answer (REFUSED)",
            "lame delegation",
        ],
    );
    assert_eq!(report.dns, Finding::Inconclusive);
}

#[tokio::test]
async fn a_delegation_found_at_the_parent_is_followed_when_it_answers() {
    // The resolvers fail the zone, the parent refers, and the delegated
    // nameserver does answer: its records count, nothing of the parent's.
    let zone = Zone::new(
        "example.test",
        "@ NS ns1.gone.test.\nsales CNAME katie.portico.test.\n",
    );
    let Some(world) = lame_world(Some(&[zone])).await else {
        return;
    };
    let report = verify(&world, "sales.example.test").await;
    assert_check(&report, "nameservers", CheckState::Pass, &["ns1.gone.test"]);
    assert_check(&report, "cname", CheckState::Pass, &["katie.portico.test"]);
    assert_eq!(report.dns, Finding::Pointing);
}
