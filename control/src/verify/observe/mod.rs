//! Observing: every query and request the verifier makes, and nothing it
//! concludes. [`observe`] gathers [`Observations`] — every nameserver's
//! answers, the delegation as the parent zone gives it, what the resolvers
//! see, each address of a root probed over HTTP — and `verify::diagnose`
//! turns them into a report without any I/O. An observation may depend on
//! an earlier answer (a CNAME's target is followed, a DS set's keys are
//! asked for), never on a conclusion.
//!
//! Display forms (Unicode) belong to the subject, not to the answers.

pub mod http;
pub mod site;
pub mod zone;

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{Name, RData, RecordType};
use portico_shared::IntegrationKind;

use super::cname::Expectation;
use super::dns::{fqdn_text, name_of, Answer, Dns};
use super::settings::VerifySettings;
use super::Subject;
use crate::certs::{CertificateError, CertificateReport};
use http::Probe;
pub use site::SiteSeen;
pub use zone::{HostSeen, NameserverSeen, ZoneSeen, ZoneView};

/// The path and query a root's forward is asked for: a forward must keep both.
pub const PROBE_PATH: &str = "/some/path?x=1";
/// CNAME hops followed through the resolvers at most.
const MAX_CHAIN: usize = 8;

/// Everything one verification saw.
#[derive(Debug, Clone)]
pub struct Observations {
    pub subject: Subject,
    pub want: Expectation,
    pub checked_at_ms: i64,
    pub zone: ZoneSeen,
    /// From the first nameserver that answers with authority: the bare
    /// root's CNAME (root domains whose `www` has no CNAME).
    pub root_cname: Option<Answer>,
    /// From the same nameserver: the CNAME of the wildcard beside the
    /// served host (`*.<parent>`), asked when the host has a CNAME.
    pub wildcard: Option<Answer>,
    /// The served host's CNAME as the recursive resolvers see it (`None`:
    /// not asked, no nameserver answered).
    pub resolvers: Option<Answer>,
    /// The hops of a CNAME chain beyond the host's target, through the resolvers.
    pub chain: Vec<Name>,
    /// Root domains: the bare root's addresses, each probed.
    pub forward: Option<ForwardSeen>,
    pub caa: CaaSeen,
    pub dnssec: Option<DnssecSeen>,
    /// The TXT values at the ownership proof's name (asked when the
    /// subject has a token), or why they could not be read.
    pub txt: Option<Result<Vec<String>, String>>,
    pub certificate: CertificateSeen,
    /// The bare root's certificate, for a root whose apex points at the
    /// platform's addresses (`None`: not asked, or no such apex).
    pub apex_certificate: Option<CertificateSeen>,
    /// What the served host answers today, when its DNS does not point at
    /// the platform (`None`: it does, it has no record, or not observed).
    pub site: Option<SiteSeen>,
}

impl Observations {
    pub fn zone(&self) -> Option<&ZoneView> {
        match &self.zone {
            ZoneSeen::Found(zone) => Some(zone),
            _ => None,
        }
    }

    /// The first nameserver whose answer about the host is usable.
    pub fn first_answer(&self) -> Option<(&NameserverSeen, &HostSeen)> {
        self.zone()?.nameservers.iter().find_map(|n| match &n.host {
            Some(host) if !host.cname.is_failed() => Some((n, host)),
            _ => None,
        })
    }
}

/// A root's addresses and what each answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardSeen {
    /// The bare root's A and AAAA records.
    pub addresses: Vec<IpAddr>,
    /// Each address the outbound rule permits, asked over HTTP and HTTPS.
    pub probes: Vec<AddressProbe>,
    /// `http://www.<root>`, asked when www's CNAME is not the platform's and
    /// the root redirects there (the loop of "redirect www").
    pub www: Option<(IpAddr, Probe)>,
    /// The workaround (the forward goes to `pages.<root>`): `www.<root>`
    /// over HTTP and HTTPS at its first permitted address, for the table.
    pub www_forward: Option<AddressProbe>,
    pub http_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressProbe {
    pub ip: IpAddr,
    pub http: Probe,
    pub https: Probe,
}

/// The CAA set that applies, found climbing from the host to its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaaSeen {
    /// The resolvers' answer at `at`, the first name with CAA records.
    Found { at: Name, answer: Answer },
    /// None from the host up to the root.
    Nothing,
    /// Could not be read at `at`.
    Unreadable { at: Name, why: String },
}

/// The zone's DS set (resolvers) and DNSKEY set (its nameservers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnssecSeen {
    pub ds: Answer,
    /// Asked when there are DS records (`None`: not asked, or no nameserver).
    pub keys: Option<Answer>,
}

/// What the certificate provider said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateSeen {
    /// Not asked for (doctor).
    NotAsked,
    /// Not requested: the rules did not allow it yet.
    NotRequested,
    /// No stored domain to own it.
    NoOwner,
    Reported(CertificateReport),
    Unavailable(String),
    Throttled(std::time::Duration),
    /// This replica has not read the zone's certificates yet (paged reads).
    Reading,
    Refused(String),
}

impl CertificateSeen {
    pub fn from_result(result: Result<CertificateReport, CertificateError>) -> CertificateSeen {
        match result {
            Ok(report) => CertificateSeen::Reported(report),
            Err(CertificateError::Unavailable(why)) => CertificateSeen::Unavailable(why),
            Err(CertificateError::Throttled(wait)) => CertificateSeen::Throttled(wait),
            Err(CertificateError::Reading) => CertificateSeen::Reading,
            Err(CertificateError::Refused(why)) => CertificateSeen::Refused(why),
        }
    }
}

/// The expectation for `subject` on `platform`.
pub fn expectation(subject: &Subject, platform: &str) -> Expectation {
    Expectation {
        served_host: name_of(subject.integration.served_host.as_str()),
        root: name_of(subject.integration.root.as_str()),
        kind: subject.integration.kind,
        platform: name_of(platform),
        username: subject.username.as_ref().map(|u| u.as_str().to_string()),
    }
}

/// How much to observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything a report needs.
    Full,
    /// The zone, the CNAME and the TXT proof: whether the account controls
    /// the host's DNS (`Verifier::prove`).
    Ownership,
}

/// Observes `subject` (all but the certificate, which is asked for only
/// when the diagnosis allows: `Verifier::verify`).
pub async fn observe(
    dns: &Dns,
    settings: &VerifySettings,
    subject: &Subject,
    want: Expectation,
    scope: Scope,
    now_ms: i64,
) -> Observations {
    let full = scope == Scope::Full;
    let zone = zone::observe(dns, &want.served_host).await;
    let mut seen = Observations {
        subject: subject.clone(),
        want,
        checked_at_ms: now_ms,
        zone,
        root_cname: None,
        wildcard: None,
        resolvers: None,
        chain: Vec::new(),
        forward: None,
        caa: CaaSeen::Nothing,
        dnssec: None,
        txt: None,
        certificate: CertificateSeen::NotAsked,
        apex_certificate: None,
        site: None,
    };
    let want = &seen.want;
    let asked = seen.zone().and_then(|z| z.first_answering());
    let target = seen
        .first_answer()
        .and_then(|(_, host)| host.cname.cname_of(&want.served_host));
    let answered = seen.first_answer().is_some();

    let names = async {
        // Independent questions, asked at once.
        let root_cname = async {
            match asked {
                Some(ip) if want.kind == IntegrationKind::Root && target.is_none() => {
                    Some(dns.authoritative(ip, &want.root, RecordType::CNAME).await)
                }
                _ => None,
            }
        };
        let wildcard = async {
            let ip = asked?;
            let apex = seen.zone().map(|z| z.apex.clone());
            if target.is_none() || apex.as_ref() == Some(&want.served_host) {
                return None;
            }
            let star = Name::from_ascii("*")
                .and_then(|s| s.append_domain(&want.served_host.base_name()))
                .ok()?;
            Some(dns.authoritative(ip, &star, RecordType::CNAME).await)
        };
        let resolvers = async {
            match answered {
                true => Some(dns.recursive(&want.served_host, RecordType::CNAME).await),
                false => None,
            }
        };
        let (root_cname, wildcard, resolvers) = tokio::join!(root_cname, wildcard, resolvers);
        let mut chain = Vec::new();
        if let Some(found) = &target {
            let mut next = found.clone();
            for _ in 0..MAX_CHAIN {
                if want.platform.zone_of(&next) {
                    break;
                }
                match dns
                    .recursive(&next, RecordType::CNAME)
                    .await
                    .cname_of(&next)
                {
                    Some(hop) => {
                        chain.push(hop.clone());
                        next = hop;
                    }
                    None => break,
                }
            }
        }
        (root_cname, wildcard, resolvers, chain)
    };
    let forward = async {
        if !full {
            return None;
        }
        let points = target.as_ref().is_some_and(|t| want.platform.zone_of(t));
        match want.kind {
            IntegrationKind::Root => {
                let www = Name::from_ascii("www")
                    .ok()?
                    .append_domain(&want.root)
                    .ok()?;
                Some(observe_forward(dns, settings, asked, &want.root, &www, points).await)
            }
            // The workaround (`pages.<root>` where the root cannot forward
            // to www): the root's forward to it is checked like any.
            IntegrationKind::Subdomain => {
                let names: Vec<String> =
                    seen.zone()?.names().into_iter().map(String::from).collect();
                let provider = super::provider::identify(&names);
                if !super::workaround::applies(&subject.integration, provider) {
                    return None;
                }
                Some(
                    observe_forward(dns, settings, asked, &want.root, &want.served_host, points)
                        .await,
                )
            }
        }
    };
    let caa = async {
        match full {
            true => observe_caa(dns, &want.served_host, &want.root).await,
            false => CaaSeen::Nothing,
        }
    };
    let dnssec = async {
        let zone = seen.zone().filter(|_| full)?;
        let ds = dns.recursive(&zone.apex, RecordType::DS).await;
        let signed = ds
            .records()
            .iter()
            .any(|r| r.record_type() == RecordType::DS);
        let keys = match asked {
            Some(ip) if signed => Some(dns.authoritative(ip, &zone.apex, RecordType::DNSKEY).await),
            _ => None,
        };
        Some(DnssecSeen { ds, keys })
    };
    let txt = async {
        subject.ownership_token.as_ref()?;
        subject.username.as_ref()?;
        let zone = seen.zone()?;
        let name = settings
            .challenge_label
            .name_for(&subject.integration.served_host);
        Some(txt_values(dns, zone, &name).await)
    };
    let site = async {
        let (_, host) = seen.first_answer().filter(|_| full)?;
        let elsewhere = match &target {
            Some(t) if want.platform.zone_of(t) => return None,
            other => other.clone(),
        };
        site::observe(dns, settings, &want.served_host, host, elsewhere).await
    };
    let ((root_cname, wildcard, resolvers, chain), forward, caa, dnssec, txt, site) =
        tokio::join!(names, forward, caa, dnssec, txt, site);
    seen.root_cname = root_cname;
    seen.wildcard = wildcard;
    seen.resolvers = resolvers;
    seen.chain = chain;
    seen.forward = forward;
    seen.caa = caa;
    seen.dnssec = dnssec;
    seen.txt = txt;
    seen.site = site;
    seen
}

/// The TXT values at `name`, from the first of the zone's nameservers that
/// answers.
pub async fn txt_values(dns: &Dns, zone: &ZoneView, name: &str) -> Result<Vec<String>, String> {
    let name = name_of(name);
    let mut last = "the zone has no nameserver with an address".to_string();
    for ns in &zone.nameservers {
        let ip = match &ns.asked {
            Ok(ip) => *ip,
            Err(why) => {
                last = why.clone();
                continue;
            }
        };
        match dns.authoritative(ip, &name, RecordType::TXT).await {
            Answer::Failed(why) => last = format!("{}: {why}", ns.name),
            answer => {
                return Ok(answer
                    .owned_by(&name, RecordType::TXT)
                    .into_iter()
                    .filter_map(|record| match &record.data {
                        RData::TXT(txt) => Some(
                            txt.txt_data
                                .iter()
                                .map(|part| String::from_utf8_lossy(part))
                                .collect::<String>(),
                        ),
                        _ => None,
                    })
                    .collect())
            }
        }
    }
    Err(last)
}

/// CAA from `host` up to `root`, through the resolvers.
async fn observe_caa(dns: &Dns, host: &Name, root: &Name) -> CaaSeen {
    let mut name = host.clone();
    loop {
        let answer = dns.recursive(&name, RecordType::CAA).await;
        if let Answer::Failed(why) = answer {
            return CaaSeen::Unreadable { at: name, why };
        }
        if answer
            .records()
            .iter()
            .any(|r| matches!(r.data, RData::CAA(_)))
        {
            return CaaSeen::Found { at: name, answer };
        }
        if name == *root || name.num_labels() <= 1 {
            return CaaSeen::Nothing;
        }
        name = name.base_name();
    }
}

/// The addresses of `name`: a nameserver of the zone first (fresh), then
/// the resolvers.
async fn addresses_of(dns: &Dns, asked: Option<IpAddr>, name: &Name) -> Vec<IpAddr> {
    if let Some(ip) = asked {
        let (a, aaaa) = tokio::join!(
            dns.authoritative(ip, name, RecordType::A),
            dns.authoritative(ip, name, RecordType::AAAA)
        );
        let mut found = a.addresses();
        found.extend(aaaa.addresses());
        if !found.is_empty() {
            return found;
        }
    }
    let (a, aaaa) = tokio::join!(
        dns.recursive(name, RecordType::A),
        dns.recursive(name, RecordType::AAAA)
    );
    let mut found = a.addresses();
    found.extend(aaaa.addresses());
    found
}

/// The bare root's addresses, each asked over HTTP and HTTPS at once; the
/// forward should go to `to` (`www.<root>`, or the workaround's
/// `pages.<root>`), which points at the platform when `to_points`.
async fn observe_forward(
    dns: &Dns,
    settings: &VerifySettings,
    asked: Option<IpAddr>,
    root: &Name,
    to: &Name,
    to_points: bool,
) -> ForwardSeen {
    let ports = &settings.forward;
    let root_text = fqdn_text(root);
    let addresses = addresses_of(dns, asked, root).await;
    let outbound = dns.outbound();
    let from = format!("http://{root_text}{PROBE_PATH}");
    let secure = format!("https://{root_text}{PROBE_PATH}");
    let probes = addresses
        .iter()
        .copied()
        .filter(|ip| outbound.permits(*ip))
        // The platform's own apex addresses answer for the platform: asking
        // them tells nothing about the customer's setup.
        .filter(|ip| !settings.apex_addresses.contains(ip))
        .map(|ip| {
            let (from, secure, root_text) = (&from, &secure, &root_text);
            async move {
                let (http, https) = tokio::join!(
                    http::probe(
                        from,
                        root_text,
                        SocketAddr::new(ip, ports.http_port),
                        ports.timeout
                    ),
                    http::probe(
                        secure,
                        root_text,
                        SocketAddr::new(ip, ports.https_port),
                        ports.timeout
                    ),
                );
                AddressProbe { ip, http, https }
            }
        });
    let probes = futures_util::future::join_all(probes).await;
    let www = format!("www.{root_text}");
    let to_www = fqdn_text(to) == www;
    let redirects_to_www = probes.iter().any(|p| match &p.http {
        Probe::Answered {
            location: Some(location),
            ..
        } => location.contains(&www),
        _ => false,
    });
    let mut www_probe = None;
    let mut www_forward = None;
    if !to_www {
        let www_name = name_of(&www);
        let www_ips = addresses_of(dns, asked, &www_name).await;
        if let Some(ip) = www_ips.into_iter().find(|ip| outbound.permits(*ip)) {
            let (plain, secure) = (
                format!("http://{www}{PROBE_PATH}"),
                format!("https://{www}{PROBE_PATH}"),
            );
            let (http, https) = tokio::join!(
                http::probe(
                    &plain,
                    &www,
                    SocketAddr::new(ip, ports.http_port),
                    ports.timeout,
                ),
                http::probe(
                    &secure,
                    &www,
                    SocketAddr::new(ip, ports.https_port),
                    ports.timeout,
                ),
            );
            www_forward = Some(AddressProbe { ip, http, https });
        }
    } else if redirects_to_www && !to_points {
        let www_name = name_of(&www);
        let www_ips = addresses_of(dns, asked, &www_name).await;
        if let Some(ip) = www_ips.into_iter().find(|ip| outbound.permits(*ip)) {
            let answer = http::probe(
                &format!("http://{www}{PROBE_PATH}"),
                &www,
                SocketAddr::new(ip, ports.http_port),
                ports.timeout,
            )
            .await;
            www_probe = Some((ip, answer));
        }
    }
    ForwardSeen {
        addresses,
        probes,
        www: www_probe,
        www_forward,
        http_port: ports.http_port,
    }
}
