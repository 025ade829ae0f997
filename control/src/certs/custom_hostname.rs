//! A Cloudflare custom hostname as the API returns it (the fields Portico
//! reads), whose domain it belongs to, and the DNS records it asks the
//! customer for. What its states mean in words: [`super::status`].
//!
//! Ownership lives in the hostname's `custom_metadata`, "Unique key/value
//! metadata for this hostname" whose values are strings (API reference,
//! "Edit Custom Hostname",
//! <https://developers.cloudflare.com/api/resources/custom_hostnames/methods/edit/>;
//! at most 4 KB, Cloudflare for SaaS, "Custom metadata"): Portico writes
//! `{"portico_account": <account id>, "portico_domain": <domain id>}`.
//!
//! The records come from `ownership_verification {type: "txt", name, value}`
//! (hostname pre-validation, Cloudflare for SaaS, "Pre-validation") and
//! `ssl.validation_records[].txt_name/txt_value` (certificate validation
//! with `ssl.method = "txt"`, placed under `_acme-challenge`; "TXT"
//! DCV). The two "use separate tokens and API fields" ("Zero-downtime
//! migration"), so a customer moving a live site needs both.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{CertificateOwner, RecordPurpose, Validation, ValidationRecord};

/// The `custom_metadata` key naming the owning account.
pub const ACCOUNT_KEY: &str = "portico_account";
/// The `custom_metadata` key naming the owning domain.
pub const DOMAIN_KEY: &str = "portico_domain";

/// A custom hostname as the API returns it.
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
    pub verification_errors: Vec<Value>,
    /// Absent on hostnames created without it (before Portico wrote it).
    #[serde(default)]
    pub custom_metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub ownership_verification: Option<OwnershipVerification>,
    /// RFC 3339: where Cloudflare's validation schedule starts (`backoff`).
    #[serde(default)]
    pub created_at: Option<String>,
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
    #[serde(default)]
    pub validation_records: Vec<ApiValidationRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ValidationError {
    #[serde(default)]
    pub message: String,
}

/// One of `ssl.validation_records`: `txt_name`/`txt_value` for TXT, the
/// `http_*` pair for HTTP (not read: the customer's CNAME serves it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ApiValidationRecord {
    #[serde(default)]
    pub txt_name: Option<String>,
    #[serde(default)]
    pub txt_value: Option<String>,
}

/// `ownership_verification`: the TXT record that proves the hostname.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OwnershipVerification {
    #[serde(default, rename = "type")]
    pub record_type: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// Whose a custom hostname is, read from its `custom_metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Portico's metadata names this domain.
    Domain(CertificateOwner),
    /// No metadata: created before Portico recorded owners, when one name
    /// had one domain.
    Legacy,
    /// Metadata Portico did not write (set by hand, or half of ours).
    Unknown,
}

impl CertificateOwner {
    /// The `custom_metadata` naming this owner.
    pub fn metadata(&self) -> Value {
        json!({ ACCOUNT_KEY: self.account_id, DOMAIN_KEY: self.domain_id })
    }
}

impl Validation {
    /// `ssl.method`.
    pub fn method(self) -> &'static str {
        match self {
            Validation::Http => "http",
            Validation::Txt => "txt",
        }
    }
}

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

    /// `ssl.method`, `http` when Cloudflare does not say (its default).
    pub fn ssl_method(&self) -> &str {
        self.ssl
            .as_ref()
            .and_then(|ssl| ssl.method.as_deref())
            .unwrap_or("http")
    }

    /// Whose it is.
    pub fn holder(&self) -> Holder {
        let Some(metadata) = self.custom_metadata.as_ref().filter(|m| !m.is_empty()) else {
            return Holder::Legacy;
        };
        let field = |key: &str| metadata.get(key).and_then(Value::as_str);
        match (field(ACCOUNT_KEY), field(DOMAIN_KEY)) {
            (Some(account_id), Some(domain_id)) => Holder::Domain(CertificateOwner {
                account_id: account_id.to_string(),
                domain_id: domain_id.to_string(),
            }),
            _ => Holder::Unknown,
        }
    }

    /// Whether `owner`'s metadata is on it.
    pub fn is_held_by(&self, owner: &CertificateOwner) -> bool {
        self.holder() == Holder::Domain(owner.clone())
    }

    /// Every error Cloudflare reported, certificate validation first.
    pub fn errors(&self) -> Vec<String> {
        let validation = self
            .ssl
            .iter()
            .flat_map(|ssl| ssl.validation_errors.iter())
            .map(|e| e.message.trim().to_string());
        let verification = self.verification_errors.iter().map(|e| match e {
            Value::String(text) => text.trim().to_string(),
            other => other.to_string(),
        });
        validation
            .chain(verification)
            .filter(|e| !e.is_empty())
            .collect()
    }

    /// `created_at` in ms since the epoch, when Cloudflare gave a readable one.
    pub fn created_ms(&self) -> Option<i64> {
        let text = self.created_at.as_deref()?;
        let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()?;
        Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// Whether its state can still change without Portico asking: its
    /// hostname or certificate is on the way, neither active nor given up.
    pub fn settled(&self) -> bool {
        self.hostname_live() && self.certificate_live()
    }

    pub fn hostname_live(&self) -> bool {
        matches!(self.hostname_status(), "active" | "active_redeploying")
    }

    pub fn certificate_live(&self) -> bool {
        matches!(self.ssl_status(), "active" | "pending_expiration")
    }

    /// The TXT records the customer must create, for `ssl.method = txt`
    /// only (HTTP validation goes through the CNAME): the hostname's
    /// `ownership_verification` until the hostname is active, and the
    /// certificate's `validation_records` until the certificate is.
    pub fn records(&self) -> Vec<ValidationRecord> {
        if self.ssl_method() != Validation::Txt.method() {
            return Vec::new();
        }
        let mut records = Vec::new();
        if !self.hostname_live() {
            let ownership = self.ownership_verification.as_ref().filter(|o| {
                o.record_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case("txt"))
            });
            if let Some((name, value)) =
                ownership.and_then(|o| Some((o.name.clone()?, o.value.clone()?)))
            {
                records.push(ValidationRecord::txt(name, value, RecordPurpose::Ownership));
            }
        }
        if !self.certificate_live() {
            let listed = self
                .ssl
                .iter()
                .flat_map(|ssl| ssl.validation_records.iter());
            for record in listed {
                if let (Some(name), Some(value)) = (&record.txt_name, &record.txt_value) {
                    records.push(ValidationRecord::txt(
                        name.clone(),
                        value.clone(),
                        RecordPurpose::Certificate,
                    ));
                }
            }
        }
        records
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

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(account: &str, domain: &str) -> CertificateOwner {
        CertificateOwner {
            account_id: account.into(),
            domain_id: domain.into(),
        }
    }

    fn with_metadata(metadata: Value) -> CustomHostname {
        serde_json::from_value(json!({
            "id": "x", "hostname": "sales.example.com", "custom_metadata": metadata
        }))
        .unwrap()
    }

    #[test]
    fn reads_the_owner_from_the_metadata() {
        let a = owner("acc-a", "dom-a");
        let custom = with_metadata(a.metadata());
        assert_eq!(custom.holder(), Holder::Domain(a.clone()));
        assert!(custom.is_held_by(&a));
        assert!(!custom.is_held_by(&owner("acc-a", "dom-b")));
        assert!(!custom.is_held_by(&owner("acc-b", "dom-a")));

        let legacy: CustomHostname =
            serde_json::from_value(json!({ "id": "x", "hostname": "sales.example.com" })).unwrap();
        assert_eq!(legacy.holder(), Holder::Legacy);
        assert_eq!(with_metadata(json!({})).holder(), Holder::Legacy);
        assert_eq!(with_metadata(json!(null)).holder(), Holder::Legacy);
        for unknown in [
            json!({ "customer_id": "12345" }),
            json!({ "portico_domain": "dom-a" }),
            json!({ "portico_account": "acc-a", "portico_domain": 7 }),
        ] {
            assert_eq!(
                with_metadata(unknown.clone()).holder(),
                Holder::Unknown,
                "{unknown}"
            );
        }
    }

    /// The documented TXT shapes (Cloudflare for SaaS, "TXT" DCV and
    /// "Pre-validation").
    fn txt_hostname(status: &str, ssl_status: &str) -> CustomHostname {
        serde_json::from_value(json!({
            "id": "3537a672-e4d8-4d89-aab9-26cb622918a1",
            "hostname": "app.example.com",
            "status": status,
            "ssl": {
                "type": "dv",
                "method": "txt",
                "status": ssl_status,
                "validation_records": [
                    { "status": "pending", "txt_name": "_acme-challenge.app.example.com", "txt_value": "gESljTB8fBT1mIuoEASU0qcK" }
                ]
            },
            "ownership_verification": {
                "type": "txt",
                "name": "_cf-custom-hostname.app.example.com",
                "value": "0e2d5a7f-1548-4f27-8c05-b577cb14f4ec"
            }
        }))
        .unwrap()
    }

    #[test]
    fn lists_the_txt_records_still_needed() {
        let both = txt_hostname("pending", "pending_validation").records();
        assert_eq!(
            both,
            [
                ValidationRecord::txt(
                    "_cf-custom-hostname.app.example.com".into(),
                    "0e2d5a7f-1548-4f27-8c05-b577cb14f4ec".into(),
                    RecordPurpose::Ownership
                ),
                ValidationRecord::txt(
                    "_acme-challenge.app.example.com".into(),
                    "gESljTB8fBT1mIuoEASU0qcK".into(),
                    RecordPurpose::Certificate
                ),
            ]
        );
        let certificate_only = txt_hostname("active", "pending_validation").records();
        assert_eq!(certificate_only.len(), 1);
        assert_eq!(certificate_only[0].purpose, RecordPurpose::Certificate);
        let ownership_only = txt_hostname("pending", "active").records();
        assert_eq!(ownership_only.len(), 1);
        assert_eq!(ownership_only[0].purpose, RecordPurpose::Ownership);
        assert!(txt_hostname("active", "active").records().is_empty());

        let mut http = txt_hostname("pending", "pending_validation");
        http.ssl.as_mut().unwrap().method = Some("http".into());
        assert!(http.records().is_empty(), "HTTP goes through the CNAME");
    }
}
