//! The built edge worker under `wrangler dev` (workerd, local KV seeded
//! through wrangler's KV binding commands), checked over real HTTP: pages,
//! Index and 404 fallback, redirects, origin mounts, certificate validation
//! pass-through, HSTS and nosniff, and bad input. Records are encoded by `shared`, as the
//! control plane publishes them.

use std::io::{Read, Write};
use std::net::TcpStream;

use portico_shared::record::{content_key, host_key, path_key};
use portico_shared::{
    ContentDigest, HostRecord, Hostname, LinkPath, PathEntry, PathRecord, Slug, Target,
};
use portico_tests::origin::EchoOrigin;
use portico_tests::platform::TEST_SIGNING_SECRET;
use portico_tests::wrangler::{WranglerDev, WranglerDevBuilder};
use portico_tests::Result;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const INDEX_HTML: &str = "<!doctype html><title>Index</title><h1>Welcome to Katie's shop</h1>";
const OFFER_HTML: &str = "<!doctype html><title>Offer</title><h1>The summer offer</h1>";
const NOT_FOUND_HTML: &str = "<!doctype html><title>Oops</title><h1>Katie's 404 page</h1>";

fn digest(fill: char) -> ContentDigest {
    ContentDigest::parse(&fill.to_string().repeat(64)).unwrap()
}

fn page(fill: char) -> Target {
    Target::Page {
        digest: digest(fill),
    }
}

fn host(name: &str) -> Hostname {
    Hostname::parse(name).unwrap()
}

fn slug(name: &str) -> Slug {
    Slug::parse(name).unwrap()
}

fn entry(path: &str, prefix: bool, target: Target) -> PathEntry {
    PathEntry::at(&LinkPath::parse(path).unwrap(), prefix, target)
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

/// The namespace a control plane would publish for one subdomain
/// integration (`sales.example.com`) and one root (`example.com`).
fn seeded(builder: WranglerDevBuilder) -> WranglerDevBuilder {
    let sales = host("sales.example.com");
    let www = host("www.example.com");
    let paths = [
        ("offer", page('c')),
        (
            "members",
            Target::Origin {
                path: "/m/42".into(),
                mount: None,
            },
        ),
        (
            "app",
            Target::Origin {
                path: "/".into(),
                mount: None,
            },
        ),
        (
            "go",
            Target::External {
                url: "https://other.example.org/go".into(),
            },
        ),
    ];
    let mut builder = builder
        .var("ORIGIN_SIGNING_SECRET", TEST_SIGNING_SECRET)
        .kv(
            "ROUTES",
            &host_key(&sales),
            &text(HostRecord::site(page('a'), page('b')).encode()),
        )
        .kv(
            "ROUTES",
            &host_key(&host("example.com")),
            &text(HostRecord::redirect(www.clone()).encode()),
        )
        .kv(
            "ROUTES",
            &host_key(&www),
            &text(
                HostRecord::site(
                    Target::External {
                        url: "https://other.example.org/".into(),
                    },
                    Target::Origin {
                        path: "/not-found".into(),
                        mount: None,
                    },
                )
                .encode(),
            ),
        )
        .kv(
            "ROUTES",
            &host_key(&host("corrupt.example.com")),
            "{garbage",
        )
        .kv(
            "ROUTES",
            &host_key(&host("future.example.com")),
            r#"{"kind":"site","v":99}"#,
        )
        .kv(
            "ROUTES",
            &path_key(&sales, &slug("future")),
            r#"{"v":99,"target":{"type":"hologram"}}"#,
        )
        // A Connected custom domain with an active certificate: HSTS in its records.
        .kv(
            "ROUTES",
            &host_key(&host("secure.example.com")),
            &text(
                HostRecord::site(page('a'), page('b'))
                    .with_hsts(Some(600))
                    .encode(),
            ),
        )
        .kv(
            "ROUTES",
            &path_key(&host("secure.example.com"), &slug("offer")),
            &text(PathRecord::new(page('c')).with_hsts(Some(600)).encode()),
        )
        // One record for every path under `/courses`: a deeper page, a
        // prefix mount with a page inside it, as the control plane writes it.
        .kv(
            "ROUTES",
            &path_key(&sales, &slug("courses")),
            &text(
                PathRecord::with_entries(vec![
                    entry("/courses/intro", false, page('c')),
                    entry(
                        "/courses/pro",
                        true,
                        Target::Origin {
                            path: "/memberships/9".into(),
                            mount: Some("mnt_pro".into()),
                        },
                    ),
                    entry("/courses/pro/free", false, page('a')),
                ])
                .with_account(Some("acc_katie".into()))
                .encode(),
            ),
        )
        .kv("CONTENT", &content_key(&digest('a')), INDEX_HTML)
        .kv("CONTENT", &content_key(&digest('b')), NOT_FOUND_HTML)
        .kv("CONTENT", &content_key(&digest('c')), OFFER_HTML);
    for (name, target) in paths {
        builder = builder.kv(
            "ROUTES",
            &path_key(&sales, &slug(name)),
            &text(PathRecord::new(target).encode()),
        );
    }
    builder
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn serves_pages_index_and_404_targets() -> Result<()> {
    let edge = seeded(WranglerDev::builder().var("HTTPS_REDIRECT", "false"))
        .start()
        .await?;
    let etag = format!("\"{}\"", "a".repeat(64));

    let index = edge.get("sales.example.com", "/").await?;
    assert_eq!(index.status(), StatusCode::OK);
    assert_eq!(header(&index, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&index, "etag"), etag);
    assert_eq!(
        header(&index, "cache-control"),
        "public, max-age=0, must-revalidate"
    );
    assert_eq!(header(&index, "x-content-type-options"), "nosniff");
    assert_eq!(index.text().await?, INDEX_HTML);
    // HSTS means nothing over plain HTTP: never sent there.
    let plain = edge.get("secure.example.com", "/").await?;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(header(&plain, "strict-transport-security"), "");

    // Host names are case-insensitive and may carry a port and a trailing dot.
    let shouted = edge
        .get("SALES.Example.COM.:8787", "/?utm_source=x")
        .await?;
    assert_eq!(shouted.text().await?, INDEX_HTML);

    let revalidated = edge
        .request(Method::GET, "sales.example.com", "/")
        .header("if-none-match", &etag)
        .send()
        .await?;
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&revalidated, "etag"), etag);
    assert!(revalidated.bytes().await?.is_empty());

    let head = edge
        .request(Method::HEAD, "sales.example.com", "/offer")
        .send()
        .await?;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header(&head, "etag"), format!("\"{}\"", "c".repeat(64)));
    assert!(head.bytes().await?.is_empty());

    for path in ["/offer", "/Offer/", "//offer", "/x/../offer", "/%6Fffer"] {
        let offer = edge.get("sales.example.com", path).await?;
        assert_eq!(offer.status(), StatusCode::OK, "{path}");
        assert_eq!(offer.text().await?, OFFER_HTML, "{path}");
    }

    for path in [
        "/nope",
        "/offer/deeper",
        "/a%20b",
        "/%zz%",
        "/%E0%A4%A",
        "/future",
        "/__portico/kv/ROUTES/bulk",
    ] {
        let missing = edge.get("sales.example.com", path).await?;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(missing.text().await?, NOT_FOUND_HTML, "{path}");
    }

    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let refused = edge
            .request(method.clone(), "sales.example.com", "/offer")
            .send()
            .await?;
        assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(header(&refused, "allow"), "GET, HEAD");
    }

    let external = edge.get("sales.example.com", "/go").await?;
    assert_eq!(external.status(), StatusCode::FOUND);
    assert_eq!(
        header(&external, "location"),
        "https://other.example.org/go"
    );

    // An external Index is a redirect; an origin 404 target keeps status 404.
    let www_index = edge.get("www.example.com", "/").await?;
    assert_eq!(www_index.status(), StatusCode::FOUND);
    assert_eq!(header(&www_index, "location"), "https://other.example.org/");
    Ok(())
}

/// Over HTTPS, as Cloudflare hands requests to the worker.
#[tokio::test]
async fn caches_content_sees_kv_changes_at_once_and_sends_hsts() -> Result<()> {
    let edge = seeded(
        WranglerDev::builder()
            .var("HTTPS_REDIRECT", "true")
            .https_urls(),
    )
    .start()
    .await?;

    // A host whose record carries HSTS: on every answer, the page answered by
    // its path record alone included; nosniff on every HTML answer.
    for (method, path, status) in [
        (Method::GET, "/", 200),
        (Method::GET, "/offer", 200),
        (Method::HEAD, "/offer", 200),
        (Method::GET, "/nope", 404),
        (Method::POST, "/offer", 405),
    ] {
        let response = edge
            .request(method.clone(), "secure.example.com", path)
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        assert_eq!(
            header(&response, "strict-transport-security"),
            "max-age=600",
            "{method} {path}"
        );
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{method} {path}"
        );
    }
    let revalidated = edge
        .request(Method::GET, "secure.example.com", "/")
        .header("if-none-match", format!("\"{}\"", "a".repeat(64)))
        .send()
        .await?;
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        header(&revalidated, "strict-transport-security"),
        "max-age=600"
    );
    // Records without it (not Connected, or written before HSTS), unknown
    // hosts and the bare root's redirect: none; the platform's pages still nosniff.
    for (host, path, status) in [
        ("sales.example.com", "/", 200),
        ("sales.example.com", "/offer", 200),
        ("unknown.example.org", "/", 404),
        ("example.com", "/", 301),
    ] {
        let response = edge.get(host, path).await?;
        assert_eq!(response.status().as_u16(), status, "{host}{path}");
        assert_eq!(
            header(&response, "strict-transport-security"),
            "",
            "{host}{path}"
        );
        if status != 301 {
            assert_eq!(
                header(&response, "x-content-type-options"),
                "nosniff",
                "{host}{path}"
            );
        }
    }

    assert_eq!(
        edge.get("sales.example.com", "/offer")
            .await?
            .text()
            .await?,
        OFFER_HTML
    );

    // Content keys are immutable: once served, a page comes from the
    // isolate's memory, not from KV (one KV read per hot page: its routing
    // record).
    edge.put_kv("CONTENT", &content_key(&digest('c')), "overwritten in KV")
        .await?;
    assert_eq!(
        edge.get("sales.example.com", "/offer")
            .await?
            .text()
            .await?,
        OFFER_HTML
    );

    // A new routing record is served at once.
    let sales = host("sales.example.com");
    edge.put_kv("CONTENT", &content_key(&digest('d')), "<h1>New page</h1>")
        .await?;
    edge.put_kv(
        "ROUTES",
        &path_key(&sales, &slug("new")),
        &text(PathRecord::new(page('d')).encode()),
    )
    .await?;
    let fresh = edge.get("sales.example.com", "/new").await?;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(fresh.text().await?, "<h1>New page</h1>");
    Ok(())
}

#[tokio::test]
async fn proxies_origin_mounts_and_certificate_validation() -> Result<()> {
    let origin = EchoOrigin::start().await?;
    let edge = seeded(
        WranglerDev::builder()
            .var("HTTPS_REDIRECT", "false")
            .var("PLATFORM_ORIGIN", origin.base_url()),
    )
    .start()
    .await?;

    let proxied = edge
        .request(
            Method::POST,
            "sales.example.com",
            "/members/lesson/2?x=1&y=%20",
        )
        .header("x-custom", "kept")
        .header("keep-alive", "timeout=5")
        .header("proxy-authorization", "Basic c2VjcmV0")
        .body("answer=42")
        .send()
        .await?;
    assert_eq!(proxied.status(), StatusCode::OK);
    assert_eq!(header(&proxied, "x-origin"), "echo");
    let seen: Value = serde_json::from_slice(&proxied.bytes().await?)?;
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path_and_query"], "/m/42/lesson/2?x=1&y=%20");
    assert_eq!(seen["body"], "answer=42");
    assert_eq!(seen["headers"]["x-custom"], "kept");
    assert_eq!(seen["headers"]["x-forwarded-host"], "sales.example.com");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "http");
    // Signed, with the host it came through (these records name no account).
    let context = seen["headers"]["x-portico-context"]
        .as_str()
        .unwrap_or_default();
    assert!(
        context.contains(",host=sales.example.com,account=,mount="),
        "{seen}"
    );
    assert!(
        seen["headers"]["x-portico-signature"]
            .as_str()
            .unwrap_or_default()
            .starts_with("v1="),
        "{seen}"
    );
    assert!(seen["headers"].get("keep-alive").is_none(), "{seen}");
    assert!(
        seen["headers"].get("proxy-authorization").is_none(),
        "{seen}"
    );

    // Methods the worker crate does not know are passed on as they are.
    let custom = edge
        .request(
            Method::from_bytes(b"PROPFIND")?,
            "sales.example.com",
            "/members",
        )
        .send()
        .await?;
    let seen: Value = serde_json::from_slice(&custom.bytes().await?)?;
    assert_eq!(seen["method"], "PROPFIND");
    assert_eq!(seen["path_and_query"], "/m/42");

    // The origin's redirects reach the visitor unfollowed.
    let redirected = edge.get("sales.example.com", "/app/redirect").await?;
    assert_eq!(redirected.status(), StatusCode::FOUND);
    assert_eq!(header(&redirected, "location"), "/elsewhere");

    // A 404 target on the origin keeps status 404.
    let missing = edge.get("www.example.com", "/zzz?q=1").await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let seen: Value = serde_json::from_slice(&missing.bytes().await?)?;
    assert_eq!(seen["path_and_query"], "/not-found?q=1");

    // Certificate validation reaches the origin for any host, connected or
    // not, decided on the normalized path and forwarded as it.
    for (host, path, forwarded) in [
        (
            "unknown.example.org",
            "/.well-known/acme-challenge/tok-EN_123",
            "/.well-known/acme-challenge/tok-EN_123",
        ),
        (
            "sales.example.com",
            "/.well-known/pki-validation/ABC.txt",
            "/.well-known/pki-validation/ABC.txt",
        ),
        (
            "sales.example.com",
            "//.well-known//acme-challenge/tok",
            "/.well-known/acme-challenge/tok",
        ),
        (
            "sales.example.com",
            "/.well-known/acme%2Dchallenge/tok?x=1",
            "/.well-known/acme-challenge/tok?x=1",
        ),
    ] {
        let validation = edge.get(host, path).await?;
        assert_eq!(validation.status(), StatusCode::OK, "{host}{path}");
        let seen: Value = serde_json::from_slice(&validation.bytes().await?)?;
        assert_eq!(seen["path_and_query"], forwarded, "{host}{path}");
        assert_eq!(seen["headers"]["x-forwarded-host"], host);
    }
    // An encoded `/` is not a separator: routed as a page path (the 404 target).
    let not_a_challenge = edge
        .get("sales.example.com", "/.well-known%2Facme-challenge/tok")
        .await?;
    assert_eq!(not_a_challenge.status(), StatusCode::NOT_FOUND);
    assert_eq!(not_a_challenge.text().await?, NOT_FOUND_HTML);

    serves_multi_segment_pages_and_prefix_mounts(&edge).await
}

/// Multi-segment paths: one path record per first segment, the longest
/// entry answers; a prefix mount's remainder is appended to its origin
/// path; a path that normalizes into a mount is routed by the normalized
/// path. Run inside `proxies_origin_mounts_and_certificate_validation`,
/// on its edge: one `wrangler dev` start fewer.
async fn serves_multi_segment_pages_and_prefix_mounts(edge: &WranglerDev) -> Result<()> {
    for path in ["/courses/intro", "/Courses/Intro/", "/courses/x/../intro"] {
        let page = edge.get("sales.example.com", path).await?;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_eq!(page.text().await?, OFFER_HTML, "{path}");
    }
    // A page is exact: below it, and beside it, the domain's 404.
    for path in ["/courses/intro/more", "/courses", "/courses/introduction"] {
        let missing = edge.get("sales.example.com", path).await?;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(missing.text().await?, NOT_FOUND_HTML, "{path}");
    }
    // The page inside the mount wins where it is.
    let free = edge.get("sales.example.com", "/courses/pro/free").await?;
    assert_eq!(free.text().await?, INDEX_HTML);
    for (method, path, forwarded) in [
        (Method::GET, "/courses/pro", "/memberships/9"),
        (
            Method::POST,
            "/courses/pro/Lesson/2?x=1",
            "/memberships/9/Lesson/2?x=1",
        ),
        (
            Method::GET,
            "/courses/intro/../pro/./a/",
            "/memberships/9/a/",
        ),
        (
            Method::GET,
            "/courses/pro/free/extra",
            "/memberships/9/free/extra",
        ),
    ] {
        let proxied = edge
            .request(method.clone(), "sales.example.com", path)
            .send()
            .await?;
        assert_eq!(proxied.status(), StatusCode::OK, "{method} {path}");
        assert_eq!(header(&proxied, "x-origin"), "echo", "{path}");
        let seen: Value = serde_json::from_slice(&proxied.bytes().await?)?;
        assert_eq!(seen["method"], method.as_str(), "{path}");
        assert_eq!(seen["path_and_query"], forwarded, "{path}");
    }
    Ok(())
}

#[tokio::test]
async fn an_unreachable_origin_is_a_502_not_a_500() -> Result<()> {
    let closed_port = std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port();
    let edge = seeded(WranglerDev::builder().var("HTTPS_REDIRECT", "false").var(
        "PLATFORM_ORIGIN",
        &format!("http://127.0.0.1:{closed_port}"),
    ))
    .start()
    .await?;
    let response = edge.get("sales.example.com", "/members").await?;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(header(&response, "retry-after"), "5");
    Ok(())
}

/// Without `ORIGIN_SIGNING_SECRET` the edge cannot tell the platform whose
/// request it is: mounts answer 503 and the origin is never asked;
/// certificate validation, which belongs to no account, is still forwarded.
#[tokio::test]
async fn without_a_signing_secret_mounts_are_not_proxied() -> Result<()> {
    let origin = EchoOrigin::start().await?;
    let edge = seeded(
        WranglerDev::builder()
            .var("HTTPS_REDIRECT", "false")
            .var("PLATFORM_ORIGIN", origin.base_url()),
    )
    .var("ORIGIN_SIGNING_SECRET", "")
    .start()
    .await?;
    let mount = edge.get("sales.example.com", "/members").await?;
    assert_eq!(mount.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&mount, "x-origin"), "");
    let validation = edge
        .get("sales.example.com", "/.well-known/acme-challenge/tok")
        .await?;
    assert_eq!(validation.status(), StatusCode::OK);
    let seen: Value = serde_json::from_slice(&validation.bytes().await?)?;
    assert!(seen["headers"].get("x-portico-context").is_none(), "{seen}");
    Ok(())
}

#[tokio::test]
async fn redirects_take_one_hop() -> Result<()> {
    let origin = EchoOrigin::start().await?;
    let edge = seeded(
        WranglerDev::builder()
            .var("HTTPS_REDIRECT", "true")
            .var("PLATFORM_ORIGIN", origin.base_url()),
    )
    .start()
    .await?;

    let cases = [
        (
            Method::GET,
            "sales.example.com",
            "/offer?x=1",
            301,
            "https://sales.example.com/offer?x=1",
        ),
        (
            Method::GET,
            "sales.example.com",
            "/",
            301,
            "https://sales.example.com/",
        ),
        (
            Method::GET,
            "sales.example.com",
            "/nope",
            301,
            "https://sales.example.com/nope",
        ),
        (
            Method::POST,
            "sales.example.com",
            "/members",
            308,
            "https://sales.example.com/members",
        ),
        // The bare root goes straight to https://www, path and query kept.
        (
            Method::GET,
            "example.com",
            "/x/y?z=1&w",
            301,
            "https://www.example.com/x/y?z=1&w",
        ),
        (
            Method::GET,
            "Example.com",
            "/",
            301,
            "https://www.example.com/",
        ),
    ];
    for (method, host, path, status, location) in cases {
        let response = edge.request(method.clone(), host, path).send().await?;
        assert_eq!(response.status().as_u16(), status, "{method} {host}{path}");
        assert_eq!(
            header(&response, "location"),
            location,
            "{method} {host}{path}"
        );
    }

    // Unknown hosts are not redirected (nothing is served there), and
    // HTTP-01 validation must work over plain HTTP.
    assert_eq!(
        edge.get("unknown.example.org", "/").await?.status(),
        StatusCode::NOT_FOUND
    );
    let validation = edge
        .get("sales.example.com", "/.well-known/acme-challenge/t")
        .await?;
    assert_eq!(validation.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_a_4xx_page_never_a_500() -> Result<()> {
    let edge = seeded(WranglerDev::builder().var("HTTPS_REDIRECT", "false"))
        .start()
        .await?;

    for host in [
        "unknown.example.org",
        "corrupt.example.com",
        "future.example.com",
    ] {
        let response = edge.get(host, "/some/page").await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{host}");
        assert_eq!(header(&response, "cache-control"), "no-store");
        let body = response.text().await?;
        assert!(
            body.contains("This domain is not connected"),
            "{host}: {body}"
        );
        assert!(
            !body.contains("Katie") && !body.contains("example"),
            "tenant data leaked: {body}"
        );
    }

    // (Wildcard and non-ASCII Host headers never reach a worker: workerd refuses
    // to build the request URL, as Cloudflare does in front of it.)
    for host in ["127.0.0.1", "bad_host", "a..b", "[::1]", "-x.example.com"] {
        let response = edge.get(host, "/").await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{host}");
        assert!(response.text().await?.contains("Bad request"));
    }
    let long = format!("/{}", "a".repeat(12 * 1024));
    let too_long = edge.get("sales.example.com", &long).await?;
    assert_eq!(too_long.status(), StatusCode::URI_TOO_LONG);
    // 16 KB is refused before the worker (by wrangler's server here, by
    // Cloudflare in production): still a 4xx.
    let longer = format!("/{}", "a".repeat(16 * 1024));
    let status = edge.get("sales.example.com", &longer).await?.status();
    assert!(status.is_client_error(), "{status}");

    // HTTP/1.0 without any Host header.
    let mut stream = TcpStream::connect(edge.url("").trim_start_matches("http://"))?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status_line = answer.lines().next().unwrap_or_default().to_owned();
    assert!(status_line.contains(" 400 "), "{status_line}");
    Ok(())
}

/// A production build (no `local-kv` feature) has no KV endpoint, even with
/// LOCAL_KV_TOKEN set: its route is served like any other path, and nothing
/// is written. `scripts/check-bundle` runs this on the build it just made
/// (`PORTICO_EDGE_BUILD=production`); with the development build that
/// `scripts/test` makes, it says so and passes.
#[tokio::test]
async fn a_production_build_has_no_local_kv_endpoint() -> Result<()> {
    if std::env::var("PORTICO_EDGE_BUILD").as_deref() != Ok("production") {
        println!("SKIPPED: runs on the production build (PORTICO_EDGE_BUILD=production, scripts/check-bundle)");
        return Ok(());
    }
    let edge = seeded(
        WranglerDev::builder()
            .production_build()
            .var("HTTPS_REDIRECT", "false")
            .var("LOCAL_KV_TOKEN", "a-token"),
    )
    .start()
    .await?;
    let record = text(HostRecord::site(page('a'), page('b')).encode());
    let body = serde_json::json!([{ "key": "v1/h/planted.example.com", "value": record }]);
    let put = edge
        .request(
            Method::PUT,
            "sales.example.com",
            "/__portico/kv/ROUTES/bulk",
        )
        .header("authorization", "Bearer a-token")
        .header("content-type", "application/json")
        .body(serde_json::to_string(&body)?)
        .send()
        .await?;
    // The page rules answer: a page refuses PUT (405), as on any other path.
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&put, "content-type"), "text/html; charset=utf-8");
    assert!(!put.text().await?.contains("success"));
    let planted = edge.get("planted.example.com", "/").await?;
    assert_eq!(planted.status(), StatusCode::NOT_FOUND);
    assert!(planted
        .text()
        .await?
        .contains("This domain is not connected"));
    Ok(())
}
