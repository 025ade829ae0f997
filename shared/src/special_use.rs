//! Special-use and reserved domain names: names that no registrar sells and
//! no public DNS answers for (IANA's Special-Use Domain Names registry,
//! RFC 6761 and its successors, and the top-level names ICANN reserves or
//! will never delegate). None can be a customer's domain; the local stack's
//! `.test` is allowed only where the operator says so.

use crate::host::Hostname;

/// A reserved suffix and why no customer can own a name under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialUse {
    /// The suffix, without dots: `localhost`, `home.arpa`.
    pub suffix: &'static str,
    /// Why, in words that finish "… is reserved: ".
    pub reason: &'static str,
}

/// Every reserved suffix, the most specific first.
pub const SPECIAL_USE_NAMES: &[SpecialUse] = &[
    SpecialUse {
        suffix: "localhost",
        reason: "it always means the visitor's own computer (RFC 6761)",
    },
    SpecialUse {
        suffix: "local",
        reason: "it is for multicast DNS on a local network (RFC 6762)",
    },
    SpecialUse {
        suffix: "internal",
        reason: "it is kept for private networks and never delegated in public DNS",
    },
    SpecialUse {
        suffix: "invalid",
        reason: "it is guaranteed never to exist (RFC 6761)",
    },
    SpecialUse {
        suffix: "example",
        reason: "it is kept for documentation and examples (RFC 6761)",
    },
    SpecialUse {
        suffix: "test",
        reason: "it is kept for testing and never exists in public DNS (RFC 6761)",
    },
    SpecialUse {
        suffix: "alt",
        reason: "it is kept for names outside the DNS (RFC 9476)",
    },
    SpecialUse {
        suffix: "onion",
        reason: "it names Tor onion services, which are not in the DNS (RFC 7686)",
    },
    SpecialUse {
        suffix: "home.arpa",
        reason: "it is for home networks (RFC 8375)",
    },
    SpecialUse {
        suffix: "arpa",
        reason: "it belongs to the Internet's infrastructure (reverse DNS and protocol names)",
    },
    SpecialUse {
        suffix: "home",
        reason: "ICANN will never delegate it (it is used on private networks)",
    },
    SpecialUse {
        suffix: "corp",
        reason: "ICANN will never delegate it (it is used on private networks)",
    },
    SpecialUse {
        suffix: "mail",
        reason: "ICANN will never delegate it (it is used on private networks)",
    },
];

/// The reserved suffix `host` lies under, if any.
pub fn special_use(host: &Hostname) -> Option<&'static SpecialUse> {
    SPECIAL_USE_NAMES.iter().find(|special| {
        let name = host.as_str();
        name == special.suffix
            || (name.len() > special.suffix.len()
                && name.ends_with(special.suffix)
                && name.as_bytes()[name.len() - special.suffix.len() - 1] == b'.')
    })
}

/// The reserved suffix `host` lies under, unless `allowed` names it (the
/// local stack allows `test`).
pub fn refused_special_use(host: &Hostname, allowed: &[&str]) -> Option<&'static SpecialUse> {
    special_use(host).filter(|special| !allowed.contains(&special.suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> Hostname {
        Hostname::parse(text).unwrap()
    }

    #[test]
    fn reserved_names_are_found() {
        let cases = [
            ("app.localhost", "localhost"),
            ("printer.local", "local"),
            ("x.internal", "internal"),
            ("nothing.invalid", "invalid"),
            ("shop.example", "example"),
            ("shop.test", "test"),
            ("www.sales.test", "test"),
            ("name.alt", "alt"),
            (
                "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
                "onion",
            ),
            ("router.home.arpa", "home.arpa"),
            ("1.0.0.127.in-addr.arpa", "arpa"),
            ("nas.home", "home"),
            ("intranet.corp", "corp"),
            ("server.mail", "mail"),
            ("SHOP.Test.", "test"),
        ];
        for (name, suffix) in cases {
            let found = special_use(&host(name)).map(|s| s.suffix);
            assert_eq!(found, Some(suffix), "{name}");
        }
    }

    #[test]
    fn ordinary_names_are_not() {
        for name in [
            "example.com",
            "sales.example.com",
            "testing.com",
            "latest.io",
            "local.com",
            "localhost.example.com",
            "mylocal",
            "shop.contest",
            "internal.company.net",
            "home.example.org",
            "mail.example.com",
        ] {
            assert_eq!(special_use(&host(name)), None, "{name}");
        }
    }

    #[test]
    fn test_names_pass_only_when_allowed() {
        let shop = host("shop.test");
        assert!(refused_special_use(&shop, &[]).is_some());
        assert!(refused_special_use(&shop, &["test"]).is_none());
        assert!(refused_special_use(&host("app.localhost"), &["test"]).is_some());
    }
}
