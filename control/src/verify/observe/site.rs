//! What the served host answers today, while its DNS does not point at the
//! platform: a site hosted elsewhere that stops being reachable at this
//! address once the CNAME moves (`verify::current_site` says so).

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{Name, RecordType};

use super::http;
use super::zone::HostSeen;
use super::AddressProbe;
use crate::verify::dns::{fqdn_text, Dns};
use crate::verify::settings::VerifySettings;

/// The served host as it is today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSeen {
    /// Where the name leads today: its CNAME's target, when it has one.
    pub via: Option<Name>,
    /// The addresses it resolves to (through the CNAME chain, if any).
    pub addresses: Vec<IpAddr>,
    /// The first address the outbound rule permits, asked for `/` over
    /// HTTPS and HTTP (`None`: no address, or none permitted).
    pub probe: Option<AddressProbe>,
}

/// Observes `host` as its nameserver answered it (`seen`; `elsewhere`: its
/// CNAME's target, which is not the platform's). A name with neither an
/// address nor a CNAME costs no query; one with a CNAME costs the
/// resolvers' A and AAAA (the chain is theirs to follow).
pub async fn observe(
    dns: &Dns,
    settings: &VerifySettings,
    host: &Name,
    seen: &HostSeen,
    elsewhere: Option<Name>,
) -> Option<SiteSeen> {
    let addresses = match &elsewhere {
        Some(_) => {
            let (a, aaaa) = tokio::join!(
                dns.recursive(host, RecordType::A),
                dns.recursive(host, RecordType::AAAA)
            );
            let mut found = a.addresses();
            found.extend(aaaa.addresses());
            found
        }
        None => {
            let mut found = seen.a.addresses();
            found.extend(seen.aaaa.addresses());
            found
        }
    };
    if addresses.is_empty() && elsewhere.is_none() {
        return None;
    }
    let outbound = dns.outbound();
    let probe = match addresses.iter().copied().find(|ip| outbound.permits(*ip)) {
        Some(ip) => {
            let ports = &settings.forward;
            let host_text = fqdn_text(host);
            let (https, plain) = (
                format!("https://{host_text}/"),
                format!("http://{host_text}/"),
            );
            let (https, http) = tokio::join!(
                http::probe(
                    &https,
                    &host_text,
                    SocketAddr::new(ip, ports.https_port),
                    ports.timeout
                ),
                http::probe(
                    &plain,
                    &host_text,
                    SocketAddr::new(ip, ports.http_port),
                    ports.timeout
                ),
            );
            Some(AddressProbe { ip, http, https })
        }
        None => None,
    };
    Some(SiteSeen {
        via: elsewhere,
        addresses,
        probe,
    })
}
