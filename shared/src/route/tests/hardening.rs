//! The pass-through decided on the normalized path, and HSTS from records.

use super::*;

#[test]
fn certificate_validation_is_decided_on_the_normalized_path() {
    let kv = kv();
    let sales = "sales.example.com";
    let cases = [
        (
            "/.well-known/./acme-challenge/t0k",
            Some("/.well-known/acme-challenge/t0k"),
        ),
        (
            "//.well-known/acme-challenge/t0k?x=1",
            Some("/.well-known/acme-challenge/t0k?x=1"),
        ),
        (
            "/.well-known/acme%2Dchallenge/t0k",
            Some("/.well-known/acme-challenge/t0k"),
        ),
        (
            "/a/../.well-known/pki-validation/f.txt",
            Some("/.well-known/pki-validation/f.txt"),
        ),
        // Climbing out of the challenge folder is routed as what it names.
        ("/.well-known/acme-challenge/../../offer", None),
        ("/.well-known/acme-challenge/%2e%2e/%2e%2e/members/x", None),
        ("/.well-known%2Facme-challenge/t0k", None),
    ];
    for (target, passed) in cases {
        let (got, reads) = drive(&kv, visit(Scheme::Https, "GET", sales, target), HTTPS);
        match passed {
            Some(path) => {
                assert_eq!(got, proxied(path, sales, "https", None), "{target}");
                assert!(reads.is_empty(), "{target}: {reads:?}");
            }
            None => assert!(
                !matches!(&got, Decision::Proxy { path_and_query, .. } if path_and_query.starts_with("/.well-known")),
                "{target}: {got:?}"
            ),
        }
    }
    // `/offer` and `/members/x` after climbing out: the page and the mount.
    let (offer, _) = drive(
        &kv,
        visit(
            Scheme::Https,
            "GET",
            sales,
            "/.well-known/acme-challenge/../../offer",
        ),
        HTTPS,
    );
    assert_eq!(offer, served(200, OFFER, true));
    let (mount, _) = drive(
        &kv,
        visit(
            Scheme::Https,
            "GET",
            sales,
            "/.well-known/acme-challenge/%2e%2e/%2e%2e/members/x",
        ),
        HTTPS,
    );
    assert_eq!(mount, mounted("/m/42/x"));
}

#[test]
fn hsts_comes_from_the_record_that_answered_and_only_over_https() {
    let sales = host("sales.example.com");
    let mut kv = kv();
    kv.insert(
        host_key(&sales),
        HostRecord::site(page(INDEX), page(NOT_FOUND))
            .with_hsts(Some(600))
            .encode(),
    );
    kv.insert(
        path_key(&sales, &crate::path::Slug::parse("offer").unwrap()),
        PathRecord::new(page(OFFER)).with_hsts(Some(600)).encode(),
    );
    let max_age = |scheme: Scheme, host: &str, target: &str| {
        let request = Request::parse(&visit(scheme, "GET", host, target)).unwrap();
        let mut facts = Facts::default();
        let settings = EdgeSettings {
            https_redirect: false,
        };
        loop {
            match route(&request, &facts, &settings) {
                Decision::ReadHost(key) => {
                    facts.host =
                        Lookup::from_kv(kv.get(&key).map(Vec::as_slice), HostRecord::decode)
                }
                Decision::ReadPath(key) => {
                    facts.path =
                        Lookup::from_kv(kv.get(&key).map(Vec::as_slice), PathRecord::decode)
                }
                _ => return hsts_max_age(&request, &facts),
            }
        }
    };
    let cases = [
        // The Index and the 404 target: the host record.
        (Scheme::Https, "sales.example.com", "/", Some(600)),
        (Scheme::Https, "sales.example.com", "/nope", Some(600)),
        // A page answered by its path record alone.
        (Scheme::Https, "sales.example.com", "/offer", Some(600)),
        // A path record that does not answer: the host record decides.
        (
            Scheme::Https,
            "sales.example.com",
            "/offer/deeper",
            Some(600),
        ),
        // Browsers ignore it over plain HTTP.
        (Scheme::Http, "sales.example.com", "/", None),
        // A record without it (written before HSTS, or not Connected).
        (Scheme::Https, "www.example.com", "/", None),
        // A redirect host, an unknown host, certificate validation.
        (Scheme::Https, "example.com", "/", None),
        (Scheme::Https, "unknown.example.org", "/", None),
        (
            Scheme::Https,
            "sales.example.com",
            "/.well-known/acme-challenge/t",
            None,
        ),
    ];
    for (scheme, host, target, want) in cases {
        assert_eq!(
            max_age(scheme, host, target),
            want,
            "{}://{host}{target}",
            scheme.as_str()
        );
    }
    assert_eq!(hsts_header(31_536_000), "max-age=31536000");
}
