//! What the local DNS provider and registrar hold: records grouped in zones
//! (a zone is made on demand for a name's registrable domain, as signing up
//! at a DNS provider would) and the registrar's URL forwards. Plain data
//! with the rules a real provider enforces (one CNAME per name and nothing
//! beside it, none at a zone's apex); every refusal is a [`ProviderError`]
//! with a stable code, never a panic.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::rr::rdata::{CNAME, TXT};
use hickory_proto::rr::{Name, RData, RecordType};
use serde::{Deserialize, Serialize};

use crate::forwarder::Forward;

/// The provider's nameserver: every zone it serves names it in NS.
pub const NAMESERVER: &str = "ns1.dns-host.test.";
/// Where the registrar's forwarding answers: a forwarded host's A record.
pub const FORWARDING_ADDRESS: Ipv4Addr = Ipv4Addr::LOCALHOST;
pub const DEFAULT_TTL: u32 = 60;
const MAX_TTL: u32 = 86_400;
const MAX_TXT: usize = 2048;

/// The record types the provider lets customers create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordKind {
    A,
    AAAA,
    CNAME,
    TXT,
    CAA,
    MX,
}

impl RecordKind {
    pub const ALL: [RecordKind; 6] = [
        RecordKind::CNAME,
        RecordKind::A,
        RecordKind::AAAA,
        RecordKind::TXT,
        RecordKind::CAA,
        RecordKind::MX,
    ];

    pub fn parse(text: &str) -> Option<RecordKind> {
        RecordKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(text.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::A => "A",
            RecordKind::AAAA => "AAAA",
            RecordKind::CNAME => "CNAME",
            RecordKind::TXT => "TXT",
            RecordKind::CAA => "CAA",
            RecordKind::MX => "MX",
        }
    }
}

/// One record as the provider shows it: `sales.shop.test CNAME demo.portico.test. 60`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: RecordKind,
    pub value: String,
    pub ttl: u32,
}

/// A record as typed into the provider's form or sent to its API.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub ttl: Option<u32>,
}

/// The registrar's URL forwarding of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardRule {
    pub host: String,
    pub to: String,
    pub status: u16,
    pub keep_path: bool,
}

/// A forward as sent to `PUT /api/forwards/{host}`.
#[derive(Debug, Clone, Deserialize)]
pub struct NewForward {
    pub to: String,
    pub status: Option<u16>,
    pub keep_path: Option<bool>,
}

/// Why the provider refused: an HTTP status, a stable snake_case code and a
/// message saying what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ProviderError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> ProviderError {
        ProviderError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(code: &'static str, message: impl Into<String>) -> ProviderError {
        ProviderError::new(422, code, message)
    }
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

/// The provider's zones and the registrar's forwards.
#[derive(Debug, Clone, Default)]
pub struct Provider {
    /// Zone origin (no trailing dot) → its records.
    zones: BTreeMap<String, Vec<DnsRecord>>,
    forwards: BTreeMap<String, ForwardRule>,
    serial: u32,
    /// Published as `_domainconnect.<zone>` TXT for every zone without its
    /// own (`host:port` of the provider's Domain Connect API).
    pub(super) domain_connect_host: Option<String>,
}

impl Provider {
    /// The zones every local stack has: the provider's own (`ns1.dns-host.test`)
    /// and the platform's (`*.<platform domain>`, so accounts' hosts resolve).
    pub fn with_builtin_zones(platform_domain: &str) -> Provider {
        let mut provider = Provider::default();
        let platform = platform_domain.trim_end_matches('.').to_ascii_lowercase();
        let builtins = [
            (
                "dns-host.test",
                "ns1.dns-host.test",
                RecordKind::A,
                "127.0.0.1",
            ),
            (
                platform.as_str(),
                &format!("*.{platform}"),
                RecordKind::A,
                "127.0.0.1",
            ),
        ];
        for (zone, name, kind, value) in builtins {
            provider
                .zones
                .entry(zone.to_string())
                .or_default()
                .push(DnsRecord {
                    name: name.to_string(),
                    kind,
                    value: value.to_string(),
                    ttl: 300,
                });
        }
        provider
    }

    /// Loads a zone file's records (relative to `origin`, as `portico-local-dns`
    /// reads them) into the zone `origin`; SOA records are dropped (one is made).
    pub fn load_zone_text(&mut self, origin: &str, text: &str) -> Result<usize, ProviderError> {
        let origin = origin.trim_end_matches('.').to_ascii_lowercase();
        let origin_name = Name::from_str(&format!("{origin}."))
            .map_err(|e| ProviderError::invalid("invalid_name", format!("{origin}: {e}")))?;
        let text = format!("$ORIGIN {origin}.\n$TTL 300\n{text}\n");
        let (_, records) =
            hickory_proto::serialize::txt::Parser::new(text, None, Some(origin_name))
                .parse()
                .map_err(|e| ProviderError::invalid("invalid_zone", format!("{origin}: {e}")))?;
        let mut loaded = 0;
        let zone = self.zones.entry(origin.clone()).or_default();
        for set in records.values() {
            for record in set.records_without_rrsigs() {
                let kind = match record.record_type() {
                    RecordType::A => RecordKind::A,
                    RecordType::AAAA => RecordKind::AAAA,
                    RecordType::CNAME => RecordKind::CNAME,
                    RecordType::TXT => RecordKind::TXT,
                    RecordType::CAA => RecordKind::CAA,
                    RecordType::MX => RecordKind::MX,
                    // The zone's NS is the provider's own; SOA is made.
                    _ => continue,
                };
                let value = match &record.data {
                    RData::TXT(txt) => txt
                        .txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect(),
                    other => other.to_string(),
                };
                let record = DnsRecord {
                    name: text_of(&record.name),
                    kind,
                    value,
                    ttl: record.ttl,
                };
                // A built-in zone's record repeated by a file is kept once.
                if !zone.iter().any(|r| {
                    (&r.name, r.kind, &r.value) == (&record.name, record.kind, &record.value)
                }) {
                    zone.push(record);
                    loaded += 1;
                }
            }
        }
        self.serial += 1;
        Ok(loaded)
    }

    /// Every record, zone by zone, sorted by name and type.
    pub fn records(&self) -> Vec<DnsRecord> {
        let mut all: Vec<DnsRecord> = self.zones.values().flatten().cloned().collect();
        all.sort_by(|a, b| (&a.name, a.kind, &a.value).cmp(&(&b.name, b.kind, &b.value)));
        all
    }

    pub fn forwards(&self) -> Vec<ForwardRule> {
        self.forwards.values().cloned().collect()
    }

    /// What the forwarding server answers for each forwarded host.
    pub fn forward_table(&self) -> Vec<(String, Forward)> {
        self.forwards
            .values()
            .map(|rule| {
                (
                    rule.host.clone(),
                    Forward::Redirect {
                        status: rule.status,
                        to: rule.to.clone(),
                        keep_path: rule.keep_path,
                    },
                )
            })
            .collect()
    }

    /// Creates a record, and its zone if the provider has none for it yet.
    pub fn add(&mut self, new: &NewRecord) -> Result<DnsRecord, ProviderError> {
        let name = parse_name(&new.name, true)?;
        let kind = RecordKind::parse(&new.kind).ok_or_else(|| {
            ProviderError::invalid(
                "invalid_type",
                format!(
                    "`{}` is not a record type this provider offers: use one of {}",
                    new.kind.trim(),
                    RecordKind::ALL.map(RecordKind::as_str).join(", ")
                ),
            )
        })?;
        let value = parse_value(kind, &new.value)?;
        let ttl = new.ttl.unwrap_or(DEFAULT_TTL);
        if !(1..=MAX_TTL).contains(&ttl) {
            return Err(ProviderError::invalid(
                "invalid_ttl",
                format!("a TTL of {ttl} s: use 1 to {MAX_TTL} seconds"),
            ));
        }
        let zone = self.zone_for(&name)?;
        let record = DnsRecord {
            name,
            kind,
            value,
            ttl,
        };
        let existing = self.zones.get(&zone).map(Vec::as_slice).unwrap_or(&[]);
        check_conflicts(&zone, existing, &record)?;
        self.zones.entry(zone).or_default().push(record.clone());
        self.serial += 1;
        Ok(record)
    }

    /// Removes the records of `name` and `kind` (only the one with `value`
    /// when given); how many went.
    pub fn remove(
        &mut self,
        name: &str,
        kind: &str,
        value: Option<&str>,
    ) -> Result<usize, ProviderError> {
        let name = parse_name(name, true)?;
        let kind = RecordKind::parse(kind).ok_or_else(|| {
            ProviderError::invalid("invalid_type", format!("`{kind}` is not a record type"))
        })?;
        let value = match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(value) => Some(parse_value(kind, value)?),
            None => None,
        };
        let mut removed = 0;
        for records in self.zones.values_mut() {
            let before = records.len();
            records.retain(|r| {
                !(r.name == name && r.kind == kind && value.as_ref().is_none_or(|v| &r.value == v))
            });
            removed += before - records.len();
        }
        if removed == 0 {
            return Err(ProviderError::new(
                404,
                "not_found",
                format!("there is no {} record at {name}", kind.as_str()),
            ));
        }
        self.serial += 1;
        Ok(removed)
    }

    /// Sets the registrar's forwarding of `host`, and points the host's A
    /// record at the forwarding address (replacing any other A records).
    pub fn set_forward(
        &mut self,
        host: &str,
        new: &NewForward,
    ) -> Result<ForwardRule, ProviderError> {
        let host = parse_name(host, false)?;
        let to = new.to.trim();
        let url = url::Url::parse(to).map_err(|_| {
            ProviderError::invalid(
                "invalid_url",
                format!("`{to}` is not an absolute URL: write it as https://www.{host}"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ProviderError::invalid(
                "invalid_url",
                format!("`{to}`: forward to an http:// or https:// address"),
            ));
        }
        let status = new.status.unwrap_or(301);
        if ![301, 302, 303, 307, 308].contains(&status) {
            return Err(ProviderError::invalid(
                "invalid_status",
                format!("{status}: a forward answers 301 (permanent), 302, 303, 307 or 308"),
            ));
        }
        let zone = self.zone_for(&host)?;
        let records = self.zones.entry(zone).or_default();
        if records
            .iter()
            .any(|r| r.name == host && r.kind == RecordKind::CNAME)
        {
            return Err(ProviderError::new(
                409,
                "record_conflict",
                format!("{host} has a CNAME record: forwarding needs the host's A record; remove the CNAME first"),
            ));
        }
        records.retain(|r| !(r.name == host && r.kind == RecordKind::A));
        records.push(DnsRecord {
            name: host.clone(),
            kind: RecordKind::A,
            value: FORWARDING_ADDRESS.to_string(),
            ttl: DEFAULT_TTL,
        });
        let rule = ForwardRule {
            host: host.clone(),
            to: to.to_string(),
            status,
            keep_path: new.keep_path.unwrap_or(true),
        };
        self.forwards.insert(host, rule.clone());
        self.serial += 1;
        Ok(rule)
    }

    /// Stops forwarding `host` and removes the A record forwarding gave it.
    pub fn remove_forward(&mut self, host: &str) -> Result<ForwardRule, ProviderError> {
        let host = parse_name(host, false)?;
        let rule = self.forwards.remove(&host).ok_or_else(|| {
            ProviderError::new(404, "not_found", format!("{host} is not forwarded"))
        })?;
        let address = FORWARDING_ADDRESS.to_string();
        for records in self.zones.values_mut() {
            records.retain(|r| !(r.name == host && r.kind == RecordKind::A && r.value == address));
        }
        self.serial += 1;
        Ok(rule)
    }

    /// The zone a name belongs to: the closest zone the provider has, else
    /// its registrable domain (a new zone).
    fn zone_for(&self, name: &str) -> Result<String, ProviderError> {
        if let Some(zone) = self
            .zones
            .keys()
            .filter(|zone| name == zone.as_str() || name.ends_with(&format!(".{zone}")))
            .max_by_key(|zone| zone.len())
        {
            return Ok(zone.clone());
        }
        let bare = name.strip_prefix("*.").unwrap_or(name);
        psl::domain_str(bare).map(str::to_string).ok_or_else(|| {
            ProviderError::invalid(
                "invalid_name",
                format!("{name} is a public suffix: records go in a domain under it, such as shop.{name}"),
            )
        })
    }

    /// Whether `origin` is one of the provider's zones.
    pub(super) fn holds_zone(&self, origin: &str) -> bool {
        self.zones.contains_key(origin)
    }

    /// Each zone's origin and records.
    pub(super) fn zones(&self) -> impl Iterator<Item = (&str, &[DnsRecord])> {
        self.zones
            .iter()
            .map(|(origin, records)| (origin.as_str(), records.as_slice()))
    }

    /// Grows with every change: the zones' SOA serial.
    pub(super) fn serial(&self) -> u32 {
        self.serial
    }
}

/// Lower case, one trailing dot dropped, then: labels of letters, digits,
/// `-` and `_` (for `_acme-challenge` and the like), a `*` only as the
/// whole first label, at least two labels.
fn parse_name(text: &str, wildcard: bool) -> Result<String, ProviderError> {
    let name = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad =
        |why: &str| ProviderError::invalid("invalid_name", format!("`{}`: {why}", text.trim()));
    if name.is_empty() {
        return Err(bad("type the full name, such as sales.shop.test"));
    }
    if name.len() > 253 {
        return Err(bad("a name has at most 253 characters"));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(bad(
            "type the full name with its domain, such as sales.shop.test",
        ));
    }
    for (i, label) in labels.iter().enumerate() {
        if *label == "*" && i == 0 && wildcard {
            continue;
        }
        if label.is_empty() {
            return Err(bad("a name has no empty labels (`..`)"));
        }
        if label.len() > 63 {
            return Err(bad("a label has at most 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("use letters, digits, `-` and `_` only"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label neither starts nor ends with `-`"));
        }
    }
    Ok(name)
}

/// The value in the provider's canonical spelling, or why it is not one.
fn parse_value(kind: RecordKind, text: &str) -> Result<String, ProviderError> {
    let value = text.trim();
    let bad = |why: String| ProviderError::invalid("invalid_value", why);
    if value.is_empty() {
        return Err(bad(format!("a {} record needs a value", kind.as_str())));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(
            "the value holds control characters (a line break?)".into()
        ));
    }
    let canonical = match kind {
        RecordKind::A => Ipv4Addr::from_str(value)
            .map_err(|_| {
                bad(format!(
                    "`{value}` is not an IPv4 address such as 192.0.2.7"
                ))
            })?
            .to_string(),
        RecordKind::AAAA => Ipv6Addr::from_str(value)
            .map_err(|_| {
                bad(format!(
                    "`{value}` is not an IPv6 address such as 2001:db8::7"
                ))
            })?
            .to_string(),
        RecordKind::CNAME => {
            let target = parse_name(value, false).map_err(|e| bad(e.message))?;
            format!("{target}.")
        }
        RecordKind::TXT => {
            if value.len() > MAX_TXT {
                return Err(bad(format!(
                    "a TXT value has at most {MAX_TXT} characters here"
                )));
            }
            value.to_string()
        }
        RecordKind::MX => {
            let (preference, host) = value.split_once(char::is_whitespace).ok_or_else(|| {
                bad(format!(
                    "`{value}`: write the preference and the host, such as `10 mail.shop.test`"
                ))
            })?;
            let preference: u16 = preference
                .parse()
                .map_err(|_| bad(format!("`{preference}` is not a preference (0–65535)")))?;
            let host = parse_name(host, false).map_err(|e| bad(e.message))?;
            format!("{preference} {host}.")
        }
        RecordKind::CAA => value.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    rdata(kind, &canonical)?;
    Ok(canonical)
}

pub(super) fn rdata(kind: RecordKind, value: &str) -> Result<RData, ProviderError> {
    let bad = |why: String| ProviderError::invalid("invalid_value", why);
    Ok(match kind {
        RecordKind::A => RData::A(
            Ipv4Addr::from_str(value)
                .map_err(|e| bad(e.to_string()))?
                .into(),
        ),
        RecordKind::AAAA => RData::AAAA(
            Ipv6Addr::from_str(value)
                .map_err(|e| bad(e.to_string()))?
                .into(),
        ),
        RecordKind::CNAME => RData::CNAME(CNAME(
            Name::from_str(value).map_err(|e| bad(format!("`{value}`: {e}")))?,
        )),
        // At most 255 bytes a string; longer values are split, as providers do.
        RecordKind::TXT => RData::TXT(TXT::from_bytes(value.as_bytes().chunks(255).collect())),
        RecordKind::CAA => RData::try_from_str(RecordType::CAA, value).map_err(|e| {
            bad(format!(
                "`{value}` is not a CAA record (`0 issue \"letsencrypt.org\"`): {e}"
            ))
        })?,
        RecordKind::MX => RData::try_from_str(RecordType::MX, value)
            .map_err(|e| bad(format!("`{value}`: {e}")))?,
    })
}

/// A CNAME is alone at its name, and never at a zone's apex (which holds
/// the zone's SOA and NS); identical records are refused.
fn check_conflicts(
    zone: &str,
    existing: &[DnsRecord],
    new: &DnsRecord,
) -> Result<(), ProviderError> {
    let conflict = |message: String| ProviderError::new(409, "record_conflict", message);
    if existing
        .iter()
        .any(|r| r.name == new.name && r.kind == new.kind && r.value == new.value)
    {
        return Err(ProviderError::new(
            409,
            "record_exists",
            format!(
                "{} {} {} exists already",
                new.name,
                new.kind.as_str(),
                new.value
            ),
        ));
    }
    if new.kind == RecordKind::CNAME {
        if new.name == zone {
            return Err(conflict(format!(
                "{zone} is the zone's apex, which holds its SOA and NS records: a CNAME cannot sit beside them (use www.{zone}, and your registrar's forwarding for {zone})"
            )));
        }
        if let Some(other) = existing.iter().find(|r| r.name == new.name) {
            return Err(conflict(format!(
                "{} has a {} record already: a CNAME must be the only record at its name; remove the {} first",
                new.name,
                other.kind.as_str(),
                other.kind.as_str()
            )));
        }
    } else if existing
        .iter()
        .any(|r| r.name == new.name && r.kind == RecordKind::CNAME)
    {
        return Err(conflict(format!(
            "{} has a CNAME record: nothing else can sit beside it; remove the CNAME first",
            new.name
        )));
    }
    Ok(())
}

fn text_of(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, kind: &str, value: &str) -> NewRecord {
        NewRecord {
            name: name.into(),
            kind: kind.into(),
            value: value.into(),
            ttl: None,
        }
    }

    #[test]
    fn records_are_normalized_and_zones_made_on_demand() {
        let mut provider = Provider::with_builtin_zones("portico.test");
        let added = provider
            .add(&record("Sales.Shop.test.", "cname", "demo.portico.test"))
            .unwrap();
        assert_eq!(
            added,
            DnsRecord {
                name: "sales.shop.test".into(),
                kind: RecordKind::CNAME,
                value: "demo.portico.test.".into(),
                ttl: DEFAULT_TTL,
            }
        );
        assert!(provider.zones.contains_key("shop.test"));
        provider
            .add(&record("shop.test", "TXT", "v=spf1 -all"))
            .unwrap();
        provider
            .add(&record("shop.test", "CAA", "0  issue \"letsencrypt.org\""))
            .unwrap();
        provider
            .add(&record("shop.test", "MX", "10 mail.shop.test"))
            .unwrap();
        assert_eq!(provider.zones["shop.test"].len(), 4);
    }

    #[test]
    fn refuses_what_a_provider_refuses() {
        let mut provider = Provider::with_builtin_zones("portico.test");
        let code = |p: &mut Provider, r: NewRecord| p.add(&r).unwrap_err().code;
        assert_eq!(
            code(&mut provider, record("", "A", "1.2.3.4")),
            "invalid_name"
        );
        assert_eq!(
            code(&mut provider, record("test", "A", "1.2.3.4")),
            "invalid_name"
        );
        assert_eq!(
            code(&mut provider, record("a b.test", "A", "1.2.3.4")),
            "invalid_name"
        );
        assert_eq!(
            code(&mut provider, record("x.shop.test", "SRV", "1")),
            "invalid_type"
        );
        assert_eq!(
            code(&mut provider, record("x.shop.test", "A", "1.2.3")),
            "invalid_value"
        );
        assert_eq!(
            code(&mut provider, record("x.shop.test", "AAAA", "1.2.3.4")),
            "invalid_value"
        );
        assert_eq!(
            code(&mut provider, record("x.shop.test", "TXT", "a\nb")),
            "invalid_value"
        );
        assert_eq!(
            code(&mut provider, record("x.shop.test", "CAA", "issue")),
            "invalid_value"
        );
        assert_eq!(
            code(&mut provider, record("x.shop.test", "CNAME", "-x.test")),
            "invalid_value"
        );
        let mut long_ttl = record("x.shop.test", "A", "1.2.3.4");
        long_ttl.ttl = Some(0);
        assert_eq!(code(&mut provider, long_ttl), "invalid_ttl");
        provider
            .add(&record("www.shop.test", "CNAME", "demo.portico.test"))
            .unwrap();
        assert_eq!(
            code(&mut provider, record("www.shop.test", "A", "1.2.3.4")),
            "record_conflict"
        );
        assert_eq!(
            code(
                &mut provider,
                record("www.shop.test", "CNAME", "x.portico.test")
            ),
            "record_conflict"
        );
        assert_eq!(
            code(
                &mut provider,
                record("www.shop.test", "CNAME", "demo.portico.test")
            ),
            "record_exists"
        );
        assert_eq!(
            code(
                &mut provider,
                record("shop.test", "CNAME", "demo.portico.test")
            ),
            "record_conflict"
        );
    }

    #[test]
    fn forwarding_owns_the_hosts_a_record() {
        let mut provider = Provider::with_builtin_zones("portico.test");
        provider
            .add(&record("shop.test", "A", "192.0.2.7"))
            .unwrap();
        let forward = NewForward {
            to: "https://www.shop.test".into(),
            status: None,
            keep_path: None,
        };
        let rule = provider.set_forward("Shop.test", &forward).unwrap();
        assert_eq!((rule.status, rule.keep_path), (301, true));
        let a: Vec<_> = provider
            .records()
            .into_iter()
            .filter(|r| r.name == "shop.test" && r.kind == RecordKind::A)
            .collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].value, "127.0.0.1");
        provider.remove_forward("shop.test").unwrap();
        assert!(!provider
            .records()
            .iter()
            .any(|r| r.name == "shop.test" && r.kind == RecordKind::A));
        assert_eq!(
            provider.remove_forward("shop.test").unwrap_err().status,
            404
        );
        let bad = NewForward {
            to: "www.shop.test".into(),
            status: None,
            keep_path: None,
        };
        assert_eq!(
            provider.set_forward("shop.test", &bad).unwrap_err().code,
            "invalid_url"
        );
    }

    #[test]
    fn removes_by_name_and_type_or_one_value() {
        let mut provider = Provider::default();
        provider
            .add(&record("shop.test", "A", "192.0.2.7"))
            .unwrap();
        provider
            .add(&record("shop.test", "A", "192.0.2.8"))
            .unwrap();
        assert_eq!(
            provider
                .remove("shop.test", "A", Some("192.0.2.8"))
                .unwrap(),
            1
        );
        assert_eq!(provider.remove("shop.test", "A", None).unwrap(), 1);
        assert_eq!(
            provider.remove("shop.test", "A", None).unwrap_err().status,
            404
        );
    }

    #[test]
    fn zone_files_load_as_records() {
        let mut provider = Provider::default();
        let loaded = provider
            .load_zone_text("example.test", "@ NS ns1.dns-host.test.\nwww CNAME katie.portico.test.\n@ CAA 0 issue \"letsencrypt.org\"\n")
            .unwrap();
        assert_eq!(loaded, 2);
        let records = provider.records();
        assert!(records
            .iter()
            .any(|r| r.name == "www.example.test" && r.value == "katie.portico.test."));
        // Loaded zones take new records under them.
        provider
            .add(&record("sales.example.test", "A", "192.0.2.1"))
            .unwrap();
        assert_eq!(provider.zones["example.test"].len(), 3);
        let _ = provider.catalog();
    }
}
