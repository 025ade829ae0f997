use std::collections::HashMap;

use super::*;
use crate::record::{ContentDigest, Target};

/// Certificate-validation pass-through and HSTS.
mod hardening;

const INDEX: &str = "1111111111111111";
const NOT_FOUND: &str = "2222222222222222";
const OFFER: &str = "3333333333333333";
const COURSES: &str = "4444444444444444";
const INTRO: &str = "5555555555555555";
const FREE: &str = "6666666666666666";

fn page(digest: &str) -> Target {
    Target::Page {
        digest: ContentDigest::parse(digest).unwrap(),
    }
}

fn host(name: &str) -> Hostname {
    Hostname::parse(name).unwrap()
}

/// A routing namespace as the control plane would publish it.
fn kv() -> HashMap<String, Vec<u8>> {
    let sales = host("sales.example.com");
    let www = host("www.example.com");
    let mut kv = HashMap::new();
    kv.insert(
        host_key(&sales),
        HostRecord::site(page(INDEX), page(NOT_FOUND))
            .with_account(Some("acc_1".into()))
            .encode(),
    );
    let paths = [
        ("offer", page(OFFER)),
        (
            "members",
            Target::Origin {
                path: "/m/42".into(),
                mount: Some("mnt_members".into()),
            },
        ),
        (
            "go",
            Target::External {
                url: "https://other.org/go".into(),
            },
        ),
    ];
    for (slug, target) in paths {
        let slug = crate::path::Slug::parse(slug).unwrap();
        kv.insert(
            path_key(&sales, &slug),
            PathRecord::new(target)
                .with_account(Some("acc_1".into()))
                .encode(),
        );
    }
    // Several entries under one segment: a page at the segment, deeper
    // pages, an exact mount and a prefix mount; the longest answers.
    let courses = crate::path::Slug::parse("courses").unwrap();
    let entry = |path: &str, prefix: bool, target: Target| {
        crate::record::PathEntry::at(&crate::LinkPath::parse(path).unwrap(), prefix, target)
    };
    let origin = |path: &str, mount: &str| Target::Origin {
        path: path.into(),
        mount: Some(mount.into()),
    };
    kv.insert(
        path_key(&sales, &courses),
        PathRecord::with_entries(vec![
            entry("/courses", false, page(COURSES)),
            entry("/courses/intro", false, page(INTRO)),
            entry("/courses/intro/video", true, origin("/v/7", "mnt_video")),
            entry("/courses/pro", true, origin("/memberships/9", "mnt_pro")),
            entry("/courses/pro/free", false, page(FREE)),
            entry("/courses/book", false, origin("/calendar/3", "mnt_book")),
        ])
        .with_account(Some("acc_1".into()))
        .encode(),
    );
    kv.insert(
        host_key(&host("example.com")),
        HostRecord::redirect(www.clone()).encode(),
    );
    kv.insert(
        host_key(&www),
        HostRecord::site(
            Target::External {
                url: "https://other.org/".into(),
            },
            Target::Origin {
                path: "/404".into(),
                mount: None,
            },
        )
        .with_account(Some("acc_2".into()))
        .encode(),
    );
    // A root whose bare domain is the main address (apex by address): `www`
    // redirects to it.
    kv.insert(
        host_key(&host("www.apex.example")),
        HostRecord::redirect(host("apex.example")).encode(),
    );
    kv.insert(
        host_key(&host("corrupt.example.com")),
        b"{not json".to_vec(),
    );
    kv.insert(
        host_key(&host("future.example.com")),
        br#"{"kind":"site","v":9}"#.to_vec(),
    );
    kv
}

/// The edge's loop: read what the decision asks for until it is final.
fn drive(
    kv: &HashMap<String, Vec<u8>>,
    visit: Visit<'_>,
    settings: EdgeSettings,
) -> (Decision, Vec<String>) {
    let request = match Request::parse(&visit) {
        Ok(request) => request,
        Err(decision) => return (decision, vec![]),
    };
    let mut facts = Facts::default();
    let mut reads = Vec::new();
    loop {
        match route(&request, &facts, &settings) {
            Decision::ReadHost(key) => {
                facts.host = Lookup::from_kv(kv.get(&key).map(Vec::as_slice), HostRecord::decode);
                reads.push(key);
            }
            Decision::ReadPath(key) => {
                facts.path = Lookup::from_kv(kv.get(&key).map(Vec::as_slice), PathRecord::decode);
                reads.push(key);
            }
            decision => return (decision, reads),
        }
        assert!(reads.len() <= 2, "more than two routing reads: {reads:?}");
    }
}

fn visit<'a>(scheme: Scheme, method: &'a str, host: &'a str, target: &'a str) -> Visit<'a> {
    let (path, query) = crate::path::split_query(target);
    Visit {
        scheme,
        method,
        host: Some(host),
        path,
        query,
        if_none_match: None,
    }
}

const HTTPS: EdgeSettings = EdgeSettings {
    https_redirect: true,
};

fn served(status: u16, digest: &str, body: bool) -> Decision {
    let digest = ContentDigest::parse(digest).unwrap();
    Decision::Page {
        status,
        content_key: content_key(&digest),
        etag: digest.etag(),
        body,
    }
}

fn redirect(status: u16, location: &str) -> Decision {
    Decision::Redirect {
        status,
        location: location.into(),
    }
}

fn proxied(path_and_query: &str, host: &str, proto: &'static str, status: Option<u16>) -> Decision {
    proxied_via(path_and_query, host, proto, status, None, None)
}

fn proxied_via(
    path_and_query: &str,
    host: &str,
    proto: &'static str,
    status: Option<u16>,
    account: Option<&str>,
    mount: Option<&str>,
) -> Decision {
    Decision::Proxy {
        path_and_query: path_and_query.into(),
        forwarded_host: host.into(),
        forwarded_proto: proto,
        status,
        via: Via {
            account: account.map(str::to_owned),
            mount: mount.map(str::to_owned),
        },
    }
}

/// The members mount on `sales`, as its path record names it.
fn mounted(path_and_query: &str) -> Decision {
    proxied_via(
        path_and_query,
        "sales.example.com",
        "https",
        None,
        Some("acc_1"),
        Some("mnt_members"),
    )
}

/// A mount of `sales`'s `/courses` record.
fn course_mount(path_and_query: &str, mount: &str) -> Decision {
    proxied_via(
        path_and_query,
        "sales.example.com",
        "https",
        None,
        Some("acc_1"),
        Some(mount),
    )
}

#[test]
fn multi_segment_paths_take_the_longest_entry_in_one_read() {
    let kv = kv();
    let sales = "sales.example.com";
    let cases: Vec<(&str, &str, Decision, usize)> = vec![
        ("GET", "/courses", served(200, COURSES, true), 1),
        ("GET", "/Courses/", served(200, COURSES, true), 1),
        ("GET", "/courses/intro", served(200, INTRO, true), 1),
        ("GET", "/COURSES/Intro/", served(200, INTRO, true), 1),
        // A page is exact: below it is the domain's 404.
        (
            "GET",
            "/courses/intro/more",
            served(404, NOT_FOUND, true),
            2,
        ),
        (
            "GET",
            "/courses/introduction",
            served(404, NOT_FOUND, true),
            2,
        ),
        ("GET", "/courses/other", served(404, NOT_FOUND, true), 2),
        // The prefix mount under a page: its remainder appended, case kept.
        (
            "GET",
            "/courses/intro/video",
            course_mount("/v/7", "mnt_video"),
            1,
        ),
        (
            "GET",
            "/courses/intro/video/Part-2?t=30",
            course_mount("/v/7/Part-2?t=30", "mnt_video"),
            1,
        ),
        // A prefix mount, with a page inside it that wins where it is.
        (
            "POST",
            "/courses/pro/checkout",
            course_mount("/memberships/9/checkout", "mnt_pro"),
            1,
        ),
        (
            "GET",
            "/courses/pro/",
            course_mount("/memberships/9/", "mnt_pro"),
            1,
        ),
        ("GET", "/courses/pro/free", served(200, FREE, true), 1),
        (
            "GET",
            "/courses/pro/free/x",
            course_mount("/memberships/9/free/x", "mnt_pro"),
            1,
        ),
        // An exact mount answers only its path.
        (
            "GET",
            "/courses/book?day=mon",
            course_mount("/calendar/3?day=mon", "mnt_book"),
            1,
        ),
        ("GET", "/courses/book/x", served(404, NOT_FOUND, true), 2),
        // A path that normalizes to a mount is routed by the normalized path.
        (
            "GET",
            "/courses/intro/../pro/a",
            course_mount("/memberships/9/a", "mnt_pro"),
            1,
        ),
        (
            "GET",
            "//courses//pro/./a/",
            course_mount("/memberships/9/a/", "mnt_pro"),
            1,
        ),
        (
            "GET",
            "/courses/%70ro/a",
            course_mount("/memberships/9/a", "mnt_pro"),
            1,
        ),
        ("GET", "/x/../courses/intro", served(200, INTRO, true), 1),
        // An encoded `/` is data: not a separator.
        ("GET", "/courses/pro%2Fa", served(404, NOT_FOUND, true), 2),
    ];
    for (method, target, want, reads) in cases {
        let (got, keys) = drive(&kv, visit(Scheme::Https, method, sales, target), HTTPS);
        assert_eq!(got, want, "{method} {target}");
        assert_eq!(keys.len(), reads, "{method} {target}: {keys:?}");
        assert_eq!(keys[0], "v1/p/sales.example.com/courses", "{target}");
    }
}

#[test]
fn routes_every_kind_of_request() {
    use Scheme::{Http, Https};
    let kv = kv();
    let sales = "sales.example.com";
    let cases: Vec<(Scheme, &str, &str, &str, Decision, usize)> = vec![
        (Https, "GET", sales, "/", served(200, INDEX, true), 1),
        (Https, "HEAD", sales, "/", served(200, INDEX, false), 1),
        (
            Https,
            "GET",
            "Sales.Example.com:443",
            "/?utm=x",
            served(200, INDEX, true),
            1,
        ),
        (Https, "GET", sales, "/offer", served(200, OFFER, true), 1),
        (Https, "GET", sales, "/Offer/", served(200, OFFER, true), 1),
        (
            Https,
            "GET",
            sales,
            "//offer/./",
            served(200, OFFER, true),
            1,
        ),
        (
            Https,
            "GET",
            sales,
            "/x/../offer",
            served(200, OFFER, true),
            1,
        ),
        (
            Https,
            "GET",
            sales,
            "/offer/more",
            served(404, NOT_FOUND, true),
            2,
        ),
        (
            Https,
            "GET",
            sales,
            "/nope",
            served(404, NOT_FOUND, true),
            2,
        ),
        (
            Https,
            "HEAD",
            sales,
            "/nope",
            served(404, NOT_FOUND, false),
            2,
        ),
        (
            Https,
            "GET",
            sales,
            "/a%20b",
            served(404, NOT_FOUND, true),
            1,
        ),
        (
            Https,
            "POST",
            sales,
            "/offer",
            Decision::Problem(Problem::MethodNotAllowed),
            1,
        ),
        (
            Https,
            "DELETE",
            sales,
            "/",
            Decision::Problem(Problem::MethodNotAllowed),
            1,
        ),
        (
            Https,
            "get",
            sales,
            "/offer",
            Decision::Problem(Problem::MethodNotAllowed),
            1,
        ),
        (Https, "GET", sales, "/members", mounted("/m/42"), 1),
        (Https, "GET", sales, "/members/", mounted("/m/42/"), 1),
        (
            Https,
            "POST",
            sales,
            "/members/lesson/2?x=1&y",
            mounted("/m/42/lesson/2?x=1&y"),
            1,
        ),
        (
            Https,
            "GET",
            sales,
            "/go",
            redirect(302, "https://other.org/go"),
            1,
        ),
        (
            Http,
            "GET",
            sales,
            "/offer?x=1",
            redirect(301, "https://sales.example.com/offer?x=1"),
            1,
        ),
        (
            Http,
            "GET",
            sales,
            "/",
            redirect(301, "https://sales.example.com/"),
            1,
        ),
        (
            Http,
            "GET",
            sales,
            "/nope",
            redirect(301, "https://sales.example.com/nope"),
            2,
        ),
        (
            Http,
            "POST",
            sales,
            "/members",
            redirect(308, "https://sales.example.com/members"),
            1,
        ),
        (
            Http,
            "GET",
            "example.com",
            "/x?y=1",
            redirect(301, "https://www.example.com/x?y=1"),
            2,
        ),
        (
            Https,
            "GET",
            "example.com",
            "/",
            redirect(301, "https://www.example.com/"),
            1,
        ),
        (
            Https,
            "POST",
            "example.com",
            "/form",
            redirect(308, "https://www.example.com/form"),
            2,
        ),
        (
            Https,
            "GET",
            "www.apex.example",
            "/offer/x?y=1&z",
            redirect(301, "https://apex.example/offer/x?y=1&z"),
            2,
        ),
        (
            Http,
            "HEAD",
            "www.apex.example",
            "/",
            redirect(301, "https://apex.example/"),
            1,
        ),
        (
            Https,
            "GET",
            "www.example.com",
            "/",
            redirect(302, "https://other.org/"),
            1,
        ),
        (
            Https,
            "GET",
            "www.example.com",
            "/zzz?q",
            proxied_via(
                "/404?q",
                "www.example.com",
                "https",
                Some(404),
                Some("acc_2"),
                None,
            ),
            2,
        ),
        (
            Https,
            "GET",
            "unknown.example.org",
            "/",
            Decision::Problem(Problem::NotConnected),
            1,
        ),
        (
            Https,
            "GET",
            "unknown.example.org",
            "/x",
            Decision::Problem(Problem::NotConnected),
            2,
        ),
        (
            Http,
            "POST",
            "unknown.example.org",
            "/x",
            Decision::Problem(Problem::NotConnected),
            2,
        ),
        (
            Https,
            "GET",
            "corrupt.example.com",
            "/",
            Decision::Problem(Problem::NotConnected),
            1,
        ),
        (
            Https,
            "GET",
            "future.example.com",
            "/",
            Decision::Problem(Problem::NotConnected),
            1,
        ),
        (
            Http,
            "GET",
            "unknown.example.org",
            "/.well-known/acme-challenge/t0k?x",
            proxied(
                "/.well-known/acme-challenge/t0k?x",
                "unknown.example.org",
                "http",
                None,
            ),
            0,
        ),
        (
            Https,
            "POST",
            sales,
            "/.well-known/pki-validation/f.txt",
            proxied("/.well-known/pki-validation/f.txt", sales, "https", None),
            0,
        ),
        (
            Https,
            "GET",
            "",
            "/",
            Decision::Problem(Problem::BadHost),
            0,
        ),
        (
            Https,
            "GET",
            "bad host!",
            "/",
            Decision::Problem(Problem::BadHost),
            0,
        ),
        (
            Https,
            "GET",
            "127.0.0.1:8787",
            "/",
            Decision::Problem(Problem::BadHost),
            0,
        ),
    ];
    for (scheme, method, host, target, want, want_reads) in cases {
        let (got, reads) = drive(&kv, visit(scheme, method, host, target), HTTPS);
        assert_eq!(got, want, "{method} {}://{host}{target}", scheme.as_str());
        assert_eq!(
            reads.len(),
            want_reads,
            "{method} {host}{target}: {reads:?}"
        );
    }
}

#[test]
fn a_missing_host_header_and_an_overlong_path_are_refused() {
    let kv = kv();
    let mut no_host = visit(Scheme::Https, "GET", "x", "/");
    no_host.host = None;
    assert_eq!(
        drive(&kv, no_host, HTTPS).0,
        Decision::Problem(Problem::BadHost)
    );
    let long = format!("/{}", "a".repeat(16 * 1024));
    let (got, _) = drive(
        &kv,
        visit(Scheme::Https, "GET", "sales.example.com", &long),
        HTTPS,
    );
    assert_eq!(got, Decision::Problem(Problem::UriTooLong));
    assert_eq!(Problem::UriTooLong.status(), 414);
}

#[test]
fn conditional_requests_get_304_for_pages_only() {
    let kv = kv();
    let etag = ContentDigest::parse(INDEX).unwrap().etag();
    let weak = format!("W/{etag}");
    let list = format!("\"other\", {etag}");
    for header in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
        let mut request = visit(Scheme::Https, "GET", "sales.example.com", "/");
        request.if_none_match = Some(header);
        assert_eq!(
            drive(&kv, request, HTTPS).0,
            Decision::NotModified { etag: etag.clone() },
            "{header}"
        );
    }
    let mut stale = visit(Scheme::Https, "GET", "sales.example.com", "/");
    stale.if_none_match = Some("\"0000000000000000\"");
    assert_eq!(drive(&kv, stale, HTTPS).0, served(200, INDEX, true));
    // The 404 page is never a 304: its status must reach the visitor.
    let mut missing = visit(Scheme::Https, "GET", "sales.example.com", "/nope");
    missing.if_none_match = Some("*");
    assert_eq!(drive(&kv, missing, HTTPS).0, served(404, NOT_FOUND, true));
}

#[test]
fn plain_http_is_served_where_https_is_not_enforced() {
    let kv = kv();
    let local = EdgeSettings {
        https_redirect: false,
    };
    let (got, _) = drive(
        &kv,
        visit(Scheme::Http, "GET", "sales.example.com", "/offer"),
        local,
    );
    assert_eq!(got, served(200, OFFER, true));
    let (got, _) = drive(&kv, visit(Scheme::Http, "GET", "example.com", "/x"), local);
    assert_eq!(got, redirect(301, "http://www.example.com/x"));
}

#[test]
fn an_unusable_path_record_falls_back_to_the_host() {
    let mut kv = kv();
    let sales = host("sales.example.com");
    let slug = crate::path::Slug::parse("broken").unwrap();
    kv.insert(path_key(&sales, &slug), b"\x00garbage".to_vec());
    let (got, reads) = drive(
        &kv,
        visit(Scheme::Https, "GET", "sales.example.com", "/broken"),
        HTTPS,
    );
    assert_eq!(got, served(404, NOT_FOUND, true));
    assert_eq!(reads.len(), 2);
}

#[test]
fn request_urls_split_into_scheme_path_and_query() {
    let cases = [
        (
            "https://sales.example.com/offer?x=1",
            Some((Scheme::Https, "/offer", Some("x=1"))),
        ),
        ("http://sales.example.com", Some((Scheme::Http, "/", None))),
        ("http://h:8787?q", Some((Scheme::Http, "/", Some("q")))),
        ("HTTPS://h/a/b/#frag", Some((Scheme::Https, "/a/b/", None))),
        ("http://h/a?b?c", Some((Scheme::Http, "/a", Some("b?c")))),
        ("ftp://h/a", None),
        ("not a url", None),
    ];
    for (url, want) in cases {
        assert_eq!(split_request_url(url), want, "{url}");
    }
}
