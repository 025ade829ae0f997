//! Discovery, as data: the `_domainconnect` TXT record of a zone names the
//! provider's API host; `https://<host>/v2/<domain>/settings` answers the
//! settings document. Both come from the customer's DNS (anyone's, in
//! effect), so everything is checked before a button is shown: a value that
//! is not a plain host name, a URL that is not HTTPS, a settings document
//! without a sync URL — each ends in the manual steps, with a note.

use serde::Deserialize;
use url::{Host, Url};

/// Why Domain Connect is not offered for a domain (the manual steps are).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotOffered {
    #[error("the DNS provider does not announce Domain Connect (no _domainconnect TXT record)")]
    NoRecord,
    #[error("the _domainconnect TXT record {0:?} is not a host name")]
    BadRecord(String),
    #[error("the DNS provider's Domain Connect settings could not be read: {0}")]
    Unreadable(String),
    #[error("the DNS provider's Domain Connect settings are malformed: {0}")]
    Malformed(String),
    #[error("the DNS provider's Domain Connect address {url} is refused: {why}")]
    Refused { url: String, why: String },
    #[error("the DNS provider does not support the platform's template ({0})")]
    TemplateUnsupported(String),
}

/// The provider's settings document (only what the synchronous flow uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSettings {
    pub provider_id: String,
    pub provider_name: String,
    #[serde(default)]
    pub provider_display_name: Option<String>,
    #[serde(rename = "urlSyncUX", default)]
    pub url_sync_ux: Option<String>,
    #[serde(rename = "urlAPI")]
    pub url_api: String,
}

impl ProviderSettings {
    /// What the customer is told the provider is called.
    pub fn display_name(&self) -> &str {
        self.provider_display_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.provider_name)
    }
}

/// Schemes a provider's URLs may use: HTTPS; plain HTTP only where the
/// platform allows it (the local stack's provider on loopback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schemes {
    HttpsOnly,
    AlsoHttp,
}

/// The API host named by the `_domainconnect` TXT values of a zone (the
/// first usable one). A host name, optionally with a port and a path prefix
/// (`api.provider.com/dc`), never a URL with a scheme or credentials.
pub fn api_host(values: &[String]) -> Result<String, NotOffered> {
    let value = values
        .iter()
        .map(|v| v.trim().trim_end_matches('/'))
        .find(|v| !v.is_empty())
        .ok_or(NotOffered::NoRecord)?;
    let bad = || NotOffered::BadRecord(value.to_string());
    if value.contains("://") || value.contains('@') || value.contains(char::is_whitespace) {
        return Err(bad());
    }
    let url = Url::parse(&format!("https://{value}")).map_err(|_| bad())?;
    match url.host() {
        Some(Host::Domain(d)) if d.contains('.') && d.split('.').all(|l| !l.is_empty()) => {
            Ok(value.to_string())
        }
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => Ok(value.to_string()),
        _ => Err(bad()),
    }
}

/// Where the settings document of `domain` is asked for.
pub fn settings_url(api_host: &str, domain: &str, schemes: Schemes) -> String {
    let scheme = match schemes {
        Schemes::HttpsOnly => "https",
        Schemes::AlsoHttp if is_loopback_host(api_host) => "http",
        Schemes::AlsoHttp => "https",
    };
    format!("{scheme}://{api_host}/v2/{domain}/settings")
}

fn is_loopback_host(api_host: &str) -> bool {
    Url::parse(&format!("http://{api_host}"))
        .ok()
        .and_then(|u| match u.host() {
            Some(Host::Ipv4(ip)) => Some(ip.is_loopback()),
            Some(Host::Ipv6(ip)) => Some(ip.is_loopback()),
            Some(Host::Domain(d)) => Some(d == "localhost"),
            None => None,
        })
        .unwrap_or(false)
}

/// Parses and checks a settings document: a sync URL must be there, and
/// both URLs must be absolute, of an allowed scheme, without credentials.
/// (Where their hosts resolve is checked when they are fetched or linked.)
pub fn parse(body: &[u8], schemes: Schemes) -> Result<ProviderSettings, NotOffered> {
    let settings: ProviderSettings =
        serde_json::from_slice(body).map_err(|e| NotOffered::Malformed(e.to_string()))?;
    if settings.provider_id.trim().is_empty() || settings.provider_name.trim().is_empty() {
        return Err(NotOffered::Malformed(
            "providerId or providerName is empty".into(),
        ));
    }
    let sync = settings.url_sync_ux.as_deref().ok_or_else(|| {
        NotOffered::Malformed("no urlSyncUX: the synchronous flow is not offered".into())
    })?;
    check_url(sync, schemes)?;
    check_url(&settings.url_api, schemes)?;
    Ok(settings)
}

/// An absolute URL of an allowed scheme, with a host, no credentials, no
/// query or fragment (paths are appended to it).
pub fn check_url(text: &str, schemes: Schemes) -> Result<Url, NotOffered> {
    let refused = |why: &str| NotOffered::Refused {
        url: text.to_string(),
        why: why.to_string(),
    };
    let url = Url::parse(text).map_err(|_| refused("not an absolute URL"))?;
    let scheme_ok = match (url.scheme(), schemes) {
        ("https", _) => true,
        ("http", Schemes::AlsoHttp) => url.host_str().is_some_and(is_loopback_host),
        _ => false,
    };
    if !scheme_ok {
        return Err(refused("not HTTPS"));
    }
    if url.host().is_none() {
        return Err(refused("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("carries credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refused("carries a query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_txt_record_names_a_host() {
        assert_eq!(
            api_host(&s(&["api.provider.com"])).unwrap(),
            "api.provider.com"
        );
        assert_eq!(
            api_host(&s(&["", "dc.provider.com/v1/"])).unwrap(),
            "dc.provider.com/v1"
        );
        assert_eq!(api_host(&s(&["127.0.0.1:8053"])).unwrap(), "127.0.0.1:8053");
        assert_eq!(api_host(&[]), Err(NotOffered::NoRecord));
        for bad in [
            "https://x.com",
            "user@x.com",
            "x y.com",
            "localhost",
            "a..b",
        ] {
            assert!(
                matches!(api_host(&s(&[bad])), Err(NotOffered::BadRecord(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn plain_http_only_on_loopback_and_only_when_allowed() {
        assert_eq!(
            settings_url("127.0.0.1:8053", "example.com", Schemes::AlsoHttp),
            "http://127.0.0.1:8053/v2/example.com/settings"
        );
        assert_eq!(
            settings_url("127.0.0.1:8053", "example.com", Schemes::HttpsOnly),
            "https://127.0.0.1:8053/v2/example.com/settings"
        );
        assert_eq!(
            settings_url("dc.provider.com", "example.com", Schemes::AlsoHttp),
            "https://dc.provider.com/v2/example.com/settings"
        );
        assert!(check_url("http://dc.provider.com/sync", Schemes::AlsoHttp).is_err());
        assert!(check_url("http://127.0.0.1:9/sync", Schemes::AlsoHttp).is_ok());
        assert!(check_url("http://127.0.0.1:9/sync", Schemes::HttpsOnly).is_err());
    }

    #[test]
    fn settings_documents_are_checked() {
        let good = br#"{"providerId":"provider.com","providerName":"Provider","providerDisplayName":"The Provider",
            "urlSyncUX":"https://dcsync.provider.com","urlAPI":"https://api.provider.com","width":750,"height":750}"#;
        let settings = parse(good, Schemes::HttpsOnly).unwrap();
        assert_eq!(settings.display_name(), "The Provider");
        assert_eq!(
            settings.url_sync_ux.as_deref(),
            Some("https://dcsync.provider.com")
        );

        let cases: [(&[u8], &str); 6] = [
            (b"not json", "Malformed"),
            (br#"{"providerId":"p","providerName":"P","urlAPI":"https://a.p.com"}"#, "Malformed"),
            (br#"{"providerId":"p","providerName":"P","urlSyncUX":"http://s.p.com","urlAPI":"https://a.p.com"}"#, "Refused"),
            (br#"{"providerId":"p","providerName":"P","urlSyncUX":"https://u:pw@s.p.com","urlAPI":"https://a.p.com"}"#, "Refused"),
            (br#"{"providerId":"p","providerName":"P","urlSyncUX":"https://s.p.com?x=1","urlAPI":"https://a.p.com"}"#, "Refused"),
            (br#"{"providerId":" ","providerName":"P","urlSyncUX":"https://s.p.com","urlAPI":"https://a.p.com"}"#, "Malformed"),
        ];
        for (body, want) in cases {
            let got = parse(body, Schemes::HttpsOnly).unwrap_err();
            assert!(format!("{got:?}").starts_with(want), "{got:?}");
        }
    }
}
