//! What a verification found: a list of checks, each with a state and, when
//! it is not passing, the cause, the fix and who must act. The API, the
//! `doctor` command and dashboards only render this.

use std::fmt::Write as _;

use portico_shared::lifecycle::{CertificateFinding, Finding};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Pass,
    /// Works, but something should change.
    Warn,
    /// Does not work: `cause` says why, `fix` what to do.
    Fail,
    /// Not settled yet (a certificate being issued, resolvers' caches, a
    /// nameserver that did not answer): look again later.
    Pending,
}

/// Who must act for a check to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    /// The customer, in their DNS provider's records.
    CustomerDns,
    /// The customer, in their registrar's (or DNS provider's) URL forwarding.
    RegistrarForwarding,
    /// The customer, at their registrar: the domain's nameservers.
    Registrar,
    /// The platform: nothing for the customer to do.
    Platform,
}

/// Which check: typed, and in JSON the stable snake_case strings the API
/// and `doctor --json` have always carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// The delegation of the zone and whether its nameservers answer and agree.
    Nameservers,
    Cname,
    /// What the recursive resolvers see.
    Propagation,
    /// The forward of a root domain's bare root (and each of its addresses).
    RootForward,
    Caa,
    Dnssec,
    DnsProvider,
    Ownership,
    Certificate,
    /// What the host (and a root's bare domain) serves today, elsewhere:
    /// what stops working once it points here.
    CurrentSite,
    /// A root whose bare domain points at the platform's addresses: its A
    /// and AAAA records (flattening shows as the same addresses).
    ApexAddresses,
}

impl CheckName {
    pub const ALL: [CheckName; 11] = [
        CheckName::Nameservers,
        CheckName::Cname,
        CheckName::Propagation,
        CheckName::RootForward,
        CheckName::Caa,
        CheckName::Dnssec,
        CheckName::DnsProvider,
        CheckName::Ownership,
        CheckName::Certificate,
        CheckName::CurrentSite,
        CheckName::ApexAddresses,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Nameservers => "nameservers",
            CheckName::Cname => "cname",
            CheckName::Propagation => "propagation",
            CheckName::RootForward => "root_forward",
            CheckName::Caa => "caa",
            CheckName::Dnssec => "dnssec",
            CheckName::DnsProvider => "dns_provider",
            CheckName::Ownership => "ownership",
            CheckName::Certificate => "certificate",
            CheckName::CurrentSite => "current_site",
            CheckName::ApexAddresses => "apex_addresses",
        }
    }

    pub fn parse(text: &str) -> Option<CheckName> {
        CheckName::ALL.into_iter().find(|n| n.as_str() == text)
    }
}

impl std::fmt::Display for CheckName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// Stable snake_case: `nameservers`, `cname`, `propagation`,
    /// `root_forward`, `caa`, `dnssec`, `dns_provider`, `ownership`,
    /// `certificate`, `current_site`, `apex_addresses`.
    #[schema(value_type = String)]
    pub name: CheckName,
    pub state: CheckState,
    /// What was found, in plain words.
    pub found: String,
    /// Why it is not passing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who: Option<Who>,
}

impl Check {
    pub fn pass(name: CheckName, found: impl Into<String>) -> Check {
        Check {
            name,
            state: CheckState::Pass,
            found: found.into(),
            cause: None,
            fix: None,
            who: None,
        }
    }

    pub fn problem(
        name: CheckName,
        state: CheckState,
        found: impl Into<String>,
        cause: impl Into<String>,
        fix: impl Into<String>,
        who: Who,
    ) -> Check {
        Check {
            name,
            state,
            found: found.into(),
            cause: Some(cause.into()),
            fix: Some(fix.into()),
            who: Some(who),
        }
    }

    pub fn pending(name: CheckName, found: impl Into<String>, cause: impl Into<String>) -> Check {
        Check {
            name,
            state: CheckState::Pending,
            found: found.into(),
            cause: Some(cause.into()),
            fix: None,
            who: None,
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Whether one way of typing the address will reach the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Works {
    Yes,
    No,
    /// Works once something pending settles (the certificate).
    Soon,
}

/// One row of the six-address table of a root domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UrlForm {
    /// As a visitor types it: `https://example.com`, `example.com`, `www.example.com`…
    pub url: String,
    pub works: Works,
    pub why: String,
}

/// The DNS provider serving the zone, from its NS records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProviderView {
    /// `GoDaddy`, `Cloudflare`, … or `unknown`.
    pub name: String,
    pub nameservers: Vec<String>,
    /// Where and how the CNAME is created, in the provider's own words
    /// (known providers only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cname_steps: Option<String>,
    /// How the provider forwards the bare root (known providers that can;
    /// see the `dns_provider` check for those that cannot).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub forward_steps: Option<String>,
}

/// A verification of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// The host visitors use (`www.example.com` for a root domain).
    pub served_host: String,
    /// `served_host` for people: Unicode where it is internationalized
    /// (`www.bücher.example` for `www.xn--bcher-kva.example`).
    #[serde(default)]
    pub served_host_unicode: String,
    /// `root` or `subdomain`.
    pub kind: String,
    /// What the CNAME must point at (`<username>.<platform domain>`), when the
    /// account is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_target: Option<String>,
    /// RFC 3339.
    pub checked_at: String,
    /// Whether DNS points at the platform (`pointing`), not (`not_pointing`),
    /// nameservers disagree (`mixed`), or nothing could be concluded (`inconclusive`).
    #[schema(value_type = String)]
    pub dns: Finding,
    /// `ready` (active or not managed), `pending`, `failed` or `unknown`.
    #[schema(value_type = String)]
    pub certificate: CertificateFinding,
    /// DNS right and certificate ready: the domain can be connected.
    pub ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderView>,
    /// Root domains: which of the six ways of typing the address work.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub addresses: Vec<UrlForm>,
    /// Records the certificate provider asks for while the certificate is
    /// validated over TXT (ownership proven by TXT, the CNAME still
    /// elsewhere): create them and the certificate is active before the
    /// CNAME moves. Empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub certificate_records: Vec<CertificateRecord>,
    pub checks: Vec<Check>,
}

/// A DNS record the certificate provider asks the customer to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertificateRecord {
    /// `TXT`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// The full name.
    pub name: String,
    pub value: String,
    /// `ownership` (the provider's proof that the hostname is yours) or
    /// `certificate` (the authority's validation).
    pub purpose: String,
}

/// The short form shown with a domain (`GET /v1/domains/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckSummary {
    pub checked_at: String,
    pub ready: bool,
    /// The checks that are not passing, by name, with their state and cause.
    pub problems: Vec<ProblemSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemSummary {
    #[schema(value_type = String)]
    pub name: CheckName,
    pub state: CheckState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Report {
    pub fn check(&self, name: CheckName) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    pub fn summary(&self, next_check_at: Option<String>) -> CheckSummary {
        CheckSummary {
            checked_at: self.checked_at.clone(),
            ready: self.ready,
            problems: self
                .checks
                .iter()
                .filter(|c| c.state != CheckState::Pass)
                .map(|c| ProblemSummary {
                    name: c.name,
                    state: c.state,
                    cause: c.cause.clone(),
                })
                .collect(),
            next_check_at,
        }
    }

    /// A readable report for a terminal; `colour` adds ANSI colours.
    pub fn render(&self, colour: bool) -> String {
        let paint = |code: &str, text: &str| {
            if colour {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let mut out = String::new();
        if self.served_host_unicode.is_empty() || self.served_host_unicode == self.served_host {
            let _ = writeln!(out, "{} ({})", paint("1", &self.served_host), self.kind);
        } else {
            let _ = writeln!(
                out,
                "{} ({}; in DNS: {})",
                paint("1", &self.served_host_unicode),
                self.kind,
                self.served_host
            );
        }
        if let Some(target) = &self.expected_target {
            let _ = writeln!(out, "  CNAME must point at {target}");
        }
        if let Some(provider) = &self.provider {
            let _ = writeln!(
                out,
                "  DNS provider: {} ({})",
                provider.name,
                provider.nameservers.join(", ")
            );
        }
        let verdict = if self.ready {
            paint("32;1", "ready to connect")
        } else if self.dns == Finding::Pointing && self.certificate == CertificateFinding::Unknown {
            paint("32;1", "DNS ready (certificate not checked)")
        } else if self.dns == Finding::Inconclusive {
            paint("36;1", "could not tell: see the checks waiting")
        } else {
            paint("33;1", "not ready")
        };
        let _ = writeln!(out, "  {verdict}\n");
        for check in &self.checks {
            let (label, code) = match check.state {
                CheckState::Pass => ("PASS", "32"),
                CheckState::Warn => ("WARN", "33"),
                CheckState::Fail => ("FAIL", "31"),
                CheckState::Pending => ("WAIT", "36"),
            };
            let _ = writeln!(
                out,
                "{} {}: {}",
                paint(code, &format!("[{label}]")),
                paint("1", check.name.as_str()),
                check.found
            );
            if let Some(cause) = &check.cause {
                let _ = writeln!(out, "       cause: {cause}");
            }
            if let Some(fix) = &check.fix {
                let _ = writeln!(out, "       fix:   {fix}");
            }
            if let Some(who) = check.who {
                let who = match who {
                    Who::CustomerDns => "you, in your DNS records",
                    Who::RegistrarForwarding => "you, in your registrar's forwarding",
                    Who::Registrar => "you, at your registrar (the domain's nameservers)",
                    Who::Platform => "the platform (nothing for you to do)",
                };
                let _ = writeln!(out, "       who:   {who}");
            }
        }
        if !self.addresses.is_empty() {
            let _ = writeln!(out, "\nWhat visitors get, by how they type the address:");
            for form in &self.addresses {
                let mark = match form.works {
                    Works::Yes => paint("32", "works     "),
                    Works::Soon => paint("36", "soon      "),
                    Works::No => paint("31", "won't work"),
                };
                let _ = writeln!(out, "  {mark}  {:<32} {}", form.url, form.why);
            }
        }
        out
    }
}
