//! Where the verifier may send DNS queries and HTTP requests. A customer's
//! zone can name any address as a nameserver or as its root's A record;
//! following it to a private, loopback or link-local address would let a
//! customer aim the platform at its own network. Every outbound check asks
//! this one rule, which uses shared's one classification
//! (`portico_shared::address`). Addresses the operator configured (the
//! resolvers, `dns_nameserver_addresses`) are the operator's, not a
//! customer's, and are not filtered.

use std::net::IpAddr;

use portico_shared::address::{classify, AddressUse};

use super::report::{Check, CheckName, CheckState, Who};

/// The rule: public addresses only, unless development allows private ones
/// (`verify_allow_private_addresses`, for the local stack on loopback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outbound {
    pub allow_private: bool,
}

impl Outbound {
    /// Public addresses only: production.
    pub const PUBLIC_ONLY: Outbound = Outbound {
        allow_private: false,
    };

    /// `None` when `ip` may be asked; else what kind of address it is.
    pub fn refusal(&self, ip: IpAddr) -> Option<AddressUse> {
        let class = classify(ip);
        (!self.allow_private && !class.is_public()).then_some(class)
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        self.refusal(ip).is_none()
    }
}

/// Why an address was not asked, in words for a check's `found`/`cause`.
pub fn refused_text(ip: IpAddr, class: AddressUse) -> String {
    format!(
        "{ip} is {}, which no one on the Internet can reach: the platform never sends queries or requests there",
        class.describe()
    )
}

/// The `nameservers` check when every nameserver of `apex` is at an
/// address the rule refuses: nothing was asked, so nothing is reported but
/// where they are.
pub fn unreachable_nameservers(apex: &str, why: &[String]) -> Check {
    Check::problem(
        CheckName::Nameservers,
        CheckState::Fail,
        why.join("; "),
        format!(
            "the nameservers of {apex} are at private or reserved addresses: no resolver or certificate authority on the Internet can ask them, so {apex} cannot be reached"
        ),
        format!(
            "At your registrar, set the nameservers of {apex} to your DNS provider's (their addresses are public), and create the records there."
        ),
        Who::CustomerDns,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_only_unless_development_allows_private() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let public: IpAddr = "1.1.1.1".parse().unwrap();
        assert_eq!(
            Outbound::PUBLIC_ONLY.refusal(loopback),
            Some(AddressUse::Loopback)
        );
        assert!(Outbound::PUBLIC_ONLY.permits(public));
        let dev = Outbound {
            allow_private: true,
        };
        assert!(dev.permits(loopback));
        assert!(refused_text(loopback, AddressUse::Loopback).contains("a loopback address"));
    }
}
