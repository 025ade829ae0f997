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
}
