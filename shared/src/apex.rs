//! A root domain's bare name (the apex, `example.com`): forwarded by the
//! registrar to `www` (the default, [`Apex::Forward`]), or pointed at the
//! platform's own addresses with A/AAAA records (or with the DNS provider's
//! ALIAS/ANAME/CNAME flattening, which resolves to the same addresses). Then
//! the edge answers the apex itself: a 301 to `https://www.<root>` keeping
//! path and query, or the site, when the customer makes the apex the main
//! address (and `www` redirects to the apex).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// How the apex reaches the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApexSetup {
    /// A forward at the registrar to `https://www.<root>`.
    #[default]
    Forward,
    /// A/AAAA records (or flattening) at the apex → the platform's addresses.
    Addresses,
}

impl ApexSetup {
    pub fn as_str(self) -> &'static str {
        match self {
            ApexSetup::Forward => "forward",
            ApexSetup::Addresses => "addresses",
        }
    }

    pub fn parse(text: &str) -> Option<ApexSetup> {
        match text {
            "forward" => Some(ApexSetup::Forward),
            "addresses" => Some(ApexSetup::Addresses),
            _ => None,
        }
    }
}

/// Which of a root's two names serves the pages; the other redirects to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MainAddress {
    #[default]
    Www,
    Apex,
}

impl MainAddress {
    pub fn as_str(self) -> &'static str {
        match self {
            MainAddress::Www => "www",
            MainAddress::Apex => "apex",
        }
    }

    pub fn parse(text: &str) -> Option<MainAddress> {
        match text {
            "www" => Some(MainAddress::Www),
            "apex" => Some(MainAddress::Apex),
            _ => None,
        }
    }
}

/// A root's choice for its apex. Never the apex as main address behind a
/// registrar forward: the forward sends the apex away, so nothing could
/// serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Apex {
    /// The registrar forwards the apex to `https://www.<root>`.
    #[default]
    Forward,
    /// The apex points at the platform, which redirects it to `www`.
    Addresses,
    /// The apex points at the platform, which serves the site there;
    /// `www` redirects to the apex.
    AddressesMain,
}

/// Why an apex choice is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApexError {
    #[error("the bare domain can be the main address only when it points at the platform's addresses: choose `addresses` as the setup")]
    MainNeedsAddresses,
    #[error("only a root domain (example.com, served at www.example.com) has a bare domain to set up: a subdomain is served as itself")]
    NotRoot,
    #[error("this platform does not offer pointing the bare domain at its addresses: keep the registrar forward")]
    NotOffered,
}

impl ApexError {
    pub fn code(&self) -> &'static str {
        match self {
            ApexError::MainNeedsAddresses => "apex_main_needs_addresses",
            ApexError::NotRoot => "apex_not_root",
            ApexError::NotOffered => "apex_addresses_not_offered",
        }
    }
}

impl Apex {
    pub fn from_parts(setup: ApexSetup, main: MainAddress) -> Result<Apex, ApexError> {
        match (setup, main) {
            (ApexSetup::Forward, MainAddress::Www) => Ok(Apex::Forward),
            (ApexSetup::Forward, MainAddress::Apex) => Err(ApexError::MainNeedsAddresses),
            (ApexSetup::Addresses, MainAddress::Www) => Ok(Apex::Addresses),
            (ApexSetup::Addresses, MainAddress::Apex) => Ok(Apex::AddressesMain),
        }
    }

    pub fn setup(self) -> ApexSetup {
        match self {
            Apex::Forward => ApexSetup::Forward,
            Apex::Addresses | Apex::AddressesMain => ApexSetup::Addresses,
        }
    }

    pub fn main(self) -> MainAddress {
        match self {
            Apex::Forward | Apex::Addresses => MainAddress::Www,
            Apex::AddressesMain => MainAddress::Apex,
        }
    }

    /// True when the apex points at the platform's addresses.
    pub fn by_address(self) -> bool {
        self.setup() == ApexSetup::Addresses
    }
}

/// The platform's addresses a customer points an apex at (on Cloudflare for
/// SaaS, the apex proxying addresses). Empty: apex by address not offered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApexAddresses(Vec<IpAddr>);

impl ApexAddresses {
    /// A comma- or space-separated list of IPv4 and IPv6 addresses, each
    /// once; never unspecified (`0.0.0.0`, `::`), multicast or broadcast
    /// addresses, which no visitor can be sent to.
    pub fn parse(list: &str) -> Result<ApexAddresses, String> {
        let mut addresses: Vec<IpAddr> = Vec::new();
        for item in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
        {
            let ip: IpAddr = item
                .parse()
                .map_err(|_| format!("`{item}` is not an IPv4 or IPv6 address"))?;
            let unusable = ip.is_unspecified()
                || ip.is_multicast()
                || matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
            if unusable {
                return Err(format!("`{item}` cannot be a visitor's destination"));
            }
            if addresses.contains(&ip) {
                return Err(format!("`{item}` is listed twice"));
            }
            addresses.push(ip);
        }
        Ok(ApexAddresses(addresses))
    }

    pub fn new(addresses: Vec<IpAddr>) -> ApexAddresses {
        let mut unique: Vec<IpAddr> = Vec::new();
        for ip in addresses {
            if !unique.contains(&ip) {
                unique.push(ip);
            }
        }
        ApexAddresses(unique)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[IpAddr] {
        &self.0
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

/// `A` or `AAAA`, for `ip`.
pub fn record_type(ip: &IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "A",
        IpAddr::V6(_) => "AAAA",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apex_is_the_main_address_only_by_address() {
        let (forward, by_address) = (ApexSetup::Forward, ApexSetup::Addresses);
        let (www, apex) = (MainAddress::Www, MainAddress::Apex);
        assert_eq!(Apex::from_parts(forward, www), Ok(Apex::Forward));
        assert_eq!(
            Apex::from_parts(forward, apex),
            Err(ApexError::MainNeedsAddresses)
        );
        assert_eq!(Apex::from_parts(by_address, www), Ok(Apex::Addresses));
        assert_eq!(Apex::from_parts(by_address, apex), Ok(Apex::AddressesMain));
        for apex in [Apex::Forward, Apex::Addresses, Apex::AddressesMain] {
            assert_eq!(Apex::from_parts(apex.setup(), apex.main()), Ok(apex));
            assert_eq!(ApexSetup::parse(apex.setup().as_str()), Some(apex.setup()));
            assert_eq!(MainAddress::parse(apex.main().as_str()), Some(apex.main()));
        }
        assert_eq!(ApexSetup::parse("alias"), None);
    }

    #[test]
    fn addresses_are_parsed_once_each() {
        let list = ApexAddresses::parse(" 192.0.2.10, 2001:db8::10 192.0.2.11,").unwrap();
        assert_eq!(list.as_slice().len(), 3);
        assert!(list.contains(&"2001:db8::10".parse().unwrap()));
        assert!(ApexAddresses::parse("").unwrap().is_empty());
        for bad in [
            "192.0.2.300",
            "example.com",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1, 192.0.2.1",
        ] {
            assert!(ApexAddresses::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(record_type(&"192.0.2.1".parse().unwrap()), "A");
        assert_eq!(record_type(&"2001:db8::1".parse().unwrap()), "AAAA");
    }
}
