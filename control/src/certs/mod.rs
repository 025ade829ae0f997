//! Certificates for customers' hostnames. The verifier asks for one as soon
//! as a domain is added and treats its state as one of the domain's checks;
//! `connected` needs it `Active`. Implementations: `none` (the local stack,
//! plain HTTP: certificates are not managed, the check says so and passes)
//! and, with the certificate issue, `cloudflare` (Cloudflare for SaaS custom
//! hostnames).

use portico_shared::Hostname;

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

/// What the provider reported, in words a customer can act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateReport {
    pub state: CertificateState,
    /// What the provider said, e.g. "hostname pending, certificate pending_validation".
    pub found: String,
    pub cause: Option<String>,
    pub fix: Option<String>,
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
}

impl Certificates {
    /// Requests a certificate for `host` if none exists yet, and reports its
    /// current state. Idempotent: call it on every check.
    pub async fn ensure(&self, host: &Hostname) -> Result<CertificateReport, CertificateError> {
        match self {
            Certificates::None => Ok(CertificateReport {
                state: CertificateState::NotManaged,
                found: format!("certificates are not managed by this deployment (certificate provider `none`); {host} is served as configured"),
                cause: None,
                fix: None,
            }),
        }
    }

    /// Removes `host`'s certificate (domain removed or reverted). Idempotent.
    pub async fn remove(&self, _host: &Hostname) -> Result<(), CertificateError> {
        match self {
            Certificates::None => Ok(()),
        }
    }
}
