//! External URLs that customers pick as a domain's Index or 404 target.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::host::{HostError, Hostname};
use crate::integration::Integration;

/// Longest external URL accepted.
pub const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("enter a full address starting with https://, such as https://example.org/offer")]
    NotAbsolute,
    #[error("the address is {len} characters long: at most 2048 are allowed")]
    TooLong { len: usize },
    #[error("`{0}:` addresses cannot be used: enter an address starting with https:// or http://")]
    Scheme(String),
    #[error("the address contains a user name or password: remove the part before `@`")]
    Credentials,
    #[error("the address uses an IP address: use its domain name instead")]
    IpAddress,
    #[error("the address has no domain name")]
    NoHost,
    #[error("the address has an invalid domain name: {0}")]
    Host(HostError),
    #[error("`{host}` is this domain itself: sending visitors there would loop forever; choose a page on another domain, or a page of yours")]
    SameIntegration { host: String },
}

impl UrlError {
    pub fn code(&self) -> &'static str {
        match self {
            UrlError::NotAbsolute => "url_not_absolute",
            UrlError::TooLong { .. } => "url_too_long",
            UrlError::Scheme(_) => "url_scheme",
            UrlError::Credentials => "url_credentials",
            UrlError::IpAddress => "url_ip_address",
            UrlError::NoHost => "url_no_host",
            UrlError::Host(_) => "url_host",
            UrlError::SameIntegration { .. } => "url_same_domain",
        }
    }
}

/// An absolute `http`/`https` URL without credentials, on a domain name,
/// that does not point back at the integration it is set on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalUrl(String);

impl ExternalUrl {
    /// Parses a URL for an Index or 404 target of `integration`.
    pub fn parse(input: &str, integration: &Integration) -> Result<ExternalUrl, UrlError> {
        let (url, host) = parse_http_url(input)?;
        if integration.covers(&host) {
            return Err(UrlError::SameIntegration {
                host: host.to_unicode(),
            });
        }
        Ok(ExternalUrl(url.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The common rules: absolute, `http`/`https`, no credentials, a valid
/// domain name. Returns the URL in its serialized (normalized) form and its
/// host.
pub fn parse_http_url(input: &str) -> Result<(Url, Hostname), UrlError> {
    let input = input.trim();
    if input.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong { len: input.len() });
    }
    let url = Url::parse(input).map_err(|_| UrlError::NotAbsolute)?;
    // The limit holds for what is stored too: percent-encoding can triple
    // the length (`é` → `%C3%A9`), and a stored URL must parse again.
    if url.as_str().len() > MAX_URL_LEN {
        return Err(UrlError::TooLong {
            len: url.as_str().len(),
        });
    }
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(UrlError::Scheme(other.to_string())),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    let host = match url.host() {
        Some(Host::Domain(domain)) => Hostname::parse(domain).map_err(|err| match err {
            HostError::IpLiteral(_) | HostError::NumericTopLevel(_) => UrlError::IpAddress,
            other => UrlError::Host(other),
        })?,
        Some(Host::Ipv4(_)) | Some(Host::Ipv6(_)) => return Err(UrlError::IpAddress),
        None => return Err(UrlError::NoHost),
    };
    Ok((url, host))
}

#[cfg(all(test, feature = "customer-input"))]
mod tests {
    use super::*;
    use crate::integration::PlatformDomain;

    fn integration(domain: &str) -> Integration {
        Integration::classify(domain, &PlatformDomain::parse("pages.example.net").unwrap()).unwrap()
    }

    #[test]
    fn accepts_other_domains() {
        let root = integration("example.com");
        let cases = [
            ("https://other.org/offer", "https://other.org/offer"),
            ("HTTP://Other.ORG", "http://other.org/"),
            ("https://sales.example.com/x", "https://sales.example.com/x"),
            (
                "https://katie.pages.example.net/offer",
                "https://katie.pages.example.net/offer",
            ),
            ("https://bücher.de/", "https://xn--bcher-kva.de/"),
        ];
        for (input, want) in cases {
            assert_eq!(
                ExternalUrl::parse(input, &root).unwrap().as_str(),
                want,
                "{input}"
            );
        }
        let sub = integration("sales.example.com");
        for input in ["https://example.com/", "https://www.example.com/home"] {
            assert!(ExternalUrl::parse(input, &sub).is_ok(), "{input}");
        }
    }

    #[test]
    fn refuses_bad_urls() {
        let root = integration("example.com");
        let long = format!("https://other.org/{}", "a".repeat(MAX_URL_LEN));
        // Found by fuzzing (fuzz/fuzz_targets/external_url.rs): 2018
        // characters typed, 6018 stored, which this parser then refused.
        let long_once_encoded = format!("https://other.org/{}", "é".repeat(1000));
        let cases = [
            ("other.org/offer", "url_not_absolute"),
            ("/offer", "url_not_absolute"),
            ("ftp://other.org/", "url_scheme"),
            ("javascript:alert(1)", "url_scheme"),
            ("https://user:pw@other.org/", "url_credentials"),
            ("https://user@other.org/", "url_credentials"),
            ("https://127.0.0.1/", "url_ip_address"),
            ("https://[::1]/", "url_ip_address"),
            ("https://0x7f.1/", "url_ip_address"),
            ("https://exa_mple.org/", "url_host"),
            (long.as_str(), "url_too_long"),
            (long_once_encoded.as_str(), "url_too_long"),
        ];
        for (input, code) in cases {
            assert_eq!(
                ExternalUrl::parse(input, &root).unwrap_err().code(),
                code,
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_the_same_integration_in_any_spelling() {
        let root = integration("example.com");
        for input in [
            "https://example.com/",
            "http://www.example.com/404",
            "https://WWW.EXAMPLE.COM/",
            "https://www.example.com.:8443/x",
            "https://%77ww.example.com/",
            "https://ｗｗｗ.example.com/",
            "https://www.example.com./",
        ] {
            assert_eq!(
                ExternalUrl::parse(input, &root).unwrap_err().code(),
                "url_same_domain",
                "{input}"
            );
        }
        let sub = integration("sales.example.com");
        assert_eq!(
            ExternalUrl::parse("https://Sales.Example.com:443/x", &sub)
                .unwrap_err()
                .code(),
            "url_same_domain"
        );
        let idn = integration("bücher.de");
        assert_eq!(
            ExternalUrl::parse("https://www.xn--bcher-kva.de/", &idn)
                .unwrap_err()
                .code(),
            "url_same_domain"
        );
        assert_eq!(
            ExternalUrl::parse("https://BÜCHER.de/", &idn)
                .unwrap_err()
                .code(),
            "url_same_domain"
        );
    }
}
