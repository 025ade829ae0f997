//! A scenario's DNS on loopback: a "recursive resolver" holding every zone
//! (the customer's as resolvers see it, the DNS host's with its nameservers'
//! addresses, the platform's), and the customer's authoritative nameservers
//! on 127.0.0.2, 127.0.0.3… sharing one port, which the verifier is told.

use std::net::SocketAddr;

use portico_control::certs::{CertificateOwner, Certificates};
use portico_control::config::RawSettings;
use portico_control::verify::report::{Check, CheckName, CheckState, Report};
use portico_control::verify::settings::VerifySettings;
use portico_control::verify::{Subject, Verifier};
use portico_shared::{Integration, PlatformDomain, Username};
use portico_tests::dns::{loopback, DnsServer, Zone};

pub const PLATFORM: &str = "portico.test";
pub const NOW: i64 = 1_800_000_000_000;

/// The platform's own zone, as resolvers see it.
pub fn platform_zone() -> Zone {
    Zone::new(
        PLATFORM,
        "@ NS ns1.portico.test.\nns1 A 127.0.0.1\n* A 192.0.2.10\n",
    )
}

pub struct World {
    pub resolver: DnsServer,
    pub nameservers: Vec<DnsServer>,
    pub nameserver_port: u16,
}

/// Nameservers: `(their names, the zone each serves)`. The resolver's view of
/// the customer zone is `public` (usually the same as the nameservers').
pub struct Scenario<'a> {
    pub zone: &'a str,
    pub ns_names: Vec<String>,
    /// The customer zone's records as each nameserver serves them.
    pub served: Vec<String>,
    /// The customer zone's records as the resolvers see them (cached).
    pub public: String,
    /// More zones the resolvers know.
    pub extra: Vec<Zone>,
}

impl<'a> Scenario<'a> {
    /// One nameserver, `ns1.dns-host.test`, serving `records`; resolvers agree.
    pub fn simple(zone: &'a str, records: &str) -> Scenario<'a> {
        Scenario {
            zone,
            ns_names: vec!["ns1.dns-host.test".into()],
            served: vec![records.into()],
            public: records.into(),
            extra: Vec::new(),
        }
    }

    pub fn nameservers(mut self, names: &[&str]) -> Self {
        self.ns_names = names.iter().map(|n| n.to_string()).collect();
        let first = self.served[0].clone();
        self.served = names.iter().map(|_| first.clone()).collect();
        self
    }

    pub fn served_by(mut self, index: usize, records: &str) -> Self {
        self.served[index] = records.into();
        self
    }

    pub fn public(mut self, records: &str) -> Self {
        self.public = records.into();
        self
    }

    pub fn zone(mut self, zone: Zone) -> Self {
        self.extra.push(zone);
        self
    }

    pub async fn start(self) -> World {
        let ns_records: String = self
            .ns_names
            .iter()
            .map(|n| format!("@ NS {n}.\n"))
            .collect();
        // Each nameserver gets 127.0.0.(2+i); their hosts' zones say so.
        let mut host_zones: Vec<Zone> = Vec::new();
        for (i, name) in self.ns_names.iter().enumerate() {
            let (label, host_zone) = name.split_once('.').unwrap();
            host_zones.push(Zone::new(
                host_zone,
                &format!("{label} A 127.0.0.{}\n", 2 + i),
            ));
        }
        for attempt in 0..20 {
            let mut servers = Vec::new();
            let mut port = 0;
            let mut ok = true;
            for (i, records) in self.served.iter().enumerate() {
                let addr = SocketAddr::new(loopback(2 + i as u8), port);
                let zone = Zone::new(self.zone, &format!("{ns_records}{records}"));
                match DnsServer::start(addr, &[zone]).await {
                    Ok(server) => {
                        port = server.addr.port();
                        servers.push(server);
                    }
                    Err(err) => {
                        assert!(attempt < 19, "cannot start nameservers: {err:?}");
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                continue;
            }
            let mut zones = vec![
                Zone::new(self.zone, &format!("{ns_records}{}", self.public)),
                platform_zone(),
            ];
            zones.extend(merge(host_zones.clone()));
            zones.extend(self.extra.clone());
            if self.zone != "test" {
                // The TLD, so names nobody registered answer NXDOMAIN.
                zones.push(Zone::new("test", ""));
            }
            let resolver = DnsServer::loopback(&zones).await.unwrap();
            return World {
                resolver,
                nameservers: servers,
                nameserver_port: port,
            };
        }
        unreachable!()
    }
}

/// Zones of the same origin merged into one.
fn merge(zones: Vec<Zone>) -> Vec<Zone> {
    let mut merged: Vec<Zone> = Vec::new();
    for zone in zones {
        match merged.iter_mut().find(|z| z.origin == zone.origin) {
            Some(existing) => existing.text.push_str(&zone.text),
            None => merged.push(zone),
        }
    }
    merged
}

impl World {
    pub fn settings(&self) -> VerifySettings {
        self.settings_with(0)
    }

    /// With the registrar forwarder on `http_port`.
    pub fn settings_with(&self, http_port: u16) -> VerifySettings {
        let raw = RawSettings {
            dns_resolvers: Some(self.resolver.addr.to_string()),
            dns_nameserver_port: Some(self.nameserver_port),
            dns_timeout_ms: Some(500),
            forward_http_port: Some(if http_port == 0 { 9 } else { http_port }),
            forward_https_port: Some(9),
            forward_timeout_ms: Some(2000),
            verify_allow_private_addresses: Some(true),
            ..RawSettings::default()
        };
        VerifySettings::resolve(&raw).unwrap()
    }

    pub fn verifier(&self, settings: VerifySettings) -> Verifier {
        Verifier::new(
            settings,
            PlatformDomain::parse(PLATFORM).unwrap(),
            Certificates::None,
        )
        .unwrap()
    }
}

pub fn subject(hostname: &str, username: Option<&str>) -> Subject {
    Subject {
        integration: Integration::classify(hostname, &PlatformDomain::parse(PLATFORM).unwrap())
            .unwrap(),
        username: username.map(|u| Username::parse(u).unwrap()),
        ownership_token: None,
        owner: Some(CertificateOwner::new("account", "domain")),
    }
}

/// Verifies `hostname` for `katie` in `world`.
pub async fn verify(world: &World, hostname: &str) -> Report {
    let verifier = world.verifier(world.settings());
    verifier
        .verify(&subject(hostname, Some("katie")), true, NOW)
        .await
}

pub fn check<'r>(report: &'r Report, name: &str) -> &'r Check {
    let typed = CheckName::parse(name).unwrap_or_else(|| panic!("no check is named `{name}`"));
    report
        .check(typed)
        .unwrap_or_else(|| panic!("no `{name}` check in {report:#?}"))
}

/// Asserts a check's state and that its cause mentions every word.
pub fn assert_check(report: &Report, name: &str, state: CheckState, words: &[&str]) {
    let check = check(report, name);
    assert_eq!(check.state, state, "{name}: {check:#?}");
    let text = format!(
        "{} {} {}",
        check.found,
        check.cause.clone().unwrap_or_default(),
        check.fix.clone().unwrap_or_default()
    );
    for word in words {
        assert!(
            text.contains(word),
            "{name} should mention `{word}`: {check:#?}"
        );
    }
}
