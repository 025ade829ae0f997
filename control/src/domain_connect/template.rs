//! The platform's Domain Connect templates. The files in
//! `control/data/domain-connect/` are the standard's template format with a
//! placeholder provider (`portico.example`); [`for_platform`] gives the one
//! a platform hands to DNS providers, with its own provider id and domains.

use portico_shared::{Integration, IntegrationKind};
use serde_json::Value;

/// A template of the platform: which records the DNS provider creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `sales.example.com`: a CNAME at the host (`hostRequired`).
    Subdomain,
    /// `example.com` served as `www.example.com`: a CNAME for `www` and a
    /// 301 of the bare domain to `https://www.<domain>`.
    Root,
}

/// The one variable of both templates: `<username>.<platform domain>`.
pub const TARGET_VARIABLE: &str = "target";

const SUBDOMAIN: &str = include_str!("../../data/domain-connect/subdomain.json");
const ROOT: &str = include_str!("../../data/domain-connect/root.json");

impl Service {
    pub const ALL: [Service; 2] = [Service::Subdomain, Service::Root];

    /// The template's `serviceId`.
    pub fn id(self) -> &'static str {
        match self {
            Service::Subdomain => "subdomain",
            Service::Root => "root",
        }
    }

    pub fn from_id(id: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The template that sets up `integration`.
    pub fn for_integration(integration: &Integration) -> Service {
        match integration.kind {
            IntegrationKind::Root => Service::Root,
            IntegrationKind::Subdomain => Service::Subdomain,
        }
    }

    /// The template as kept in the repository (placeholder provider).
    pub fn stored(self) -> Value {
        let text = match self {
            Service::Subdomain => SUBDOMAIN,
            Service::Root => ROOT,
        };
        // The files are part of the build and checked by the tests below.
        serde_json::from_str(text).unwrap_or(Value::Null)
    }
}

/// Who the platform is, as Domain Connect names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// `providerId` of the templates: by convention the platform's domain.
    pub provider_id: String,
    /// `providerName`, shown by DNS providers on their consent page.
    pub provider_name: String,
    /// Where the signing key's TXT records live (`<key id>.<this>`).
    pub sync_pub_key_domain: String,
    /// The only domain DNS providers send customers back to.
    pub sync_redirect_domain: String,
}

impl Provider {
    /// The defaults: the platform's domain for every field.
    pub fn of_platform(platform: &portico_shared::PlatformDomain) -> Provider {
        let domain = platform.host().as_str().to_string();
        Provider {
            provider_id: domain.clone(),
            provider_name: domain.clone(),
            sync_pub_key_domain: domain.clone(),
            sync_redirect_domain: domain,
        }
    }
}

/// The template `service` as this platform publishes it.
pub fn for_platform(service: Service, provider: &Provider) -> Value {
    let mut template = service.stored();
    if let Value::Object(fields) = &mut template {
        fields.insert("providerId".into(), provider.provider_id.clone().into());
        fields.insert("providerName".into(), provider.provider_name.clone().into());
        fields.insert(
            "syncPubKeyDomain".into(),
            provider.sync_pub_key_domain.clone().into(),
        );
        fields.insert(
            "syncRedirectDomain".into(),
            provider.sync_redirect_domain.clone().into(),
        );
    }
    template
}

/// The `%variables%` a template's records use, other than the ones the DNS
/// provider fills itself (`domain`, `host`, `fqdn`): the apply URL must carry
/// each of them, and nothing else.
pub fn variables(template: &Value) -> Vec<String> {
    const BUILT_IN: [&str; 3] = ["domain", "host", "fqdn"];
    let mut found = Vec::new();
    let records = template["records"].as_array().cloned().unwrap_or_default();
    for record in &records {
        let Some(fields) = record.as_object() else {
            continue;
        };
        for value in fields.values().filter_map(Value::as_str) {
            for (i, part) in value.split('%').enumerate() {
                // Odd parts sit between two `%`.
                let closed = i % 2 == 1 && value.split('%').count() > i + 1;
                if closed && !part.is_empty() && !BUILT_IN.contains(&part) {
                    let name = part.to_string();
                    if !found.contains(&name) {
                        found.push(name);
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_templates_are_the_standard_format() {
        for service in Service::ALL {
            let t = service.stored();
            assert_eq!(t["serviceId"], service.id(), "{t}");
            for field in [
                "providerId",
                "providerName",
                "serviceName",
                "syncPubKeyDomain",
            ] {
                assert!(t[field].is_string(), "{} lacks {field}", service.id());
            }
            assert!(t["version"].is_u64());
            let records = t["records"].as_array().expect("records");
            assert!(!records.is_empty());
            for r in records {
                assert!(r["type"].is_string() && r["host"].is_string(), "{r}");
            }
            assert_eq!(variables(&t), vec![TARGET_VARIABLE.to_string()]);
        }
        assert_eq!(Service::Subdomain.stored()["hostRequired"], true);
        assert_eq!(Service::Root.stored()["hostRequired"], false);
    }

    #[test]
    fn the_root_template_forwards_the_bare_domain_to_www() {
        let t = Service::Root.stored();
        let records = t["records"].as_array().unwrap();
        assert!(records
            .iter()
            .any(|r| r["type"] == "CNAME" && r["host"] == "www" && r["pointsTo"] == "%target%"));
        assert!(records.iter().any(|r| r["type"] == "REDIR301"
            && r["host"] == "@"
            && r["target"] == "https://www.%domain%"));
    }

    #[test]
    fn a_platform_gets_its_own_provider_fields() {
        let provider = Provider {
            provider_id: "pages.example.net".into(),
            provider_name: "Pages".into(),
            sync_pub_key_domain: "pages.example.net".into(),
            sync_redirect_domain: "app.pages.example.net".into(),
        };
        let t = for_platform(Service::Subdomain, &provider);
        assert_eq!(t["providerId"], "pages.example.net");
        assert_eq!(t["syncRedirectDomain"], "app.pages.example.net");
        assert_eq!(t["records"], Service::Subdomain.stored()["records"]);
    }

    #[test]
    fn variables_skip_the_ones_the_provider_fills() {
        let t = serde_json::json!({"records": [
            {"type": "TXT", "host": "@", "data": "%a%-%domain%-%b%"},
            {"type": "CNAME", "host": "%host%", "pointsTo": "%a%.x"},
            {"type": "TXT", "host": "@", "data": "100% sure"}
        ]});
        assert_eq!(variables(&t), vec!["a".to_string(), "b".to_string()]);
    }
}
