//! Signed webhooks, received by a server on loopback that verifies every
//! signature with the Standard Webhooks specification's published Rust
//! library (`standardwebhooks`), not this project's code: delivered at
//! least once, in order per domain, retried after a failure with the same
//! `webhook-id`, signed by both secrets during a rotation; endpoints are an
//! account's own; bad URLs and filters get a 422 with a code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::post;
use portico_control::webhooks::deliver::Deliverer;
use portico_control::webhooks::settings::WebhookSettings;
use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::{start, Db, TestApp, TestDatabase};

/// What the receiver got: headers and body of each request, in order.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
}

#[derive(Default)]
struct Receiver {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer with, first to last; 200 once used up.
    answers: Mutex<Vec<u16>>,
}

impl Receiver {
    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Of the messages received, the type of each, in order.
    fn types(&self) -> Vec<String> {
        self.all()
            .iter()
            .map(|r| {
                let body: Value = serde_json::from_str(&r.body).unwrap();
                body["type"].as_str().unwrap().to_string()
            })
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.all();
            if all.len() >= count {
                return all;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {count} requests received: {:?}",
                all.len(),
                self.types()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Starts the receiver; its URL.
async fn receiver() -> (Arc<Receiver>, String) {
    let receiver = Arc::new(Receiver::default());
    let app = axum::Router::new().route(
        "/hook",
        post({
            let receiver = receiver.clone();
            move |headers: HeaderMap, body: String| {
                let receiver = receiver.clone();
                async move {
                    receiver
                        .received
                        .lock()
                        .unwrap()
                        .push(Received { headers, body });
                    let mut answers = receiver.answers.lock().unwrap();
                    let status = if answers.is_empty() {
                        200
                    } else {
                        answers.remove(0)
                    };
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        format!("answered {status}"),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, format!("http://{address}/hook"))
}

/// The app, allowed to call a receiver on loopback over http, retrying after 1 s.
async fn app(database: &TestDatabase) -> TestApp {
    let mut settings = database.settings();
    settings.webhooks = WebhookSettings {
        allow_http: true,
        allow_private: true,
        retry_schedule: vec![Duration::from_secs(1); 3],
        poll_interval: Duration::from_millis(50),
        ..WebhookSettings::default()
    };
    start(&settings).await
}

/// Verifies `received` with the specification's library and `secret`.
fn verify(secret: &str, received: &Received) -> Result<(), String> {
    let webhook = standardwebhooks::Webhook::new(secret).map_err(|e| e.to_string())?;
    webhook
        .verify(received.body.as_bytes(), &received.headers)
        .map_err(|e| e.to_string())
}

fn header<'a>(received: &'a Received, name: &str) -> &'a str {
    received.headers[name].to_str().unwrap()
}

async fn webhooks_are_signed_ordered_and_retried(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let app = app(&database).await;
    let (receiver, url) = receiver().await;
    let (_, token) = app.account("hooked").await;

    let (status, endpoint) = app
        .post(
            "/v1/webhooks",
            &token,
            json!({ "url": url, "description": "orders", "event_types": ["domain.added", "domain.connected", "domain.removed"] }),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let endpoint_id = endpoint["id"].as_str().unwrap().to_string();
    // The secret is shown once.
    let (_, listed) = app.get("/v1/webhooks", &token).await;
    assert_eq!(listed["endpoints"][0]["id"], endpoint_id.as_str());
    assert!(listed["endpoints"][0].get("secret").is_none(), "{listed}");

    // Added; connected (the first attempt answered 500); removed.
    receiver.answers.lock().unwrap().extend([200, 500]);
    let domain = app.domain(&token, "hooks.example.com").await;
    let domain_id = domain["id"].as_str().unwrap();
    app.connect(domain_id).await;
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/domains/{domain_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let received = receiver.wait_for(4).await;
    assert_eq!(
        receiver.types(),
        vec![
            "domain.added",
            "domain.connected",
            "domain.connected",
            "domain.removed"
        ],
        "in order per domain: `removed` waited for `connected` to get through"
    );
    for request in &received {
        verify(&secret, request).unwrap_or_else(|e| panic!("{e}: {request:?}"));
        assert_eq!(header(request, "content-type"), "application/json");
    }
    // A retry keeps its webhook-id; each message has its own.
    assert_eq!(
        header(&received[1], "webhook-id"),
        header(&received[2], "webhook-id")
    );
    assert_ne!(
        header(&received[0], "webhook-id"),
        header(&received[1], "webhook-id")
    );
    let body: Value = serde_json::from_str(&received[2].body).unwrap();
    assert_eq!(body["data"]["domain"]["id"], domain_id);
    assert_eq!(body["data"]["domain"]["status"], "connected");
    assert_eq!(body["data"]["domain"]["hostname"], "hooks.example.com");
    // A tampered body is refused by the library: the test can fail.
    let mut tampered = received[0].clone();
    tampered.body = tampered.body.replace("hooks", "hacks");
    assert!(verify(&secret, &tampered).is_err());

    // The delivery log.
    let (status, log) = app
        .get(&format!("/v1/webhooks/{endpoint_id}/messages"), &token)
        .await;
    assert_eq!(status, 200, "{log}");
    let messages = log["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{log}");
    let connected = &messages[1];
    assert_eq!(connected["type"], "domain.connected");
    assert_eq!(connected["state"], "delivered");
    let attempts: Vec<_> = connected["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["status_code"].as_i64(), a["response"].as_str().unwrap()))
        .collect();
    assert_eq!(
        attempts,
        vec![(Some(500), "answered 500"), (Some(200), "answered 200")]
    );
    // Page by page (one message each), the same log.
    let mut walked = Vec::new();
    let mut path = format!("/v1/webhooks/{endpoint_id}/messages?limit=1");
    loop {
        let (status, page) = app.get(&path, &token).await;
        assert_eq!(status, 200, "{page}");
        walked.extend(
            page["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].clone()),
        );
        let Some(next) = page["next_cursor"].as_str() else {
            break;
        };
        path = format!("/v1/webhooks/{endpoint_id}/messages?limit=1&cursor={next}");
    }
    let ids: Vec<_> = messages.iter().map(|m| m["id"].clone()).collect();
    assert_eq!(walked, ids);

    // Sent again on request, with the same webhook-id.
    let first = messages[2]["id"].as_i64().unwrap();
    let (status, _) = app
        .post(
            &format!("/v1/webhooks/{endpoint_id}/messages/{first}/redeliver"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
    let received = receiver.wait_for(5).await;
    assert_eq!(
        header(&received[4], "webhook-id"),
        header(&received[0], "webhook-id")
    );

    // Rotation: both secrets sign during the overlap.
    let (status, rotated) = app
        .post(
            &format!("/v1/webhooks/{endpoint_id}/rotate"),
            &token,
            json!({ "overlap_seconds": 600 }),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    app.domain(&token, "rotated.example.com").await;
    let received = receiver.wait_for(6).await;
    let last = &received[5];
    assert_eq!(header(last, "webhook-signature").split(' ').count(), 2);
    verify(&new_secret, last).unwrap();
    verify(&secret, last).unwrap();

    // A filtered-out type is not sent; switched off, nothing is sent.
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/v1/webhooks/{endpoint_id}"),
            Some(&token),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(status, 200);
    app.domain(&token, "quiet.example.com").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.all().len(), 6);
    app.stop().await;
}

async fn endpoints_are_the_accounts_own_and_bad_input_gets_a_code(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    // Production rules: https only, no private addresses.
    let mut settings = database.settings();
    settings.webhooks = WebhookSettings::default();
    let app = start(&settings).await;
    let (_, token) = app.account("owner").await;
    let (_, other) = app.account("other").await;

    let cases = [
        (
            json!({ "url": "http://hooks.example.com/x" }),
            "invalid_webhook_url",
        ),
        (
            json!({ "url": "ftp://hooks.example.com/x" }),
            "invalid_webhook_url",
        ),
        (json!({ "url": "not a url" }), "invalid_webhook_url"),
        (
            json!({ "url": format!("https://example.com/{}", "a".repeat(2100)) }),
            "invalid_webhook_url",
        ),
        (
            json!({ "url": "https://user:pw@example.com/x" }),
            "invalid_webhook_url",
        ),
        (
            json!({ "url": "https://127.0.0.1/x" }),
            "webhook_url_forbidden",
        ),
        (json!({ "url": "https://[::1]/x" }), "webhook_url_forbidden"),
        (
            json!({ "url": "https://169.254.169.254/latest" }),
            "webhook_url_forbidden",
        ),
        (
            json!({ "url": "https://localhost/x" }),
            "webhook_url_forbidden",
        ),
        (
            json!({ "url": "https://93.184.215.14/x", "event_types": ["domain.exploded"] }),
            "unknown_event_type",
        ),
        (
            json!({ "url": "https://93.184.215.14/x", "event_types": [] }),
            "invalid_event_types",
        ),
        (
            json!({ "url": "https://93.184.215.14/x", "description": "a\u{0}b" }),
            "control_character",
        ),
        (
            json!({ "url": "https://93.184.215.14/x", "description": "x".repeat(201) }),
            "invalid_description",
        ),
    ];
    for (body, code) in cases {
        let (status, answer) = app.post("/v1/webhooks", &token, body.clone()).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some(code)),
            "{body} → {answer}"
        );
    }
    let (status, answer) = app
        .post(
            "/v1/webhooks",
            &token,
            json!({ "url": "https://93.184.215.14/x", "extra": 1 }),
        )
        .await;
    assert_eq!(status, 422, "{answer}");

    let (status, endpoint) = app
        .post(
            "/v1/webhooks",
            &token,
            json!({ "url": "https://93.184.215.14/hook" }),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let id = endpoint["id"].as_str().unwrap();
    // Another account sees nothing of it.
    for (method, path) in [
        ("GET", format!("/v1/webhooks/{id}")),
        ("DELETE", format!("/v1/webhooks/{id}")),
        ("GET", format!("/v1/webhooks/{id}/messages")),
        ("POST", format!("/v1/webhooks/{id}/messages/1/redeliver")),
    ] {
        let (status, answer) = app.call(method, &path, Some(&other), None).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    let (_, listed) = app.get("/v1/webhooks", &other).await;
    assert_eq!(listed["endpoints"], json!([]));
    let (status, answer) = app
        .post(
            &format!("/v1/webhooks/{id}/rotate"),
            &token,
            json!({ "overlap_seconds": -1 }),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("invalid_overlap"))
    );
    let (status, answer) = app
        .get(&format!("/v1/webhooks/{id}/messages?limit=0"), &token)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("invalid_query"))
    );
    // At most ten endpoints (the default `quota_webhook_endpoints`).
    for _ in 0..9 {
        let (status, _) = app
            .post(
                "/v1/webhooks",
                &token,
                json!({ "url": "https://93.184.215.14/more" }),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, answer) = app
        .post(
            "/v1/webhooks",
            &token,
            json!({ "url": "https://93.184.215.14/more" }),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("quota_exceeded"))
    );
    assert_eq!(answer["error"]["quota"], "webhook_endpoints");
    assert_eq!(answer["error"]["limit"], 10);
    app.stop().await;
}

async fn an_endpoint_failing_for_days_is_switched_off_with_a_reason(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let app = app(&database).await;
    let (receiver, url) = receiver().await;
    receiver.answers.lock().unwrap().extend([503; 10]);
    let (_, token) = app.account("failing").await;
    let (status, endpoint) = app
        .post("/v1/webhooks", &token, json!({ "url": url }))
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let id = endpoint["id"].as_str().unwrap().to_string();
    app.domain(&token, "down.example.com").await;
    receiver.wait_for(1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let failing_since = loop {
        let (_, endpoint) = app.get(&format!("/v1/webhooks/{id}"), &token).await;
        if let Some(since) = endpoint["failing_since"].as_str() {
            break since.to_string();
        }
        assert!(tokio::time::Instant::now() < deadline, "{endpoint}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // Five days later, the sweep switches it off and says why.
    let deliverer = Deliverer::new(
        app.state.units.clone(),
        WebhookSettings::default(),
        Arc::default(),
    );
    let now = portico_control::store::now_ms();
    assert_eq!(deliverer.disable_failing(now).await.unwrap(), 0, "not yet");
    let later = now + WebhookSettings::default().disable_after.as_millis() as i64 + 1000;
    assert_eq!(deliverer.disable_failing(later).await.unwrap(), 1);
    let (_, endpoint) = app.get(&format!("/v1/webhooks/{id}"), &token).await;
    assert_eq!(endpoint["enabled"], false, "{endpoint}");
    let reason = endpoint["disabled_reason"].as_str().unwrap();
    assert!(
        reason.contains(&url) && reason.contains(&failing_since),
        "{reason}"
    );
    let (_, events) = app.get("/v1/events", &token).await;
    assert_eq!(events["events"][0]["kind"], "webhook_disabled", "{events}");
    assert_eq!(events["events"][0]["message"], reason);

    // Enabled again: healthy, and delivery resumes.
    receiver.answers.lock().unwrap().clear();
    let (status, endpoint) = app
        .call(
            "PATCH",
            &format!("/v1/webhooks/{id}"),
            Some(&token),
            Some(json!({ "enabled": true })),
        )
        .await;
    assert_eq!(status, 200, "{endpoint}");
    assert!(endpoint["disabled_reason"].is_null() && endpoint["failing_since"].is_null());
    app.domain(&token, "up.example.com").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !receiver
        .all()
        .iter()
        .any(|r| r.body.contains("up.example.com"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            receiver.types()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.stop().await;
}

both_stores!(
    an_endpoint_failing_for_days_is_switched_off_with_a_reason,
    webhooks_are_signed_ordered_and_retried,
    endpoints_are_the_accounts_own_and_bad_input_gets_a_code,
);
