//! The platform's products on a customer's domain, end to end: the built
//! edge worker under one `wrangler dev`, proxying origin mounts of
//! `shop.test` to the stand-in platform (`portico_tests::platform`), which
//! accepts only requests carrying the edge's signed context. A membership
//! login and its members-only lesson, a checkout form, a video in ranges, a
//! calendar's query strings, a help desk's WebSocket, a streamed upload, a
//! forged context from the visitor, and a slow origin.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body::Frame;
use http_body_util::StreamBody;
use portico_shared::record::{content_key, host_key, path_key};
use portico_shared::{ContentDigest, HostRecord, Hostname, PathRecord, Slug, Target};
use portico_tests::platform::{
    video_byte, Platform, MEMBER_PASSWORD, SESSION_COOKIE, TEST_SIGNING_SECRET,
};
use portico_tests::wrangler::WranglerDev;
use portico_tests::Result;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const SHOP: &str = "shop.test";
const ACCOUNT: &str = "acc_katie";
/// Another account's domain, on the same edge and platform.
const OTHER: &str = "other.test";
const INDEX_HTML: &str = "<!doctype html><h1>Katie's shop</h1>";
/// The edge's timeout for the origin's answer in this test (ms).
const ORIGIN_TIMEOUT_MS: u64 = 1500;
const VIDEO_LEN: u64 = 3 * 1024 * 1024 + 17;

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A form body, as a browser posts it.
fn form_body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn json(response: reqwest::Response) -> Result<Value> {
    Ok(serde_json::from_slice(&response.bytes().await?)?)
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// `shop.test` of account `acc_katie`: a page Index, and one mount per
/// product at the same path on the platform (mount ids `mnt_<slug>`), plus
/// `/app/…` for the platform's generic paths.
async fn edge_for(platform: &Platform) -> Result<WranglerDev> {
    let shop = Hostname::parse(SHOP).unwrap();
    let digest = ContentDigest::parse(&"a".repeat(64)).unwrap();
    let page = Target::Page {
        digest: digest.clone(),
    };
    let account = Some(ACCOUNT.to_string());
    let mut builder = WranglerDev::builder()
        .var("HTTPS_REDIRECT", "false")
        .var("PLATFORM_ORIGIN", platform.base_url())
        .var("ORIGIN_SIGNING_SECRET", TEST_SIGNING_SECRET)
        .var("ORIGIN_TIMEOUT_MS", &ORIGIN_TIMEOUT_MS.to_string())
        .kv(
            "ROUTES",
            &host_key(&shop),
            &text(
                HostRecord::site(page.clone(), page)
                    .with_account(account.clone())
                    .encode(),
            ),
        )
        .kv("CONTENT", &content_key(&digest), INDEX_HTML);
    for (slug, path) in [
        ("members", "/members"),
        ("checkout", "/checkout"),
        ("video", "/video"),
        ("calendar", "/calendar"),
        ("helpdesk", "/helpdesk"),
        ("app", "/"),
    ] {
        let target = Target::Origin {
            path: path.into(),
            mount: Some(format!("mnt_{slug}")),
        };
        builder = builder.kv(
            "ROUTES",
            &path_key(&shop, &Slug::parse(slug).unwrap()),
            &text(
                PathRecord::new(target)
                    .with_account(account.clone())
                    .encode(),
            ),
        );
    }
    // Another account's domain with the same product mounted.
    let other = Hostname::parse(OTHER).unwrap();
    let other_account = Some("acc_other".to_string());
    builder = builder
        .kv(
            "ROUTES",
            &host_key(&other),
            &text(
                HostRecord::site(
                    Target::External {
                        url: "https://example.org/".into(),
                    },
                    Target::External {
                        url: "https://example.org/".into(),
                    },
                )
                .with_account(other_account.clone())
                .encode(),
            ),
        )
        .kv(
            "ROUTES",
            &path_key(&other, &Slug::parse("members").unwrap()),
            &text(
                PathRecord::new(Target::Origin {
                    path: "/members".into(),
                    mount: Some("mnt_other".into()),
                })
                .with_account(other_account)
                .encode(),
            ),
        );
    builder.start().await
}

#[tokio::test]
async fn the_platforms_products_work_on_a_custom_domain() -> Result<()> {
    let platform = Platform::start(TEST_SIGNING_SECRET, VIDEO_LEN).await?;
    let edge = edge_for(&platform).await?;

    // The origin learns account, domain and mount from the signed context;
    // the visitor's own X-Portico-* headers never reach it.
    let whoami = edge
        .request(Method::GET, SHOP, "/app/whoami?x=1")
        .header(
            "x-portico-context",
            "t=1,host=evil.test,account=acc_evil,mount=",
        )
        .header("x-portico-signature", "v1=00")
        .header("x-portico-extra", "forged")
        .header("forwarded", "host=evil.test;proto=https")
        .header("x-forwarded-host", "evil.test")
        .header("x-forwarded-for", "10.0.0.1")
        .send()
        .await?;
    assert_eq!(whoami.status(), StatusCode::OK);
    let seen: Value = json(whoami).await?;
    assert_eq!(seen["host"], SHOP, "{seen}");
    assert_eq!(seen["account"], ACCOUNT, "{seen}");
    assert_eq!(seen["mount"], "mnt_app", "{seen}");
    assert_eq!(seen["path_and_query"], "/whoami?x=1", "{seen}");
    assert_eq!(seen["x_forwarded_host"], SHOP, "{seen}");
    assert_eq!(seen["x_forwarded_proto"], "http", "{seen}");
    assert_eq!(seen["x_portico_extra"], Value::Null, "{seen}");
    assert_eq!(seen["forwarded"], Value::Null, "{seen}");
    // The client's address as the runtime saw it, not the visitor's claim.
    assert_eq!(seen["x_forwarded_for"], "127.0.0.1", "{seen}");
    // Whose host header the origin sees: its own, not the visitor's.
    assert_ne!(seen["host_header"], SHOP, "{seen}");

    membership(&edge, &platform).await?;
    checkout(&edge).await?;
    video(&edge, &platform).await?;
    calendar(&edge).await?;
    help_desk(&edge).await?;
    upload(&edge).await?;

    // A slow origin: the platform's 504 page, within the timeout (and well
    // before the origin's 30 s).
    let started = Instant::now();
    let slow = edge.get(SHOP, "/app/slow").await?;
    let waited = started.elapsed();
    assert_eq!(slow.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(header(&slow, "retry-after"), "5");
    assert!(slow.text().await?.contains("took too long"));
    assert!(
        waited >= Duration::from_millis(ORIGIN_TIMEOUT_MS - 100) && waited < Duration::from_secs(8),
        "answered after {waited:?}"
    );
    Ok(())
}

async fn membership(edge: &WranglerDev, platform: &Platform) -> Result<()> {
    // Members only: no session, back to the login (relative: unchanged).
    let locked = edge.get(SHOP, "/members/lesson/1").await?;
    assert_eq!(locked.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&locked, "location"), "/members/login");

    let form = edge.get(SHOP, "/members/login").await?;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await?.contains("action=/members/login"));

    let wrong = edge
        .request(Method::POST, SHOP, "/members/login")
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[
            ("email", "ann@example.com"),
            ("password", "guess"),
        ]))
        .send()
        .await?;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());

    let login = edge
        .request(Method::POST, SHOP, "/members/login")
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[
            ("email", "ann@example.com"),
            ("password", MEMBER_PASSWORD),
        ]))
        .send()
        .await?;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    // The platform's absolute URL, rewritten to the custom domain.
    assert_eq!(
        header(&login, "location"),
        format!("http://{SHOP}/members/lesson/1"),
        "the platform answered with {}",
        platform.base_url()
    );
    // The session cookie, kept, and scoped to the custom domain (no Domain).
    let cookie = header(&login, "set-cookie");
    assert!(
        cookie.starts_with(&format!("{SESSION_COOKIE}=")),
        "{cookie}"
    );
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    assert!(
        cookie.contains("Path=/members") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();

    let lesson = edge
        .request(Method::GET, SHOP, "/members/lesson/1")
        .header("cookie", &session)
        .send()
        .await?;
    assert_eq!(lesson.status(), StatusCode::OK);
    let body = lesson.text().await?;
    assert!(body.contains("Lesson 1: Knots"), "{body}");
    assert!(
        body.contains("ann@example.com") && body.contains(SHOP),
        "{body}"
    );

    // The session is this account's on this domain: the same cookie sent to
    // another account's domain (a leaked cookie, a careless script) does not
    // open the lesson there.
    let elsewhere = edge
        .request(Method::GET, OTHER, "/members/lesson/1")
        .header("cookie", &session)
        .send()
        .await?;
    assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&elsewhere, "location"), "/members/login");
    Ok(())
}

async fn checkout(edge: &WranglerDev) -> Result<()> {
    let form = edge.get(SHOP, "/checkout").await?;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await?.contains("method=post"));

    let bad = edge
        .request(Method::POST, SHOP, "/checkout")
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("item", ""), ("quantity", "0")]))
        .send()
        .await?;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad: Value = json(bad).await?;
    assert_eq!(bad["error"]["code"], "invalid_order");

    let paid = edge
        .request(Method::POST, SHOP, "/checkout")
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("item", "rope"), ("quantity", "2")]))
        .send()
        .await?;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let location = header(&paid, "location");
    let prefix = format!("http://{SHOP}/checkout/thanks?order=");
    assert!(location.starts_with(&prefix), "{location}");
    let path = location.trim_start_matches(&format!("http://{SHOP}"));

    let thanks = edge.get(SHOP, path).await?;
    assert_eq!(thanks.status(), StatusCode::OK);
    assert_eq!(
        header(&thanks, "refresh"),
        format!("10; url=http://{SHOP}/checkout")
    );
    assert_eq!(header(&thanks, "content-location"), location);
    assert_eq!(header(&thanks, "cache-control"), "private");
    let order = &location[prefix.len()..];
    assert!(
        thanks
            .text()
            .await?
            .contains(&format!("Thank you for order {order}")),
        "{order}"
    );
    Ok(())
}

async fn video(edge: &WranglerDev, platform: &Platform) -> Result<()> {
    let len = platform.video_len();
    let expected = |from: u64, to: u64| (from..=to).map(video_byte).collect::<Vec<u8>>();

    let range = edge
        .request(Method::GET, SHOP, "/video/intro.mp4")
        .header("range", "bytes=1000-1999")
        .send()
        .await?;
    assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&range, "content-range"),
        format!("bytes 1000-1999/{len}")
    );
    assert_eq!(header(&range, "content-type"), "video/mp4");
    assert_eq!(range.bytes().await?.to_vec(), expected(1000, 1999));

    // The last bytes, as a player seeking to the end asks.
    let tail = edge
        .request(Method::GET, SHOP, "/video/intro.mp4")
        .header("range", "bytes=-100")
        .send()
        .await?;
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await?.to_vec(), expected(len - 100, len - 1));

    let unsatisfiable = edge
        .request(Method::GET, SHOP, "/video/intro.mp4")
        .header("range", format!("bytes={}-", len + 10))
        .send()
        .await?;
    assert_eq!(unsatisfiable.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    let whole = edge.get(SHOP, "/video/intro.mp4").await?;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(header(&whole, "accept-ranges"), "bytes");
    let body = whole.bytes().await?;
    assert_eq!(body.len() as u64, len);
    assert!(
        body.iter()
            .enumerate()
            .all(|(at, byte)| *byte == video_byte(at as u64)),
        "the video's bytes differ"
    );
    Ok(())
}

async fn calendar(edge: &WranglerDev) -> Result<()> {
    let answer = edge
        .get(
            SHOP,
            "/calendar?month=2027-01&tz=Europe%2FParis&view=week&view=day",
        )
        .await?;
    assert_eq!(answer.status(), StatusCode::OK);
    let seen: Value = json(answer).await?;
    assert_eq!(
        seen["raw_query"],
        "month=2027-01&tz=Europe%2FParis&view=week&view=day"
    );
    assert_eq!(seen["query"][1], serde_json::json!(["tz", "Europe/Paris"]));
    assert_eq!(seen["slots"][0], "2027-01-07T09:00");
    Ok(())
}

async fn help_desk(edge: &WranglerDev) -> Result<()> {
    let url = edge.url("/helpdesk/chat").replacen("http://", "ws://", 1);
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("host", SHOP.parse().expect("a header value"));
    let (mut socket, answer) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .map_err(|_| portico_tests::Error::msg("the WebSocket upgrade took over 10 s"))??;
    assert_eq!(answer.status(), 101);
    let greeting = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
    match greeting {
        Ok(Some(Ok(Message::Text(text)))) => {
            assert_eq!(text.as_str(), format!("hello from the help desk of {SHOP}"))
        }
        other => panic!("expected the greeting, got {other:?}"),
    }
    for line in ["Hi, my order did not arrive", "Order 7"] {
        socket.send(Message::Text(line.into())).await?;
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => assert_eq!(text.as_str(), format!("echo: {line}")),
            other => panic!("expected the echo of {line:?}, got {other:?}"),
        }
    }
    socket.close(None).await?;
    Ok(())
}

async fn upload(edge: &WranglerDev) -> Result<()> {
    // 8 MiB sent as a stream of 64 KiB chunks, passed on as a stream.
    let chunk = vec![b'u'; 64 * 1024];
    let chunks = futures_util::stream::iter(
        (0..128).map(move |_| Ok::<_, std::io::Error>(Frame::data(Bytes::from(chunk.clone())))),
    );
    let answer = edge
        .request(Method::POST, SHOP, "/app/upload")
        .body(reqwest::Body::wrap(StreamBody::new(chunks)))
        .send()
        .await?;
    assert_eq!(answer.status(), StatusCode::OK);
    let seen: Value = json(answer).await?;
    assert_eq!(seen["bytes"], 8 * 1024 * 1024, "{seen}");
    Ok(())
}

/// A case of a refused request: its name, its context and signature
/// headers, the error code.
type Refused<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a str);

/// Straight to the platform, without the edge: nothing it serves answers a
/// request that is unsigned, forged, altered or too old.
#[tokio::test]
async fn the_platform_refuses_unsigned_and_forged_requests() -> Result<()> {
    use portico_shared::origin_context::{OriginContext, SigningKey};

    let platform = Platform::start(TEST_SIGNING_SECRET, 1024).await?;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let context = |timestamp_s| OriginContext {
        timestamp_s,
        host: SHOP.into(),
        account: Some(ACCOUNT.into()),
        mount: Some("mnt_app".into()),
    };
    let key = SigningKey::new(TEST_SIGNING_SECRET.as_bytes()).unwrap();
    let other_key = SigningKey::new(&[b'x'; 32]).unwrap();
    let (good, good_signature) = context(now).sign(&key);
    let (_, forged_signature) = context(now).sign(&other_key);
    let (stale, stale_signature) = context(now - 3600).sign(&key);
    let altered = good.replace(ACCOUNT, "acc_evil");

    let cases: [Refused; 4] = [
        ("unsigned", None, "unsigned_request"),
        ("forged", Some((&good, &forged_signature)), "forged_request"),
        (
            "altered",
            Some((&altered, &good_signature)),
            "forged_request",
        ),
        ("stale", Some((&stale, &stale_signature)), "stale_request"),
    ];
    for path in ["/whoami", "/members/login", "/video/intro.mp4", "/calendar"] {
        for (case, headers, code) in &cases {
            let mut request = http.get(format!("{}{path}", platform.base_url()));
            if let Some((context, signature)) = headers {
                request = request
                    .header("x-portico-context", *context)
                    .header("x-portico-signature", *signature);
            }
            let answer = request.send().await?;
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{case} {path}");
            let body: Value = json(answer).await?;
            assert_eq!(body["error"]["code"], *code, "{case} {path}");
        }
    }
    let signed = http
        .get(format!("{}/whoami", platform.base_url()))
        .header("x-portico-context", &good)
        .header("x-portico-signature", &good_signature)
        .send()
        .await?;
    assert_eq!(signed.status(), StatusCode::OK);
    let seen: Value = json(signed).await?;
    assert_eq!(seen["account"], ACCOUNT);
    Ok(())
}
