//! One check in flight per domain, across replicas: concurrent
//! `POST …/verify` calls on two app instances sharing one database get one
//! report and 409 `verification_in_progress` for the rest (the claim is a
//! row in `domain_checks` with an expiry), on SQLite and PostgreSQL.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use portico_control::config::RawSettings;
use portico_control::verify::settings::VerifySettings;
use tokio::net::UdpSocket;

use crate::both_stores;
use crate::helpers::*;

/// A resolver that reads queries and never answers: every check waits out
/// its DNS timeout. Returns its address and how many queries it got.
async fn silent_resolver() -> (String, Arc<AtomicUsize>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap().to_string();
    let queries = Arc::new(AtomicUsize::new(0));
    let counted = queries.clone();
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        while socket.recv_from(&mut buffer).await.is_ok() {
            counted.fetch_add(1, Ordering::Relaxed);
        }
    });
    (address, queries)
}

async fn concurrent_verify_calls_run_one_check(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let (resolver, queries) = silent_resolver().await;
    let port = resolver.rsplit(':').next().unwrap().parse().unwrap();
    let mut settings = database.settings();
    settings.verify = VerifySettings::resolve(&RawSettings {
        dns_resolvers: Some(resolver.clone()),
        dns_nameserver_port: Some(port),
        dns_nameserver_addresses: Some("*=127.0.0.1".into()),
        dns_timeout_ms: Some(300),
        forward_http_port: Some(9),
        forward_https_port: Some(9),
        forward_timeout_ms: Some(500),
        verify_allow_private_addresses: Some(true),
        // No schedule: its own first check would hold the claim, and every
        // call would get 409.
        verifier: Some(false),
        ..RawSettings::default()
    })
    .unwrap();
    // Two replicas on one database.
    let first = start(&settings).await;
    let second = start(&settings).await;
    let (_, token) = first.account("frank").await;
    let domain = first.domain(&token, "sales.example.test").await;
    let path = format!("/v1/domains/{}/verify", domain["id"].as_str().unwrap());
    let apps = [&first, &second, &first, &second, &first];
    let calls = apps.map(|app| {
        let request = app.http.post(app.url(&path)).bearer_auth(&token).send();
        async move {
            let response = request.await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body)
        }
    });
    let answers = at_once(calls).await;
    let ran: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .collect();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == 409)
        .collect();
    assert_eq!((ran.len(), refused.len()), (1, 4), "{answers:?}");
    for (_, body) in &refused {
        assert_eq!(body["error"]["code"], "verification_in_progress");
    }
    assert!(ran[0].1["report"]["checks"].is_array(), "{}", ran[0].1);
    assert!(queries.load(Ordering::Relaxed) > 0, "the check asked DNS");
    // The claim is released with the result: the next call runs.
    let (status, body) = second.post(&path, &token, serde_json::Value::Null).await;
    assert_eq!(status, 200, "{body}");
    first.stop().await;
    second.stop().await;
}

/// Runs the calls at once, answers in order.
async fn at_once<F: std::future::Future + Send + 'static>(calls: [F; 5]) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(handle.await.unwrap());
    }
    answers
}

both_stores!(concurrent_verify_calls_run_one_check);
