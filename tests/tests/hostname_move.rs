//! A hostname moving between accounts, watched through the edge under
//! `wrangler dev` the whole time: alice's site is connected; the DNS is
//! pointed at bob's account, and bob adds the hostname (the CNAME proves it is
//! his). At every moment a visitor gets alice's pages, bob's pages or the
//! "not connected" page — never alice's link on bob's host, never alice's
//! pages once bob's appeared, never a 404 once bob is Connected.
//!
//! Needs the built edge worker in build/ (`scripts/test` builds it first).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portico_tests::client::{Account, StackClient};
use portico_tests::stack::LocalStack;
use portico_tests::wait::{self, edge_until};
use reqwest::Method;
use serde_json::{json, Value};

const HOST: &str = "move.shop.test";

async fn call(
    client: &StackClient,
    account: &Account,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let answer = client
        .api(method, path, &account.token, body)
        .await
        .unwrap();
    (answer.status, answer.body)
}

/// A page at `/` (Index) and at `/offer` on `domain_id`.
async fn set_up_site(client: &StackClient, account: &Account, domain_id: &str, name: &str) {
    let (status, page) = call(
        client,
        account,
        Method::POST,
        "/v1/pages",
        Some(
            json!({ "kind": "page", "title": name, "content": format!("<h1>{name}'s offer</h1>") }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{page}");
    let (status, body) = call(
        client,
        account,
        Method::PUT,
        &format!("/v1/domains/{domain_id}/settings"),
        Some(json!({ "index": { "type": "page", "page_id": page["id"] } })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        client,
        account,
        Method::POST,
        "/v1/links",
        Some(json!({ "page_id": page["id"], "domain_id": domain_id, "path": "offer" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// `POST /v1/domains` for the host.
async fn add(client: &StackClient, account: &Account) -> (u16, Value) {
    call(
        client,
        account,
        Method::POST,
        "/v1/domains",
        Some(json!({ "hostname": HOST })),
    )
    .await
}

/// Adds the host (its CNAME already names `account`), sets up the site and
/// clicks "Check now" until it is Connected; returns the domain's id.
async fn connected_site(client: &StackClient, account: &Account, name: &str) -> String {
    let (status, added) = add(client, account).await;
    assert_eq!(status, 201, "{added}");
    let id = added["id"].as_str().unwrap().to_string();
    set_up_site(client, account, &id, name).await;
    wait::verify_until_connected(client, account, &id, Instant::now())
        .await
        .unwrap();
    id
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Alice,
    Bob,
    NotConnected,
}

/// One answer: when, for which path, and whose it was.
type Answer = (Instant, &'static str, Seen);

fn classify(status: u16, body: &str) -> Result<Seen, String> {
    match (status, body) {
        (200, body) if body.contains("alice's offer") => Ok(Seen::Alice),
        (200, body) if body.contains("bob's offer") => Ok(Seen::Bob),
        (404, body) if body.contains("not connected") => Ok(Seen::NotConnected),
        _ => Err(format!("{status}: {}", &body[..body.len().min(300)])),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostname_moves_between_accounts_without_mixing_their_sites() {
    let stack = LocalStack::start().await.expect("the local stack starts");
    let client = stack.client().unwrap();
    let alice = client.create_account("alice").await.unwrap();
    let bob = client.create_account("bob").await.unwrap();

    client
        .create_record(HOST, "CNAME", "alice.portico.test")
        .await
        .unwrap();
    connected_site(&client, &alice, "alice").await;
    edge_until(&client, HOST, "/offer", |p| {
        p.body.contains("alice's offer")
    })
    .await
    .unwrap();

    // A visitor keeps asking for both addresses through the whole move.
    let seen: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let client = stack.client().unwrap();
        let seen = seen.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for path in ["/", "/offer"] {
                    let page = client.edge_get(HOST, path).await.unwrap();
                    let what = classify(page.status, &page.body)
                        .unwrap_or_else(|other| panic!("{path} answered {other}"));
                    seen.lock().unwrap().push((Instant::now(), path, what));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // Without proof, bob cannot take it; with the CNAME naming him, he can.
    let (status, refused) = add(&client, &bob).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("hostname_taken")),
        "{refused}"
    );
    client.delete_records(HOST, "CNAME").await.unwrap();
    client
        .create_record(HOST, "CNAME", "bob.portico.test")
        .await
        .unwrap();
    connected_site(&client, &bob, "bob").await;
    let connected_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    watcher.await.expect("every answer was one of the three");

    let seen = seen.lock().unwrap().clone();
    let first_bob = seen.iter().position(|(_, _, what)| *what == Seen::Bob);
    let first_bob = first_bob.expect("bob's site was served");
    assert!(
        seen[first_bob..]
            .iter()
            .all(|(_, _, what)| *what != Seen::Alice),
        "alice's pages after bob's: {seen:?}"
    );
    let after: Vec<_> = seen
        .iter()
        .filter(|(at, _, _)| *at > connected_at)
        .collect();
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|(_, _, what)| *what == Seen::Bob),
        "only bob's site once he is Connected: {after:?}"
    );
    let (_, events) = call(&client, &alice, Method::GET, "/v1/events", None).await;
    assert_eq!(events["events"][0]["kind"], "domain_released", "{events}");
    assert!(!events.to_string().contains("bob"), "{events}");
    let (_, list) = call(&client, &alice, Method::GET, "/v1/domains", None).await;
    assert_eq!(list["domains"], json!([]));
    println!(
        "{} answers watched: {} alice, {} not connected, {} bob",
        seen.len(),
        seen.iter().filter(|s| s.2 == Seen::Alice).count(),
        seen.iter().filter(|s| s.2 == Seen::NotConnected).count(),
        seen.iter().filter(|s| s.2 == Seen::Bob).count(),
    );
}
