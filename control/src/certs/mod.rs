//! Certificates for customers' hostnames. The verifier asks for one as soon
//! as a domain is added and treats its state as one of the domain's checks;
//! `connected` needs it `Active`. Implementations: `none` (the local stack,
//! plain HTTP: certificates are not managed, the check says so and passes)
//! and `cloudflare` (Cloudflare for SaaS custom hostnames, [`cloudflare`];
//! what each of its states means for the customer: [`status`]).
//!
//! The API asks for a certificate when a domain is added
//! ([`Certificates::request`], best effort: an outage must not fail the
//! add) and removes it with the domain ([`Certificates::remove_in_background`]);
//! the verifier's [`Certificates::ensure`] creates whatever is missing.

pub mod cloudflare;
pub mod status;
pub mod sweep;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use portico_shared::Hostname;

use crate::config::CertificateProvider;
use cloudflare::{CloudflareCertificates, RetryBudget};

/// The longest `ensure` or `remove` takes, retries included: well inside
/// the verifier's claim on a domain (`verify::scheduler::CLAIM_LEASE`).
pub const CHECK_DEADLINE: Duration = Duration::from_secs(45);
/// The longest [`Certificates::request`] makes an API request wait.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

/// Where a hostname's certificate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateState {
    /// Issued and deployed: HTTPS works.
    Active,
    /// Requested; validation or issuance still under way.
    Pending,
    /// The authority refused or validation failed: `cause`/`fix` say why.
    Failed,
    /// This deployment does not manage certificates (local stack).
    NotManaged,
}

/// Who must act for the certificate to make progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    /// The customer, in their DNS.
    Customer,
    /// The platform (its operators, or Cloudflare through them).
    Platform,
}

/// What the provider reported, in words a customer can act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateReport {
    pub state: CertificateState,
    /// What the provider said, e.g. "hostname pending, certificate pending_validation".
    pub found: String,
    pub cause: Option<String>,
    pub fix: Option<String>,
    /// Who must act; `None` while waiting is all there is to do.
    pub who: Option<Who>,
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The provider could not be reached or answered with a fault: retry later.
    #[error("certificate provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request itself (bad token, bad hostname).
    #[error("certificate provider refused the request: {0}")]
    Refused(String),
}

/// The configured provider.
#[derive(Debug, Clone)]
pub enum Certificates {
    None,
    Cloudflare(Arc<CloudflareCertificates>),
}

impl Certificates {
    /// The provider `certificate_provider` names.
    pub fn from_settings(provider: &CertificateProvider) -> Result<Certificates, String> {
        Ok(match provider {
            CertificateProvider::None => Certificates::None,
            CertificateProvider::Cloudflare {
                api_url,
                api_token,
                zone_id,
            } => Certificates::Cloudflare(Arc::new(CloudflareCertificates::new(
                api_url, zone_id, api_token,
            )?)),
        })
    }

    /// The setting's value, for logs and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Certificates::None => "none",
            Certificates::Cloudflare(_) => "cloudflare",
        }
    }

    /// Requests a certificate for `host` if none exists yet, and reports its
    /// current state. Idempotent: call it on every check. Retries faults
    /// for a while (at most [`CHECK_DEADLINE`]) before `Unavailable`.
    pub async fn ensure(&self, host: &Hostname) -> Result<CertificateReport, CertificateError> {
        within(
            CHECK_DEADLINE,
            self.ensure_within(host, RetryBudget::PATIENT),
        )
        .await
    }

    /// [`Certificates::ensure`] with little retrying, for inside an API
    /// request (a domain just added): the verifier's next `ensure` finishes
    /// what an outage interrupted. At most [`REQUEST_DEADLINE`].
    pub async fn request(&self, host: &Hostname) -> Result<CertificateReport, CertificateError> {
        within(
            REQUEST_DEADLINE,
            self.ensure_within(host, RetryBudget::QUICK),
        )
        .await
    }

    async fn ensure_within(
        &self,
        host: &Hostname,
        budget: RetryBudget,
    ) -> Result<CertificateReport, CertificateError> {
        match self {
            Certificates::None => Ok(CertificateReport {
                state: CertificateState::NotManaged,
                found: format!(
                    "certificates are not managed by this deployment (certificate provider `none`, as on the local stack): {host} is served over plain HTTP"
                ),
                cause: None,
                fix: None,
                who: None,
            }),
            Certificates::Cloudflare(client) => client.ensure(host, budget).await,
        }
    }

    /// Removes `host`'s certificate (domain removed or reverted). Idempotent.
    pub async fn remove(&self, host: &Hostname) -> Result<(), CertificateError> {
        match self {
            Certificates::None => Ok(()),
            Certificates::Cloudflare(client) => {
                within(CHECK_DEADLINE, client.remove(host, RetryBudget::PATIENT)).await
            }
        }
    }

    /// [`Certificates::remove`] without making the caller wait (an API
    /// request); a failure is logged. A removal lost to a crash or a long
    /// outage leaves a custom hostname that serves nothing (the edge has no
    /// record for it) until [`sweep::sweep`] (`portico-control
    /// sweep-certificates --delete`) deletes it.
    pub fn remove_in_background(&self, host: Hostname) {
        if let Certificates::None = self {
            return;
        }
        let certificates = self.clone();
        tokio::spawn(async move {
            if let Err(err) = certificates.remove(&host).await {
                tracing::error!(host = %host, error = %err, "could not remove the certificate of a removed domain; `portico-control sweep-certificates --delete` deletes it later");
            }
        });
    }
}

/// `work`, or `Unavailable` once `deadline` has passed. Dropping a request
/// Cloudflare may still carry out is safe: every step is looked up again first.
async fn within<T>(
    deadline: Duration,
    work: impl Future<Output = Result<T, CertificateError>>,
) -> Result<T, CertificateError> {
    match tokio::time::timeout(deadline, work).await {
        Ok(result) => result,
        Err(_) => Err(CertificateError::Unavailable(format!(
            "no complete answer within {} s",
            deadline.as_secs()
        ))),
    }
}
