//! The verifier: finds out whether a customer's domain is set up right and,
//! when it is not, says exactly what is wrong, who must act and how. It
//! observes first, then diagnoses: [`observe`] makes every query and
//! request and keeps what came back ([`observe::Observations`]);
//! [`diagnose::diagnose`] holds every rule and turns them into a
//! [`report::Report`] without any I/O. The API, `doctor` and dashboards only
//! render it. `crate::lifecycle::scheduler` runs verifications on a
//! schedule and moves domains through their lifecycle.
//!
//! - [`dns`]: hickory-resolver, asking authoritative nameservers directly.
//! - [`observe`]: the delegation walked from the parent, every
//!   nameserver's answers, resolvers, every address of a root over HTTP.
//! - [`nameservers`], [`cname`]: the delegation, nameserver agreement, the
//!   CNAME, propagation, wildcards.
//! - [`forward`]: the root forward of root domains, at each address.
//! - [`apex`]: a root's bare domain pointed at the platform's addresses.
//! - [`caa`], [`dnssec`]: what stops certificate issuance.
//! - [`cdn`]: CDN address ranges, from `control/data/cdn-ranges.txt`.
//! - [`provider`]: the DNS provider and its advice; the six-address table.
//! - [`doctor`]: what `portico-control doctor` accepts, and its refusals.

pub mod apex;
pub mod caa;
pub mod cdn;
pub mod cname;
pub mod current_site;
pub mod diagnose;
pub mod dns;
pub mod dnssec;
pub mod doctor;
pub mod forward;
pub mod nameservers;
pub mod observe;
pub mod outbound;
pub mod ownership;
pub mod provider;
pub mod report;
pub mod settings;
pub mod workaround;

use hickory_proto::rr::Name;
use portico_shared::{Integration, IntegrationKind, PlatformDomain, Username};

use crate::certs::{CertificateOwner, Certificates};
use dns::Dns;
use observe::{CertificateSeen, Observations, Scope};
use report::{Check, Report};
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

    /// Everything observed about `subject`, but the certificate.
    pub async fn observe(&self, subject: &Subject, scope: Scope, now_ms: i64) -> Observations {
        let want = observe::expectation(subject, self.platform.host().as_str());
        observe::observe(&self.dns, &self.settings, subject, want, scope, now_ms).await
    }

    /// All checks. `certificate`: ask the certificate provider too (it
    /// requests one if missing, once the diagnosis allows); `doctor` does not.
    pub async fn verify(&self, subject: &Subject, certificate: bool, now_ms: i64) -> Report {
        let mut seen = self.observe(subject, Scope::Full, now_ms).await;
        if certificate {
            let (served, apex) = self.certificate(&seen).await;
            seen.certificate = served;
            seen.apex_certificate = apex;
        }
        diagnose::diagnose(&seen, &self.settings)
    }

    /// The served host's certificate and, for a root whose apex points at
    /// the platform's addresses, the bare root's: a custom hostname of its
    /// own, owned by the same domain and asked for under the same rules.
    async fn certificate(&self, seen: &Observations) -> (CertificateSeen, Option<CertificateSeen>) {
        let integration = &seen.subject.integration;
        let apex = (integration.kind == IntegrationKind::Root && integration.apex.by_address())
            .then_some(&integration.root);
        let Some(validation) = diagnose::certificate_request(seen, &self.settings) else {
            return (
                CertificateSeen::NotRequested,
                apex.map(|_| CertificateSeen::NotRequested),
            );
        };
        let Some(owner) = &seen.subject.owner else {
            return (
                CertificateSeen::NoOwner,
                apex.map(|_| CertificateSeen::NoOwner),
            );
        };
        let served = self
            .certificates
            .ensure(&integration.served_host, owner, validation);
        let bare = async {
            match apex {
                Some(root) => Some(CertificateSeen::from_result(
                    self.certificates.ensure(root, owner, validation).await,
                )),
                None => None,
            }
        };
        let (served, bare) = tokio::join!(served, bare);
        (CertificateSeen::from_result(served), bare)
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
        let subject = Subject {
            integration: integration.clone(),
            username: Some(username.clone()),
            ownership_token: Some(token.to_string()),
            owner: None,
        };
        let seen = self.observe(&subject, Scope::Ownership, 0).await;
        (
            diagnose::proof(&seen, &self.settings),
            diagnose::ownership_check(&seen, &self.settings),
        )
    }
}

/// The name of a host as hickory wants it (for other modules' tests).
pub fn dns_name(host: &str) -> Name {
    dns::name_of(host)
}
