//! The mapping, as tables of documented states.

use super::*;
use crate::certs::custom_hostname::{Ssl, ValidationError};
use crate::certs::{CertificateOwner, RecordPurpose};

fn custom(hostname: &str, ssl: &str, validation: &[&str], verification: &[&str]) -> CustomHostname {
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
            ..Ssl::default()
        }),
        verification_errors: verification
            .iter()
            .map(|m| serde_json::Value::String(m.to_string()))
            .collect(),
        ..CustomHostname::default()
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
    // Exactly the provider's list, derived from it: every one named, and
    // no other domain in backquotes (no retired or unknown authority).
    let named: Vec<&str> = fix
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| quoted.contains('.'))
        .collect();
    let want: Vec<&str> = crate::certs::authorities::CLOUDFLARE_FOR_SAAS
        .iter()
        .map(|a| a.caa)
        .collect();
    assert_eq!(named, want, "{fix}");
    for (old, _) in crate::certs::authorities::RETIRED {
        assert!(!fix.contains(old.caa), "{fix}");
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
    assert!(
        got.records.is_empty(),
        "HTTP validation asks for no records"
    );
}

/// A TXT-validated hostname as documented ("TXT" DCV, "Pre-validation").
fn txt(hostname: &str, ssl: &str) -> CustomHostname {
    serde_json::from_value(serde_json::json!({
        "id": "id",
        "hostname": "sales.example.com",
        "status": hostname,
        "ssl": {
            "method": "txt", "type": "dv", "status": ssl,
            "validation_records": [{ "txt_name": "_acme-challenge.sales.example.com", "txt_value": "token" }]
        },
        "verification_errors": ["custom hostname does not CNAME to this zone."],
        "ownership_verification": { "type": "txt", "name": "_cf-custom-hostname.sales.example.com", "value": "proof" }
    }))
    .unwrap()
}

#[test]
fn txt_validation_asks_for_the_records_not_the_cname() {
    use CertificateState::*;
    let got = report_for(&txt("pending", "pending_validation"));
    assert_eq!(
        (got.state, got.who),
        (Pending, Some(Who::Customer)),
        "{got:?}"
    );
    let purposes: Vec<RecordPurpose> = got.records.iter().map(|r| r.purpose).collect();
    assert_eq!(
        purposes,
        [RecordPurpose::Ownership, RecordPurpose::Certificate]
    );
    assert!(got.records.iter().all(|r| r.record_type == "TXT"));
    let fix = got.fix.unwrap();
    assert!(
        fix.contains("_cf-custom-hostname.sales.example.com"),
        "{fix}"
    );
    assert!(fix.contains("_acme-challenge.sales.example.com"), "{fix}");
    assert!(
        got.cause.unwrap().contains("before"),
        "the CNAME moves last"
    );

    // The certificate is issued; the ownership record is still missing.
    let got = report_for(&txt("pending", "active"));
    assert_eq!((got.state, got.who), (Pending, Some(Who::Customer)));
    assert_eq!(got.records.len(), 1);
    assert_eq!(got.records[0].purpose, RecordPurpose::Ownership);

    let got = report_for(&txt("pending", "validation_timed_out"));
    assert_eq!((got.state, got.who), (Failed, Some(Who::Customer)));
    assert!(got.cause.unwrap().contains("ended"));

    let got = report_for(&txt("active", "active"));
    assert_eq!(got.state, Active);
    assert!(got.records.is_empty(), "nothing left to create");

    // Tokens are "ready after a few seconds".
    let mut fresh = txt("pending", "initializing");
    fresh.ssl.as_mut().unwrap().validation_records.clear();
    fresh.ownership_verification = None;
    let got = report_for(&fresh);
    assert_eq!((got.state, got.who), (Pending, None));
    assert!(got.records.is_empty());
}

#[test]
fn another_domain_s_hostname_is_the_platform_s_to_resolve() {
    let holder = CertificateOwner {
        account_id: "acc-a".into(),
        domain_id: "dom-a".into(),
    };
    let mut custom = custom("active", "active", &[], &[]);
    custom.custom_metadata = holder.metadata().as_object().cloned();
    let got = held_elsewhere(&custom);
    assert_eq!(
        (got.state, got.who),
        (CertificateState::HeldElsewhere, Some(Who::Platform))
    );
    assert_eq!(got.holder, Some(holder));
    for text in [
        &got.found,
        got.cause.as_ref().unwrap(),
        got.fix.as_ref().unwrap(),
    ] {
        assert!(!text.contains("acc-a") && !text.contains("dom-a"), "{text}");
    }
    custom.custom_metadata = serde_json::json!({ "customer_id": "7" })
        .as_object()
        .cloned();
    assert_eq!(held_elsewhere(&custom).holder, None);
}
