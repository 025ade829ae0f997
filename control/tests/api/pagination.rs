//! Cursor pagination on every list: walked with small pages while rows are
//! added between them, nothing repeats and nothing already there is missed;
//! bad limits and cursors are 400s.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::{spawn_app, Db, TestApp, ADMIN_TOKEN};

fn id(item: &Value) -> String {
    item["id"].as_str().unwrap().to_string()
}

/// Every item of `path` (`?limit=` pages of `items`), calling `between`
/// after each page; checks that no item comes twice.
async fn walk(
    app: &TestApp,
    token: &str,
    path: &str,
    items: &str,
    mut between: impl AsyncFnMut(),
) -> Vec<Value> {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{path}{join}limit=2&cursor={cursor}"),
            None => format!("{path}{join}limit=2"),
        };
        let (status, page) = app.get(&url, token).await;
        assert_eq!(status, 200, "{url}: {page}");
        let got = page[items].as_array().unwrap();
        assert!(got.len() <= 2, "{url}: {page}");
        seen.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        between().await;
    }
    let keys: Vec<String> = seen
        .iter()
        .map(|item| {
            item.get("id")
                .map_or_else(|| item["number"].to_string(), |_| id(item))
        })
        .collect();
    let unique: HashSet<&String> = keys.iter().collect();
    assert_eq!(
        unique.len(),
        keys.len(),
        "{path}: an item came twice: {keys:?}"
    );
    seen
}

/// `before` all came, in their order.
fn all_in_order(before: &[String], seen: &[Value]) {
    let seen: Vec<String> = seen.iter().map(id).collect();
    let kept: Vec<&String> = seen.iter().filter(|id| before.contains(id)).collect();
    assert_eq!(kept, before.iter().collect::<Vec<_>>(), "seen: {seen:?}");
}

async fn every_list_walks_without_gaps_while_rows_are_added(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let (_, other) = app.account("bob").await;
    app.domain(&other, "bob.example.net").await;
    app.page(&other, "Bob's", "<p>bob</p>").await;

    let mut domains = Vec::new();
    for n in 0..5 {
        domains.push(id(&app.domain(&token, &format!("d{n}.example.com")).await));
    }
    let mut added = 0;
    let seen = walk(&app, &token, "/v1/domains", "domains", async || {
        added += 1;
        app.domain(&token, &format!("late{added}.example.com"))
            .await;
    })
    .await;
    all_in_order(&domains, &seen);
    assert!(seen.iter().all(|d| d["hostname"] != "bob.example.net"));

    let mut pages = Vec::new();
    for n in 0..5 {
        pages.push(id(&app
            .page(&token, &format!("Page {n}"), "<p>x</p>")
            .await));
    }
    let seen = walk(&app, &token, "/v1/pages", "pages", async || {
        app.page(&token, "Late", "<p>late</p>").await;
    })
    .await;
    all_in_order(&pages, &seen);

    let mut links = Vec::new();
    let link = async |page: &str, path: String| {
        let body = json!({ "page_id": page, "path": path });
        let (status, link) = app.post("/v1/links", &token, body).await;
        assert_eq!(status, 201, "{link}");
        id(&link)
    };
    for n in 0..5 {
        links.push(link(&pages[n % 2], format!("p{n}")).await);
    }
    let mut added = 0;
    let seen = walk(&app, &token, "/v1/links", "links", async || {
        added += 1;
        link(&pages[0], format!("late{added}")).await;
    })
    .await;
    all_in_order(&links, &seen);
    // A filter pages too: page 1's links only.
    let of_page: Vec<String> = links.iter().skip(1).step_by(2).cloned().collect();
    let path = format!("/v1/links?page_id={}", pages[1]);
    let seen = walk(&app, &token, &path, "links", async || {}).await;
    assert_eq!(seen.iter().map(id).collect::<Vec<_>>(), of_page);

    let (_, first) = app.get("/v1/tokens", &token).await;
    let mut tokens = vec![id(&first["tokens"][0])];
    for n in 0..4 {
        let (status, made) = app
            .post("/v1/tokens", &token, json!({ "name": format!("t{n}") }))
            .await;
        assert_eq!(status, 201, "{made}");
        tokens.push(id(&made));
    }
    let seen = walk(&app, &token, "/v1/tokens", "tokens", async || {
        app.post("/v1/tokens", &token, json!({ "name": "late" }))
            .await;
    })
    .await;
    all_in_order(&tokens, &seen);

    let mut endpoints = Vec::new();
    for _ in 0..3 {
        let body = json!({ "url": "https://93.184.215.14/hook" });
        let (status, made) = app.post("/v1/webhooks", &token, body).await;
        assert_eq!(status, 201, "{made}");
        endpoints.push(id(&made));
    }
    let seen = walk(&app, &token, "/v1/webhooks", "endpoints", async || {
        let body = json!({ "url": "https://93.184.215.14/late" });
        app.post("/v1/webhooks", &token, body).await;
    })
    .await;
    all_in_order(&endpoints, &seen);

    // Revisions come newest first: one added meanwhile is above the walk.
    let page = format!("/v1/pages/{}", pages[0]);
    for n in 2..=5 {
        let body = json!({ "content": format!("<p>v{n}</p>") });
        let (status, _) = app.call("PATCH", &page, Some(&token), Some(body)).await;
        assert_eq!(status, 200);
    }
    let mut version = 5;
    let seen = walk(
        &app,
        &token,
        &format!("{page}/revisions"),
        "revisions",
        async || {
            version += 1;
            let body = json!({ "content": format!("<p>v{version}</p>") });
            app.call("PATCH", &page, Some(&token), Some(body)).await;
        },
    )
    .await;
    let numbers: Vec<i64> = seen.iter().map(|r| r["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, vec![5, 4, 3, 2, 1]);

    // Without parameters: everything (under the default limit), no cursor.
    let (_, all) = app.get("/v1/domains", &token).await;
    assert!(all["next_cursor"].is_null(), "{all}");
    assert!(all["domains"].as_array().unwrap().len() >= domains.len());
    app.stop().await;
}

async fn bad_limits_and_cursors_are_refused(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let page = app.page(&token, "Offer", "<p>x</p>").await;
    let body = json!({ "url": "https://93.184.215.14/hook" });
    let (_, endpoint) = app.post("/v1/webhooks", &token, body).await;
    let lists = [
        ("/v1/domains".to_string(), token.as_str()),
        ("/v1/pages".to_string(), &token),
        (format!("/v1/pages/{}/revisions", id(&page)), &token),
        ("/v1/links".to_string(), &token),
        ("/v1/links?page_id=pg_x".to_string(), &token),
        ("/v1/tokens".to_string(), &token),
        ("/v1/webhooks".to_string(), &token),
        (format!("/v1/webhooks/{}/messages", id(&endpoint)), &token),
        ("/v1/admin/publishing/parked".to_string(), ADMIN_TOKEN),
    ];
    let forged = |text: &str| URL_SAFE_NO_PAD.encode(text);
    let refusals = [
        ("limit=0".to_string(), "invalid_query"),
        ("limit=501".to_string(), "invalid_query"),
        ("limit=-1".to_string(), "invalid_query"),
        ("limit=ten".to_string(), "invalid_query"),
        ("limit=99999999999999999999".to_string(), "invalid_query"),
        ("cursor=nonsense!".to_string(), "invalid_cursor"),
        (format!("cursor={}", forged("no colon")), "invalid_cursor"),
        (format!("cursor={}", forged("1:it's")), "invalid_cursor"),
        (
            format!("cursor={}", forged("99999999999999999999:dom_x")),
            "invalid_cursor",
        ),
        (format!("cursor={}", forged("x:dom_x")), "invalid_cursor"),
    ];
    for (path, token) in &lists {
        let join = if path.contains('?') { '&' } else { '?' };
        for (query, code) in &refusals {
            let url = format!("{path}{join}{query}");
            let (status, answer) = app.get(&url, token).await;
            assert_eq!(
                (status, answer["error"]["code"].as_str()),
                (400, Some(*code)),
                "{url}: {answer}"
            );
        }
        // A well-formed cursor naming no row is a page, not an error.
        let url = format!(
            "{path}{join}limit=500&cursor={}",
            forged("9000000000000000000:zz")
        );
        let (status, answer) = app.get(&url, token).await;
        assert_eq!(status, 200, "{url}: {answer}");
        assert!(answer["next_cursor"].is_null(), "{url}: {answer}");
    }
    app.stop().await;
}

both_stores!(
    every_list_walks_without_gaps_while_rows_are_added,
    bad_limits_and_cursors_are_refused
);
