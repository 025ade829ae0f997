//! The verifier's settings (`PORTICO_DNS_*`, `PORTICO_FORWARD_*`,
//! `PORTICO_VERIFY_*`, …; the table is in control/README.md).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portico_shared::lifecycle::Policy;
use portico_shared::ownership::ChallengeLabel;
use portico_shared::ApexAddresses;

use super::cdn::CdnRanges;
use super::dns::DnsSettings;
use super::forward::ForwardSettings;
use super::outbound::Outbound;
use crate::certs::authorities::Authority;
use crate::config::{invalid, ConfigError, RawSettings};

#[derive(Debug, Clone)]
pub struct VerifySettings {
    /// Run the scheduled checks (`serve`); the API's `verify` works either way.
    pub scheduled: bool,
    pub dns: DnsSettings,
    pub forward: ForwardSettings,
    /// The certificate authorities the configured provider issues from
    /// (`certs::authorities::for_provider`): the `caa` check's list.
    pub authorities: &'static [Authority],
    /// CDN address ranges (`verify::cdn`): built in, or `PORTICO_CDN_RANGES_FILE`.
    pub cdn_ranges: Arc<CdnRanges>,
    /// Domains checked at once.
    pub concurrency: usize,
    /// How often the scheduler looks for due checks.
    pub poll_interval: Duration,
    /// How long a connect waits for the routing record to reach KV.
    pub publish_wait: Duration,
    pub policy: Policy,
    /// Where the TXT ownership proof is looked up: `<label>.<served host>`.
    pub challenge_label: ChallengeLabel,
    /// The platform's addresses an apex may point at (`apex_addresses`;
    /// empty: apex by address not offered).
    pub apex_addresses: ApexAddresses,
}

/// `apex_addresses`: the platform's IPv4 and IPv6 addresses for apexes.
pub fn apex_addresses(raw: &RawSettings) -> Result<ApexAddresses, ConfigError> {
    ApexAddresses::parse(raw.apex_addresses.as_deref().unwrap_or_default())
        .map_err(|err| invalid("apex_addresses", err))
}

impl VerifySettings {
    pub fn resolve(raw: &RawSettings) -> Result<VerifySettings, ConfigError> {
        let resolvers = match raw.dns_resolvers.as_deref().map(str::trim) {
            None | Some("") | Some("system") => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|item| parse_resolver(item.trim()))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let concurrency = raw.verify_concurrency.unwrap_or(64);
        if !(1..=10_000).contains(&concurrency) {
            return Err(invalid("verify_concurrency", "expected 1 to 10000"));
        }
        if raw.caa_issuers.is_some() {
            return Err(invalid(
                "caa_issuers",
                "no longer read: the certificate authorities follow certificate_provider (control/src/certs/authorities.rs); remove the setting",
            ));
        }
        let cdn_ranges = match raw.cdn_ranges_file.as_deref() {
            None | Some("") => CdnRanges::built_in(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|err| invalid("cdn_ranges_file", format!("{path}: {err}")))?;
                Arc::new(
                    CdnRanges::parse(path, &text)
                        .map_err(|err| invalid("cdn_ranges_file", err.to_string()))?,
                )
            }
        };
        let defaults = Policy::default();
        let secs = |v: Option<u64>, default_ms: i64| {
            v.map(|s| (s as i64).saturating_mul(1000))
                .unwrap_or(default_ms)
        };
        let challenge_label = match raw.challenge_label.as_deref() {
            None => ChallengeLabel::default(),
            Some(text) => {
                ChallengeLabel::parse(text.trim()).map_err(|err| invalid("challenge_label", err))?
            }
        };
        Ok(VerifySettings {
            apex_addresses: apex_addresses(raw)?,
            challenge_label,
            scheduled: raw.verifier.unwrap_or(true),
            dns: DnsSettings {
                resolvers,
                nameserver_port: raw.dns_nameserver_port.unwrap_or(53),
                timeout: Duration::from_millis(raw.dns_timeout_ms.unwrap_or(2000).max(10)),
                nameserver_addresses: match raw.dns_nameserver_addresses.as_deref() {
                    None => Vec::new(),
                    Some(list) => list
                        .split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(parse_nameserver_address)
                        .collect::<Result<Vec<_>, _>>()?,
                },
                outbound: Outbound {
                    allow_private: raw.verify_allow_private_addresses.unwrap_or(false),
                },
            },
            forward: ForwardSettings {
                http_port: raw.forward_http_port.unwrap_or(80),
                https_port: raw.forward_https_port.unwrap_or(443),
                timeout: Duration::from_millis(raw.forward_timeout_ms.unwrap_or(5000).max(10)),
            },
            // `Settings::resolve` sets the provider's once it is parsed.
            authorities: crate::certs::authorities::for_provider(
                &crate::config::CertificateProvider::None,
            ),
            cdn_ranges,
            concurrency,
            poll_interval: Duration::from_millis(raw.verify_poll_ms.unwrap_or(1000).max(10)),
            publish_wait: Duration::from_millis(raw.verify_publish_wait_ms.unwrap_or(10_000)),
            policy: Policy {
                recheck_interval_ms: secs(raw.verify_recheck_secs, defaults.recheck_interval_ms)
                    .max(1000),
                disconnect_grace_ms: secs(raw.disconnect_grace_secs, defaults.disconnect_grace_ms),
                ..defaults
            },
        })
    }
}

/// `ns1.example.net=192.0.2.53`, or `*=127.0.0.1` for every nameserver.
fn parse_nameserver_address(item: &str) -> Result<(String, std::net::IpAddr), ConfigError> {
    let bad = || {
        invalid(
            "dns_nameserver_addresses",
            format!("`{item}`: expected name=ip pairs (or *=ip), comma-separated"),
        )
    };
    let (name, ip) = item.split_once('=').ok_or_else(bad)?;
    let ip = ip.trim().parse().map_err(|_| bad())?;
    Ok((name.trim().trim_end_matches('.').to_ascii_lowercase(), ip))
}

/// `1.1.1.1`, `1.1.1.1:53`, `[2606:4700::1111]:53`, `127.0.0.1:5353`.
fn parse_resolver(item: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(addr) = item.parse::<SocketAddr>() {
        return Ok(addr);
    }
    item.parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| {
            invalid(
                "dns_resolvers",
                format!("`{item}`: expected IP addresses with optional ports, comma-separated, or `system`"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_lists() {
        let settings = VerifySettings::resolve(&RawSettings::default()).unwrap();
        assert!(settings.scheduled);
        assert!(settings.dns.resolvers.is_empty());
        assert_eq!(settings.dns.nameserver_port, 53);
        assert_eq!(settings.forward.http_port, 80);
        assert!(!settings.dns.outbound.allow_private);
        assert_eq!(settings.authorities[0].caa, "letsencrypt.org");
        let raw = RawSettings {
            caa_issuers: Some("digicert.com".into()),
            ..RawSettings::default()
        };
        assert!(VerifySettings::resolve(&raw).is_err());
        let raw = RawSettings {
            dns_resolvers: Some("127.0.0.1:5353, 9.9.9.9".into()),
            disconnect_grace_secs: Some(60),
            ..RawSettings::default()
        };
        let settings = VerifySettings::resolve(&raw).unwrap();
        assert_eq!(settings.dns.resolvers[1].port(), 53);
        assert_eq!(settings.policy.disconnect_grace_ms, 60_000);
        let raw = RawSettings {
            dns_resolvers: Some("resolver.example".into()),
            ..RawSettings::default()
        };
        assert!(VerifySettings::resolve(&raw).is_err());
        let raw = RawSettings {
            dns_nameserver_addresses: Some("NS1.Example.net.=192.0.2.53, *=127.0.0.1".into()),
            ..RawSettings::default()
        };
        let settings = VerifySettings::resolve(&raw).unwrap();
        assert_eq!(settings.dns.nameserver_addresses[0].0, "ns1.example.net");
        assert!(settings.cdn_ranges.len() >= 20, "built in by default");
        assert_eq!(
            settings.dns.nameserver_addresses[1].1.to_string(),
            "127.0.0.1"
        );
    }

    #[test]
    fn cdn_ranges_from_a_file_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.txt");
        std::fs::write(&good, "# mine\nExampleCDN 192.0.2.0/24\n").unwrap();
        let raw = RawSettings {
            cdn_ranges_file: Some(good.display().to_string()),
            ..RawSettings::default()
        };
        let settings = VerifySettings::resolve(&raw).unwrap();
        assert_eq!(
            settings
                .cdn_ranges
                .provider_of("192.0.2.9".parse().unwrap()),
            Some("ExampleCDN")
        );
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "ExampleCDN 192.0.2.0/24\nExampleCDN 192.0.2.x/24\n").unwrap();
        let raw = RawSettings {
            cdn_ranges_file: Some(bad.display().to_string()),
            ..RawSettings::default()
        };
        let err = VerifySettings::resolve(&raw).unwrap_err().to_string();
        assert!(err.contains("bad.txt line 2"), "{err}");
        let raw = RawSettings {
            cdn_ranges_file: Some(dir.path().join("missing.txt").display().to_string()),
            ..RawSettings::default()
        };
        assert!(VerifySettings::resolve(&raw).is_err());
    }
}
