//! Rate limits (api/limits.rs): per token and class, per address without
//! a token, the headers, and Retry-After. The buckets are in memory, so one
//! store is enough (SQLite).

use std::time::Duration;

use portico_control::api::limits::RateLimitSettings;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::helpers::*;

async fn app_with(limits: RateLimitSettings) -> (TestApp, TestDatabase) {
    let database = TestDatabase::new(Db::Sqlite).await.unwrap();
    let mut settings = database.settings();
    settings.rate_limits = limits;
    (start(&settings).await, database)
}

/// Status, headers, body.
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, HeaderMap, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.http.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
        .to_str()
        .unwrap()
}

fn page() -> Value {
    json!({ "kind": "page", "title": "Offer", "content": "<p>hi</p>" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_has_its_own_buckets_per_class() {
    let (app, _database) = app_with(RateLimitSettings {
        reads_per_min: 3,
        writes_per_min: 2,
        verify_per_min: 1,
        ..RateLimitSettings::off()
    })
    .await;
    let (_, alice) = app.account("alice").await;
    let (_, bob) = app.account("bob").await;
    for remaining in [2, 1, 0] {
        let (status, headers, _) = send(&app, "GET", "/v1/domains", Some(&alice), None).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "ratelimit-policy"), "\"reads\";q=3;w=60");
        let current = header(&headers, "ratelimit");
        assert!(
            current.starts_with(&format!("\"reads\";r={remaining};t=")),
            "{current}"
        );
    }
    let (status, headers, body) = send(&app, "GET", "/v1/domains", Some(&alice), None).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("3 per minute"));
    let retry: u64 = header(&headers, "retry-after").parse().unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    assert!(header(&headers, "ratelimit").starts_with("\"reads\";r=0;t="));
    // Another tenant is not limited by Alice's traffic.
    let (status, _, _) = send(&app, "GET", "/v1/domains", Some(&bob), None).await;
    assert_eq!(status, 200);
    // Writes and verify are buckets of their own.
    let (status, headers, body) = send(&app, "POST", "/v1/pages", Some(&alice), Some(page())).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(header(&headers, "ratelimit-policy"), "\"writes\";q=2;w=60");
    let (status, headers, _) = send(
        &app,
        "POST",
        "/v1/domains/dom_nope/verify",
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(header(&headers, "ratelimit-policy"), "\"verify\";q=1;w=60");
    let (status, _, body) = send(
        &app,
        "POST",
        "/v1/domains/dom_nope/verify",
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    let (status, _, _) = send(&app, "POST", "/v1/pages", Some(&alice), Some(page())).await;
    assert_eq!(status, 201, "the verify bucket is not the writes one");
    // Health checks are never limited, nor is the operator's token.
    for _ in 0..5 {
        let (status, _, _) = send(&app, "GET", "/healthz", None, None).await;
        assert_eq!(status, 200);
        let (status, _, _) = send(
            &app,
            "GET",
            "/v1/accounts/acc_nope",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_a_valid_token_are_limited_by_address() {
    let (app, _database) = app_with(RateLimitSettings {
        anonymous_per_min: 2,
        reads_per_min: 100,
        ..RateLimitSettings::off()
    })
    .await;
    let (_, token) = app.account("carol").await;
    // No token: the address's bucket.
    for _ in 0..2 {
        let (status, headers, _) = send(&app, "GET", "/v1/openapi.json", None, None).await;
        assert_eq!(status, 200);
        assert_eq!(
            header(&headers, "ratelimit-policy"),
            "\"anonymous\";q=2;w=60"
        );
    }
    let (status, headers, body) = send(&app, "GET", "/v1/domains", None, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(headers.contains_key("retry-after"));
    // A valid token has its own bucket.
    let (status, _, _) = send(&app, "GET", "/v1/domains", Some(&token), None).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_tokens_gets_429_before_any_lookup() {
    let (app, _database) = app_with(RateLimitSettings {
        anonymous_per_min: 2,
        reads_per_min: 100,
        ..RateLimitSettings::off()
    })
    .await;
    let (_, token) = app.account("dave").await;
    let mut statuses = Vec::new();
    for guess in 0..5 {
        let (status, _, _) = send(
            &app,
            "GET",
            "/v1/domains",
            Some(&format!("ptk_guess_{guess}")),
            None,
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // While the address is refused, so is its valid token (the same client).
    let (status, headers, _) = send(&app, "GET", "/v1/domains", Some(&token), None).await;
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_retry_after_lets_the_next_request_through() {
    // 120 a minute: one more every half second.
    let (app, _database) = app_with(RateLimitSettings {
        reads_per_min: 120,
        ..RateLimitSettings::off()
    })
    .await;
    let (_, token) = app.account("erin").await;
    let mut refused = None;
    for _ in 0..200 {
        let (status, headers, _) = send(&app, "GET", "/v1/pages", Some(&token), None).await;
        if status == 429 {
            refused = Some(header(&headers, "retry-after").parse::<u64>().unwrap());
            break;
        }
        assert_eq!(status, 200);
    }
    let retry = refused.expect("refused within 200 requests");
    assert_eq!(retry, 1);
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let (status, _, _) = send(&app, "GET", "/v1/pages", Some(&token), None).await;
    assert_eq!(status, 200);
    app.stop().await;
}

/// Anonymous GETs of the document with `X-Forwarded-For: <address>`.
async fn statuses_from(app: &TestApp, addresses: &[&str]) -> Vec<u16> {
    let mut statuses = Vec::new();
    for address in addresses {
        let response = app
            .http
            .get(app.url("/v1/openapi.json"))
            .header("x-forwarded-for", format!("10.9.9.9, {address}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_address_counts_only_behind_a_configured_proxy() {
    let limits = RateLimitSettings {
        anonymous_per_min: 1,
        ..RateLimitSettings::off()
    };
    // Not configured: the header is the client's word, and ignored.
    let (app, _database) = app_with(limits.clone()).await;
    let statuses = statuses_from(&app, &["192.0.2.1", "192.0.2.2"]).await;
    assert_eq!(statuses, [200, 429]);
    app.stop().await;
    // Configured: its last value (the one the proxy appended) is the client.
    let (app, _database) = app_with(RateLimitSettings {
        client_ip_header: Some("x-forwarded-for".try_into().unwrap()),
        ..limits
    })
    .await;
    let statuses = statuses_from(&app, &["192.0.2.1", "192.0.2.2", "192.0.2.1"]).await;
    assert_eq!(statuses, [200, 200, 429]);
    app.stop().await;
}
