//! The checks dashboards run on what customers type, with plain serializable
//! results: the wasm API returns exactly these, and native tests compare
//! against them, so browser and server can never disagree.

use serde::Serialize;

use crate::host::{Hostname, Username};
use crate::integration::{DnsRecord, Integration, IntegrationKind, PlatformDomain, RootForward};
use crate::path::Slug;
use crate::url::ExternalUrl;

/// `{ "ok": true, "value": … }` or `{ "ok": false, "error": { "code", "message" } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome<T> {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// The same shape as the REST API's errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

impl<T> Outcome<T> {
    fn ok(value: T) -> Outcome<T> {
        Outcome {
            ok: true,
            value: Some(value),
            error: None,
        }
    }

    fn err(code: &'static str, message: impl ToString) -> Outcome<T> {
        Outcome {
            ok: false,
            value: None,
            error: Some(ErrorBody {
                code,
                message: message.to_string(),
            }),
        }
    }
}

macro_rules! attempt {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(err) => return Outcome::err(err.code(), &err),
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostnameView {
    pub ascii: String,
    pub unicode: String,
}

pub fn normalize_hostname(input: &str) -> Outcome<HostnameView> {
    let host = attempt!(Hostname::parse(input));
    Outcome::ok(HostnameView {
        unicode: host.to_unicode(),
        ascii: host.to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainView {
    pub kind: IntegrationKind,
    pub root: String,
    pub served_host: String,
    pub served_host_unicode: String,
    /// Present when a username was given.
    pub cname: Option<DnsRecord>,
    pub forward: Option<RootForward>,
}

pub fn classify_domain(input: &str, platform: &str, username: Option<&str>) -> Outcome<DomainView> {
    let platform = match PlatformDomain::parse(platform) {
        Ok(platform) => platform,
        Err(err) => return Outcome::err("platform_invalid", format!("platform domain: {err}")),
    };
    let integration = attempt!(Integration::classify(input, &platform));
    // The browser cannot see the API's setting: it lets through the suffix
    // the platform itself runs under (`.test` on the local stack); the API
    // decides.
    let platform_suffix = crate::special_use::special_use(platform.host()).map(|s| s.suffix);
    attempt!(integration.refuse_special_use(platform_suffix.as_slice()));
    let cname = match username {
        Some(name) => Some(integration.cname_record(&attempt!(Username::parse(name)), &platform)),
        None => None,
    };
    Outcome::ok(DomainView {
        kind: integration.kind,
        root: integration.root.to_string(),
        served_host_unicode: integration.served_host.to_unicode(),
        served_host: integration.served_host.to_string(),
        forward: integration.root_forward(),
        cname,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlugView {
    pub slug: String,
    pub path: String,
}

pub fn check_slug(input: &str) -> Outcome<SlugView> {
    let slug = attempt!(Slug::parse(input));
    Outcome::ok(SlugView {
        path: slug.path(),
        slug: slug.to_string(),
    })
}

pub fn check_username(input: &str) -> Outcome<String> {
    Outcome::ok(attempt!(Username::parse(input)).to_string())
}

/// Checks an Index/404 URL for the domain `domain` (as the customer added it).
pub fn check_external_url(url: &str, domain: &str, platform: &str) -> Outcome<String> {
    let platform = match PlatformDomain::parse(platform) {
        Ok(platform) => platform,
        Err(err) => return Outcome::err("platform_invalid", format!("platform domain: {err}")),
    };
    let integration = attempt!(Integration::classify(domain, &platform));
    Outcome::ok(attempt!(ExternalUrl::parse(url, &integration)).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialize_like_api_errors() {
        let json = serde_json::to_value(check_slug("a b")).unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["error"]["code"], "slug_invalid_character");
        assert!(json.get("value").is_none());
        let json = serde_json::to_value(classify_domain(
            "example.com",
            "pages.example.net",
            Some("katie"),
        ))
        .unwrap();
        assert_eq!(json["value"]["kind"], "root");
        assert_eq!(json["value"]["cname"]["value"], "katie.pages.example.net");
        assert_eq!(json["value"]["forward"]["to"], "https://www.example.com");
        let json = serde_json::to_value(check_external_url(
            "https://www.example.com/",
            "example.com",
            "p.example.net",
        ))
        .unwrap();
        assert_eq!(json["error"]["code"], "url_same_domain");
    }

    #[test]
    fn special_use_names_are_refused_as_typed() {
        for name in ["app.localhost", "x.internal", "shop.test"] {
            let outcome = classify_domain(name, "pages.example.net", None);
            let code = outcome.error.map(|e| e.code);
            assert_eq!(code, Some("domain_special_use"), "{name}");
        }
        // On a platform under `.test` (the local stack), `.test` names pass.
        assert!(classify_domain("shop.test", "portico.test", None).ok);
        assert!(!classify_domain("app.localhost", "portico.test", None).ok);
    }
}
