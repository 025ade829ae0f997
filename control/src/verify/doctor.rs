//! `portico-control doctor`'s input: what it accepts, and how it refuses the
//! rest. Pure: `main.rs` runs the checks and prints.
//!
//! A hostname is accepted as the API's `POST /api/domains` would accept it
//! (`Integration::classify`, then the special-use rule), so `doctor` never
//! sends a query for a name no customer could add (`app.localhost`). `.test`
//! is let through when `PORTICO_ALLOW_TEST_DOMAINS` is set or the platform
//! itself runs under `.test` (the local stack), as the dashboard's own
//! check does. A refusal carries the API's code (`host_*`, `domain_*`,
//! `username_*`); `--json` prints it as `{"error":{"code","message"}}`.

use portico_shared::special_use::special_use;
use portico_shared::{
    Apex, ApexAddresses, ApexSetup, Integration, MainAddress, PlatformDomain, Username,
};
use serde::Serialize;

/// Why `doctor` will not check what it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// As the API's 422 codes: `host_invalid_character`, `domain_special_use`, …
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    /// `{"error":{"code","message"}}`, the shape of the API's errors.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code, "message": self.message } })
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Refusal {}

/// The suffixes `doctor` lets through: `test` when allowed, or when the
/// platform itself runs under it.
fn allowed_special_use(platform: &PlatformDomain, allow_test_domains: bool) -> Vec<&'static str> {
    let mut allowed: Vec<&'static str> = special_use(platform.host())
        .map(|s| s.suffix)
        .into_iter()
        .collect();
    if allow_test_domains && !allowed.contains(&"test") {
        allowed.push("test");
    }
    allowed
}

/// The integration and username `doctor` checks, or why it will not.
pub fn accept(
    hostname: &str,
    username: Option<&str>,
    platform: &PlatformDomain,
    allow_test_domains: bool,
) -> Result<(Integration, Option<Username>), Refusal> {
    let integration = Integration::classify(hostname, platform)
        .and_then(|integration| {
            integration.refuse_special_use(&allowed_special_use(platform, allow_test_domains))?;
            Ok(integration)
        })
        .map_err(|err| Refusal {
            code: err.code(),
            message: format!("{hostname}: {err}"),
        })?;
    let username = username
        .map(|u| {
            Username::parse(u).map_err(|err| Refusal {
                code: err.code(),
                message: format!("--username {u}: {err}"),
            })
        })
        .transpose()?;
    Ok((integration, username))
}

/// `--apex` (`forward`, `addresses`) and `--main-address` (`www`, `apex`)
/// applied to a root, as `PUT /v1/domains/{id}/apex` would, with the
/// platform's `offered` addresses; refused with the API's codes.
pub fn with_apex(
    integration: Integration,
    setup: &str,
    main: &str,
    offered: &ApexAddresses,
) -> Result<Integration, Refusal> {
    let setup = ApexSetup::parse(setup).ok_or_else(|| Refusal {
        code: "apex_invalid",
        message: format!("--apex {setup}: expected forward or addresses"),
    })?;
    let main = MainAddress::parse(main).ok_or_else(|| Refusal {
        code: "apex_invalid",
        message: format!("--main-address {main}: expected www or apex"),
    })?;
    let refused = |err: portico_shared::ApexError| Refusal {
        code: err.code(),
        message: err.to_string(),
    };
    let apex = Apex::from_parts(setup, main).map_err(refused)?;
    integration.with_apex(apex, offered).map_err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_the_api_codes() {
        let platform = PlatformDomain::parse("portico.example").unwrap();
        let local = PlatformDomain::parse("portico.test").unwrap();
        // (hostname, --username, platform, allow_test_domains, refusal code)
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            &'a PlatformDomain,
            bool,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            ("sales.example.com", Some("katie"), &platform, false, None),
            (
                "bad host!",
                None,
                &platform,
                false,
                Some("host_invalid_character"),
            ),
            (
                "app.localhost",
                None,
                &platform,
                true,
                Some("domain_special_use"),
            ),
            (
                "shop.example.test",
                None,
                &platform,
                false,
                Some("domain_special_use"),
            ),
            ("shop.example.test", None, &platform, true, None),
            // The local stack: the platform's own suffix is let through.
            ("shop.example.test", None, &local, false, None),
            (
                "app.localhost",
                None,
                &local,
                false,
                Some("domain_special_use"),
            ),
            (
                "co.uk",
                None,
                &platform,
                false,
                Some("domain_public_suffix"),
            ),
            (
                "sales.example.com",
                Some("-x"),
                &platform,
                false,
                Some("username_hyphen_at_edge"),
            ),
        ];
        for (host, user, platform, allow, want) in cases {
            let got = accept(host, *user, platform, *allow).err().map(|r| r.code);
            assert_eq!(got, *want, "{host} {user:?} allow_test={allow}");
        }
        let refusal = accept("bad host!", None, &platform, false).unwrap_err();
        let json = refusal.to_json();
        assert_eq!(json["error"]["code"], "host_invalid_character");
        assert!(json["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("bad host!: "));
    }

    #[test]
    fn the_bare_domains_setup_is_refused_as_the_api_refuses_it() {
        let platform = PlatformDomain::parse("portico.example").unwrap();
        let offered = ApexAddresses::parse("192.0.2.10").unwrap();
        let root = Integration::classify("example.com", &platform).unwrap();
        let sub = Integration::classify("sales.example.com", &platform).unwrap();
        let at_apex = with_apex(root.clone(), "addresses", "apex", &offered).unwrap();
        assert_eq!(at_apex.apex, Apex::AddressesMain);
        assert_eq!(
            with_apex(root.clone(), "forward", "www", &ApexAddresses::default()).unwrap(),
            root
        );
        for (integration, setup, main, offered, code) in [
            (&root, "alias", "www", &offered, "apex_invalid"),
            (&root, "addresses", "bare", &offered, "apex_invalid"),
            (
                &root,
                "forward",
                "apex",
                &offered,
                "apex_main_needs_addresses",
            ),
            (&sub, "addresses", "www", &offered, "apex_not_root"),
            (
                &root,
                "addresses",
                "www",
                &ApexAddresses::default(),
                "apex_addresses_not_offered",
            ),
        ] {
            let refused = with_apex(integration.clone(), setup, main, offered).unwrap_err();
            assert_eq!(refused.code, code, "{setup} {main}: {refused}");
        }
    }
}
