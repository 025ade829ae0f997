//! Table tests of the rules: observations in, checks out, no network.
//! End-to-end tests over real DNS and HTTP servers on loopback are in
//! `control/tests/verify`.

use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{RData, Record};
use portico_shared::lifecycle::{CertificateFinding, Finding};
use portico_shared::{Integration, PlatformDomain, Username};

use super::diagnose;
use crate::config::RawSettings;
use crate::verify::dns::{name_of, Answer, Authority};
use crate::verify::observe::http::Probe;
use crate::verify::observe::{
    expectation, AddressProbe, CaaSeen, CertificateSeen, ForwardSeen, HostSeen, NameserverSeen,
    Observations, ZoneSeen, ZoneView,
};
use crate::verify::report::{CheckName, CheckState, Report, Who};
use crate::verify::settings::VerifySettings;
use crate::verify::Subject;

const PLATFORM: &str = "portico.test";

fn settings() -> VerifySettings {
    VerifySettings::resolve(&RawSettings {
        verify_allow_private_addresses: Some(true),
        ..RawSettings::default()
    })
    .unwrap()
}

fn subject(host: &str) -> Subject {
    Subject {
        integration: Integration::classify(host, &PlatformDomain::parse(PLATFORM).unwrap())
            .unwrap(),
        username: Some(Username::parse("katie").unwrap()),
        ownership_token: None,
        owner: None,
    }
}

fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name_of(owner), 300, RData::CNAME(CNAME(name_of(target))))
}

fn address(owner: &str, ip: &str) -> Record {
    let data = match ip.parse::<IpAddr>().unwrap() {
        IpAddr::V4(v4) => RData::A(A(v4)),
        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
    };
    Record::from_rdata(name_of(owner), 300, data)
}

/// What a nameserver that hosts the zone says about the host.
fn host(cname_answer: Answer, addresses: &[Record]) -> HostSeen {
    let of = |v6: bool| {
        let records: Vec<Record> = addresses
            .iter()
            .filter(|r| matches!(r.data, RData::AAAA(_)) == v6)
            .cloned()
            .collect();
        if records.is_empty() {
            Answer::NoData
        } else {
            Answer::Records(records)
        }
    };
    HostSeen {
        cname: cname_answer,
        a: of(false),
        aaaa: of(true),
    }
}

fn answering(name: &str, i: u8, seen: HostSeen) -> NameserverSeen {
    NameserverSeen {
        name: name.into(),
        addresses: vec![IpAddr::from([192, 0, 2, i])],
        asked: Ok(IpAddr::from([192, 0, 2, i])),
        authority: Some(Authority::Authoritative {
            zone: Some(name_of("example.test")),
        }),
        host: Some(seen),
    }
}

fn lame(name: &str, i: u8, authority: Authority) -> NameserverSeen {
    NameserverSeen {
        name: name.into(),
        addresses: vec![IpAddr::from([192, 0, 2, i])],
        asked: Ok(IpAddr::from([192, 0, 2, i])),
        authority: Some(authority),
        host: None,
    }
}

/// Observations of `host` in the zone `example.test` served by `nameservers`.
fn observed(host_name: &str, nameservers: Vec<NameserverSeen>) -> Observations {
    let subject = subject(host_name);
    let want = expectation(&subject, PLATFORM);
    let served = want.served_host.clone();
    let points = nameservers
        .iter()
        .filter_map(|n| n.host.as_ref())
        .find_map(|h| h.cname.cname_of(&served));
    Observations {
        subject,
        want,
        checked_at_ms: 0,
        zone: ZoneSeen::Found(ZoneView {
            apex: name_of("example.test"),
            delegated_by: None,
            nameservers,
        }),
        root_cname: None,
        wildcard: None,
        resolvers: Some(match points {
            Some(target) => Answer::Records(vec![cname(&served.to_ascii(), &target.to_ascii())]),
            None => Answer::NxDomain,
        }),
        chain: Vec::new(),
        forward: None,
        caa: CaaSeen::Nothing,
        dnssec: None,
        txt: None,
        certificate: CertificateSeen::Reported(crate::certs::CertificateReport {
            state: crate::certs::CertificateState::NotManaged,
            found: "not managed".into(),
            cause: None,
            fix: None,
            who: None,
            records: Vec::new(),
            holder: None,
        }),
        apex_certificate: None,
        site: None,
    }
}

fn points() -> HostSeen {
    host(
        Answer::Records(vec![cname("sales.example.test", "katie.portico.test")]),
        &[],
    )
}

fn state(report: &Report, name: CheckName) -> CheckState {
    report
        .check(name)
        .unwrap_or_else(|| panic!("{name}: {report:#?}"))
        .state
}

fn text(report: &Report, name: CheckName) -> String {
    let check = report.check(name).unwrap();
    format!(
        "{} {} {}",
        check.found,
        check.cause.clone().unwrap_or_default(),
        check.fix.clone().unwrap_or_default()
    )
}

struct Case {
    what: &'static str,
    obs: Observations,
    check: CheckName,
    state: CheckState,
    words: &'static [&'static str],
    finding: Finding,
}

fn cases() -> Vec<Case> {
    let wildcard = {
        let mut obs = observed(
            "sales.example.test",
            vec![answering("ns1.dns-host.test", 1, points())],
        );
        obs.wildcard = Some(Answer::Records(vec![cname(
            "*.example.test",
            "katie.portico.test",
        )]));
        obs
    };
    let wildcard_elsewhere = {
        let mut obs = observed(
            "sales.example.test",
            vec![answering("ns1.dns-host.test", 1, points())],
        );
        obs.wildcard = Some(Answer::Records(vec![cname(
            "*.example.test",
            "parking.example.net",
        )]));
        obs
    };
    let referred_lame = {
        let mut obs = observed(
            "sales.example.test",
            vec![
                lame(
                    "ns1.gone.test",
                    1,
                    Authority::Silent("no answer (timed out)".into()),
                ),
                lame(
                    "ns2.gone.test",
                    2,
                    Authority::Silent("no answer (timed out)".into()),
                ),
            ],
        );
        if let ZoneSeen::Found(zone) = &mut obs.zone {
            zone.delegated_by = Some(name_of("test"));
        }
        obs
    };
    let chain = {
        let mut obs = observed(
            "sales.example.test",
            vec![answering(
                "ns1.dns-host.test",
                1,
                host(
                    Answer::Records(vec![cname("sales.example.test", "pages.example.test")]),
                    &[],
                ),
            )],
        );
        obs.chain = vec![name_of("katie.portico.test")];
        obs
    };
    let to = |target: &str| {
        observed(
            "sales.example.test",
            vec![answering(
                "ns1.dns-host.test",
                1,
                host(
                    Answer::Records(vec![cname("sales.example.test", target)]),
                    &[],
                ),
            )],
        )
    };
    let cached = {
        let mut obs = observed(
            "sales.example.test",
            vec![answering("ns1.dns-host.test", 1, points())],
        );
        obs.resolvers = Some(Answer::NxDomain);
        obs
    };
    vec![
        Case {
            what: "the nameserver has the record, the resolvers still cache its absence",
            obs: cached,
            check: CheckName::Propagation,
            state: CheckState::Pending,
            words: &["cache", "asks your nameservers directly"],
            finding: Finding::Pointing,
        },
        Case {
            what: "still pointing at a previous host",
            obs: to("katie.kartra.com"),
            check: CheckName::Cname,
            state: CheckState::Fail,
            words: &["Kartra", "katie.kartra.com", "previous host"],
            finding: Finding::NotPointing,
        },
        Case {
            what: "a wrong target",
            obs: to("somewhere.else.test"),
            check: CheckName::Cname,
            state: CheckState::Fail,
            words: &["somewhere.else.test", "instead of"],
            finding: Finding::NotPointing,
        },
        Case {
            what: "the provider appended the zone to the target",
            obs: to("katie.portico.test.example.test"),
            check: CheckName::Cname,
            state: CheckState::Fail,
            words: &["appended", "final dot"],
            finding: Finding::NotPointing,
        },
        Case {
            what: "a name with other records but no CNAME",
            obs: observed(
                "sales.example.test",
                vec![answering("ns1.dns-host.test", 1, host(Answer::NoData, &[]))],
            ),
            check: CheckName::Cname,
            state: CheckState::Fail,
            words: &["exists but has no CNAME"],
            finding: Finding::NotPointing,
        },
        Case {
            what: "leftover address records instead of the CNAME",
            obs: observed(
                "sales.example.test",
                vec![answering(
                    "ns1.dns-host.test",
                    1,
                    host(
                        Answer::NoData,
                        &[
                            address("sales.example.test", "192.0.2.7"),
                            address("sales.example.test", "2001:db8::7"),
                        ],
                    ),
                )],
            ),
            check: CheckName::Cname,
            state: CheckState::Fail,
            words: &[
                "192.0.2.7",
                "2001:db8::7",
                "instead of the CNAME",
                "IPv6 first",
                "Delete the A and AAAA",
            ],
            finding: Finding::NotPointing,
        },
        Case {
            what: "a CNAME to the account's host",
            obs: observed(
                "sales.example.test",
                vec![answering("ns1.dns-host.test", 1, points())],
            ),
            check: CheckName::Cname,
            state: CheckState::Pass,
            words: &["katie.portico.test"],
            finding: Finding::Pointing,
        },
        Case {
            what: "no record yet",
            obs: observed(
                "sales.example.test",
                vec![answering(
                    "ns1.dns-host.test",
                    1,
                    host(Answer::NxDomain, &[]),
                )],
            ),
            check: CheckName::Cname,
            state: CheckState::Fail,
            words: &["NXDOMAIN", "no CNAME record", "host `sales`"],
            finding: Finding::NotPointing,
        },
        Case {
            what: "a typo in the username",
            obs: observed(
                "sales.example.test",
                vec![answering(
                    "ns1.dns-host.test",
                    1,
                    host(
                        Answer::Records(vec![cname("sales.example.test", "katei.portico.test")]),
                        &[],
                    ),
                )],
            ),
            check: CheckName::Cname,
            state: CheckState::Fail,
            words: &["typo", "`katei`", "`katie`"],
            finding: Finding::NotPointing,
        },
        Case {
            what: "addresses beside the CNAME",
            obs: observed(
                "sales.example.test",
                vec![answering(
                    "ns1.dns-host.test",
                    1,
                    host(
                        Answer::Records(vec![cname("sales.example.test", "katie.portico.test")]),
                        &[address("sales.example.test", "2001:db8::1")],
                    ),
                )],
            ),
            check: CheckName::Cname,
            state: CheckState::Fail,
            words: &[
                "2001:db8::1",
                "IPv6",
                "Delete the A and AAAA records of `sales`",
            ],
            finding: Finding::Mixed,
        },
        Case {
            what: "proxied through the customer's own Cloudflare",
            obs: observed(
                "sales.example.test",
                vec![answering(
                    "ns1.dns-host.test",
                    1,
                    host(
                        Answer::NoData,
                        &[address("sales.example.test", "104.16.1.1")],
                    ),
                )],
            ),
            check: CheckName::Cname,
            state: CheckState::Fail,
            words: &["Cloudflare", "grey cloud"],
            finding: Finding::NotPointing,
        },
        Case {
            what: "a chain of CNAMEs that ends at the platform",
            obs: chain,
            check: CheckName::Cname,
            state: CheckState::Warn,
            words: &["pages.example.test → katie.portico.test", "chain"],
            finding: Finding::Pointing,
        },
        Case {
            what: "nameservers that disagree",
            obs: observed(
                "sales.example.test",
                vec![
                    answering("ns1.dns-host.test", 1, points()),
                    answering("ns2.dns-host.test", 2, host(Answer::NxDomain, &[])),
                ],
            ),
            check: CheckName::Nameservers,
            state: CheckState::Fail,
            words: &["disagree", "ns2.dns-host.test says no such name"],
            finding: Finding::Mixed,
        },
        Case {
            what: "the host answered through a wildcard",
            obs: wildcard,
            check: CheckName::Cname,
            state: CheckState::Warn,
            words: &[
                "wildcard `*.example.test`",
                "every name under example.test",
                "silently wins",
                "delete the `*` record",
            ],
            finding: Finding::Pointing,
        },
        Case {
            what: "a wildcard elsewhere does not matter to a host with its own record",
            obs: wildcard_elsewhere,
            check: CheckName::Cname,
            state: CheckState::Pass,
            words: &["katie.portico.test"],
            finding: Finding::Pointing,
        },
        Case {
            what: "one nameserver refuses (lame), the other answers",
            obs: observed(
                "sales.example.test",
                vec![
                    answering("ns1.dns-host.test", 1, points()),
                    lame("ns2.other.test", 2, Authority::Error("REFUSED".into())),
                ],
            ),
            check: CheckName::Nameservers,
            state: CheckState::Warn,
            words: &["ns2.other.test refuses", "lame delegation", "registrar"],
            finding: Finding::Pointing,
        },
        Case {
            what: "every delegated nameserver refuses",
            obs: observed(
                "sales.example.test",
                vec![
                    lame("ns1.other.test", 1, Authority::Error("REFUSED".into())),
                    lame(
                        "ns2.other.test",
                        2,
                        Authority::NotAuthoritative("answers for another zone (other.test)".into()),
                    ),
                ],
            ),
            check: CheckName::Nameservers,
            state: CheckState::Fail,
            words: &[
                "lame delegation",
                "ns1.other.test refuses",
                "ns2.other.test is not authoritative",
                "At your registrar",
            ],
            finding: Finding::Inconclusive,
        },
        Case {
            what: "the parent delegates to nameservers that do not answer",
            obs: referred_lame,
            check: CheckName::Nameservers,
            state: CheckState::Fail,
            words: &[
                "delegated by test",
                "ns1.gone.test does not answer",
                "ns2.gone.test",
                "lame delegation",
            ],
            finding: Finding::Inconclusive,
        },
        Case {
            what: "timeouts where the resolvers know the zone wait",
            obs: observed(
                "sales.example.test",
                vec![lame(
                    "ns1.dns-host.test",
                    1,
                    Authority::Silent("no answer (timed out)".into()),
                )],
            ),
            check: CheckName::Nameservers,
            state: CheckState::Pending,
            words: &["no nameserver answered", "ns1.dns-host.test"],
            finding: Finding::Inconclusive,
        },
    ]
}

#[test]
fn the_rules_over_observations() {
    let settings = settings();
    for case in cases() {
        let report = diagnose(&case.obs, &settings);
        assert_eq!(
            state(&report, case.check),
            case.state,
            "{}: {report:#?}",
            case.what
        );
        let said = text(&report, case.check);
        for word in case.words {
            assert!(said.contains(word), "{}: `{word}` not in {said}", case.what);
        }
        assert_eq!(report.dns, case.finding, "{}", case.what);
    }
}

#[test]
fn a_lame_delegation_names_the_registrar_and_checks_no_record() {
    let settings = settings();
    let obs = observed(
        "sales.example.test",
        vec![lame(
            "ns1.other.test",
            1,
            Authority::Error("REFUSED".into()),
        )],
    );
    let report = diagnose(&obs, &settings);
    assert_eq!(
        report.check(CheckName::Nameservers).unwrap().who,
        Some(Who::Registrar)
    );
    assert_eq!(state(&report, CheckName::Cname), CheckState::Pending);
    assert!(!text(&report, CheckName::Cname).contains("no CNAME record"));
    assert!(!report.ready);
}

#[test]
fn a_wildcard_still_connects() {
    let settings = settings();
    let mut obs = observed(
        "sales.example.test",
        vec![answering("ns1.dns-host.test", 1, points())],
    );
    obs.wildcard = Some(Answer::Records(vec![cname(
        "*.example.test",
        "katie.portico.test",
    )]));
    let report = diagnose(&obs, &settings);
    assert!(report.ready, "{report:#?}");
    assert_eq!(report.certificate, CertificateFinding::Ready);
}

fn forwarding(to: &str) -> Probe {
    Probe::Answered {
        status: 301,
        location: Some(to.into()),
        body: String::new(),
    }
}

/// A root whose `www` points, its root forward at `probes`.
fn root(addresses: &[&str], probes: Vec<AddressProbe>) -> Observations {
    let www = host(
        Answer::Records(vec![cname("www.example.test", "katie.portico.test")]),
        &[],
    );
    let mut obs = observed("example.test", vec![answering("ns1.dns-host.test", 1, www)]);
    obs.forward = Some(ForwardSeen {
        addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
        probes,
        www: None,
        www_forward: None,
        http_port: 80,
    });
    obs
}

#[test]
fn every_address_of_a_root_is_judged() {
    let settings = settings();
    let live = |ip: &str| AddressProbe {
        ip: ip.parse().unwrap(),
        http: forwarding("https://www.example.test/some/path?x=1"),
        https: Probe::Unreachable("refused".into()),
    };
    let dead = |ip: &str| AddressProbe {
        ip: ip.parse().unwrap(),
        http: Probe::Unreachable("no answer (timed out)".into()),
        https: Probe::Unreachable("no answer (timed out)".into()),
    };
    /// What, the observations, the state, words said, words not said.
    type Row = (
        &'static str,
        Observations,
        CheckState,
        &'static [&'static str],
        &'static [&'static str],
    );
    let table: Vec<Row> = vec![
        (
            "both families answer",
            root(
                &["192.0.2.1", "2001:db8::1"],
                vec![live("192.0.2.1"), live("2001:db8::1")],
            ),
            CheckState::Pass,
            &["301"],
            &["Delete"],
        ),
        (
            "a dead AAAA beside a working A",
            root(
                &["192.0.2.1", "2001:db8::1"],
                vec![live("192.0.2.1"), dead("2001:db8::1")],
            ),
            CheckState::Warn,
            &[
                "example.test AAAA 2001:db8::1 does not answer",
                "IPv6 visitors",
                "Delete the AAAA record of `@` (example.test) → `2001:db8::1`",
            ],
            &["192.0.2.1 does not answer"],
        ),
        (
            "a dead A beside a working AAAA",
            root(
                &["192.0.2.9", "2001:db8::1"],
                vec![dead("192.0.2.9"), live("2001:db8::1")],
            ),
            CheckState::Warn,
            &[
                "Delete the A record of `@` (example.test) → `192.0.2.9`",
                "IPv4 visitors",
            ],
            &["AAAA 2001:db8::1 does not"],
        ),
        (
            "nothing answers at all",
            root(
                &["192.0.2.9", "2001:db8::9"],
                vec![dead("192.0.2.9"), dead("2001:db8::9")],
            ),
            CheckState::Fail,
            &["nothing answers", "192.0.2.9", "2001:db8::9"],
            &[],
        ),
    ];
    for (what, obs, want, words, absent) in table {
        let report = diagnose(&obs, &settings);
        assert_eq!(
            state(&report, CheckName::RootForward),
            want,
            "{what}: {report:#?}"
        );
        let said = text(&report, CheckName::RootForward);
        for word in words {
            assert!(said.contains(word), "{what}: `{word}` not in {said}");
        }
        for word in absent {
            assert!(!said.contains(word), "{what}: `{word}` in {said}");
        }
    }
}

#[test]
fn a_domain_that_does_not_exist_and_resolvers_that_fail() {
    let settings = settings();
    let mut obs = observed("sales.example.test", Vec::new());
    obs.zone = ZoneSeen::NxDomain;
    let report = diagnose(&obs, &settings);
    assert_eq!(state(&report, CheckName::Nameservers), CheckState::Fail);
    assert_eq!(report.dns, Finding::NotPointing);
    obs.zone = ZoneSeen::Failed("SERVFAIL".into());
    let report = diagnose(&obs, &settings);
    assert_eq!(state(&report, CheckName::Nameservers), CheckState::Pending);
    assert_eq!(report.dns, Finding::Inconclusive);
}

#[test]
fn reports_name_an_internationalized_host_in_both_forms() {
    let settings = settings();
    let report = diagnose(
        &observed(
            "bücher.example.test",
            vec![answering("ns1.dns-host.test", 1, points())],
        ),
        &settings,
    );
    assert_eq!(report.served_host, "xn--bcher-kva.example.test");
    assert_eq!(report.served_host_unicode, "bücher.example.test");
    let text = report.render(false);
    assert!(
        text.starts_with("bücher.example.test (subdomain; in DNS: xn--bcher-kva.example.test)"),
        "{text}"
    );
    let ascii = diagnose(
        &observed(
            "sales.example.test",
            vec![answering("ns1.dns-host.test", 1, points())],
        ),
        &settings,
    );
    // Inside the checks: hosts in Unicode where people read them, the
    // record's name as it is typed into DNS.
    let wrong = diagnose(
        &observed(
            "bücher.example.test",
            vec![answering(
                "ns1.dns-host.test",
                1,
                host(
                    Answer::Records(vec![cname(
                        "xn--bcher-kva.example.test",
                        "shops.elsewhere.test",
                    )]),
                    &[],
                ),
            )],
        ),
        &settings,
    );
    let cname_check = wrong
        .checks
        .iter()
        .find(|c| c.name == CheckName::Cname)
        .unwrap();
    assert!(
        cname_check.found.contains("bücher.example.test") && !cname_check.found.contains("xn--"),
        "{cname_check:#?}"
    );
    assert!(
        cname_check
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("`xn--bcher-kva`"),
        "{cname_check:#?}"
    );
    assert_eq!(ascii.served_host_unicode, "sales.example.test");
    assert!(ascii
        .render(false)
        .starts_with("sales.example.test (subdomain)\n"));
}

#[test]
fn a_root_forward_of_an_internationalized_root_reads_in_unicode() {
    let www = host(
        Answer::Records(vec![cname("www.xn--bcher-kva.test", "katie.portico.test")]),
        &[],
    );
    let mut obs = observed("bücher.test", vec![answering("ns1.dns-host.test", 1, www)]);
    obs.forward = Some(ForwardSeen {
        addresses: vec!["192.0.2.80".parse().unwrap()],
        probes: vec![AddressProbe {
            ip: "192.0.2.80".parse().unwrap(),
            http: forwarding("https://www.xn--bcher-kva.test/"),
            https: Probe::Unreachable("refused".into()),
        }],
        www: None,
        www_forward: None,
        http_port: 80,
    });
    let report = diagnose(&obs, &settings());
    let check = report
        .checks
        .iter()
        .find(|c| c.name == CheckName::RootForward)
        .unwrap();
    // Compared in ASCII (the path was dropped), told in Unicode.
    assert_eq!(check.state, CheckState::Fail, "{check:#?}");
    let text = format!("{} {:?} {:?}", check.found, check.cause, check.fix);
    assert!(
        text.contains("http://bücher.test/some/path?x=1 → 301 https://www.bücher.test/")
            && !text.contains("xn--"),
        "{text}"
    );
}

/// `root`, with its apex `apex` and the platform offering `offered`.
fn by_address(
    apex: portico_shared::Apex,
    addresses: &[&str],
    offered: &str,
) -> (Observations, VerifySettings) {
    let mut settings = settings();
    settings.apex_addresses = portico_shared::ApexAddresses::parse(offered).unwrap();
    let mut obs = root(addresses, Vec::new());
    obs.subject.integration = obs
        .subject
        .integration
        .with_apex(apex, &settings.apex_addresses)
        .unwrap();
    (obs, settings)
}

#[test]
fn an_apex_by_address_is_judged_by_its_addresses_instead_of_a_forward() {
    use portico_shared::Apex;
    /// What, apex, the apex's addresses, state, words, the DNS finding.
    type Row = (
        &'static str,
        Apex,
        &'static [&'static str],
        CheckState,
        &'static [&'static str],
        Finding,
    );
    let offered = "192.0.2.10, 2001:db8::10";
    let table: Vec<Row> = vec![
        (
            "the platform's addresses (records or flattening alike)",
            Apex::Addresses,
            &["192.0.2.10", "2001:db8::10"],
            CheckState::Pass,
            &["the platform's addresses"],
            Finding::Pointing,
        ),
        (
            "no A record at the apex yet",
            Apex::Addresses,
            &[],
            CheckState::Fail,
            &["no A record at the apex yet", "A `@` → `192.0.2.10`"],
            Finding::Pointing,
        ),
        (
            "someone else's address, like a wrong CNAME",
            Apex::Addresses,
            &["192.0.2.10", "198.51.100.7"],
            CheckState::Fail,
            &[
                "198.51.100.7 instead of the platform's",
                "Delete the A record of `@` (example.test) → `198.51.100.7`.",
            ],
            Finding::Pointing,
        ),
        (
            "served at the apex, someone else's address",
            Apex::AddressesMain,
            &["198.51.100.7"],
            CheckState::Fail,
            &["198.51.100.7"],
            Finding::NotPointing,
        ),
    ];
    for (what, apex, addresses, want, words, finding) in table {
        let (obs, settings) = by_address(apex, addresses, offered);
        let report = diagnose(&obs, &settings);
        assert_eq!(
            state(&report, CheckName::ApexAddresses),
            want,
            "{what}: {report:#?}"
        );
        assert!(
            report.check(CheckName::RootForward).is_none(),
            "{what}: no forward check"
        );
        let said = text(&report, CheckName::ApexAddresses);
        for word in words {
            assert!(said.contains(word), "{what}: `{word}` not in {said}");
        }
        if want == CheckState::Fail {
            assert_eq!(
                report.check(CheckName::ApexAddresses).unwrap().who,
                Some(Who::CustomerDns),
                "{what}"
            );
        }
        assert_eq!(report.dns, finding, "{what}");
    }
}

#[test]
fn godaddy_roots_are_offered_the_apex_by_address_first() {
    let godaddy = |offered: &str| {
        let mut settings = settings();
        settings.apex_addresses = portico_shared::ApexAddresses::parse(offered).unwrap();
        let www = host(
            Answer::Records(vec![cname("www.example.test", "katie.portico.test")]),
            &[],
        );
        let obs = observed(
            "example.test",
            vec![answering("ns41.domaincontrol.com", 1, www)],
        );
        (obs, settings)
    };
    let (obs, settings) = godaddy("192.0.2.10");
    let report = diagnose(&obs, &settings);
    let fix = report
        .check(CheckName::DnsProvider)
        .and_then(|c| c.fix.clone())
        .unwrap();
    let apex = fix.find("apex by address").expect(&fix);
    let workaround = fix.find("pages.example.test").expect(&fix);
    assert!(apex < workaround, "apex by address first: {fix}");
    assert!(fix.contains("A `@` → `192.0.2.10`"), "{fix}");
    assert!(fix.contains("In GoDaddy"), "{fix}");

    let (obs, settings) = godaddy("");
    let fix = diagnose(&obs, &settings)
        .check(CheckName::DnsProvider)
        .and_then(|c| c.fix.clone())
        .unwrap();
    assert!(!fix.contains("apex by address"), "not offered: {fix}");

    // Chosen: GoDaddy's forwarding no longer matters.
    let (mut obs, settings) = godaddy("192.0.2.10");
    obs.subject.integration = obs
        .subject
        .integration
        .with_apex(portico_shared::Apex::Addresses, &settings.apex_addresses)
        .unwrap();
    assert_eq!(
        state(&diagnose(&obs, &settings), CheckName::DnsProvider),
        CheckState::Pass
    );
}

#[test]
fn the_bare_domains_certificate_is_checked_beside_www() {
    use crate::certs::{CertificateReport, CertificateState};
    let report_of = |state: CertificateState| {
        CertificateSeen::Reported(CertificateReport {
            state,
            found: format!("{state:?}"),
            cause: None,
            fix: None,
            who: None,
            records: Vec::new(),
            holder: None,
        })
    };
    for (apex, bare, ready) in [
        (
            portico_shared::Apex::Addresses,
            CertificateState::Active,
            true,
        ),
        // Served at www: the bare domain only redirects; www connects.
        (
            portico_shared::Apex::Addresses,
            CertificateState::Pending,
            true,
        ),
        (
            portico_shared::Apex::AddressesMain,
            CertificateState::Pending,
            false,
        ),
        (
            portico_shared::Apex::AddressesMain,
            CertificateState::Active,
            true,
        ),
    ] {
        let (mut obs, settings) = by_address(apex, &["192.0.2.10"], "192.0.2.10");
        obs.certificate = report_of(CertificateState::Active);
        obs.apex_certificate = Some(report_of(bare));
        let report = diagnose(&obs, &settings);
        assert_eq!(report.ready, ready, "{apex:?} {bare:?}: {report:#?}");
        let check = report.check(CheckName::Certificate).unwrap();
        if bare == CertificateState::Pending {
            assert_eq!(check.state, CheckState::Pending);
            assert!(check.found.starts_with("example.test: "), "{check:#?}");
        } else {
            assert_eq!(check.state, CheckState::Pass);
            assert!(check.found.contains("www.example.test: "), "{check:#?}");
        }
    }
}
