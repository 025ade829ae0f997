//! Webhooks survive a crash: `serve` (a real process) is killed with
//! SIGKILL while deliveries are in flight to a slow receiver, and another
//! is started. Every event reaches the receiver (at least once), every
//! signature verifies with the specification's library, and a message sent
//! twice keeps its `webhook-id` and body.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::{kv_server, Db, TestDatabase, ADMIN_TOKEN};
use crate::serving::serve;

/// (webhook-id, body), in the order received.
type Log = Arc<Mutex<Vec<(String, String)>>>;

/// A receiver that takes 200 ms to answer, verifying with `secret` once set.
async fn slow_receiver(secret: Arc<Mutex<Option<String>>>) -> (Log, String) {
    let log: Log = Arc::default();
    let app = axum::Router::new().route(
        "/hook",
        post({
            let log = log.clone();
            move |headers: HeaderMap, body: String| {
                let log = log.clone();
                let secret = secret.lock().unwrap().clone();
                async move {
                    let secret = secret.expect("the secret is known before any delivery");
                    standardwebhooks::Webhook::new(&secret)
                        .unwrap()
                        .verify(body.as_bytes(), &headers)
                        .expect("every delivery verifies");
                    let id = headers["webhook-id"].to_str().unwrap().to_string();
                    log.lock().unwrap().push((id, body));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    "ok"
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (log, format!("http://{address}/hook"))
}

async fn call(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = http
            .request(method.parse().unwrap(), format!("{api}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await;
        if let Ok(answer) = sent {
            let status = answer.status().as_u16();
            return (status, answer.json().await.unwrap_or(Value::Null));
        }
        assert!(Instant::now() < deadline, "serve did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_killed_deliverer_loses_no_event(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let env = [
        ("PORTICO_WEBHOOK_ALLOW_HTTP", "true"),
        ("PORTICO_VERIFY_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("PORTICO_WEBHOOK_POLL_MS", "50"),
        ("PORTICO_WEBHOOK_TIMEOUT_MS", "2000"),
        ("PORTICO_WEBHOOK_RETRY_SCHEDULE_S", "1,1,1,1,1"),
    ];
    let secret = Arc::new(Mutex::new(None));
    let (log, url) = slow_receiver(secret.clone()).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let (first, api) = serve(&database, &server, &env);

    let (status, account) = call(
        &http,
        &api,
        ADMIN_TOKEN,
        "POST",
        "/v1/accounts",
        json!({ "username": "crashhooks" }),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    let id = account["id"].as_str().unwrap();
    let (status, token) = call(
        &http,
        &api,
        ADMIN_TOKEN,
        "POST",
        &format!("/v1/accounts/{id}/tokens"),
        json!({ "name": "t" }),
    )
    .await;
    assert_eq!(status, 201, "{token}");
    let token = token["secret"].as_str().unwrap().to_string();
    let (status, endpoint) = call(
        &http,
        &api,
        &token,
        "POST",
        "/v1/webhooks",
        json!({ "url": url }),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    *secret.lock().unwrap() = Some(endpoint["secret"].as_str().unwrap().to_string());
    let endpoint_id = endpoint["id"].as_str().unwrap().to_string();

    let add = |api: String, n: usize| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let host = format!("d{n}.crash-hooks.example.com");
            let (status, body) = call(
                &http,
                &api,
                &token,
                "POST",
                "/v1/domains",
                json!({ "hostname": host }),
            )
            .await;
            assert_eq!(status, 201, "{body}");
        }
    };
    for n in 0..30 {
        add(api.clone(), n).await;
    }
    // Killed with deliveries in flight (the receiver takes 200 ms each).
    let deadline = Instant::now() + Duration::from_secs(20);
    while log.lock().unwrap().len() < 6 {
        assert!(Instant::now() < deadline, "no delivery started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(first);
    let received_at_kill = log.lock().unwrap().len();
    let (second, api) = serve(&database, &server, &env);
    for n in 30..40 {
        add(api.clone(), n).await;
    }

    // Every event arrives; a duplicate is the same message.
    let deadline = Instant::now() + Duration::from_secs(40);
    let by_id = loop {
        let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, body) in log.lock().unwrap().iter() {
            by_id.entry(id.clone()).or_default().push(body.clone());
        }
        if by_id.len() >= 40 {
            break by_id;
        }
        assert!(
            Instant::now() < deadline,
            "{} of 40 events arrived",
            by_id.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut hosts: Vec<String> = Vec::new();
    let mut duplicates = 0;
    for bodies in by_id.values() {
        assert!(bodies.iter().all(|b| b == &bodies[0]), "{bodies:?}");
        duplicates += bodies.len() - 1;
        let body: Value = serde_json::from_str(&bodies[0]).unwrap();
        assert_eq!(body["type"], "domain.added");
        hosts.push(
            body["data"]["domain"]["hostname"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts.len(), 40, "one message per domain added");
    // Each recorded delivered (the last answer may still be on its way).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let path = format!("/v1/webhooks/{endpoint_id}/messages?limit=200");
        let (status, messages) = call(&http, &api, &token, "GET", &path, Value::Null).await;
        assert_eq!(status, 200, "{messages}");
        let states: Vec<&str> = messages["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["state"].as_str().unwrap())
            .collect();
        if states == vec!["delivered"; 40] {
            break;
        }
        assert!(Instant::now() < deadline, "{states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{db:?}: killed after {received_at_kill} requests; 40 events delivered, {duplicates} sent twice (same webhook-id and body)"
    );
    drop(second);
}

both_stores!(a_killed_deliverer_loses_no_event);
