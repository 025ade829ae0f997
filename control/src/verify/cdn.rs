//! CDN address ranges, from data: `control/data/cdn-ranges.txt` (built in)
//! or the file `PORTICO_CDN_RANGES_FILE` names, parsed once at start into
//! a sorted prefix list. An address in one, with no CNAME, means the
//! customer's own CDN proxies the name (the `cname` check says so).
//!
//! Format: one `<provider> <CIDR>` a line; `#` starts a comment; blank
//! lines are ignored. A line that is not that, a network with host bits
//! set, or ranges of two providers that overlap is an error naming the
//! line: the deployment does not start. `scripts/refresh-cdn-ranges`
//! rewrites the file from the providers' published lists.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use ipnet::IpNet;

/// The file built into the binary.
pub const BUILT_IN: &str = include_str!("../../data/cdn-ranges.txt");

/// A malformed range file: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name} line {line}: {reason}")]
pub struct RangesError {
    pub source_name: String,
    pub line: usize,
    pub reason: String,
}

/// The ranges, sorted by first address; no two of them overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdnRanges {
    ranges: Vec<(IpNet, Arc<str>)>,
}

impl CdnRanges {
    /// Parses `text`; `source_name` (a path, or `built-in`) names it in errors.
    pub fn parse(source_name: &str, text: &str) -> Result<CdnRanges, RangesError> {
        let mut ranges: Vec<(IpNet, Arc<str>, usize)> = Vec::new();
        let error = |line: usize, reason: String| RangesError {
            source_name: source_name.to_string(),
            line,
            reason,
        };
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let mut fields = content.split_whitespace();
            let (Some(provider), Some(cidr), None) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(error(
                    line,
                    format!("`{content}`: expected `<provider> <CIDR>`"),
                ));
            };
            let net: IpNet = cidr.parse().map_err(|_| {
                error(
                    line,
                    format!("`{cidr}`: not a network such as 104.16.0.0/13 or 2606:4700::/32"),
                )
            })?;
            if net.trunc() != net {
                return Err(error(
                    line,
                    format!("`{cidr}`: host bits set (the network is {})", net.trunc()),
                ));
            }
            ranges.push((net, Arc::from(provider), line));
        }
        ranges.sort_by(|a, b| {
            (a.0.network(), a.0.prefix_len()).cmp(&(b.0.network(), b.0.prefix_len()))
        });
        // Keep the widest of nested ranges of one provider; two providers'
        // overlapping would make the answer depend on the order.
        let mut kept: Vec<(IpNet, Arc<str>, usize)> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match kept.last() {
                Some(last) if last.0.contains(&range.0.network()) => {
                    if last.1 != range.1 {
                        return Err(error(
                            range.2,
                            format!(
                                "{} ({}) overlaps {} ({}, line {})",
                                range.0, range.1, last.0, last.1, last.2
                            ),
                        ));
                    }
                }
                _ => kept.push(range),
            }
        }
        Ok(CdnRanges {
            ranges: kept.into_iter().map(|(net, name, _)| (net, name)).collect(),
        })
    }

    /// The built-in file, parsed once.
    pub fn built_in() -> Arc<CdnRanges> {
        static PARSED: OnceLock<Arc<CdnRanges>> = OnceLock::new();
        PARSED
            .get_or_init(|| {
                // Tested (`the_built_in_file_parses`): a bad line is caught there.
                Arc::new(
                    CdnRanges::parse("built-in control/data/cdn-ranges.txt", BUILT_IN)
                        .unwrap_or_else(|err| {
                            tracing::error!(error = %err, "the built-in CDN ranges do not parse");
                            CdnRanges { ranges: Vec::new() }
                        }),
                )
            })
            .clone()
    }

    /// The provider whose range holds `ip`, if any.
    pub fn provider_of(&self, ip: IpAddr) -> Option<&str> {
        let ip = ip.to_canonical();
        // Non-overlapping and sorted: only the last range starting at or
        // before `ip` can hold it.
        let after = self.ranges.partition_point(|(net, _)| net.network() <= ip);
        let (net, name) = self.ranges.get(after.checked_sub(1)?)?;
        net.contains(&ip).then_some(&**name)
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_file_parses() {
        let ranges = CdnRanges::parse("built-in", BUILT_IN).unwrap();
        assert!(ranges.len() >= 20);
        assert_eq!(*CdnRanges::built_in(), ranges);
    }

    #[test]
    fn addresses_inside_and_outside_each_range() {
        let ranges = CdnRanges::built_in();
        let mut checked = 0;
        for line in BUILT_IN.lines() {
            let content = line.split('#').next().unwrap().trim();
            let Some((provider, cidr)) = content.split_once(' ') else {
                continue;
            };
            let net: IpNet = cidr.trim().parse().unwrap();
            // First and last address inside; the ones just outside are not
            // this range's (another range may hold them).
            assert_eq!(ranges.provider_of(net.network()), Some(provider), "{net}");
            assert_eq!(ranges.provider_of(net.broadcast()), Some(provider), "{net}");
            for outside in [before(net.network()), after(net.broadcast())]
                .into_iter()
                .flatten()
            {
                assert!(!net.contains(&outside));
                if let Some(other) = ranges.provider_of(outside) {
                    assert!(
                        ranges
                            .ranges
                            .iter()
                            .any(|(n, p)| n.contains(&outside) && &**p == other && *n != net),
                        "{outside} is outside {net}"
                    );
                }
            }
            checked += 1;
        }
        assert!(checked >= 20);
        let cases = [
            ("104.16.1.1", Some("Cloudflare")),
            ("104.23.255.255", Some("Cloudflare")),
            ("104.15.255.255", None),
            ("2606:4700::1", Some("Cloudflare")),
            ("::ffff:104.16.1.1", Some("Cloudflare")),
            ("151.101.1.1", Some("Fastly")),
            ("192.0.2.1", None),
            ("2001:db8::1", None),
            ("0.0.0.0", None),
            ("255.255.255.255", None),
        ];
        for (ip, want) in cases {
            assert_eq!(ranges.provider_of(ip.parse().unwrap()), want, "{ip}");
        }
    }

    fn before(ip: IpAddr) -> Option<IpAddr> {
        match ip {
            IpAddr::V4(v4) => u32::from(v4).checked_sub(1).map(|n| IpAddr::V4(n.into())),
            IpAddr::V6(v6) => u128::from(v6).checked_sub(1).map(|n| IpAddr::V6(n.into())),
        }
    }

    fn after(ip: IpAddr) -> Option<IpAddr> {
        match ip {
            IpAddr::V4(v4) => u32::from(v4).checked_add(1).map(|n| IpAddr::V4(n.into())),
            IpAddr::V6(v6) => u128::from(v6).checked_add(1).map(|n| IpAddr::V6(n.into())),
        }
    }

    #[test]
    fn a_malformed_file_is_refused_with_its_line() {
        let cases = [
            (
                "Cloudflare 104.16.0.0/13\nCloudflare 104.16.0.0/33\n",
                2,
                "not a network",
            ),
            (
                "# header\n\nCloudflare\n",
                3,
                "expected `<provider> <CIDR>`",
            ),
            ("Cloudflare 104.16.0.0/13 extra\n", 1, "expected"),
            ("Fastly 151.101.0.1/16\n", 1, "host bits set"),
            (
                "Fastly 151.101.0.0/16\nOther 151.101.4.0/24\n",
                2,
                "overlaps",
            ),
        ];
        for (text, line, reason) in cases {
            let err = CdnRanges::parse("test.txt", text).unwrap_err();
            assert_eq!(err.line, line, "{text}: {err}");
            assert!(
                err.to_string()
                    .starts_with(&format!("test.txt line {line}: ")),
                "{err}"
            );
            assert!(err.reason.contains(reason), "{err}");
        }
        // Nested ranges of one provider: the widest is kept.
        let nested = CdnRanges::parse("t", "A 10.0.0.0/8 # wide\nA 10.1.0.0/16\n").unwrap();
        assert_eq!(nested.len(), 1);
        assert_eq!(nested.provider_of("10.1.2.3".parse().unwrap()), Some("A"));
    }

    /// `scripts/refresh-cdn-ranges` against local lists: what it writes
    /// parses; a bad list or no network changes nothing, with a message.
    #[test]
    fn the_refresh_script_writes_a_file_that_parses() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/refresh-cdn-ranges");
        let dir = tempfile::tempdir().unwrap();
        let lists = dir.path();
        std::fs::write(lists.join("ips-v4"), "173.245.48.0/20\n104.16.0.0/13\r\n").unwrap();
        std::fs::write(lists.join("ips-v6"), "2606:4700::/32").unwrap();
        std::fs::write(
            lists.join("fastly.json"),
            r#"{"addresses":["151.101.0.0/16"],"ipv6_addresses":["2a04:4e42::/32"]}"#,
        )
        .unwrap();
        let out = lists.join("out.txt");
        let run = |source: Option<&std::path::Path>| {
            let mut command = std::process::Command::new("bash");
            command
                .arg(script)
                .env("PORTICO_CDN_RANGES_OUT", &out)
                // No network: a closed port as the proxy.
                .env("https_proxy", "http://127.0.0.1:9")
                .env("HTTPS_PROXY", "http://127.0.0.1:9")
                .env_remove("PORTICO_CDN_SOURCE_DIR");
            if let Some(source) = source {
                command.env("PORTICO_CDN_SOURCE_DIR", source);
            }
            command.output().unwrap()
        };
        let done = run(Some(lists));
        assert!(done.status.success(), "{done:?}");
        let text = std::fs::read_to_string(&out).unwrap();
        let today = time::OffsetDateTime::now_utc().date().to_string();
        assert!(text.contains(&format!("# Retrieved: {today}")), "{text}");
        let ranges = CdnRanges::parse("out.txt", &text).unwrap();
        assert_eq!(ranges.len(), 5);
        assert_eq!(
            ranges.provider_of("104.17.0.1".parse().unwrap()),
            Some("Cloudflare")
        );
        assert_eq!(
            ranges.provider_of("2a04:4e42::1".parse().unwrap()),
            Some("Fastly")
        );

        std::fs::write(lists.join("ips-v6"), "2606:4700::/32\nnot-a-network\n").unwrap();
        let refused = run(Some(lists));
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("`not-a-network` in ips-v6 is not a network"),
            "{stderr}"
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text, "unchanged");

        let offline = run(None);
        assert!(!offline.status.success());
        let stderr = String::from_utf8_lossy(&offline.stderr);
        assert!(
            stderr.contains("cannot download https://www.cloudflare.com/ips-v4"),
            "{stderr}"
        );
        assert!(stderr.contains("offline? nothing was changed"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text, "unchanged");
    }
}
