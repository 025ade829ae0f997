//! `POST /v1/domains/batch`: one result per item, as the single add would
//! answer; nothing left of a failed item; the records grouped by zone; the
//! first checks spread over time.

use std::time::Instant;

use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::{spawn_app, Db};

async fn a_batch_answers_per_item_and_groups_records_by_zone(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, alice) = app.account("alice").await;
    let (_, bob) = app.account("bob").await;
    app.domain(&alice, "held.example.com").await;
    app.domain(&bob, "mine.example.com").await;

    let hostnames = [
        "a.example.com",
        "b.example.com",
        "A.example.com",
        "not a host",
        "held.example.com",
        "mine.example.com",
        "example.org",
        "app.localhost",
    ];
    let (status, batch) = app
        .post("/v1/domains/batch", &bob, json!({ "hostnames": hostnames }))
        .await;
    assert_eq!(status, 200, "{batch}");
    let results: Vec<(&str, &str)> = batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["hostname"].as_str().unwrap(),
                i["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(results[0], ("a.example.com", "created"));
    assert_eq!(results[1], ("b.example.com", "created"));
    assert_eq!(results[2], ("A.example.com", "duplicate"));
    assert_ne!(results[3].1, "created", "{batch}");
    assert_eq!(results[4], ("held.example.com", "hostname_taken"));
    assert_eq!(results[5], ("mine.example.com", "domain_already_added"));
    assert_eq!(results[6], ("example.org", "created"));
    assert_eq!(results[7], ("app.localhost", "domain_special_use"));
    assert_eq!(
        (batch["created"].as_u64(), batch["failed"].as_u64()),
        (Some(3), Some(5))
    );
    // A taken hostname comes with its proof, and never names the holder.
    assert_eq!(batch["items"][4]["proof"]["type"], "TXT", "{batch}");
    assert!(!batch["items"][4].to_string().contains("alice"));

    // Records by zone, for the DNS administrator.
    let zones: Vec<&str> = batch["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["zone"].as_str().unwrap())
        .collect();
    assert_eq!(zones, vec!["example.com", "example.org"]);
    let com = &batch["zones"][0];
    assert_eq!(
        com["zone_file"],
        "a.example.com. 3600 IN CNAME bob.portico.test.\nb.example.com. 3600 IN CNAME bob.portico.test.\n"
    );
    let org = &batch["zones"][1];
    assert_eq!(org["records"][0]["name"], "www.example.org");
    assert_eq!(org["root_forwards"][0]["to"], "https://www.example.org");
    let csv = batch["records_csv"].as_str().unwrap();
    assert!(csv.starts_with("zone,type,host,name,value\n"), "{csv}");
    assert!(
        csv.contains("example.com,CNAME,a,a.example.com,bob.portico.test\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4, "{csv}");

    // Nothing of the failed items exists; alice keeps hers.
    let (_, mine) = app.get("/v1/domains", &bob).await;
    let mut hosts: Vec<&str> = mine["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["hostname"].as_str().unwrap())
        .collect();
    hosts.sort();
    assert_eq!(
        hosts,
        vec![
            "a.example.com",
            "b.example.com",
            "example.org",
            "mine.example.com"
        ]
    );
    let (_, hers) = app.get("/v1/domains", &alice).await;
    assert_eq!(hers["domains"][0]["hostname"], "held.example.com");

    // The first checks are spread, not fired at once.
    let mut due: Vec<i64> = Vec::new();
    for item in batch["items"].as_array().unwrap() {
        if let Some(id) = item["domain"]["id"].as_str() {
            let (at,): (i64,) =
                sqlx::query_as("SELECT next_check_at FROM domain_checks WHERE domain_id = $1")
                    .bind(id)
                    .fetch_one(app.store().pool())
                    .await
                    .unwrap();
            due.push(at);
        }
    }
    assert!(due.windows(2).all(|w| w[1] - w[0] >= 150), "{due:?}");

    // Too few or too many.
    for hostnames in [Value::Array(vec![]), json!(vec!["x.example.com"; 1001])] {
        let (status, answer) = app
            .post("/v1/domains/batch", &bob, json!({ "hostnames": hostnames }))
            .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some("invalid_batch"))
        );
    }

    // How long a larger batch takes (printed; bounded loosely).
    let many: Vec<String> = (0..200).map(|n| format!("s{n}.many.example.net")).collect();
    let started = Instant::now();
    let (status, batch) = app
        .post("/v1/domains/batch", &bob, json!({ "hostnames": many }))
        .await;
    let took = started.elapsed();
    assert_eq!(
        (status, batch["created"].as_u64()),
        (200, Some(200)),
        "{batch}"
    );
    println!("{db:?}: a batch of 200 hostnames added in {took:?}");
    app.stop().await;
}

both_stores!(a_batch_answers_per_item_and_groups_records_by_zone);
