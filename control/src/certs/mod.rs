//! Certificates for customers' hostnames. The verifier asks for one as soon
//! as a domain is added and treats its state as one of the domain's checks;
//! `connected` needs it `Active`. Implementations: `none` (the local stack,
//! plain HTTP: certificates are not managed, the check says so and passes)
//! and `cloudflare` (Cloudflare for SaaS custom hostnames, [`cloudflare`];
//! what each of its states means for the customer: [`status`]).
//!
//! Every certificate belongs to one domain ([`CertificateOwner`]), so two
//! accounts that ever had the same hostname never touch each other's: the
//! API asks for one when a domain is added ([`Certificates::request`], best
//! effort: an outage must not fail the add) and removes it with the domain
//! ([`Certificates::remove_in_background`]); the verifier's
//! [`Certificates::ensure`] creates whatever is missing; a hostname moving
//! between accounts keeps its certificate ([`Certificates::hand_over`]).

pub mod authorities;
pub mod backoff;
pub mod cloudflare;
pub mod custom_hostname;
pub mod status;
pub mod sweep;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use portico_shared::Hostname;

use crate::cloudflare_api::budget::CallBudget;
use crate::config::CertificateProvider;
use cloudflare::{CloudflareCertificates, RetryBudget};

/// The longest `ensure` or `remove` takes, retries included: well inside
/// the verifier's claim on a domain (`lifecycle::scheduler::CLAIM_LEASE`).
pub const CHECK_DEADLINE: Duration = Duration::from_secs(45);

/// The longest [`Certificates::request`] makes an API request wait.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

/// The domain a certificate belongs to, written into its custom hostname
/// (`custom_metadata`): ids, never names, since a name can change hands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateOwner {
    pub account_id: String,
    pub domain_id: String,
}

impl CertificateOwner {
    pub fn new(account_id: impl Into<String>, domain_id: impl Into<String>) -> CertificateOwner {
        CertificateOwner {
            account_id: account_id.into(),
            domain_id: domain_id.into(),
        }
    }
}

/// How the certificate authority checks that the customer controls the name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    /// Through the customer's CNAME, once it points at the platform.
    #[default]
    Http,
    /// By TXT records the customer creates, so the certificate is active
    /// before the CNAME moves: a site live elsewhere moves without downtime.
    Txt,
}

/// What a DNS record the customer must create is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordPurpose {
    /// Proves the hostname is the customer's (Cloudflare's hostname pre-validation).
    Ownership,
    /// Lets the certificate authority issue the certificate.
    Certificate,
}

/// A DNS record the provider asks the customer to create.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValidationRecord {
    /// `TXT`.
    pub record_type: String,
    /// The full name, e.g. `_acme-challenge.sales.example.com`.
    pub name: String,
    pub value: String,
    pub purpose: RecordPurpose,
}

impl ValidationRecord {
    pub fn txt(name: String, value: String, purpose: RecordPurpose) -> ValidationRecord {
        ValidationRecord {
            record_type: "TXT".into(),
            name,
            value,
            purpose,
        }
    }
}

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
    /// The provider's hostname of that name belongs to another domain (or
    /// was set up by hand): nothing was created or changed; the platform
    /// must act ([`Certificates::hand_over`] once that domain is released).
    HeldElsewhere,
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
    /// The DNS records the customer must create (TXT validation only; empty
    /// for HTTP validation and once everything is active).
    pub records: Vec<ValidationRecord>,
    /// `HeldElsewhere`: the domain whose hostname it is, when Portico's
    /// metadata names one. For the platform only: never shown to a customer.
    #[serde(skip)]
    pub holder: Option<CertificateOwner>,
}

/// What [`Certificates::hand_over`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandOver {
    /// The custom hostname (this id) now names the new owner; its
    /// certificate is untouched.
    Moved { id: String },
    /// It named the new owner already.
    AlreadyThere { id: String },
    /// There is none: [`Certificates::ensure`] creates it for the new owner.
    NoneExists,
    /// It belongs to neither (`holder`: the domain Portico's metadata names,
    /// `None` for metadata Portico did not write): left alone.
    HeldElsewhere { holder: Option<CertificateOwner> },
    /// This deployment does not manage certificates.
    NotManaged,
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The provider could not be reached or answered with a fault: retry later.
    #[error("certificate provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request itself (bad token, bad hostname).
    #[error("certificate provider refused the request: {0}")]
    Refused(String),
    /// Not asked: the platform's Cloudflare API budget is spent for this
    /// long (`cloudflare_api::budget`); retry then.
    #[error("the platform's Cloudflare API budget is spent for now; the next request fits in {} s", .0.as_secs().max(1))]
    Throttled(std::time::Duration),
    /// Not asked: this replica is reading the zone's certificate states
    /// (`cloudflare::view`, after it started); a later check has them.
    #[error("the platform is reading its certificates' states from Cloudflare; a later check has this one")]
    Reading,
}

/// The configured provider.
#[derive(Debug, Clone)]
pub enum Certificates {
    None,
    Cloudflare(Arc<CloudflareCertificates>),
}

impl Certificates {
    /// The provider `certificate_provider` names; Cloudflare's requests
    /// take from `budget` (shared by the replicas; `None`: unlimited);
    /// `paged_reads`: states read in pages on Cloudflare's validation
    /// schedule (`cloudflare::view`).
    pub fn from_settings(
        provider: &CertificateProvider,
        budget: Option<CallBudget>,
        paged_reads: bool,
    ) -> Result<Certificates, String> {
        Ok(match provider {
            CertificateProvider::None => Certificates::None,
            CertificateProvider::Cloudflare {
                api_url,
                api_token,
                zone_id,
            } => {
                let client =
                    CloudflareCertificates::new(api_url, zone_id, api_token)?.with_budget(budget);
                Certificates::Cloudflare(Arc::new(if paged_reads {
                    client.with_paged_reads(backoff::Schedule::default())
                } else {
                    client
                }))
            }
        })
    }

    /// The setting's value, for logs and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Certificates::None => "none",
            Certificates::Cloudflare(_) => "cloudflare",
        }
    }

    /// Requests `owner`'s certificate for `host` if it has none yet, with
    /// `validation`, and reports its state. Idempotent: call it on every
    /// check. Another domain's hostname of that name is reported
    /// [`CertificateState::HeldElsewhere`], never adopted or deleted; a
    /// legacy one (no owner recorded) is adopted. Retries faults for a
    /// while (at most [`CHECK_DEADLINE`]) before `Unavailable`.
    pub async fn ensure(
        &self,
        host: &Hostname,
        owner: &CertificateOwner,
        validation: Validation,
    ) -> Result<CertificateReport, CertificateError> {
        within(
            CHECK_DEADLINE,
            self.ensure_within(host, owner, validation, RetryBudget::PATIENT),
        )
        .await
    }

    /// [`Certificates::ensure`] with little retrying, for inside an API
    /// request (a domain just added): the verifier's next `ensure` finishes
    /// what an outage interrupted. At most [`REQUEST_DEADLINE`].
    pub async fn request(
        &self,
        host: &Hostname,
        owner: &CertificateOwner,
        validation: Validation,
    ) -> Result<CertificateReport, CertificateError> {
        within(
            REQUEST_DEADLINE,
            self.ensure_within(host, owner, validation, RetryBudget::QUICK),
        )
        .await
    }

    async fn ensure_within(
        &self,
        host: &Hostname,
        owner: &CertificateOwner,
        validation: Validation,
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
                records: Vec::new(),
                holder: None,
            }),
            Certificates::Cloudflare(client) => {
                client.ensure(host, owner, validation, budget).await
            }
        }
    }

    /// Removes `owner`'s certificate for `host` (domain removed or
    /// reverted): only a hostname whose metadata names `owner`'s domain.
    /// A legacy one (no owner recorded) is left to [`sweep::sweep`], which
    /// can see the store: here nothing tells it from another domain's not
    /// yet adopted one. Idempotent.
    pub async fn remove(
        &self,
        host: &Hostname,
        owner: &CertificateOwner,
    ) -> Result<(), CertificateError> {
        match self {
            Certificates::None => Ok(()),
            Certificates::Cloudflare(client) => {
                within(
                    CHECK_DEADLINE,
                    client.remove(host, owner, RetryBudget::PATIENT),
                )
                .await
            }
        }
    }

    /// [`Certificates::remove`] without making the caller wait (an API
    /// request); a failure is logged. A removal lost to a crash or a long
    /// outage leaves a custom hostname that serves nothing (the edge has no
    /// record for it) until [`sweep::sweep`] (`portico-control
    /// sweep-certificates --delete`) deletes it.
    pub fn remove_in_background(&self, host: Hostname, owner: CertificateOwner) {
        if let Certificates::None = self {
            return;
        }
        let certificates = self.clone();
        tokio::spawn(async move {
            if let Err(err) = certificates.remove(&host, &owner).await {
                tracing::error!(host = %host, domain = %owner.domain_id, error = %err, "could not remove the certificate of a removed domain; `portico-control sweep-certificates --delete` deletes it later");
            }
        });
    }

    /// Hands `host`'s custom hostname from `from` to `to` (the hostname
    /// moves between accounts): its metadata is rewritten in place, so the
    /// certificate stays active throughout and neither owner is ever without
    /// one. Idempotent: already `to`'s, or none at all, is fine. A legacy
    /// hostname (no owner recorded) counts as `from`'s: before owners were
    /// recorded one name had one domain.
    pub async fn hand_over(
        &self,
        host: &Hostname,
        from: &CertificateOwner,
        to: &CertificateOwner,
    ) -> Result<HandOver, CertificateError> {
        match self {
            Certificates::None => Ok(HandOver::NotManaged),
            Certificates::Cloudflare(client) => {
                within(
                    CHECK_DEADLINE,
                    client.hand_over(host, from, to, RetryBudget::PATIENT),
                )
                .await
            }
        }
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
