//! The whole customer story end to end, over the wire, on the local stack
//! (`portico_tests::stack::LocalStack`: the control plane as a process, the
//! edge under `wrangler dev`, the local DNS provider and registrar): the
//! same steps as `scripts/walkthrough`, plus what the walkthrough does not
//! show — a CNAME naming another account's username is refused, and a domain
//! not connected within 24 hours is reverted (the control plane restarted
//! with its clock a day ahead, `PORTICO_DEV_CLOCK_OFFSET_SECS`).
//!
//! Needs the built edge worker in build/ (`scripts/build-edge --dev`; `scripts/test`
//! builds it first).

use std::time::{Duration, Instant};

use portico_tests::stack::LocalStack;
use portico_tests::story::{self, Cast, Narrator};
use portico_tests::wait::{self, check, edge_until, poll};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_story_end_to_end() {
    let stack = LocalStack::start().await.expect("the local stack starts");
    let client = stack.client().unwrap();
    let cast = Cast::default();
    let mut out = Narrator::new(false);
    let account = story::open_account(&client, &cast, None, &mut out)
        .await
        .unwrap();
    let timings = story::run(&client, &cast, &account, &mut out)
        .await
        .unwrap_or_else(|err| {
            panic!(
                "{err}\n--- edge log (tail) ---\n{}",
                tail(&stack.edge_log(), 4000)
            )
        });
    // The policy bounds the background wait at 30 s between checks; the
    // on-demand check answers at once. Generous margins for a loaded machine.
    assert!(
        timings.background_connect < Duration::from_secs(60),
        "{timings:?}"
    );
    assert!(
        timings.on_demand_connect < Duration::from_secs(10),
        "{timings:?}"
    );
    // The root was connected with Domain Connect, not the manual fallback.
    assert!(timings.domain_connect.is_some(), "{timings:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cname_naming_another_accounts_username_is_refused() {
    let stack = LocalStack::start().await.expect("the local stack starts");
    let client = stack.client().unwrap();
    let _victim = client.create_account("demo").await.unwrap();
    let rival = client.create_account("rival").await.unwrap();
    let added = client
        .api(
            Method::POST,
            "/v1/domains",
            &rival.token,
            Some(json!({ "hostname": "promo.shop.test" })),
        )
        .await
        .unwrap()
        .expect(201, "adding promo.shop.test")
        .unwrap();
    let id = added["id"].as_str().unwrap().to_string();
    // The record names demo's host, not rival's.
    client
        .create_record("promo.shop.test", "CNAME", "demo.portico.test")
        .await
        .unwrap();
    let checked = wait::verify(&client, &rival, &id).await.unwrap();
    assert_eq!(checked["status"], "processing", "{checked}");
    let cname = check(&checked["report"], "cname").unwrap();
    assert_eq!(cname["state"], "fail", "{cname}");
    let cause = cname["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("another account") && cause.contains("demo"),
        "the diagnosis names the ownership problem: {cname}"
    );
    assert_eq!(checked["report"]["ready"], false);

    // The background checks keep it processing: wait for two more of them.
    let first_check = checked["report"]["checked_at"]
        .as_str()
        .unwrap()
        .to_string();
    let seen = std::cell::RefCell::new(vec![first_check]);
    poll(
        "two more background checks",
        Duration::from_secs(90),
        Duration::from_millis(250),
        || {
            let client = &client;
            let rival = &rival;
            let id = &id;
            let seen = &seen;
            async move {
                let domain = client
                    .api(
                        Method::GET,
                        &format!("/v1/domains/{id}"),
                        &rival.token,
                        None,
                    )
                    .await
                    .map_err(|e| e.to_string())?
                    .body;
                if domain["status"] != "processing" {
                    panic!("never connected, yet: {domain}");
                }
                let at = domain["verification"]["checked_at"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let mut seen = seen.borrow_mut();
                if !seen.contains(&at) {
                    seen.push(at);
                }
                Ok((seen.len() >= 3).then_some(()))
            }
        },
    )
    .await
    .unwrap();
    // Nothing about it reaches the edge.
    let page = client.edge_get("promo.shop.test", "/").await.unwrap();
    assert_eq!(page.status, 404);
    assert!(page.body.contains("not connected"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_connected_in_24_hours_is_reverted() {
    let mut stack = LocalStack::start().await.expect("the local stack starts");
    let client = stack.client().unwrap();
    let demo = client.create_account("demo").await.unwrap();
    let added = client
        .api(
            Method::POST,
            "/v1/domains",
            &demo.token,
            Some(json!({ "hostname": "late.shop.test" })),
        )
        .await
        .unwrap()
        .expect(201, "adding late.shop.test")
        .unwrap();
    let id = added["id"].as_str().unwrap().to_string();
    let checked = wait::verify(&client, &demo, &id).await.unwrap();
    assert_eq!(checked["status"], "processing", "{checked}");

    // A day later (plus a minute), the record was still never created.
    stack
        .restart_control_with_clock_offset(24 * 60 * 60 + 60)
        .await
        .unwrap();
    let client = stack.client().unwrap();
    let started = Instant::now();
    poll(
        "the domain reverted",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let client = &client;
            let demo = &demo;
            let id = &id;
            async move {
                let answer = client
                    .api(Method::GET, &format!("/v1/domains/{id}"), &demo.token, None)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok((answer.status == 404).then_some(()))
            }
        },
    )
    .await
    .unwrap_or_else(|err| panic!("{err}\n{}", tail(&stack.control_log(), 4000)));
    let events = client
        .api(Method::GET, "/v1/events", &demo.token, None)
        .await
        .unwrap()
        .expect(200, "events")
        .unwrap();
    let expired = &events["events"][0];
    assert_eq!(expired["kind"], "domain_expired", "{events}");
    assert!(
        expired["message"]
            .as_str()
            .unwrap_or_default()
            .contains("24 hours"),
        "{expired}"
    );
    let domains = client
        .api(Method::GET, "/v1/domains", &demo.token, None)
        .await
        .unwrap()
        .body;
    assert_eq!(domains["domains"], json!([]));
    println!("reverted {:?} after the restart", started.elapsed());
    // The platform host still works: only the domain went.
    edge_until(&client, "demo.portico.test", "/", |p| p.status == 200)
        .await
        .unwrap();
}

fn tail(text: &str, bytes: usize) -> &str {
    let start = text.len().saturating_sub(bytes);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    &text[start..]
}
