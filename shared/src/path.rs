//! Request paths and the slugs customers choose for their pages.
//!
//! Path policy, applied to every request before routing:
//! - `.` and `..` segments are resolved; `..` never climbs above `/`.
//! - Repeated slashes collapse into one.
//! - Percent-encoding is normalized: escapes of unreserved characters
//!   (`A-Z a-z 0-9 - . _ ~`) are decoded, every other escape keeps its
//!   meaning with upper-case hex digits (`%2f` → `%2F`, never `/`), bytes a
//!   path cannot hold are encoded, and a `%` that starts no valid escape
//!   becomes `%25`.
//! - Letter case is kept (origins may care), but pages match
//!   case-insensitively: slugs are lower case, and `/Sales` finds `/sales`.
//! - A trailing slash is kept for origins, and ignored when matching pages:
//!   `/sales/` serves the `/sales` page, without a redirect.
//! - The query is kept apart, untouched, and passed on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest request path (before normalization) the edge answers; longer
/// ones get 414.
pub const MAX_PATH_LEN: usize = 8 * 1024;
/// Longest page slug.
pub const MAX_SLUG_LEN: usize = 100;

/// First segments that customers' pages may not take: Cloudflare answers
/// `/cdn-cgi/` itself on proxied hosts, and `/portico/` is kept for the
/// platform. (`/.well-known/` cannot be a slug: slugs start with a letter or
/// a digit.)
pub const RESERVED_SLUGS: &[&str] = &["cdn-cgi", "portico"];

/// Normalized path prefixes that pass through to the platform origin, so
/// that certificate authorities can validate the domain.
pub const PASS_THROUGH_PREFIXES: &[&str] = &[
    "/.well-known/acme-challenge/",
    "/.well-known/pki-validation/",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is {len} bytes long: at most 8192 are allowed")]
    TooLong { len: usize },
}

impl PathError {
    pub fn code(&self) -> &'static str {
        match self {
            PathError::TooLong { .. } => "path_too_long",
        }
    }
}

/// A normalized request path: starts with `/`, no empty, `.` or `..`
/// segments, canonical percent-encoding. Only [`RequestPath::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestPath(String);

impl RequestPath {
    /// Normalizes a raw request path (without its query).
    pub fn parse(raw: &str) -> Result<RequestPath, PathError> {
        if raw.len() > MAX_PATH_LEN {
            return Err(PathError::TooLong { len: raw.len() });
        }
        let encoded = normalize_percent_encoding(raw);
        let trailing_slash = encoded.ends_with('/');
        let mut segments: Vec<&str> = Vec::new();
        for segment in encoded.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                other => segments.push(other),
            }
        }
        let mut path = String::with_capacity(encoded.len() + 1);
        for segment in &segments {
            path.push('/');
            path.push_str(segment);
        }
        if path.is_empty() || (trailing_slash && !segments.is_empty()) {
            path.push('/');
        }
        Ok(RequestPath(path))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The first segment and what follows it (`/a/b/` → (`a`, `/b/`)).
    pub fn split_first(&self) -> (&str, &str) {
        let tail = &self.0[1..];
        match tail.find('/') {
            Some(at) => (&tail[..at], &tail[at..]),
            None => (tail, ""),
        }
    }

    /// The slug a page at this path would have: the only segment, lower-cased,
    /// if it is a valid slug. `None` means no page can live here.
    pub fn page_slug(&self) -> Option<Slug> {
        let (first, _) = self.split_first();
        Slug::parse(first).ok()
    }
}

impl fmt::Display for RequestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True for paths that certificate validation needs answered by the origin.
/// Decided on the normalized path, the one routing and the origin see: a raw
/// `/.well-known/acme-challenge/../../admin` is `/admin`, not a challenge, and
/// `//.well-known/./acme-challenge/t` is one.
pub fn is_pass_through(path: &RequestPath) -> bool {
    PASS_THROUGH_PREFIXES
        .iter()
        .any(|prefix| path.as_str().starts_with(prefix))
}

/// Splits a request target into its path and its query (without `?`).
pub fn split_query(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Bytes a path may carry as they are (RFC 3986 `pchar` and `/`).
fn is_path_safe(byte: u8) -> bool {
    is_unreserved(byte)
        || matches!(
            byte,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
        )
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

fn push_escaped(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(byte >> 4)] as char);
    out.push(HEX[usize::from(byte & 0xF)] as char);
}

fn normalize_percent_encoding(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(bytes.len() + 1);
    if !raw.starts_with('/') {
        out.push('/');
    }
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            let escape = bytes
                .get(i + 1)
                .and_then(|&h| hex_value(h))
                .zip(bytes.get(i + 2).and_then(|&l| hex_value(l)));
            if let Some((high, low)) = escape {
                let decoded = high << 4 | low;
                if is_unreserved(decoded) {
                    out.push(decoded as char);
                } else {
                    push_escaped(&mut out, decoded);
                }
                i += 3;
                continue;
            }
            push_escaped(&mut out, b'%');
        } else if is_path_safe(byte) {
            out.push(byte as char);
        } else {
            push_escaped(&mut out, byte);
        }
        i += 1;
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("enter a page name, such as `offer`")]
    Empty,
    #[error("a page name holds at most {MAX_SLUG_LEN} characters")]
    TooLong,
    #[error("a page name is one part without `/`, such as `product-1`")]
    Nested,
    #[error("a page name holds only letters, digits, `-`, `_` and `.` (found `{0}`)")]
    InvalidCharacter(char),
    #[error("a page name starts and ends with a letter or a digit")]
    BadEdge,
    #[error("`{0}` is reserved by the platform: choose another page name")]
    Reserved(String),
}

impl SlugError {
    pub fn code(&self) -> &'static str {
        match self {
            SlugError::Empty => "slug_empty",
            SlugError::TooLong => "slug_too_long",
            SlugError::Nested => "slug_nested",
            SlugError::InvalidCharacter(_) => "slug_invalid_character",
            SlugError::BadEdge => "slug_bad_edge",
            SlugError::Reserved(_) => "slug_reserved",
        }
    }
}

/// The name of a page on a domain: `/offer` is the page with slug `offer`.
/// Lower case; one path segment of letters, digits, `-`, `_` and `.`,
/// starting and ending with a letter or digit; never a reserved name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Accepts `offer`, `/offer`, `/Offer/` (lower-cased); refuses the rest.
    pub fn parse(input: &str) -> Result<Slug, SlugError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_prefix('/').unwrap_or(trimmed);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(SlugError::Empty);
        }
        if trimmed.len() > MAX_SLUG_LEN {
            return Err(SlugError::TooLong);
        }
        if trimmed.contains('/') {
            return Err(SlugError::Nested);
        }
        if let Some(ch) = trimmed
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(SlugError::InvalidCharacter(ch));
        }
        let bytes = trimmed.as_bytes();
        if !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
            return Err(SlugError::BadEdge);
        }
        let slug = trimmed.to_ascii_lowercase();
        if RESERVED_SLUGS.contains(&slug.as_str()) {
            return Err(SlugError::Reserved(slug));
        }
        Ok(Slug(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path the page is served at.
    pub fn path(&self) -> String {
        format!("/{}", self.0)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Slug::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        let cases = [
            ("/", "/"),
            ("", "/"),
            ("sales", "/sales"),
            ("/sales", "/sales"),
            ("/sales/", "/sales/"),
            ("//sales///x", "/sales/x"),
            ("/a/./b/../c", "/a/c"),
            ("/a/../../../etc/passwd", "/etc/passwd"),
            ("/..", "/"),
            ("/../", "/"),
            ("/%2e%2e/%2E%2E/x", "/x"),
            ("/a/%2e/b", "/a/b"),
            ("/%7Euser", "/~user"),
            ("/%41%62c", "/Abc"),
            ("/a%2fb", "/a%2Fb"),
            ("/a%2Fb/..", "/"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/café", "/caf%C3%A9"),
            ("/a b", "/a%20b"),
            ("/100%", "/100%25"),
            ("/%zz", "/%25zz"),
            ("/%4", "/%254"),
            ("/Sales", "/Sales"),
            ("/a;b=c/d@e:f", "/a;b=c/d@e:f"),
            ("/a\\..\\b", "/a%5C..%5Cb"),
        ];
        for (raw, want) in cases {
            assert_eq!(RequestPath::parse(raw).unwrap().as_str(), want, "{raw:?}");
        }
    }

    #[test]
    fn refuses_overlong_paths() {
        let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
        assert_eq!(
            RequestPath::parse(&long).unwrap_err().code(),
            "path_too_long"
        );
    }

    #[test]
    fn finds_the_page_slug() {
        let cases = [
            ("/sales", Some("sales")),
            ("/Sales/", Some("sales")),
            ("/sales/more", Some("sales")),
            ("/", None),
            ("/a%20b", None),
            ("/.well-known/x", None),
        ];
        for (raw, want) in cases {
            let path = RequestPath::parse(raw).unwrap();
            assert_eq!(path.page_slug().as_ref().map(Slug::as_str), want, "{raw}");
        }
        let path = RequestPath::parse("/members/lesson/2/").unwrap();
        assert_eq!(path.split_first(), ("members", "/lesson/2/"));
    }

    #[test]
    fn separates_the_query() {
        assert_eq!(split_query("/a?x=1&y"), ("/a", Some("x=1&y")));
        assert_eq!(split_query("/a"), ("/a", None));
        assert_eq!(split_query("/a?"), ("/a", Some("")));
    }

    #[test]
    fn passes_certificate_validation_through_on_the_normalized_path() {
        let cases = [
            ("/.well-known/acme-challenge/token", true),
            ("/.well-known/pki-validation/file.txt", true),
            ("/.well-known/./acme-challenge/x", true),
            ("//.well-known/acme-challenge/x", true),
            ("/.well-known//acme-challenge//x", true),
            ("/x/../.well-known/acme-challenge/x", true),
            ("/../.well-known/acme-challenge/x", true),
            ("/%2Ewell-known/acme%2Dchallenge/x", true),
            ("/%2ewell-known/acme%2dchallenge/x", true),
            ("/.well-known/security.txt", false),
            ("/acme-challenge/x", false),
            // `..` leaves the challenge folder: routed as what it names.
            ("/.well-known/acme-challenge/../../admin", false),
            ("/.well-known/acme-challenge/..", false),
            ("/.well-known/acme-challenge/%2e%2e/%2E%2E/admin", false),
            // An encoded `/` is data, not a separator.
            ("/.well-known%2Facme-challenge/x", false),
            ("/.well-known/acme-challenge%2Fx", false),
            // Paths are case-sensitive; so are certificate authorities.
            ("/.WELL-KNOWN/acme-challenge/x", false),
            ("/.well-known/acme-challengex", false),
        ];
        for (raw, want) in cases {
            let path = RequestPath::parse(raw).unwrap();
            assert_eq!(is_pass_through(&path), want, "{raw:?} ({path})");
        }
    }

    #[test]
    fn accepts_good_slugs() {
        let cases = [
            ("offer", "offer"),
            ("/offer", "offer"),
            ("/Offer/", "offer"),
            ("product_1", "product_1"),
            ("v1.2", "v1.2"),
            ("sales-page-2026", "sales-page-2026"),
        ];
        for (input, want) in cases {
            assert_eq!(Slug::parse(input).unwrap().as_str(), want, "{input}");
        }
        assert_eq!(Slug::parse("offer").unwrap().path(), "/offer");
    }

    #[test]
    fn refuses_bad_slugs() {
        let long = "a".repeat(MAX_SLUG_LEN + 1);
        let cases = [
            ("", "slug_empty"),
            ("/", "slug_empty"),
            (long.as_str(), "slug_too_long"),
            ("a/b", "slug_nested"),
            (".well-known", "slug_bad_edge"),
            ("-offer", "slug_bad_edge"),
            ("offer.", "slug_bad_edge"),
            ("my offer", "slug_invalid_character"),
            ("offer?x", "slug_invalid_character"),
            ("café", "slug_invalid_character"),
            ("%41", "slug_invalid_character"),
            ("cdn-cgi", "slug_reserved"),
            ("Portico", "slug_reserved"),
        ];
        for (input, code) in cases {
            assert_eq!(Slug::parse(input).unwrap_err().code(), code, "{input:?}");
        }
    }
}
