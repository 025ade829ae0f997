//! Hostnames: what a visitor's `Host` header carries, or what a customer
//! types, turned into one normalized ASCII name.
//!
//! Rules: surrounding white space, a port and one trailing dot are dropped;
//! letters are lower-cased; internationalized names become punycode (through
//! the `idna` crate, with the `customer-input` feature); IP literals,
//! wildcards, empty labels, labels over 63 and names over 253 octets, and any
//! character outside letters, digits, `-` and `.` are refused.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Longest name DNS can carry, in octets, without the trailing dot.
pub const MAX_NAME_LEN: usize = 253;
/// Longest single label, in octets.
pub const MAX_LABEL_LEN: usize = 63;

/// Why something is not a hostname. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("enter a domain name, such as sales.example.com")]
    Empty,
    #[error("`{0}` is an IP address: enter a domain name, such as sales.example.com")]
    IpLiteral(String),
    #[error("`{0}` is a wildcard: enter one exact name, such as sales.example.com")]
    Wildcard(String),
    #[error("`{0}` has an empty part (two dots in a row, or a dot at the start)")]
    EmptyLabel(String),
    #[error("`{label}` is {len} characters long: each part of a domain name holds at most 63")]
    LabelTooLong { label: String, len: usize },
    #[error("the domain name is {len} characters long: at most 253 are allowed")]
    TooLong { len: usize },
    #[error("`{input}` contains `{ch}`: a domain name holds only letters, digits, `-` and `.`")]
    InvalidCharacter { input: String, ch: char },
    #[error("`{0}` has a part that starts or ends with `-`, which domain names do not allow")]
    HyphenAtEdge(String),
    #[error("`{0}` ends in a number: enter a domain name, such as example.com")]
    NumericTopLevel(String),
    #[error("`{0}` has a port that is not a number")]
    BadPort(String),
    #[error("`{0}` is not a valid internationalized domain name")]
    Idna(String),
    #[error("`{0}` is not ASCII: browsers send internationalized names as punycode (xn--…)")]
    NotAscii(String),
}

impl HostError {
    /// A stable, snake_case code that dashboards can switch on.
    pub fn code(&self) -> &'static str {
        match self {
            HostError::Empty => "host_empty",
            HostError::IpLiteral(_) => "host_ip_literal",
            HostError::Wildcard(_) => "host_wildcard",
            HostError::EmptyLabel(_) => "host_empty_label",
            HostError::LabelTooLong { .. } => "host_label_too_long",
            HostError::TooLong { .. } => "host_too_long",
            HostError::InvalidCharacter { .. } => "host_invalid_character",
            HostError::HyphenAtEdge(_) => "host_hyphen_at_edge",
            HostError::NumericTopLevel(_) => "host_numeric_tld",
            HostError::BadPort(_) => "host_bad_port",
            HostError::Idna(_) => "host_idna",
            HostError::NotAscii(_) => "host_not_ascii",
        }
    }
}

/// A normalized hostname: ASCII, lower case, no port, no trailing dot, every
/// label valid. Only [`Hostname::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Hostname(String);

impl Hostname {
    /// Parses a `Host` header or what a customer typed into a hostname.
    pub fn parse(input: &str) -> Result<Hostname, HostError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(HostError::Empty);
        }
        let name = strip_port(trimmed)?;
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() {
            return Err(HostError::Empty);
        }
        if name.contains('*') {
            return Err(HostError::Wildcard(trimmed.to_string()));
        }
        if name.parse::<Ipv4Addr>().is_ok() {
            return Err(HostError::IpLiteral(trimmed.to_string()));
        }
        let ascii = to_ascii(name)?;
        validate_ascii(&ascii)?;
        Ok(Hostname(ascii))
    }

    /// The ASCII (punycode) form, as DNS and HTTP carry it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form to show people: Unicode where the name is internationalized.
    #[cfg(feature = "customer-input")]
    pub fn to_unicode(&self) -> String {
        let (unicode, result) = idna::domain_to_unicode(&self.0);
        match result {
            Ok(()) => unicode,
            Err(_) => self.0.clone(),
        }
    }

    /// Without IDNA tables (the edge build) the display form is the ASCII one.
    #[cfg(not(feature = "customer-input"))]
    pub fn to_unicode(&self) -> String {
        self.0.clone()
    }

    /// The labels, left to right.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// True when `self` is `parent` or lies under it.
    pub fn is_within(&self, parent: &Hostname) -> bool {
        self.0 == parent.0
            || (self.0.len() > parent.0.len()
                && self.0.ends_with(parent.as_str())
                && self.0.as_bytes()[self.0.len() - parent.0.len() - 1] == b'.')
    }

    /// `label.self`, validated like any other name.
    pub fn child(&self, label: &str) -> Result<Hostname, HostError> {
        Hostname::parse(&format!("{label}.{}", self.0))
    }

    /// The name one label up, if any (`sales.example.com` → `example.com`).
    pub fn parent(&self) -> Option<Hostname> {
        self.0
            .split_once('.')
            .map(|(_, rest)| Hostname(rest.to_string()))
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Hostname {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Hostname {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Hostname::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Hostname {
    type Err = HostError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hostname::parse(s)
    }
}

/// Drops a `:port` suffix; refuses IPv6 literals, bracketed or not.
fn strip_port(input: &str) -> Result<&str, HostError> {
    if input.starts_with('[') || input.parse::<Ipv6Addr>().is_ok() {
        return Err(HostError::IpLiteral(input.to_string()));
    }
    match input.rsplit_once(':') {
        None => Ok(input),
        Some((name, port)) => {
            if name.contains(':') {
                return Err(HostError::InvalidCharacter {
                    input: input.to_string(),
                    ch: ':',
                });
            }
            if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HostError::BadPort(input.to_string()));
            }
            Ok(name)
        }
    }
}

/// Lower-cases ASCII names; maps anything else through UTS 46 when the
/// IDNA tables are compiled in.
fn to_ascii(name: &str) -> Result<String, HostError> {
    let lower = name.to_ascii_lowercase();
    // Any letter case of the ACE prefix (`xN--`) marks a punycode label.
    let needs_idna = !name.is_ascii() || lower.contains("xn--");
    if !needs_idna {
        return Ok(lower);
    }
    idna_to_ascii(name)
}

#[cfg(feature = "customer-input")]
fn idna_to_ascii(name: &str) -> Result<String, HostError> {
    if let Some(ch) = name
        .chars()
        .find(|c| c.is_ascii() && !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(HostError::InvalidCharacter {
            input: name.to_string(),
            ch,
        });
    }
    let refused = || HostError::Idna(name.to_string());
    let ascii = idna::domain_to_ascii_cow(name.as_bytes(), idna::AsciiDenyList::STD3)
        .map_err(|_| refused())?
        .into_owned();
    // The Unicode form people are shown must parse back to the same name:
    // `xn--xn--xn--cer` decodes to a label that itself starts with `xn--`
    // (UTS 46 refuses such labels; the idna crate lets them through).
    let (unicode, shown) = idna::domain_to_unicode(&ascii);
    let back = idna::domain_to_ascii_cow(unicode.as_bytes(), idna::AsciiDenyList::STD3);
    match (shown, back) {
        (Ok(()), Ok(back)) if back == ascii => Ok(ascii),
        _ => Err(refused()),
    }
}

/// The edge build carries no IDNA tables: browsers send punycode already, so
/// `xn--` labels are taken as they come and non-ASCII is refused.
#[cfg(not(feature = "customer-input"))]
fn idna_to_ascii(name: &str) -> Result<String, HostError> {
    if name.is_ascii() {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(HostError::NotAscii(name.to_string()))
    }
}

fn validate_ascii(name: &str) -> Result<(), HostError> {
    if name.len() > MAX_NAME_LEN {
        return Err(HostError::TooLong { len: name.len() });
    }
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err(HostError::EmptyLabel(name.to_string()));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(HostError::LabelTooLong {
                label: label.to_string(),
                len: label.len(),
            });
        }
        if let Some(ch) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(HostError::InvalidCharacter {
                input: name.to_string(),
                ch,
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(HostError::HyphenAtEdge(name.to_string()));
        }
        last = label;
    }
    // WHATWG URL parsers read `1.2.3` or `0x7f.1` as IPv4: a numeric last label
    // is never a real domain.
    if last.bytes().all(|b| b.is_ascii_digit())
        || (last.starts_with("0x") && last[2..].bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(HostError::NumericTopLevel(name.to_string()));
    }
    Ok(())
}

/// Why a username cannot be used as the platform host label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("choose a username")]
    Empty,
    #[error("a username holds at most 63 characters, because it becomes part of a domain name")]
    TooLong,
    #[error("a username holds only lower-case letters, digits and `-` (found `{0}`)")]
    InvalidCharacter(char),
    #[error("a username cannot start or end with `-`")]
    HyphenAtEdge,
    #[error("a username cannot have `-` as its third and fourth characters (that form is kept for punycode)")]
    ReservedHyphens,
    #[error("`{0}` is reserved by the platform: choose another username")]
    Reserved(String),
}

impl UsernameError {
    pub fn code(&self) -> &'static str {
        match self {
            UsernameError::Empty => "username_empty",
            UsernameError::TooLong => "username_too_long",
            UsernameError::InvalidCharacter(_) => "username_invalid_character",
            UsernameError::HyphenAtEdge => "username_hyphen_at_edge",
            UsernameError::ReservedHyphens => "username_reserved_hyphens",
            UsernameError::Reserved(_) => "username_reserved",
        }
    }
}

/// Names the platform keeps for its own hosts under the platform domain.
pub const RESERVED_USERNAMES: &[&str] = &[
    "www",
    "api",
    "app",
    "admin",
    "mail",
    "smtp",
    "imap",
    "pop",
    "ftp",
    "ns1",
    "ns2",
    "dns",
    "cdn",
    "static",
    "assets",
    "status",
    "dashboard",
    "edge",
    "origin",
    "portico",
];

/// An account's username: one DNS label, because customers' CNAMEs point at
/// `<username>.<platform domain>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Username, UsernameError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(UsernameError::Empty);
        }
        if name.len() > MAX_LABEL_LEN {
            return Err(UsernameError::TooLong);
        }
        if let Some(ch) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(UsernameError::InvalidCharacter(ch));
        }
        if name.starts_with('-') || name.ends_with('-') {
            return Err(UsernameError::HyphenAtEdge);
        }
        if name.len() >= 4 && &name[2..4] == "--" {
            return Err(UsernameError::ReservedHyphens);
        }
        if RESERVED_USERNAMES.contains(&name) {
            return Err(UsernameError::Reserved(name.to_string()));
        }
        Ok(Username(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Username {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Username::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_what_hosts_and_customers_send() {
        let cases = [
            ("example.com", "example.com"),
            ("Sales.Example.COM", "sales.example.com"),
            ("sales.example.com.", "sales.example.com"),
            ("sales.example.com:8080", "sales.example.com"),
            ("sales.example.com.:443", "sales.example.com"),
            ("  www.example.com \n", "www.example.com"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("a-b.c-d.example", "a-b.c-d.example"),
            ("123.example.com", "123.example.com"),
        ];
        for (input, want) in cases {
            assert_eq!(Hostname::parse(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[cfg(feature = "customer-input")]
    #[test]
    fn internationalized_names_become_punycode_and_back() {
        let host = Hostname::parse("Bücher.Example").unwrap();
        assert_eq!(host.as_str(), "xn--bcher-kva.example");
        assert_eq!(host.to_unicode(), "bücher.example");
        let host = Hostname::parse("ＥＸＡＭＰＬＥ.com").unwrap();
        assert_eq!(host.as_str(), "example.com");
        assert_eq!(
            Hostname::parse("xn--bcher-kva.example")
                .unwrap()
                .to_unicode(),
            "bücher.example"
        );
    }

    #[test]
    fn refuses_what_is_not_a_hostname() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        let cases: Vec<(&str, &str)> = vec![
            ("", "host_empty"),
            ("   ", "host_empty"),
            (".", "host_empty"),
            ("192.168.1.1", "host_ip_literal"),
            ("192.168.1.1:80", "host_ip_literal"),
            ("[::1]", "host_ip_literal"),
            ("[::1]:8080", "host_ip_literal"),
            ("::1", "host_ip_literal"),
            ("*.example.com", "host_wildcard"),
            ("a..example.com", "host_empty_label"),
            (".example.com", "host_empty_label"),
            (&long_label, "host_label_too_long"),
            (&long_name, "host_too_long"),
            ("exa mple.com", "host_invalid_character"),
            ("exa_mple.com", "host_invalid_character"),
            ("example.com/path", "host_invalid_character"),
            ("user@example.com", "host_invalid_character"),
            ("-example.com", "host_hyphen_at_edge"),
            ("example-.com", "host_hyphen_at_edge"),
            ("1.2.3", "host_numeric_tld"),
            ("0x7f.1", "host_numeric_tld"),
            ("example.com:http", "host_bad_port"),
            ("example.com:", "host_bad_port"),
            ("a:b:c", "host_invalid_character"),
        ];
        for (input, code) in cases {
            let err = Hostname::parse(input).unwrap_err();
            assert_eq!(err.code(), code, "{input:?}: {err}");
        }
    }

    #[cfg(feature = "customer-input")]
    #[test]
    fn refuses_broken_punycode() {
        // `xN--` and `Xn--` found by fuzzing (fuzz/fuzz_targets/host_path.rs):
        // they skipped the punycode check, and their lower-cased form was refused.
        for input in [
            "xn--zz.example",
            "XN--zz.example",
            "xN--zz.example",
            "Xn--zz.example",
        ] {
            assert_eq!(
                Hostname::parse(input).unwrap_err().code(),
                "host_idna",
                "{input}"
            );
        }
        assert_eq!(
            Hostname::parse("xN--bcher-KVA.example").unwrap().as_str(),
            "xn--bcher-kva.example"
        );
        // Found by fuzzing too: its Unicode form, `xn--xn-઼`, did not parse back.
        assert_eq!(
            Hostname::parse("xn--xn--xn--cer.example")
                .unwrap_err()
                .code(),
            "host_idna"
        );
    }

    #[test]
    fn within_compares_whole_labels() {
        let root = Hostname::parse("example.com").unwrap();
        assert!(Hostname::parse("a.example.com").unwrap().is_within(&root));
        assert!(root.is_within(&root));
        assert!(!Hostname::parse("badexample.com").unwrap().is_within(&root));
        assert_eq!(
            Hostname::parse("a.b.example.com")
                .unwrap()
                .parent()
                .unwrap()
                .as_str(),
            "b.example.com"
        );
    }

    #[test]
    fn usernames_are_dns_labels() {
        assert_eq!(Username::parse("katie-k2").unwrap().as_str(), "katie-k2");
        let cases = [
            ("", "username_empty"),
            ("Katie", "username_invalid_character"),
            ("katie.k", "username_invalid_character"),
            ("katie_k", "username_invalid_character"),
            ("-katie", "username_hyphen_at_edge"),
            ("xn--katie", "username_reserved_hyphens"),
            ("www", "username_reserved"),
        ];
        for (input, code) in cases {
            assert_eq!(Username::parse(input).unwrap_err().code(), code, "{input}");
        }
        assert_eq!(
            Username::parse(&"a".repeat(64)).unwrap_err().code(),
            "username_too_long"
        );
    }
}
