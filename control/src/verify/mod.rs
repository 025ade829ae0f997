//! The verifier: finds out whether a customer's domain is set up right and,
//! when it is not, says exactly what is wrong, who must act and how. Each
//! check returns data ([`report::Check`]); the API, `doctor` and dashboards
//! only render it. [`scheduler`] runs the checks on a schedule and moves
//! domains through their lifecycle (`portico_shared::lifecycle`).
//!
//! - [`dns`]: hickory-resolver, asking authoritative nameservers directly.
//! - [`cname`]: the CNAME, nameserver agreement, propagation.
//! - [`forward`]: the root forward of root domains, over real HTTP.
//! - [`caa`], [`dnssec`]: what stops certificate issuance.
//! - [`cdn`]: CDN address ranges, from `control/data/cdn-ranges.txt`.
//! - [`provider`]: the DNS provider and its advice; the six-address table.
//! - [`doctor`]: what `portico-control doctor` accepts, and its refusals.

pub mod caa;
pub mod cdn;
pub mod cname;
pub mod dns;
pub mod dnssec;
pub mod doctor;
pub mod forward;
pub mod outbound;
pub mod ownership;
pub mod provider;
pub mod report;
pub mod scheduler;
pub mod settings;

use hickory_proto::rr::Name;
use portico_shared::lifecycle::{CertificateFinding, Finding};
use portico_shared::{Integration, IntegrationKind, PlatformDomain, Username};

use crate::certs::{
    CertificateError, CertificateOwner, CertificateState, Certificates, Validation,
};
use cname::Expectation;
use dns::{fqdn_text, name_of_host, Answer, Dns};
use report::{Check, CheckState, ProviderView, Report, Who};
use settings::VerifySettings;

/// What is verified: a classified domain, and the account it is for.
#[derive(Debug, Clone)]
pub struct Subject {
    pub integration: Integration,
    /// `None` (doctor without `--username`): ownership is not checked.
    pub username: Option<Username>,
    /// The account's TXT proof token for the host (`None`: TXT not checked).
    pub ownership_token: Option<String>,
    /// The stored domain a certificate is requested for; `None` (doctor):
    /// none is.
    pub owner: Option<CertificateOwner>,
}

/// Runs every check of a domain.
pub struct Verifier {
    pub dns: Dns,
    pub settings: VerifySettings,
    pub platform: PlatformDomain,
    pub certificates: Certificates,
}

impl Verifier {
    pub fn new(
        settings: VerifySettings,
        platform: PlatformDomain,
        certificates: Certificates,
    ) -> Result<Verifier, String> {
        Ok(Verifier {
            dns: Dns::new(settings.dns.clone())?,
            settings,
            platform,
            certificates,
        })
    }

    /// All checks. `certificate`: ask the certificate provider too (it
    /// requests one if missing); `doctor` does not.
    pub async fn verify(&self, subject: &Subject, certificate: bool, now_ms: i64) -> Report {
        let integration = &subject.integration;
        let want = Expectation {
            served_host: name_of_host(&integration.served_host),
            root: name_of_host(&integration.root),
            kind: integration.kind,
            platform: name_of_host(self.platform.host()),
            username: subject.username.as_ref().map(|u| u.as_str().to_string()),
        };
        let expected_target = want.target().map(|t| fqdn_text(&t));
        let target_text = expected_target
            .clone()
            .unwrap_or_else(|| format!("<your username>.{}", self.platform.host()));
        let mut checks: Vec<Check> = Vec::new();
        let mut provider_view = None;

        let zone = self.dns.find_zone(&want.served_host).await;
        let (finding, zone) = match zone {
            Ok(zone) => (None, Some(zone)),
            Err(Answer::Failed(why)) => {
                checks.push(Check::pending(
                    "nameservers",
                    format!(
                        "could not find the nameservers of {}: {why}",
                        integration.root
                    ),
                    "a timeout or SERVFAIL changes nothing: the next check asks again",
                ));
                (Some(Finding::Inconclusive), None)
            }
            Err(_) => {
                checks.push(Check::problem(
                    "nameservers",
                    CheckState::Fail,
                    format!("{} has no nameservers (NXDOMAIN)", integration.root),
                    format!("{} is not registered, its registration lapsed, or it has no nameservers at its registrar", integration.root),
                    format!("Check that {} is registered and renewed, and that its nameservers are set at the registrar.", integration.root),
                    Who::CustomerDns,
                ));
                checks.push(Check::problem(
                    "cname",
                    CheckState::Fail,
                    format!("{} does not resolve", integration.served_host),
                    format!("{} does not exist in DNS", integration.root),
                    format!(
                        "Once {} resolves, create a CNAME `{}` → `{target_text}`.",
                        integration.root,
                        integration.relative_name()
                    ),
                    Who::CustomerDns,
                ));
                (Some(Finding::NotPointing), None)
            }
        };
        let provider = zone.as_ref().and_then(|zone| {
            let names: Vec<String> = zone.nameservers.iter().map(|n| n.name.clone()).collect();
            let known = provider::identify(&names);
            provider_view = Some(ProviderView {
                name: known
                    .map(|p| p.name.to_string())
                    .unwrap_or_else(|| "unknown".into()),
                nameservers: names.clone(),
                cname_steps: known.map(|p| p.cname_help.to_string()),
                forward_steps: known.and_then(|p| p.forward_help.map(str::to_string)),
            });
            provider::identify(&names)
        });
        let finding = match (&zone, finding) {
            (Some(zone), _) => {
                let outcome =
                    cname::check(&self.dns, zone, &want, provider, &self.settings.cdn_ranges).await;
                checks.extend(outcome.checks);
                outcome.finding
            }
            (None, Some(finding)) => finding,
            (None, None) => Finding::Inconclusive,
        };
        let resolvers_servfail = checks
            .iter()
            .any(|c| c.name == "propagation" && c.state == CheckState::Fail);

        let root_forward = async {
            if integration.kind != IntegrationKind::Root {
                return None;
            }
            Some(
                forward::check(
                    &self.dns,
                    zone.as_ref(),
                    &want.root,
                    finding == Finding::Pointing,
                    &self.settings.forward,
                    provider.and_then(|p| p.forward_help),
                )
                .await,
            )
        };
        let caa = caa::check(
            &self.dns,
            &want.served_host,
            &want.root,
            self.settings.authorities,
        );
        let dnssec = async {
            match &zone {
                Some(zone) => Some(dnssec::check(&self.dns, zone, resolvers_servfail).await),
                None => None,
            }
        };
        let txt = async {
            match (&zone, &subject.ownership_token, &subject.username) {
                (Some(zone), Some(token), Some(_)) if finding != Finding::Pointing => Some(
                    ownership::look(
                        &self.dns,
                        zone,
                        &self.settings.challenge_label,
                        integration,
                        token,
                    )
                    .await,
                ),
                _ => None,
            }
        };
        let (root_forward, caa, dnssec, txt) = tokio::join!(root_forward, caa, dnssec, txt);
        if let Some(outcome) = &root_forward {
            checks.push(outcome.check.clone());
        }
        let caa_refuses = caa.state == CheckState::Fail;
        checks.push(caa);
        checks.extend(dnssec);
        checks.push(self.provider_check(subject, provider, zone.as_ref(), &target_text));
        // Proof of ownership: the CNAME naming the account, or the TXT token.
        let cname_points = finding == Finding::Pointing && subject.username.is_some();
        let txt = txt.unwrap_or(ownership::TxtSeen::Finding(
            portico_shared::ownership::TxtFinding::Missing,
        ));
        let proven = ownership::proof(cname_points, &txt);
        if let (Some(token), Some(_)) = (&subject.ownership_token, &subject.username) {
            checks.push(ownership::check(
                &self.settings.challenge_label,
                integration,
                token,
                cname_points,
                &txt,
            ));
        }
        let mut certificate_records = Vec::new();
        let certificate_finding = if !certificate {
            checks.push(Check::pending(
                "certificate",
                "not checked (doctor does not request certificates)",
                "the platform requests the certificate once the domain's DNS proves it is the customer's",
            ));
            CertificateFinding::Unknown
        } else if proven.is_none() {
            // Nothing that costs (a custom hostname, a certificate) before proof.
            checks.push(Check::pending(
                "certificate",
                "not requested yet",
                "the certificate is requested once the DNS proves the domain is yours (see the ownership check)",
            ));
            CertificateFinding::Pending
        } else if caa_refuses {
            checks.push(Check::pending(
                "certificate",
                "not requested: CAA forbids the certificate authorities the platform uses",
                "a request would be refused: see the caa check",
            ));
            CertificateFinding::Pending
        } else {
            let validation = if cname_points {
                Validation::Http
            } else {
                // Proven by TXT while the CNAME still points elsewhere (a
                // site live elsewhere): validated over TXT, so the
                // certificate is active before the CNAME moves.
                Validation::Txt
            };
            let (check, finding, records) = self.certificate(subject, validation).await;
            checks.push(check);
            certificate_records = records;
            finding
        };
        let addresses = match (&integration.kind, &root_forward) {
            (IntegrationKind::Root, Some(outcome)) => provider::url_table(
                integration.root.as_str(),
                &provider::Reachability {
                    www_points: finding == Finding::Pointing,
                    certificate_ready: certificate_finding == CertificateFinding::Ready
                        || !certificate,
                    root_http_forwards: outcome.http_forwards,
                    root_https_forwards: outcome.https_forwards,
                    hsts_tld: forward::hsts_preloaded(integration.root.as_str()),
                },
            ),
            _ => Vec::new(),
        };
        Report {
            served_host: integration.served_host.to_string(),
            kind: match integration.kind {
                IntegrationKind::Root => "root".into(),
                IntegrationKind::Subdomain => "subdomain".into(),
            },
            expected_target,
            checked_at: crate::store::rfc3339(now_ms),
            dns: finding,
            certificate: certificate_finding,
            ready: finding == Finding::Pointing && certificate_finding == CertificateFinding::Ready,
            provider: provider_view,
            addresses,
            certificate_records,
            checks,
        }
    }

    /// Whether `username`'s account controls the DNS of `integration`'s
    /// host right now: its CNAME names the account, or its TXT proof holds
    /// `token`. Asked when adding a host that another account holds.
    pub async fn prove(
        &self,
        integration: &Integration,
        username: &Username,
        token: &str,
    ) -> (Option<portico_shared::ownership::Proof>, Check) {
        let want = Expectation {
            served_host: name_of_host(&integration.served_host),
            root: name_of_host(&integration.root),
            kind: integration.kind,
            platform: name_of_host(self.platform.host()),
            username: Some(username.as_str().to_string()),
        };
        let label = &self.settings.challenge_label;
        let zone = match self.dns.find_zone(&want.served_host).await {
            Ok(zone) => zone,
            Err(answer) => {
                let why = match answer {
                    Answer::Failed(why) => why,
                    _ => format!("{} has no nameservers (NXDOMAIN)", integration.root),
                };
                let seen = ownership::TxtSeen::Inconclusive(why);
                return (
                    None,
                    ownership::check(label, integration, token, false, &seen),
                );
            }
        };
        let cname_points = cname::check(&self.dns, &zone, &want, None, &self.settings.cdn_ranges)
            .await
            .finding
            == Finding::Pointing;
        let txt = if cname_points {
            ownership::TxtSeen::Finding(portico_shared::ownership::TxtFinding::Missing)
        } else {
            ownership::look(&self.dns, &zone, label, integration, token).await
        };
        (
            ownership::proof(cname_points, &txt),
            ownership::check(label, integration, token, cname_points, &txt),
        )
    }

    fn provider_check(
        &self,
        subject: &Subject,
        provider: Option<&provider::Provider>,
        zone: Option<&dns::Zone>,
        target: &str,
    ) -> Check {
        let Some(zone) = zone else {
            return Check::pending(
                "dns_provider",
                "unknown: no nameservers found",
                "see the nameservers check",
            );
        };
        let names: Vec<&str> = zone.nameservers.iter().map(|n| n.name.as_str()).collect();
        let Some(provider) = provider else {
            return Check::pass(
                "dns_provider",
                format!(
                    "not recognised ({}): create the records wherever {} is managed",
                    names.join(", "),
                    fqdn_text(&zone.apex)
                ),
            );
        };
        let root = subject.integration.root.as_str();
        if subject.integration.kind == IntegrationKind::Root && provider.forward_help.is_none() {
            let workaround = if provider.is_godaddy() {
                provider::godaddy_root_workaround(root, target)
            } else {
                format!(
                    "{} cannot forward the bare {root} itself. Add `pages.{root}` here as a subdomain instead (CNAME `pages` → `{target}`), and forward {root} to https://pages.{root} with whatever forwarding service you use.",
                    provider.name
                )
            };
            return Check::problem(
                "dns_provider",
                CheckState::Warn,
                format!("{} ({})", provider.name, names.join(", ")),
                format!("with {}, the bare {root} cannot be forwarded to www.{root}: only the www addresses will work", provider.name),
                workaround,
                Who::CustomerDns,
            );
        }
        Check::pass(
            "dns_provider",
            format!(
                "{} ({}). {}",
                provider.name,
                names.join(", "),
                provider.cname_help
            ),
        )
    }

    async fn certificate(
        &self,
        subject: &Subject,
        validation: Validation,
    ) -> (Check, CertificateFinding, Vec<report::CertificateRecord>) {
        let host = &subject.integration.served_host;
        let Some(owner) = &subject.owner else {
            return (
                Check::pending(
                    "certificate",
                    "not requested: no stored domain to own it",
                    "add the domain to request its certificate",
                ),
                CertificateFinding::Unknown,
                Vec::new(),
            );
        };
        match self.certificates.ensure(host, owner, validation).await {
            Ok(report) => {
                let who = report.who.map(|w| match w {
                    crate::certs::Who::Customer => Who::CustomerDns,
                    crate::certs::Who::Platform => Who::Platform,
                });
                let (state, finding) = match report.state {
                    CertificateState::Active => (CheckState::Pass, CertificateFinding::Ready),
                    CertificateState::NotManaged => (CheckState::Pass, CertificateFinding::Ready),
                    CertificateState::Pending => (CheckState::Pending, CertificateFinding::Pending),
                    CertificateState::Failed => (CheckState::Fail, CertificateFinding::Failed),
                    CertificateState::HeldElsewhere => {
                        (CheckState::Pending, CertificateFinding::Pending)
                    }
                };
                // TXT validation: the exact records, so the customer can
                // create them before moving the CNAME.
                let records: Vec<String> = report
                    .records
                    .iter()
                    .map(|r| format!("{} `{}` = `{}`", r.record_type, r.name, r.value))
                    .collect();
                let structured = report
                    .records
                    .iter()
                    .map(|r| report::CertificateRecord {
                        record_type: r.record_type.clone(),
                        name: r.name.clone(),
                        value: r.value.clone(),
                        purpose: match r.purpose {
                            crate::certs::RecordPurpose::Ownership => "ownership".into(),
                            crate::certs::RecordPurpose::Certificate => "certificate".into(),
                        },
                    })
                    .collect();
                let fix = match (report.fix, records.is_empty()) {
                    (fix, true) => fix,
                    (fix, false) => Some(format!(
                        "{}Create: {}.",
                        fix.map(|f| format!("{f} ")).unwrap_or_default(),
                        records.join("; ")
                    )),
                };
                (
                    Check {
                        name: "certificate".into(),
                        state,
                        found: report.found,
                        cause: report.cause,
                        fix,
                        who,
                    },
                    finding,
                    structured,
                )
            }
            Err(CertificateError::Unavailable(why)) => (
                Check::pending(
                    "certificate",
                    format!("the certificate provider did not answer: {why}"),
                    "the next check asks again",
                ),
                CertificateFinding::Unknown,
                Vec::new(),
            ),
            Err(CertificateError::Throttled(wait)) => (
                Check::pending(
                    "certificate",
                    format!(
                        "not asked yet: the platform's Cloudflare API budget is spent for the next {} s",
                        wait.as_secs().max(1)
                    ),
                    "the platform spreads its requests to Cloudflare; a later check asks",
                ),
                CertificateFinding::Unknown,
                Vec::new(),
            ),
            Err(CertificateError::Reading) => (
                Check::pending(
                    "certificate",
                    "not asked yet: the platform is reading its certificates' states from Cloudflare",
                    "the platform reads them in pages after it starts; a later check has this one",
                ),
                CertificateFinding::Unknown,
                Vec::new(),
            ),
            Err(CertificateError::Refused(why)) => (
                Check::problem(
                    "certificate",
                    CheckState::Fail,
                    format!("the certificate provider refused: {why}"),
                    "the platform's certificate request was refused",
                    "Nothing for you to do: the platform's operators are told.",
                    Who::Platform,
                ),
                CertificateFinding::Failed,
                Vec::new(),
            ),
        }
    }
}

/// The name of a host as hickory wants it (for other modules' tests).
pub fn dns_name(host: &str) -> Name {
    dns::name_of(host)
}
