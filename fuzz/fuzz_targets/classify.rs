//! Domain classification (`Integration::classify`), as a customer adds a
//! domain: never a panic, and an accepted domain
//! - has a served host under its root, `www.<root>` for a root integration
//!   and the name itself for a subdomain, never under the platform domain;
//! - classifies to itself again from its served host, from the Unicode form
//!   the dashboard shows, and from a pasted URL (`https://<host>/`);
//! - has routing keys that cover its served host and fit in a KV key;
//! - gets a CNAME to `<username>.<platform>` for any valid username;
//! - gets the same answer from the dashboard's check (`checks::classify_domain`).
//!
//! Input: `<what the customer typed>\n<username>\n<platform domain>`
//! (platform `pages.example.net` when the line is absent or invalid).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_fuzz::{check_hostname, fields, platform};
use portico_shared::apex::Apex;
use portico_shared::checks::classify_domain;
use portico_shared::record::{host_key, path_key_prefix, RoutingKeys, MAX_KEY_LEN};
use portico_shared::{Integration, IntegrationKind, PlatformDomain, Username};

fuzz_target!(|data: &[u8]| {
    let Some(parts) = fields(data, 3) else { return };
    let typed = parts[0];
    let username = parts.get(1).copied();
    let platform_text = parts.get(2).copied().unwrap_or(portico_fuzz::PLATFORM);
    let platform = PlatformDomain::parse(platform_text).unwrap_or_else(|_| platform());

    let result = Integration::classify(typed, &platform);
    let view = classify_domain(typed, platform.host().as_str(), username);
    let integration = match result {
        Err(err) => {
            assert!(
                !view.ok,
                "the dashboard accepts {typed:?}, the API does not"
            );
            assert_eq!(view.error.map(|e| e.code), Some(err.code()));
            return;
        }
        Ok(integration) => integration,
    };
    if let Some(value) = &view.value {
        assert_eq!(value.served_host, integration.served_host.as_str());
        assert_eq!(value.root, integration.root.as_str());
    }

    let Integration {
        kind,
        root,
        served_host,
        apex,
    } = &integration;
    // What a customer types is classified with the registrar forward; apex
    // by address is a choice made afterwards (PUT /v1/domains/{id}/apex).
    assert_eq!(*apex, Apex::Forward, "{integration:?}");
    check_hostname(root);
    check_hostname(served_host);
    assert!(served_host.is_within(root), "{integration:?}");
    assert!(!served_host.is_within(platform.host()), "{integration:?}");
    assert!(!platform.host().is_within(root), "{integration:?}");
    match kind {
        IntegrationKind::Root => assert_eq!(Ok(served_host), root.child("www").as_ref()),
        IntegrationKind::Subdomain => {
            assert_ne!(served_host, root);
            assert_ne!(Ok(served_host), root.child("www").as_ref());
        }
    }
    let relative = integration.relative_name();
    assert_eq!(format!("{relative}.{root}"), served_host.as_str());

    for again in [
        served_host.to_string(),
        served_host.to_unicode(),
        format!("https://{served_host}/"),
        format!("HTTP://{}", served_host.to_unicode()),
    ] {
        assert_eq!(
            Integration::classify(&again, &platform).as_ref(),
            Ok(&integration),
            "{typed:?} and {again:?} classify differently"
        );
    }
    if *kind == IntegrationKind::Root {
        assert_eq!(
            Integration::classify(root.as_str(), &platform).as_ref(),
            Ok(&integration)
        );
    }

    let keys = RoutingKeys::of(&integration);
    assert!(keys.contains(&host_key(served_host)));
    for host in integration.hosts() {
        assert!(integration.covers(host));
        assert!(keys.contains(&host_key(host)));
        assert!(path_key_prefix(host).len() + 100 <= MAX_KEY_LEN);
    }
    let _ = integration.refuse_special_use(&[]);
    let _ = integration.root_forward();

    if let Some(Ok(username)) = username.map(Username::parse) {
        let cname = integration.cname_record(&username, &platform);
        assert_eq!(&cname.name, served_host);
        assert_eq!(cname.value, platform.account_host(&username));
        assert_eq!(cname.value.parent().as_ref(), Some(platform.host()));
        assert_eq!(cname.host, relative);
    }
});
