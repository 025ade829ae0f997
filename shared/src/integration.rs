//! What a customer adds: a root domain (served at `www.<root>`) or a
//! subdomain (served as itself), classified with the Public Suffix List, and
//! the exact DNS records and forward the customer must create.

use serde::{Deserialize, Serialize};

use crate::apex::{record_type, Apex, ApexAddresses, ApexError};
use crate::host::{HostError, Hostname, Username};

/// The platform's own domain: customers' CNAMEs point at
/// `<username>.<platform domain>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlatformDomain(Hostname);

impl PlatformDomain {
    /// A name of at least two labels, short enough that every
    /// `<username>.<platform domain>` is a valid name too.
    pub fn parse(input: &str) -> Result<PlatformDomain, HostError> {
        let host = Hostname::parse(input)?;
        if host.labels().count() < 2 {
            return Err(HostError::EmptyLabel(host.to_string()));
        }
        let longest = crate::host::MAX_NAME_LEN - crate::host::MAX_LABEL_LEN - 1;
        if host.as_str().len() > longest {
            return Err(HostError::TooLong {
                len: host.as_str().len(),
            });
        }
        Ok(PlatformDomain(host))
    }

    pub fn host(&self) -> &Hostname {
        &self.0
    }

    /// `<username>.<platform domain>`: where an account's CNAMEs point, and
    /// the host that serves its platform-hosted links.
    pub fn account_host(&self, username: &Username) -> Hostname {
        // Cannot fail: a username is a valid label and `parse` leaves room for it.
        self.0
            .child(username.as_str())
            .unwrap_or_else(|_| self.0.clone())
    }
}

/// How a domain is integrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    /// `example.com` or `www.example.com`: served at `www.example.com`, with
    /// the bare root forwarded to it.
    Root,
    /// `sales.example.com`: served as itself.
    Subdomain,
}

/// A classified domain: what the customer asked for and what is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub kind: IntegrationKind,
    /// The registrable domain (`example.com`, `example.co.uk`).
    pub root: Hostname,
    /// The host named by the customer's CNAME (for a root, `www.<root>`):
    /// the pages are served there unless the apex is the main address
    /// ([`Integration::main_host`]).
    pub served_host: Hostname,
    /// Roots only: how the bare root reaches the platform, and which of the
    /// two names serves the pages. Subdomains: always the default.
    #[serde(default)]
    pub apex: Apex,
}

/// An A or AAAA record at the apex the customer creates (apex by address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRecord {
    /// `A` or `AAAA`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// `@`: the bare root, as most providers write it.
    pub host: String,
    /// The root in full.
    pub name: Hostname,
    pub value: std::net::IpAddr,
}

/// A DNS record the customer creates at their DNS provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    #[serde(rename = "type")]
    pub record_type: String,
    /// What most providers call "Host" or "Name": relative to the root
    /// (`sales`, `www`).
    pub host: String,
    /// The same name in full.
    pub name: Hostname,
    /// "Points to", "Target" or "Value".
    pub value: Hostname,
}

/// The forward of the bare root to `https://www.<root>` that root
/// integrations need at the registrar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootForward {
    pub from: String,
    pub to: String,
    /// 301: permanent.
    pub status: u16,
    /// "Forward path" on: `/offer?x=1` must arrive as `/offer?x=1`.
    pub forward_path: bool,
    /// "Do not redirect www": forwarding `www` too would loop forever.
    pub redirect_www: bool,
}

/// Why a domain cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("`{suffix}` is a public suffix: add a domain you own, such as `shop.{suffix}`")]
    PublicSuffix { suffix: String },
    #[error("`{host}` belongs to the platform (`{platform}`): add a domain you own")]
    PlatformDomain { host: String, platform: String },
    #[error("`{host}` cannot be a customer's domain: `.{suffix}` is reserved: {reason}. Add a domain registered in public DNS, such as sales.example.com")]
    SpecialUse {
        host: String,
        suffix: &'static str,
        reason: &'static str,
    },
}

impl DomainError {
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Host(err) => err.code(),
            DomainError::PublicSuffix { .. } => "domain_public_suffix",
            DomainError::PlatformDomain { .. } => "domain_platform",
            DomainError::SpecialUse { .. } => "domain_special_use",
        }
    }
}

impl Integration {
    /// Classifies what a customer typed. Accepts a pasted URL
    /// (`https://Sales.Example.com/`) as well as a bare name.
    #[cfg(feature = "customer-input")]
    pub fn classify(input: &str, platform: &PlatformDomain) -> Result<Integration, DomainError> {
        let host = Hostname::parse(strip_url_decoration(input))?;
        if host.is_within(platform.host()) {
            return Err(DomainError::PlatformDomain {
                host: host.to_string(),
                platform: platform.host().to_string(),
            });
        }
        let root = match psl::domain_str(host.as_str()) {
            Some(root) => Hostname::parse(root)?,
            None => {
                return Err(DomainError::PublicSuffix {
                    suffix: host.to_string(),
                })
            }
        };
        if platform.host().is_within(&root) {
            // The platform's own registrable domain (its marketing site, its
            // mail) is never a customer's.
            return Err(DomainError::PlatformDomain {
                host: host.to_string(),
                platform: platform.host().to_string(),
            });
        }
        let www = root.child("www")?;
        if host == root || host == www {
            Ok(Integration {
                kind: IntegrationKind::Root,
                served_host: www,
                root,
                apex: Apex::Forward,
            })
        } else {
            Ok(Integration {
                kind: IntegrationKind::Subdomain,
                served_host: host,
                root,
                apex: Apex::Forward,
            })
        }
    }

    /// Refuses special-use and reserved names (`app.localhost`,
    /// `x.internal`, `shop.test`) unless `allowed` names their suffix.
    pub fn refuse_special_use(&self, allowed: &[&str]) -> Result<(), DomainError> {
        match crate::special_use::refused_special_use(&self.served_host, allowed) {
            None => Ok(()),
            Some(special) => Err(DomainError::SpecialUse {
                host: self.served_host.to_string(),
                suffix: special.suffix,
                reason: special.reason,
            }),
        }
    }

    /// The CNAME to create: served host → `<username>.<platform domain>`.
    pub fn cname_record(&self, username: &Username, platform: &PlatformDomain) -> DnsRecord {
        DnsRecord {
            record_type: "CNAME".to_string(),
            host: self.relative_name(),
            name: self.served_host.clone(),
            value: platform.account_host(username),
        }
    }

    /// The root forward to create, for root integrations whose apex is
    /// forwarded by the registrar only.
    pub fn root_forward(&self) -> Option<RootForward> {
        match (self.kind, self.apex) {
            (IntegrationKind::Subdomain, _) => None,
            (IntegrationKind::Root, Apex::Addresses | Apex::AddressesMain) => None,
            (IntegrationKind::Root, Apex::Forward) => Some(RootForward {
                from: format!("http://{}", self.root),
                to: format!("https://{}", self.served_host),
                status: 301,
                forward_path: true,
                redirect_www: false,
            }),
        }
    }

    /// The same integration with another apex choice: refused for a
    /// subdomain (it has no apex of its own), and by address only where the
    /// platform has addresses to point at.
    pub fn with_apex(&self, apex: Apex, offered: &ApexAddresses) -> Result<Integration, ApexError> {
        match (self.kind, apex) {
            (_, Apex::Forward) => {}
            (IntegrationKind::Subdomain, _) => return Err(ApexError::NotRoot),
            (IntegrationKind::Root, _) if offered.is_empty() => return Err(ApexError::NotOffered),
            (IntegrationKind::Root, _) => {}
        }
        Ok(Integration {
            apex,
            ..self.clone()
        })
    }

    /// The host that serves the pages: the served host, or for a root whose
    /// apex is the main address, the bare root.
    pub fn main_host(&self) -> &Hostname {
        match (self.kind, self.apex) {
            (IntegrationKind::Root, Apex::AddressesMain) => &self.root,
            _ => &self.served_host,
        }
    }

    /// The hosts that need a certificate: the served host and, for a root
    /// whose apex points at the platform's addresses, the bare root.
    pub fn certificate_hosts(&self) -> Vec<&Hostname> {
        match (self.kind, self.apex.by_address()) {
            (IntegrationKind::Root, true) => vec![&self.served_host, &self.root],
            _ => vec![&self.served_host],
        }
    }

    /// The A and AAAA records at the apex that point it at `addresses`
    /// (roots whose apex is by address only).
    pub fn apex_records(&self, addresses: &ApexAddresses) -> Vec<AddressRecord> {
        if self.kind != IntegrationKind::Root || !self.apex.by_address() {
            return Vec::new();
        }
        addresses
            .as_slice()
            .iter()
            .map(|ip| AddressRecord {
                record_type: record_type(ip).to_string(),
                host: "@".to_string(),
                name: self.root.clone(),
                value: *ip,
            })
            .collect()
    }

    /// The hosts whose requests this integration answers: the served host,
    /// and for roots the bare root (one of the two redirects to the other:
    /// see [`Integration::main_host`]).
    pub fn hosts(&self) -> Vec<&Hostname> {
        match self.kind {
            IntegrationKind::Root => vec![&self.served_host, &self.root],
            IntegrationKind::Subdomain => vec![&self.served_host],
        }
    }

    /// True when a URL on `host` would be answered by this integration
    /// itself: an Index or 404 target there would loop forever.
    pub fn covers(&self, host: &Hostname) -> bool {
        self.hosts().into_iter().any(|own| own == host)
    }

    /// The served host relative to the root: `www`, `sales`, `shop.eu`.
    pub fn relative_name(&self) -> String {
        let served = self.served_host.as_str();
        served
            .strip_suffix(self.root.as_str())
            .and_then(|rest| rest.strip_suffix('.'))
            .unwrap_or(served)
            .to_string()
    }
}

/// Customers paste URLs: take the host out of `https://sales.example.com/`.
#[cfg(feature = "customer-input")]
fn strip_url_decoration(input: &str) -> &str {
    let input = input.trim();
    // Compared as bytes: the first eight bytes of `http://bücher.de` end
    // inside `ü`, so a `str` slice of them does not exist.
    let without_scheme = ["https://", "http://"]
        .into_iter()
        .find_map(|scheme| {
            let head = input.as_bytes().get(..scheme.len())?;
            head.eq_ignore_ascii_case(scheme.as_bytes())
                .then(|| &input[scheme.len()..])
        })
        .unwrap_or(input);
    without_scheme.strip_suffix('/').unwrap_or(without_scheme)
}

#[cfg(all(test, feature = "customer-input"))]
mod tests {
    use super::*;

    fn platform() -> PlatformDomain {
        PlatformDomain::parse("pages.example.net").unwrap()
    }

    #[test]
    fn classifies_roots_and_subdomains() {
        let cases = [
            (
                "example.com",
                IntegrationKind::Root,
                "example.com",
                "www.example.com",
            ),
            (
                "www.example.com",
                IntegrationKind::Root,
                "example.com",
                "www.example.com",
            ),
            (
                "WWW.Example.COM.",
                IntegrationKind::Root,
                "example.com",
                "www.example.com",
            ),
            (
                "https://example.com/",
                IntegrationKind::Root,
                "example.com",
                "www.example.com",
            ),
            // Found by fuzzing (fuzz/fuzz_targets/classify.rs): `http://`
            // before a name starting with a non-ASCII letter was kept.
            (
                "HTTP://bücher.de/",
                IntegrationKind::Root,
                "xn--bcher-kva.de",
                "www.xn--bcher-kva.de",
            ),
            (
                "http://ü.example.com",
                IntegrationKind::Subdomain,
                "example.com",
                "xn--tda.example.com",
            ),
            (
                "sales.example.com",
                IntegrationKind::Subdomain,
                "example.com",
                "sales.example.com",
            ),
            (
                "a.b.example.com",
                IntegrationKind::Subdomain,
                "example.com",
                "a.b.example.com",
            ),
            (
                "example.co.uk",
                IntegrationKind::Root,
                "example.co.uk",
                "www.example.co.uk",
            ),
            (
                "shop.example.co.uk",
                IntegrationKind::Subdomain,
                "example.co.uk",
                "shop.example.co.uk",
            ),
            (
                "www.sales.example.com",
                IntegrationKind::Subdomain,
                "example.com",
                "www.sales.example.com",
            ),
            (
                "shop.test",
                IntegrationKind::Root,
                "shop.test",
                "www.shop.test",
            ),
            (
                "sales.shop.test",
                IntegrationKind::Subdomain,
                "shop.test",
                "sales.shop.test",
            ),
            (
                "bücher.de",
                IntegrationKind::Root,
                "xn--bcher-kva.de",
                "www.xn--bcher-kva.de",
            ),
        ];
        for (input, kind, root, served) in cases {
            let got = Integration::classify(input, &platform()).unwrap();
            assert_eq!(got.kind, kind, "{input}");
            assert_eq!(got.root.as_str(), root, "{input}");
            assert_eq!(got.served_host.as_str(), served, "{input}");
        }
    }

    #[test]
    fn refuses_public_suffixes_and_the_platform() {
        let cases = [
            ("co.uk", "domain_public_suffix"),
            ("com", "domain_public_suffix"),
            ("github.io", "domain_public_suffix"),
            ("pages.example.net", "domain_platform"),
            ("katie.pages.example.net", "domain_platform"),
            ("example.net", "domain_platform"),
            ("www.example.net", "domain_platform"),
            ("1.2.3.4", "host_ip_literal"),
        ];
        for (input, code) in cases {
            let err = Integration::classify(input, &platform()).unwrap_err();
            assert_eq!(err.code(), code, "{input}: {err}");
        }
        let err = Integration::classify("co.uk", &platform()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`co.uk` is a public suffix: add a domain you own, such as `shop.co.uk`"
        );
    }

    #[test]
    fn gives_the_exact_records_to_create() {
        let user = Username::parse("katie").unwrap();
        let root = Integration::classify("example.com", &platform()).unwrap();
        let cname = root.cname_record(&user, &platform());
        assert_eq!(cname.host, "www");
        assert_eq!(cname.name.as_str(), "www.example.com");
        assert_eq!(cname.value.as_str(), "katie.pages.example.net");
        let forward = root.root_forward().unwrap();
        assert_eq!(forward.from, "http://example.com");
        assert_eq!(forward.to, "https://www.example.com");
        assert_eq!(forward.status, 301);

        let sub = Integration::classify("shop.eu.example.co.uk", &platform()).unwrap();
        assert_eq!(sub.cname_record(&user, &platform()).host, "shop.eu");
        assert!(sub.root_forward().is_none());
    }

    #[test]
    fn every_account_host_of_a_platform_domain_is_valid() {
        // 4 × 44 + 4 dots + 9 = 189 octets: the longest platform domain.
        let longest = format!("{}.pages.net", vec!["p".repeat(44); 4].join("."));
        assert_eq!(longest.len(), 189);
        assert!(PlatformDomain::parse(&format!("q{longest}")).is_err());
        let platform = PlatformDomain::parse(&longest).unwrap();
        let user = Username::parse(&"u".repeat(63)).unwrap();
        assert!(platform
            .account_host(&user)
            .as_str()
            .starts_with(user.as_str()));
        assert!(PlatformDomain::parse("localhost").is_err());
    }

    #[test]
    fn an_apex_by_address_gives_its_records_and_may_be_the_main_address() {
        let offered = crate::ApexAddresses::parse("192.0.2.10, 2001:db8::10").unwrap();
        let root = Integration::classify("example.com", &platform()).unwrap();
        assert_eq!(root.apex, Apex::Forward);
        assert_eq!(root.main_host().as_str(), "www.example.com");
        assert!(root.apex_records(&offered).is_empty());

        let by_address = root.with_apex(Apex::Addresses, &offered).unwrap();
        assert!(by_address.root_forward().is_none(), "no registrar forward");
        assert_eq!(by_address.main_host().as_str(), "www.example.com");
        let records = by_address.apex_records(&offered);
        let seen: Vec<(&str, &str, &str, String)> = records
            .iter()
            .map(|r| {
                (
                    r.record_type.as_str(),
                    r.host.as_str(),
                    r.name.as_str(),
                    r.value.to_string(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("A", "@", "example.com", "192.0.2.10".to_string()),
                ("AAAA", "@", "example.com", "2001:db8::10".to_string()),
            ]
        );
        let at_apex = root.with_apex(Apex::AddressesMain, &offered).unwrap();
        assert_eq!(at_apex.main_host().as_str(), "example.com");
        assert_eq!(at_apex.served_host.as_str(), "www.example.com");
        assert_eq!(at_apex.hosts().len(), 2);
        assert_eq!(at_apex.certificate_hosts().len(), 2);
        assert_eq!(root.certificate_hosts(), [&root.served_host]);

        assert_eq!(
            root.with_apex(Apex::Addresses, &crate::ApexAddresses::default()),
            Err(ApexError::NotOffered)
        );
        let sub = Integration::classify("sales.example.com", &platform()).unwrap();
        assert_eq!(
            sub.with_apex(Apex::Addresses, &offered),
            Err(ApexError::NotRoot)
        );
        assert_eq!(sub.with_apex(Apex::Forward, &offered), Ok(sub.clone()));
        assert_eq!(sub.main_host(), &sub.served_host);
    }

    #[test]
    fn covers_its_own_hosts_only() {
        let root = Integration::classify("example.com", &platform()).unwrap();
        for own in ["example.com", "www.example.com"] {
            assert!(root.covers(&Hostname::parse(own).unwrap()), "{own}");
        }
        assert!(!root.covers(&Hostname::parse("sales.example.com").unwrap()));
        let sub = Integration::classify("sales.example.com", &platform()).unwrap();
        assert!(sub.covers(&Hostname::parse("sales.example.com").unwrap()));
        assert!(!sub.covers(&Hostname::parse("example.com").unwrap()));
        assert!(!sub.covers(&Hostname::parse("www.example.com").unwrap()));
    }
}
