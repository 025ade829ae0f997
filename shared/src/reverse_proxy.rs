//! What the edge changes in an origin's answer before the visitor sees it,
//! so that the platform application works on the customer's domain:
//!
//! - `Location`, `Content-Location` and `Refresh` URLs naming the platform
//!   origin (`PLATFORM_ORIGIN`) are rewritten to the custom domain's scheme
//!   and host (paths are kept: a mount forwards `/x/...` to the origin's
//!   `<path>/...`, and a relative redirect needs nothing);
//! - `Set-Cookie` loses any `Domain=` attribute: the cookie becomes the
//!   custom domain's alone (host-only), whatever domain the platform named;
//! - answers carrying `Set-Cookie` or `Cache-Control: private`/`no-store`
//!   are never cacheable.
//!
//! String rules only (no URL parser in the edge): the origin is matched as
//! `scheme://authority`, case-insensitively, with its default port or without.

use std::borrow::Cow;

/// The platform origin as the edge forwards to it: `scheme://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginBase {
    scheme: String,
    host: String,
    port: Option<String>,
}

impl OriginBase {
    /// `http(s)://host[:port]` with an optional trailing `/`; `None` for
    /// anything else (a path, credentials, another scheme).
    pub fn parse(origin: &str) -> Option<OriginBase> {
        let (scheme, rest) = origin.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return None;
        }
        let (host, port) = split_port(authority);
        Some(OriginBase {
            host: host.to_ascii_lowercase(),
            port: port
                .filter(|port| Some(*port) != default_port(&scheme))
                .map(str::to_owned),
            scheme,
        })
    }

    /// `url` with the origin's scheme and authority replaced by
    /// `public_base` (`https://sales.example.com`) when it names the
    /// origin: absolute (`http://origin/...`) or scheme-relative
    /// (`//origin/...`). `None` when it names anything else.
    pub fn rewrite_url(&self, url: &str, public_base: &str) -> Option<String> {
        let trimmed = url.trim();
        let after_scheme = match trimmed.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case(&self.scheme) => rest,
            Some(_) => return None,
            None => trimmed.strip_prefix("//")?,
        };
        let end = after_scheme
            .find(['/', '?', '#'])
            .unwrap_or(after_scheme.len());
        let (authority, rest) = after_scheme.split_at(end);
        let (host, port) = split_port(authority);
        let port = port.filter(|port| Some(*port) != default_port(&self.scheme));
        if !host.eq_ignore_ascii_case(&self.host) || port != self.port.as_deref() {
            return None;
        }
        let slash = if rest.starts_with('/') { "" } else { "/" };
        Some(format!("{public_base}{slash}{rest}"))
    }

    /// A `Refresh` value (`5; url=https://origin/x`) with its URL rewritten
    /// as [`Self::rewrite_url`] does; `None` when there is nothing to rewrite.
    pub fn rewrite_refresh(&self, refresh: &str, public_base: &str) -> Option<String> {
        let lower = refresh.to_ascii_lowercase();
        let at = lower.find("url=")? + "url=".len();
        let (head, url) = refresh.split_at(at);
        let quote = url.chars().next().filter(|c| *c == '\'' || *c == '"');
        let inner = match quote {
            Some(q) => url[1..].strip_suffix(q).unwrap_or(&url[1..]),
            None => url,
        };
        let rewritten = self.rewrite_url(inner, public_base)?;
        Some(match quote {
            Some(q) => format!("{head}{q}{rewritten}{q}"),
            None => format!("{head}{rewritten}"),
        })
    }
}

fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme {
        "http" => Some("80"),
        "https" => Some("443"),
        _ => None,
    }
}

/// `host[:port]`, IPv6 literals (`[::1]:8080`) included.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let port_at = match authority.rfind(':') {
        Some(at) if !authority[at..].contains(']') => at,
        _ => return (authority, None),
    };
    (&authority[..port_at], Some(&authority[port_at + 1..]))
}

/// `https://sales.example.com`: where the visitor's URLs point.
pub fn public_base(forwarded_proto: &str, forwarded_host: &str) -> String {
    format!("{forwarded_proto}://{forwarded_host}")
}

/// The scheme and authority of the URL the visitor asked for
/// (`http://sales.example.com:8787` from `http://sales.example.com:8787/x`),
/// port kept: where rewritten URLs must lead back to. `None` for anything
/// that is not an absolute http(s) URL.
pub fn visitor_base(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if end == 0 || rest[..end].contains('@') {
        return None;
    }
    Some(&url[..scheme.len() + 3 + end])
}

/// A `Set-Cookie` value without its `Domain=` attributes, so that the
/// browser keeps it for the custom domain only: a `Domain` naming the
/// platform would be refused by the browser on the custom domain, and one
/// naming the customer's parent domain would share the session with every
/// other host of it.
pub fn scope_set_cookie(set_cookie: &str) -> Cow<'_, str> {
    let mut parts = set_cookie.split(';');
    let Some(pair) = parts.next() else {
        return Cow::Borrowed(set_cookie);
    };
    let is_domain = |attribute: &str| {
        let name = attribute.split('=').next().unwrap_or("").trim();
        name.eq_ignore_ascii_case("domain")
    };
    if !set_cookie.split(';').skip(1).any(is_domain) {
        return Cow::Borrowed(set_cookie);
    }
    let mut scoped = pair.to_string();
    for attribute in parts.filter(|attribute| !is_domain(attribute)) {
        scoped.push(';');
        scoped.push_str(attribute);
    }
    Cow::Owned(scoped)
}

/// Whether a proxied answer may be kept by a shared cache: never when it
/// sets a cookie (it belongs to one visitor) or says it is private.
pub fn shared_cacheable(has_set_cookie: bool, cache_control: Option<&str>) -> bool {
    if has_set_cookie {
        return false;
    }
    let Some(cache_control) = cache_control else {
        return true;
    };
    !cache_control.split(',').any(|directive| {
        let name = directive.split('=').next().unwrap_or("").trim();
        name.eq_ignore_ascii_case("private") || name.eq_ignore_ascii_case("no-store")
    })
}

/// Forwarding headers a visitor may not set: the edge sets
/// `X-Forwarded-Host`/`-Proto` (and `X-Forwarded-For` from the runtime's
/// `CF-Connecting-IP`) itself; a visitor's would only mislead the platform.
pub const EDGE_FORWARDING_HEADERS: &[&str] = &[
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// Whether a visitor's request header goes on to the origin: not a
/// hop-by-hop header (RFC 9110 §7.6.1; `upgrade` kept for WebSockets, which
/// the runtime's `fetch` needs to see), not one named in `Connection`, not
/// a forwarding header ([`EDGE_FORWARDING_HEADERS`]), and never one of the
/// edge's own `X-Portico-*` (a visitor's is a forgery).
pub fn forwards_request_header(name: &str, connection: Option<&str>, websocket: bool) -> bool {
    let name = name.trim();
    if EDGE_FORWARDING_HEADERS
        .iter()
        .any(|forwarding| forwarding.eq_ignore_ascii_case(name))
    {
        return false;
    }
    if name.len() >= crate::origin_context::RESERVED_HEADER_PREFIX.len()
        && name.as_bytes()[..crate::origin_context::RESERVED_HEADER_PREFIX.len()]
            .eq_ignore_ascii_case(crate::origin_context::RESERVED_HEADER_PREFIX.as_bytes())
    {
        return false;
    }
    if websocket && name.eq_ignore_ascii_case("upgrade") {
        return true;
    }
    if crate::route::HOP_BY_HOP_HEADERS
        .iter()
        .any(|hop| hop.eq_ignore_ascii_case(name))
    {
        return false;
    }
    !connection.is_some_and(|listed| {
        listed
            .split(',')
            .any(|listed| listed.trim().eq_ignore_ascii_case(name))
    })
}

/// Whether the visitor asks for a WebSocket (`Upgrade: websocket`).
pub fn is_websocket_upgrade(upgrade: Option<&str>) -> bool {
    upgrade.is_some_and(|value| {
        value
            .split(',')
            .any(|protocol| protocol.trim().eq_ignore_ascii_case("websocket"))
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_visitor_base_keeps_the_port_the_visitor_used() {
        assert_eq!(
            visitor_base("http://sales.example.com:8787/members/login?x=1"),
            Some("http://sales.example.com:8787")
        );
        assert_eq!(
            visitor_base("https://sales.example.com/"),
            Some("https://sales.example.com")
        );
        assert_eq!(
            visitor_base("https://sales.example.com"),
            Some("https://sales.example.com")
        );
        for bad in [
            "ftp://x/",
            "sales.example.com/x",
            "http:///x",
            "http://user@evil/",
        ] {
            assert_eq!(visitor_base(bad), None, "{bad}");
        }
    }

    use super::*;

    const PUBLIC: &str = "https://sales.example.com";

    #[test]
    fn urls_naming_the_origin_are_rewritten_to_the_custom_domain() {
        let origin = OriginBase::parse("https://app.example.net/").unwrap();
        let cases = [
            (
                "https://app.example.net/m/1?x=2",
                Some("https://sales.example.com/m/1?x=2"),
            ),
            (
                "HTTPS://APP.Example.NET",
                Some("https://sales.example.com/"),
            ),
            (
                "https://app.example.net:443/a",
                Some("https://sales.example.com/a"),
            ),
            (
                "https://app.example.net?q",
                Some("https://sales.example.com/?q"),
            ),
            (
                "//app.example.net/a#f",
                Some("https://sales.example.com/a#f"),
            ),
            (
                " https://app.example.net/a ",
                Some("https://sales.example.com/a"),
            ),
            ("http://app.example.net/a", None),
            ("https://app.example.net:8443/a", None),
            ("https://app.example.net.evil.test/a", None),
            ("https://evil.test/https://app.example.net/", None),
            ("https://user@app.example.net/", None),
            ("/relative/path", None),
            ("relative", None),
        ];
        for (location, expected) in cases {
            assert_eq!(
                origin.rewrite_url(location, PUBLIC).as_deref(),
                expected,
                "{location}"
            );
        }
        let local = OriginBase::parse("http://127.0.0.1:8788").unwrap();
        assert_eq!(
            local
                .rewrite_url("http://127.0.0.1:8788/thanks", "http://shop.test")
                .as_deref(),
            Some("http://shop.test/thanks")
        );
        assert_eq!(local.rewrite_url("http://127.0.0.1/thanks", PUBLIC), None);
        let v6 = OriginBase::parse("http://[::1]:8788").unwrap();
        assert_eq!(
            v6.rewrite_url("http://[::1]:8788/x", PUBLIC).as_deref(),
            Some("https://sales.example.com/x")
        );
    }

    #[test]
    fn only_plain_origins_parse() {
        for bad in [
            "",
            "app.example.net",
            "ftp://a",
            "https://",
            "https://a/b",
            "https://u@a",
        ] {
            assert_eq!(OriginBase::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn refresh_urls_are_rewritten_quoted_or_not() {
        let origin = OriginBase::parse("https://app.example.net").unwrap();
        let cases = [
            (
                "5; url=https://app.example.net/a",
                Some("5; url=https://sales.example.com/a"),
            ),
            (
                "0;URL='https://app.example.net/b'",
                Some("0;URL='https://sales.example.com/b'"),
            ),
            ("3; url=/relative", None),
            ("3", None),
            ("3; url=https://other.test/", None),
        ];
        for (refresh, expected) in cases {
            assert_eq!(
                origin.rewrite_refresh(refresh, PUBLIC).as_deref(),
                expected,
                "{refresh}"
            );
        }
    }

    #[test]
    fn set_cookie_loses_its_domain_and_keeps_the_rest() {
        let cases = [
            (
                "session=abc; Path=/; HttpOnly",
                "session=abc; Path=/; HttpOnly",
            ),
            (
                "session=abc; Domain=app.example.net; Path=/; Secure",
                "session=abc; Path=/; Secure",
            ),
            ("s=1;domain=.example.net;HttpOnly", "s=1;HttpOnly"),
            ("s=1; DOMAIN = example.com", "s=1"),
            // A cookie's value may hold `domain=`: only attributes count.
            ("note=domain=x; Path=/", "note=domain=x; Path=/"),
        ];
        for (set_cookie, expected) in cases {
            assert_eq!(scope_set_cookie(set_cookie), expected, "{set_cookie}");
        }
    }

    #[test]
    fn cookies_and_private_answers_are_never_shared_cacheable() {
        assert!(shared_cacheable(false, None));
        assert!(shared_cacheable(false, Some("public, max-age=60")));
        assert!(!shared_cacheable(true, Some("public, max-age=60")));
        assert!(!shared_cacheable(false, Some("max-age=60, Private")));
        assert!(!shared_cacheable(false, Some("private=\"set-cookie\"")));
        assert!(!shared_cacheable(false, Some("no-store")));
    }

    #[test]
    fn hop_by_hop_and_reserved_request_headers_stay_behind() {
        let cases = [
            ("x-custom", None, false, true),
            ("range", None, false, true),
            ("cookie", None, false, true),
            ("keep-alive", None, false, false),
            ("Transfer-Encoding", None, false, false),
            ("upgrade", None, false, false),
            ("upgrade", None, true, true),
            ("x-secret", Some("close, X-Secret"), false, false),
            ("x-portico-context", None, false, false),
            ("X-Portico-Signature", None, true, false),
            ("X-PORTICO-anything", None, false, false),
            ("x-porti", None, false, true),
            ("Forwarded", None, false, false),
            ("x-forwarded-for", None, false, false),
            ("X-Forwarded-Host", None, false, false),
            ("x-real-ip", None, false, false),
            ("x-forwarded-prefix", None, false, true),
        ];
        for (name, connection, websocket, expected) in cases {
            assert_eq!(
                forwards_request_header(name, connection, websocket),
                expected,
                "{name} {connection:?} {websocket}"
            );
        }
        assert!(is_websocket_upgrade(Some("WebSocket")));
        assert!(!is_websocket_upgrade(Some("h2c")));
        assert!(!is_websocket_upgrade(None));
    }
}
