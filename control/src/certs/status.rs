//! What a Cloudflare custom hostname's state means for the customer: a pure
//! mapping from the API's `status`, `ssl.status`, `ssl.validation_errors`
//! and `verification_errors` to a [`CertificateReport`] with the cause and
//! the fix in plain words, and who must act. TXT validation (the CNAME moves
//! last) and a hostname held by another domain have words of their own.
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
//!   "Issue certificates"); the authorities it uses:
//!   [`super::authorities::CLOUDFLARE_FOR_SAAS`].

use super::custom_hostname::{CustomHostname, Holder};
use super::{CertificateReport, CertificateState, Who};

/// Where the CNAME should point, in words that hold for every account.
const CNAME_TARGET: &str = "the target shown in the domain's DNS records";
/// What a customer with a restrictive CAA policy must allow: `a`, `b` and `c`.
fn caa_values() -> String {
    super::authorities::caa_values(super::authorities::CLOUDFLARE_FOR_SAAS)
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
        records: Vec::new(),
        holder: None,
    }
}

/// The report for a custom hostname's current state, with the TXT records
/// the customer must still create (none for HTTP validation).
pub fn report_for(custom: &CustomHostname) -> CertificateReport {
    CertificateReport {
        records: custom.records(),
        ..describe(custom)
    }
}

/// The report when the custom hostname named `host` is another domain's:
/// only the platform can act (hand it over once that domain is released,
/// or delete it); nothing of the other domain is shown to the customer.
pub fn held_elsewhere(custom: &CustomHostname) -> CertificateReport {
    let host = custom.hostname.as_str();
    let mut report = report(
        CertificateState::HeldElsewhere,
        // Not even its state: it is another account's business.
        format!("Cloudflare custom hostname {host}: set up for another domain of the platform"),
        Some(format!(
            "{host} still has a certificate set up for another domain on the platform, so none can be requested for this one yet"
        )),
        Some(
            "Nothing to change in your DNS: the platform hands the hostname over once the other domain is released; if this lasts more than a day, contact the platform's support"
                .into(),
        ),
        Some(Who::Platform),
    );
    if let Holder::Domain(holder) = custom.holder() {
        report.holder = Some(holder);
    }
    report
}

fn describe(custom: &CustomHostname) -> CertificateReport {
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
                "At your DNS provider, either remove the CAA records of {host} and its parent domains, or add CAA records (tag `issue`) allowing {}; validation is retried automatically",
                caa_values()
            )),
            Some(Who::Customer),
        );
    }
    if custom.ssl_method() == "txt" {
        if let Some(waiting) = txt_waiting(custom, &found) {
            return waiting;
        }
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

/// TXT validation, for a site that is live elsewhere: the customer creates
/// TXT records and moves the CNAME only once the certificate is active, so
/// "does not CNAME to this zone" is expected meanwhile (Cloudflare for SaaS,
/// "Zero-downtime migration"). `None` once there is nothing TXT-specific to say.
fn txt_waiting(custom: &CustomHostname, found: &str) -> Option<CertificateReport> {
    use CertificateState::*;
    let host = custom.hostname.as_str();
    let ssl = custom.ssl_status();
    let timed_out = matches!(ssl, "validation_timed_out" | "initializing_timed_out");
    let validating = matches!(ssl, "initializing" | "pending_validation") || timed_out;
    if !(validating || custom.certificate_live() && !custom.hostname_live()) {
        return None;
    }
    let records = custom.records();
    if records.is_empty() {
        return Some(report(
            Pending,
            found.to_string(),
            Some(format!(
                "Cloudflare is preparing the TXT records that prove {host} is yours"
            )),
            Some("Nothing to do yet: the records to create appear here within minutes".into()),
            None,
        ));
    }
    let mut names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    names.dedup();
    let cause = if timed_out {
        format!("The validation period of {host} ended before Cloudflare saw its TXT records")
    } else {
        format!(
            "{host} is validated by TXT records, so its certificate can be active before {host} points at the platform; Cloudflare has not seen them yet"
        )
    };
    Some(report(
        if timed_out { Failed } else { Pending },
        found.to_string(),
        Some(cause),
        Some(format!(
            "At your DNS provider, create the TXT records listed ({}) with exactly the values shown, and leave {host} pointing where it does now; once the certificate is active, point {host} at {CNAME_TARGET}. Validation is retried automatically",
            names.join(", ")
        )),
        Some(Who::Customer),
    ))
}

#[cfg(test)]
mod tests;
