//! What a Cloudflare custom hostname's state means for the customer: a pure
//! mapping from the API's `status`, `ssl.status`, `ssl.validation_errors`
//! and `verification_errors` to a [`CertificateReport`] with the cause and
//! the fix in plain words, and who must act.
//!
//! Values as documented by Cloudflare:
//! - hostname `status`: `active`, `pending`, `active_redeploying`, `moved`,
//!   `pending_deletion`, `deleted`, `pending_blocked`, `pending_migration`,
//!   `pending_provisioned`, `test_*`, `provisioned`, `blocked` (API
//!   reference, "Custom Hostname Details",
//!   <https://developers.cloudflare.com/api/resources/custom_hostnames/methods/get/>);
//!   "Moved: not active after Pending for the entirety of the Validation
//!   Backoff Schedule or it no longer points to the fallback origin",
//!   "Blocked: … likely associated with Cloudflare previously and flagged
//!   for abuse" (Cloudflare for SaaS, "Hostname validation status").
//! - `ssl.status`: `initializing`, `pending_validation`, `deleted`,
//!   `pending_issuance`, `pending_deployment`, `pending_deletion`,
//!   `pending_expiration`, `expired`, `active`, `initializing_timed_out`,
//!   `validation_timed_out`, `issuance_timed_out`, `deployment_timed_out`,
//!   `deletion_timed_out`, `pending_cleanup`, `staging_deployment`,
//!   `staging_active`, `deactivating`, `inactive`, `backup_issued`,
//!   `holding_deployment` (same reference, `ssl.status`).
//! - `ssl.validation_errors[].message`: "Domain validation errors that have
//!   been received by the certificate authority"; `verification_errors[]`:
//!   "errors that were encountered while trying to activate a hostname",
//!   e.g. "custom hostname does not CNAME to this zone." (Cloudflare for
//!   SaaS troubleshooting, error 1016).
//! - With the default certificate authority "Cloudflare checks the CAA
//!   records before requesting the certificates" (Cloudflare for SaaS,
//!   "Issue certificates"); the authorities it uses are Let's Encrypt
//!   (`letsencrypt.org`), Google Trust Services (`pki.goog`) and SSL.com
//!   (`ssl.com`) (SSL/TLS reference, "Certificate authorities").

use serde::Deserialize;

use super::{CertificateReport, CertificateState, Who};

/// A custom hostname as the API returns it (the fields Portico reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CustomHostname {
    pub id: String,
    pub hostname: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub ssl: Option<Ssl>,
    /// Documented as a list of anything; in practice strings.
    #[serde(default)]
    pub verification_errors: Vec<serde_json::Value>,
}

/// The hostname's certificate.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Ssl {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub validation_errors: Vec<ValidationError>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ValidationError {
    #[serde(default)]
    pub message: String,
}

/// Where the CNAME should point, in words that hold for every account.
const CNAME_TARGET: &str = "the target shown in the domain's DNS records";
/// What a customer with a restrictive CAA policy must allow.
const CAA_VALUES: &str = "`letsencrypt.org`, `pki.goog` and `ssl.com`";

impl CustomHostname {
    pub fn hostname_status(&self) -> &str {
        self.status.as_deref().unwrap_or("unknown")
    }

    pub fn ssl_status(&self) -> &str {
        self.ssl
            .as_ref()
            .and_then(|ssl| ssl.status.as_deref())
            .unwrap_or("unknown")
    }

    /// Every error Cloudflare reported, certificate validation first.
    pub fn errors(&self) -> Vec<String> {
        let validation = self
            .ssl
            .iter()
            .flat_map(|ssl| ssl.validation_errors.iter())
            .map(|e| e.message.trim().to_string());
        let verification = self.verification_errors.iter().map(|e| match e {
            serde_json::Value::String(text) => text.trim().to_string(),
            other => other.to_string(),
        });
        validation
            .chain(verification)
            .filter(|e| !e.is_empty())
            .collect()
    }

    /// Whether Cloudflare has given up on (or removed) something that asking
    /// again can restart: a `PATCH` with the same `ssl` settings re-runs
    /// validation, puts a `moved` hostname back to pending and, for HTTP
    /// validation, is how Cloudflare is told the CNAME is now in place
    /// (API reference, "Edit Custom Hostname"; "Hostname validation status").
    pub fn wants_refresh(&self) -> bool {
        if self.is_blocked() {
            return false;
        }
        self.hostname_status() == "moved"
            || matches!(
                self.ssl_status(),
                "pending_validation"
                    | "initializing_timed_out"
                    | "validation_timed_out"
                    | "issuance_timed_out"
                    | "deployment_timed_out"
                    | "expired"
                    | "deleted"
                    | "deletion_timed_out"
                    | "inactive"
            )
    }

    /// Whether Cloudflare refuses the hostname (only support can lift it).
    pub fn is_blocked(&self) -> bool {
        matches!(
            self.hostname_status(),
            "blocked" | "pending_blocked" | "test_blocked"
        )
    }

    /// Whether the hostname is gone (or going) and a new one must be created.
    pub fn is_deleted(&self) -> bool {
        matches!(self.hostname_status(), "deleted" | "pending_deletion")
    }
}

fn report(
    state: CertificateState,
    found: String,
    cause: Option<String>,
    fix: Option<String>,
    who: Option<Who>,
) -> CertificateReport {
    CertificateReport {
        state,
        found,
        cause,
        fix,
        who,
    }
}

/// The report for a custom hostname's current state.
pub fn report_for(custom: &CustomHostname) -> CertificateReport {
    let host = custom.hostname.as_str();
    let hostname = custom.hostname_status();
    let ssl = custom.ssl_status();
    let errors = custom.errors();
    let mut found =
        format!("Cloudflare custom hostname {host}: hostname {hostname}, certificate {ssl}");
    if !errors.is_empty() {
        found.push_str(&format!(
            "; Cloudflare reports: {}",
            errors
                .iter()
                .map(|e| format!("\"{e}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let says = if errors.is_empty() {
        String::new()
    } else {
        format!(" (Cloudflare reports: \"{}\")", errors.join("\"; \""))
    };
    let point_cname = format!(
        "At your DNS provider, make {host} a CNAME record pointing at {CNAME_TARGET}, with no A or AAAA records beside it and no other CDN's proxy in front of it"
    );
    use CertificateState::*;

    if custom.is_blocked() {
        return report(
            Failed,
            found,
            Some(format!(
                "Cloudflare has blocked {host}: it cannot be added to Cloudflare at this time, typically because it was flagged for abuse while it was on Cloudflare before"
            )),
            Some(
                "Contact the platform's support: only the platform can ask Cloudflare to review the block; changing DNS records will not help"
                    .into(),
            ),
            Some(Who::Platform),
        );
    }
    let caa_errors: Vec<String> = errors
        .iter()
        .map(|e| e.to_ascii_lowercase())
        .filter(|e| e.contains("caa"))
        .collect();
    let lookup_failed = |e: &String| {
        ["servfail", "timeout", "timed out", "dnssec", "refused"]
            .iter()
            .any(|word| e.contains(word))
    };
    if caa_errors.iter().any(lookup_failed) {
        return report(
            Failed,
            found,
            Some(format!(
                "The certificate authority could not look up the CAA records of {host}: its DNS answered with an error, often because of a stale DNSSEC (DS) record at the registrar{says}"
            )),
            Some(format!(
                "Make sure every nameserver of {host}'s domain answers (CAA queries included); if DNSSEC was turned off or the domain moved to another DNS provider, remove the old DS record at your registrar; validation is retried automatically"
            )),
            Some(Who::Customer),
        );
    }
    if !caa_errors.is_empty() {
        return report(
            Failed,
            found,
            Some(format!(
                "A CAA record on {host} or one of its parent domains does not allow the certificate authorities Cloudflare uses, so none of them may issue its certificate{says}"
            )),
            Some(format!(
                "At your DNS provider, either remove the CAA records of {host} and its parent domains, or add CAA records (tag `issue`) allowing {CAA_VALUES}; validation is retried automatically"
            )),
            Some(Who::Customer),
        );
    }
    if hostname == "moved" {
        return report(
            Failed,
            found,
            Some(format!(
                "Cloudflare stopped validating {host}: it did not point at the platform for the whole validation period, or no longer does{says}"
            )),
            Some(format!(
                "{point_cname}; the platform then asks Cloudflare to validate it again at its next check"
            )),
            Some(Who::Customer),
        );
    }
    let hostname_live = matches!(hostname, "active" | "active_redeploying");
    match ssl {
        "active" | "pending_expiration" if hostname_live => report(Active, found, None, None, None),
        "active" | "pending_expiration" if errors.is_empty() => report(
            Pending,
            found,
            Some(format!(
                "The certificate of {host} is issued; Cloudflare is still activating the hostname"
            )),
            Some("Nothing to do: this usually takes a few minutes".into()),
            None,
        ),
        "active" | "pending_expiration" => report(
            Pending,
            found,
            Some(format!(
                "The certificate of {host} is issued, but Cloudflare has not confirmed that {host} points at the platform{says}"
            )),
            Some(format!("{point_cname}; the check is repeated automatically")),
            Some(Who::Customer),
        ),
        "validation_timed_out" | "initializing_timed_out" => report(
            Failed,
            found,
            Some(format!(
                "The certificate authority could not validate {host} before the validation period ended: {host} did not point at the platform (CNAME missing or pointing elsewhere, a leftover A or AAAA record, or another CDN's proxy in front of it){says}"
            )),
            Some(format!(
                "{point_cname}; the platform asks Cloudflare to validate it again at its next check"
            )),
            Some(Who::Customer),
        ),
        "issuance_timed_out" | "deployment_timed_out" => report(
            Failed,
            found,
            Some(format!(
                "{host} was validated, but Cloudflare timed out {} its certificate{says}",
                if ssl == "issuance_timed_out" { "issuing" } else { "deploying" }
            )),
            Some(
                "Nothing to change in your DNS: the platform asks Cloudflare to try again at its next check; if this lasts more than a day, contact the platform's support"
                    .into(),
            ),
            Some(Who::Platform),
        ),
        "expired" => report(
            Failed,
            found,
            Some(format!(
                "The certificate of {host} expired and could not be renewed, usually because {host} no longer points at the platform{says}"
            )),
            Some(format!(
                "{point_cname}; the platform requests a new certificate at its next check"
            )),
            Some(Who::Customer),
        ),
        "deleted" | "pending_deletion" | "deletion_timed_out" | "deactivating" | "inactive"
        | "pending_cleanup" => report(
            Failed,
            found,
            Some(format!(
                "The certificate of {host} was removed at Cloudflare ({ssl})"
            )),
            Some(
                "Nothing to change in your DNS: the platform requests a new certificate at its next check"
                    .into(),
            ),
            Some(Who::Platform),
        ),
        "pending_issuance" | "pending_deployment" | "staging_deployment" | "staging_active"
        | "holding_deployment" | "backup_issued" => report(
            Pending,
            found,
            Some(format!(
                "{host} is validated; Cloudflare is {} its certificate",
                if ssl == "pending_issuance" { "issuing" } else { "deploying" }
            )),
            Some("Nothing to do: this usually takes a few minutes".into()),
            None,
        ),
        "initializing" | "pending_validation" if !errors.is_empty() => report(
            Pending,
            found,
            Some(format!(
                "The certificate authority cannot validate {host} yet: it does not point at the platform{says}"
            )),
            Some(format!(
                "{point_cname}; validation is retried automatically, usually within minutes of the record being visible"
            )),
            Some(Who::Customer),
        ),
        "initializing" | "pending_validation" => report(
            Pending,
            found,
            Some(format!(
                "The certificate of {host} is requested; the certificate authority is validating that {host} points at the platform"
            )),
            Some(format!(
                "If {host} is not yet a CNAME record pointing at {CNAME_TARGET}, create it now; otherwise nothing to do, this usually takes a few minutes"
            )),
            None,
        ),
        _ if custom.is_deleted() => report(
            Pending,
            found,
            Some(format!(
                "Cloudflare is deleting an earlier custom hostname for {host}"
            )),
            Some("Nothing to do: the platform creates a new one at its next check".into()),
            None,
        ),
        _ => report(
            Pending,
            found,
            Some(format!(
                "Cloudflare reports a state of {host}'s certificate that the platform does not know"
            )),
            Some("Nothing to do for now; if this lasts more than a day, contact the platform's support".into()),
            Some(Who::Platform),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(
        hostname: &str,
        ssl: &str,
        validation: &[&str],
        verification: &[&str],
    ) -> CustomHostname {
        CustomHostname {
            id: "id".into(),
            hostname: "sales.example.com".into(),
            status: Some(hostname.into()),
            ssl: Some(Ssl {
                status: Some(ssl.into()),
                method: Some("http".into()),
                validation_errors: validation
                    .iter()
                    .map(|m| ValidationError {
                        message: m.to_string(),
                    })
                    .collect(),
            }),
            verification_errors: verification
                .iter()
                .map(|m| serde_json::Value::String(m.to_string()))
                .collect(),
        }
    }

    /// (hostname status, ssl status, validation errors, verification
    /// errors) → (state, who acts, a word of the cause).
    type Case = (
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        CertificateState,
        Option<Who>,
        &'static str,
    );

    const NO_CNAME: &str = "custom hostname does not CNAME to this zone.";

    #[test]
    fn maps_every_documented_state() {
        use CertificateState::*;
        let cases: &[Case] = &[
            (
                "pending",
                "initializing",
                &[],
                &[],
                Pending,
                None,
                "requested",
            ),
            (
                "pending",
                "pending_validation",
                &[],
                &[],
                Pending,
                None,
                "validating",
            ),
            (
                "pending",
                "pending_validation",
                &[],
                &[NO_CNAME],
                Pending,
                Some(Who::Customer),
                "does not point",
            ),
            (
                "pending",
                "pending_issuance",
                &[],
                &[],
                Pending,
                None,
                "issuing",
            ),
            (
                "pending",
                "pending_deployment",
                &[],
                &[],
                Pending,
                None,
                "deploying",
            ),
            (
                "active",
                "pending_deployment",
                &[],
                &[],
                Pending,
                None,
                "deploying",
            ),
            ("pending", "active", &[], &[], Pending, None, "activating"),
            (
                "pending",
                "active",
                &[],
                &[NO_CNAME],
                Pending,
                Some(Who::Customer),
                "not confirmed",
            ),
            ("active", "active", &[], &[], Active, None, ""),
            ("active_redeploying", "active", &[], &[], Active, None, ""),
            ("active", "pending_expiration", &[], &[], Active, None, ""),
            (
                "pending",
                "validation_timed_out",
                &[],
                &[],
                Failed,
                Some(Who::Customer),
                "could not validate",
            ),
            (
                "pending",
                "initializing_timed_out",
                &[],
                &[],
                Failed,
                Some(Who::Customer),
                "could not validate",
            ),
            (
                "active",
                "issuance_timed_out",
                &[],
                &[],
                Failed,
                Some(Who::Platform),
                "issuing",
            ),
            (
                "active",
                "deployment_timed_out",
                &[],
                &[],
                Failed,
                Some(Who::Platform),
                "deploying",
            ),
            (
                "active",
                "expired",
                &[],
                &[],
                Failed,
                Some(Who::Customer),
                "expired",
            ),
            (
                "active",
                "deleted",
                &[],
                &[],
                Failed,
                Some(Who::Platform),
                "removed",
            ),
            (
                "moved",
                "pending_validation",
                &[],
                &[],
                Failed,
                Some(Who::Customer),
                "stopped validating",
            ),
            (
                "blocked",
                "pending_validation",
                &[],
                &[],
                Failed,
                Some(Who::Platform),
                "blocked",
            ),
            (
                "pending_blocked",
                "initializing",
                &[],
                &[],
                Failed,
                Some(Who::Platform),
                "blocked",
            ),
            (
                "pending",
                "pending_validation",
                &["caa_error: CAA record for example.com prevents issuance"],
                &[],
                Failed,
                Some(Who::Customer),
                "CAA",
            ),
            (
                "pending",
                "validation_timed_out",
                &["CAA check failed"],
                &[],
                Failed,
                Some(Who::Customer),
                "CAA",
            ),
            (
                "pending",
                "something_new",
                &[],
                &[],
                Pending,
                Some(Who::Platform),
                "does not know",
            ),
        ];
        for (hostname, ssl, validation, verification, state, who, word) in cases {
            let got = report_for(&custom(hostname, ssl, validation, verification));
            let label = format!("{hostname}/{ssl}/{validation:?}/{verification:?}");
            assert_eq!(got.state, *state, "{label}: {got:?}");
            assert_eq!(got.who, *who, "{label}: {got:?}");
            assert!(
                got.found.contains(hostname) && got.found.contains(ssl),
                "{label}: {got:?}"
            );
            if *state == Active {
                assert_eq!((&got.cause, &got.fix), (&None, &None), "{label}");
            } else {
                let cause = got.cause.as_deref().unwrap_or_default();
                assert!(cause.contains(word), "{label}: {cause}");
                assert!(got.fix.is_some(), "{label}: a fix in plain words");
            }
            for error in validation.iter().chain(verification.iter()) {
                assert!(got.found.contains(error), "{label}: errors are quoted");
            }
        }
    }

    #[test]
    fn caa_fix_names_the_authorities() {
        let got = report_for(&custom("pending", "pending_validation", &["CAA"], &[]));
        let fix = got.fix.unwrap();
        for ca in ["letsencrypt.org", "pki.goog", "ssl.com"] {
            assert!(fix.contains(ca), "{fix}");
        }
    }

    #[test]
    fn refreshes_what_asking_again_can_restart() {
        assert!(custom("moved", "pending_validation", &[], &[]).wants_refresh());
        assert!(custom("pending", "validation_timed_out", &[], &[]).wants_refresh());
        assert!(custom("pending", "pending_validation", &[], &[]).wants_refresh());
        assert!(!custom("active", "active", &[], &[]).wants_refresh());
        assert!(!custom("pending", "pending_issuance", &[], &[]).wants_refresh());
        assert!(!custom("blocked", "pending_validation", &[], &[]).wants_refresh());
    }

    #[test]
    fn reads_the_documented_shape() {
        let custom: CustomHostname = serde_json::from_value(serde_json::json!({
            "id": "0d89c70d-ad9f-4843-b99f-6cc0252067e9",
            "hostname": "app.example.com",
            "ssl": {
                "id": "0d89c70d-ad9f-4843-b99f-6cc0252067e9",
                "method": "http",
                "type": "dv",
                "status": "pending_validation",
                "validation_errors": [{ "message": "SERVFAIL looking up CAA for app.example.com" }],
                "validation_records": [{ "http_url": "http://app.example.com/.well-known/pki-validation/x.txt", "http_body": "ca3-x" }]
            },
            "status": "pending",
            "verification_errors": ["custom hostname does not CNAME to this zone."],
            "ownership_verification": { "type": "txt", "name": "_cf-custom-hostname.app.example.com", "value": "x" },
            "created_at": "2020-02-06T18:11:23.531995Z"
        }))
        .unwrap();
        assert_eq!(custom.ssl_status(), "pending_validation");
        assert_eq!(custom.errors().len(), 2);
        let got = report_for(&custom);
        assert_eq!(got.state, CertificateState::Failed);
        assert!(got.cause.unwrap().contains("could not look up the CAA"));
        assert!(got.fix.unwrap().contains("DS record"));
    }
}
