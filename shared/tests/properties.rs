//! Properties that must hold for every input, not just the tables.

use std::collections::HashMap;

use portico_shared::record::{host_key, path_key};
use portico_shared::{
    route, ContentDigest, Decision, EdgeSettings, ExternalUrl, Facts, HostRecord, Hostname,
    Integration, Lookup, PathEntry, PathRecord, PlatformDomain, Request, RequestPath, Scheme, Slug,
    Target, Visit,
};
use proptest::prelude::*;

fn platform() -> PlatformDomain {
    PlatformDomain::parse("pages.example.net").unwrap()
}

/// Hostname-ish strings: mostly valid characters, with the odd bad one.
fn host_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9-]{1,12}(\\.[a-zA-Z0-9-]{1,12}){0,4}\\.?(:[0-9]{1,5})?",
        "\\PC{0,40}",
        "[a-z.:\\[\\]0-9*_ -]{0,30}",
    ]
}

fn path_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "(/[a-zA-Z0-9._~%-]{0,8}){0,6}/?",
        "(/(\\.|\\.\\.|%2e|%2E%2e|[a-z]{1,3})){0,8}",
        "\\PC{0,60}",
        "[/%0-9a-fA-FgG.]{0,40}",
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        "[0-9a-f]{16,64}".prop_map(|hex| Target::Page {
            digest: ContentDigest::parse(&hex).unwrap()
        }),
        "https?://[a-z]{1,8}\\.[a-z]{2,3}/[a-z]{0,5}".prop_map(|url| Target::External { url }),
        "/[a-z0-9/]{0,10}".prop_map(|path| Target::Origin { path, mount: None }),
    ]
}

/// Raw KV values: valid records, garbage and records of other versions.
fn host_value() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        (target(), target()).prop_map(|(index, nf)| Some(HostRecord::site(index, nf).encode())),
        Just(Some(
            HostRecord::redirect(Hostname::parse("www.example.com").unwrap()).encode()
        )),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Some),
        (1u32..10).prop_map(|v| Some(format!(r#"{{"kind":"site","v":{v}}}"#).into_bytes())),
    ]
}

fn path_value() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        target().prop_map(|t| Some(PathRecord::new(t).encode())),
        proptest::collection::vec(path_entry(), 0..6)
            .prop_map(|entries| Some(PathRecord::with_entries(entries).encode())),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Some),
    ]
}

/// An entry under the first segment: a page or redirect exactly there, an
/// origin at it or below it.
fn path_entry() -> impl Strategy<Value = PathEntry> {
    ("(/[a-c]{1,2}){0,3}", target(), any::<bool>()).prop_map(|(rest, target, prefix)| {
        let prefix = prefix && matches!(target, Target::Origin { .. });
        PathEntry {
            rest,
            prefix,
            target,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn hostname_normalization_is_idempotent(input in host_like()) {
        if let Ok(host) = Hostname::parse(&input) {
            let again = Hostname::parse(host.as_str()).unwrap();
            prop_assert_eq!(&again, &host);
            prop_assert!(host.as_str().len() <= 253);
            prop_assert!(host.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'));
        }
    }

    #[test]
    fn path_normalization_is_idempotent_and_never_climbs(input in path_like()) {
        if let Ok(path) = RequestPath::parse(&input) {
            let again = RequestPath::parse(path.as_str()).unwrap();
            prop_assert_eq!(again.as_str(), path.as_str());
            prop_assert!(path.as_str().starts_with('/'));
            prop_assert!(!path.as_str().contains("//"));
            prop_assert!(!path.as_str().split('/').any(|s| s == ".." || s == "."));
        }
    }

    #[test]
    fn the_answer_is_the_longest_entry_that_covers_the_path(
        entries in proptest::collection::vec(path_entry(), 0..6),
        rest in "(/[a-cA-C]{1,2}){0,4}/?",
    ) {
        let record = PathRecord::with_entries(entries.clone());
        // The generated origin paths include refused ones (`//x`).
        if let Ok(decoded) = PathRecord::decode(&record.encode()) {
            prop_assert_eq!(&decoded, &record);
        }
        let covers = |entry: &PathEntry| {
            let lower = rest.to_ascii_lowercase();
            let trimmed = lower.strip_suffix('/').unwrap_or(&lower);
            trimmed == entry.rest
                || (entry.prefix && lower.starts_with(&format!("{}/", entry.rest)))
        };
        match record.answer(&rest) {
            Some((entry, remainder)) => {
                prop_assert!(covers(entry));
                prop_assert!(entries.iter().filter(|e| covers(e)).all(|e| e.rest.len() <= entry.rest.len()));
                prop_assert!(rest.ends_with(remainder));
            }
            None => prop_assert!(!entries.iter().any(covers)),
        }
    }

    #[test]
    fn slugs_are_idempotent(input in "\\PC{0,20}") {
        if let Ok(slug) = Slug::parse(&input) {
            prop_assert_eq!(Slug::parse(slug.as_str()).unwrap(), slug.clone());
            prop_assert_eq!(RequestPath::parse(&slug.path()).unwrap().page_slug(), Some(slug));
        }
    }

    #[test]
    fn route_never_panics_and_reads_at_most_twice(
        host in host_like(),
        path in path_like(),
        query in proptest::option::of("\\PC{0,20}"),
        method in prop_oneof![Just("GET".to_string()), Just("HEAD".to_string()), Just("POST".to_string()), "[A-Za-z]{0,8}"],
        https in any::<bool>(),
        https_redirect in any::<bool>(),
        if_none_match in proptest::option::of("\\PC{0,30}"),
        host_record in host_value(),
        path_record in path_value(),
    ) {
        let visit = Visit {
            scheme: if https { Scheme::Https } else { Scheme::Http },
            method: &method,
            host: Some(&host),
            path: &path,
            query: query.as_deref(),
            if_none_match: if_none_match.as_deref(),
        };
        let settings = EdgeSettings { https_redirect };
        let Ok(request) = Request::parse(&visit) else { return Ok(()) };
        let mut kv: HashMap<String, Vec<u8>> = HashMap::new();
        if let Some(value) = host_record { kv.insert(host_key(&request.host), value); }
        if let (Some(value), Some(slug)) = (path_record, request.path.page_slug()) {
            kv.insert(path_key(&request.host, &slug), value);
        }
        let mut facts = Facts::default();
        for _ in 0..3 {
            match route(&request, &facts, &settings) {
                Decision::ReadHost(key) => {
                    prop_assert!(matches!(facts.host, Lookup::Unread));
                    facts.host = Lookup::from_kv(kv.get(&key).map(Vec::as_slice), HostRecord::decode);
                }
                Decision::ReadPath(key) => {
                    prop_assert!(matches!(facts.path, Lookup::Unread));
                    facts.path = Lookup::from_kv(kv.get(&key).map(Vec::as_slice), PathRecord::decode);
                }
                Decision::Redirect { location, .. } => {
                    prop_assert!(location.starts_with("http://") || location.starts_with("https://"));
                    return Ok(());
                }
                Decision::Proxy { path_and_query, .. } => {
                    prop_assert!(path_and_query.starts_with('/'));
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
        prop_assert!(false, "route asked for a third read");
    }

    #[test]
    fn a_refused_url_is_refused_in_every_spelling(
        root in "[a-z]{3,10}",
        www in any::<bool>(),
        upper in proptest::collection::vec(any::<bool>(), 24),
        port in proptest::option::of(1u16..),
        trailing_dot in any::<bool>(),
        scheme in prop_oneof![Just("http".to_string()), Just("https".to_string()), Just("HTTPS".to_string())],
        path in "(/[a-z0-9]{0,5}){0,3}",
    ) {
        let domain = format!("{root}.com");
        // A few random roots are public suffixes themselves (jpn.com, ...): not a domain anyone adds.
        let integration = Integration::classify(&domain, &platform());
        prop_assume!(integration.is_ok());
        let integration = integration.unwrap();
        let host = if www { format!("www.{domain}") } else { domain.clone() };
        let spelled: String = host.chars().zip(upper.iter().cycle())
            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
            .collect();
        let dot = if trailing_dot { "." } else { "" };
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let url = format!("{scheme}://{spelled}{dot}{port}{path}");
        let err = ExternalUrl::parse(&url, &integration).unwrap_err();
        prop_assert_eq!(err.code(), "url_same_domain", "{}", url);
    }
}
