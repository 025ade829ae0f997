//! IP addresses the platform may send DNS queries or HTTP requests to on a
//! customer's behalf. A customer's zone can name any address as its
//! nameserver or its root's A record; asking a private, loopback or
//! link-local one would let a customer aim the platform at its own network
//! (server-side request forgery). One classification, used by every
//! outbound check.
//!
//! The ranges are the IANA IPv4 and IPv6 Special-Purpose Address Registries
//! (RFC 6890 and its updates), as `ipnet` networks; anything in them is
//! refused, even the few entries the registries call globally reachable
//! (NAT64's well-known prefix, 192.0.0.9/10), because what answers there
//! depends on the network the platform runs in. Outside 2000::/3 no IPv6
//! address is global unicast, so everything else there is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Serialize;

/// What kind of address this is, as far as the platform reaching it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressUse {
    /// Globally reachable unicast: the platform may ask it.
    Public,
    /// `0.0.0.0/8`, `::`: "this host/network".
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64.0.0/10`: carrier-grade NAT's shared space.
    SharedNat,
    /// `169.254/16` (where cloud metadata services live), `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`, and the deprecated site-local `fec0::/10`.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// `64:ff9b::/96`, `64:ff9b:1::/48`: translated to IPv4 by a NAT64 gateway.
    Nat64,
    /// `2002::/16` and its relay anycast `192.88.99.0/24`.
    SixToFour,
    /// Everything else that is not global unicast: `240/4`, `192.0.0/24`,
    /// IETF protocol assignments in `2001::/23`, discard-only `100::/64`,
    /// anything outside `2000::/3`.
    Reserved,
}

impl AddressUse {
    /// True only for addresses the platform may reach without a
    /// development setting.
    pub fn is_public(self) -> bool {
        self == AddressUse::Public
    }

    /// In words, after "is": "a loopback address".
    pub fn describe(self) -> &'static str {
        match self {
            AddressUse::Public => "a public address",
            AddressUse::Unspecified => "an unspecified (\"this network\") address",
            AddressUse::Loopback => "a loopback address",
            AddressUse::Private => "a private-network address",
            AddressUse::SharedNat => "a carrier-grade NAT (shared) address",
            AddressUse::LinkLocal => "a link-local address",
            AddressUse::UniqueLocal => "a unique-local (private IPv6) address",
            AddressUse::Multicast => "a multicast address",
            AddressUse::Broadcast => "the broadcast address",
            AddressUse::Documentation => "an address reserved for documentation",
            AddressUse::Benchmarking => "an address reserved for benchmarking",
            AddressUse::Nat64 => "a NAT64 address",
            AddressUse::SixToFour => "a 6to4 address",
            AddressUse::Reserved => "a reserved address",
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8, class: AddressUse) -> (IpNet, AddressUse) {
    (
        IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)),
        class,
    )
}

const fn v6(segments: [u16; 8], len: u8, class: AddressUse) -> (IpNet, AddressUse) {
    let [a, b, c, d, e, f, g, h] = segments;
    (
        IpNet::V6(Ipv6Net::new_assert(
            Ipv6Addr::new(a, b, c, d, e, f, g, h),
            len,
        )),
        class,
    )
}

/// The special-purpose ranges, the most specific first (the first match wins).
const RANGES: &[(IpNet, AddressUse)] = {
    use AddressUse::*;
    &[
        // IPv4.
        v4(0, 0, 0, 0, 8, Unspecified),
        v4(10, 0, 0, 0, 8, Private),
        v4(100, 64, 0, 0, 10, SharedNat),
        v4(127, 0, 0, 0, 8, Loopback),
        v4(169, 254, 0, 0, 16, LinkLocal),
        v4(172, 16, 0, 0, 12, Private),
        v4(192, 0, 0, 0, 24, Reserved),
        v4(192, 0, 2, 0, 24, Documentation),
        v4(192, 88, 99, 0, 24, SixToFour),
        v4(192, 168, 0, 0, 16, Private),
        v4(198, 18, 0, 0, 15, Benchmarking),
        v4(198, 51, 100, 0, 24, Documentation),
        v4(203, 0, 113, 0, 24, Documentation),
        v4(224, 0, 0, 0, 4, Multicast),
        v4(255, 255, 255, 255, 32, Broadcast),
        v4(240, 0, 0, 0, 4, Reserved),
        // IPv6 (IPv4-mapped addresses are classified by their IPv4 address first).
        v6([0, 0, 0, 0, 0, 0, 0, 0], 128, Unspecified),
        v6([0, 0, 0, 0, 0, 0, 0, 1], 128, Loopback),
        v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, Nat64),
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, Nat64),
        v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, Benchmarking),
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Reserved),
        v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, SixToFour),
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, UniqueLocal),
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
        v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, Reserved),
    ]
};

/// The one classification of an address the platform would reach.
pub fn classify(ip: IpAddr) -> AddressUse {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            // `::ffff:127.0.0.1` reaches 127.0.0.1.
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    if let Some((_, class)) = RANGES.iter().find(|(net, _)| net.contains(&ip)) {
        return *class;
    }
    match ip {
        IpAddr::V6(v6) if v6.segments()[0] & 0xe000 != 0x2000 => AddressUse::Reserved,
        _ => AddressUse::Public,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressUse::*;

    #[test]
    fn every_special_purpose_range_is_named() {
        let cases = [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("10.0.0.5", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedNat),
            ("100.127.255.254", SharedNat),
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("169.254.169.254", LinkLocal),
            ("192.0.0.9", Reserved),
            ("192.0.2.10", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.200", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("192.88.99.1", SixToFour),
            ("224.0.0.251", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.255", Broadcast),
            ("::", Unspecified),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("64:ff9b::7f00:1", Nat64),
            ("64:ff9b::808:808", Nat64),
            ("64:ff9b:1::1", Nat64),
            ("2002:7f00:1::1", SixToFour),
            ("2002:808:808::1", SixToFour),
            ("2001:2::1", Benchmarking),
            ("2001:db8::53", Documentation),
            ("3fff::1", Documentation),
            ("3fff:fff::1", Documentation),
            ("2001::1", Reserved),
            ("100::1", Reserved),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fec0::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("ff02::1", Multicast),
            ("5f00::1", Reserved),
            ("::127.0.0.1", Reserved),
            ("4000::1", Reserved),
        ];
        for (text, want) in cases {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(classify(ip), want, "{text}");
            assert!(!classify(ip).is_public(), "{text}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "9.9.9.9",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.3.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2001:200::1",
            "2a00:1450::1",
            "3ffe::1",
            "3fff:1000::1",
            "::ffff:1.1.1.1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(classify(ip), Public, "{text}");
            assert!(classify(ip).is_public());
        }
    }

    #[test]
    fn every_class_is_described_apart() {
        let all = [
            Public,
            Unspecified,
            Loopback,
            Private,
            SharedNat,
            LinkLocal,
            UniqueLocal,
            Multicast,
            Broadcast,
            Documentation,
            Benchmarking,
            Nat64,
            SixToFour,
            Reserved,
        ];
        let mut texts: Vec<&str> = all.iter().map(|c| c.describe()).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), all.len());
        assert!(texts.iter().all(|t| t.contains("address")));
    }
}
