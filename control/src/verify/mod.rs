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
//! - [`provider`]: the DNS provider and its advice; the six-address table.

pub mod caa;
pub mod cname;
pub mod dns;
pub mod dnssec;
pub mod forward;
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
                let outcome = cname::check(&self.dns, zone, &want, provider).await;
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
            &self.settings.caa_issuers,
        );
        let dnssec = async {
            match &zone {
                Some(zone) => Some(dnssec::check(&self.dns, zone, resolvers_servfail).await),
                None => None,
            }
        };
        let certificate_check = async {
            if certificate {
                Some(self.certificate(subject).await)
            } else {
                None
            }
        };
        let (root_forward, caa, dnssec, certificate_outcome) =
            tokio::join!(root_forward, caa, dnssec, certificate_check);
        if let Some(outcome) = &root_forward {
            checks.push(outcome.check.clone());
        }
        checks.push(caa);
        checks.extend(dnssec);
        checks.push(self.provider_check(subject, provider, zone.as_ref(), &target_text));
        let certificate_finding = match certificate_outcome {
            Some((check, finding)) => {
                checks.push(check);
                finding
            }
            None => {
                checks.push(Check::pending(
                    "certificate",
                    "not checked (doctor does not request certificates)",
                    "the platform requests the certificate once the domain is added",
                ));
                CertificateFinding::Unknown
            }
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
            checks,
        }
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

    async fn certificate(&self, subject: &Subject) -> (Check, CertificateFinding) {
        let host = &subject.integration.served_host;
        let Some(owner) = &subject.owner else {
            return (
                Check::pending(
                    "certificate",
                    "not requested: no stored domain to own it",
                    "add the domain to request its certificate",
                ),
                CertificateFinding::Unknown,
            );
        };
        // TXT validation (zero-downtime moves) is not chosen per domain yet.
        match self
            .certificates
            .ensure(host, owner, Validation::Http)
            .await
        {
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
                (
                    Check {
                        name: "certificate".into(),
                        state,
                        found: report.found,
                        cause: report.cause,
                        fix: report.fix,
                        who,
                    },
                    finding,
                )
            }
            Err(CertificateError::Unavailable(why)) => (
                Check::pending(
                    "certificate",
                    format!("the certificate provider did not answer: {why}"),
                    "the next check asks again",
                ),
                CertificateFinding::Unknown,
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
            ),
        }
    }
}

/// The name of a host as hickory wants it (for other modules' tests).
pub fn dns_name(host: &str) -> Name {
    dns::name_of(host)
}
