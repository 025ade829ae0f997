//! Per-account quotas (quota.rs): each refusal is 403 `quota_exceeded`
//! naming the quota and its limit, with nothing created; the batch answers
//! per item; concurrent adds at the limit cannot both pass; a page keeps
//! its newest revisions. On SQLite and PostgreSQL.

use portico_control::quota::Quotas;
use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::*;

async fn app_with(db: Db, quotas: Quotas) -> Option<(TestApp, TestDatabase)> {
    let database = TestDatabase::new(db).await?;
    let mut settings = database.settings();
    settings.quotas = quotas;
    Some((start(&settings).await, database))
}

fn small() -> Quotas {
    Quotas {
        domains: 2,
        pages: 2,
        links: 1,
        page_bytes: 100,
        revisions_kept: 3,
        webhook_endpoints: 1,
        products: 1,
        mounts: 1,
    }
}

fn assert_quota(status: u16, body: &Value, quota: &str, limit: u64) {
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded", "{body}");
    assert_eq!(body["error"]["quota"], quota, "{body}");
    assert_eq!(body["error"]["limit"], limit, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("at most {limit}")),
        "{body}"
    );
}

fn count(list: &Value, key: &str) -> usize {
    list[key].as_array().unwrap().len()
}

fn page(title: &str, content: &str) -> Value {
    json!({ "kind": "page", "title": title, "content": content })
}

async fn domains_pages_and_links_stop_at_their_quotas(db: Db) {
    let Some((app, _database)) = app_with(db, small()).await else {
        return;
    };
    let (_, token) = app.account("grace").await;
    let first = app.domain(&token, "a.example.com").await;
    app.domain(&token, "b.example.com").await;
    let (status, body) = app
        .post(
            "/v1/domains",
            &token,
            json!({ "hostname": "c.example.com" }),
        )
        .await;
    assert_quota(status, &body, "domains", 2);
    let (_, list) = app.get("/v1/domains", &token).await;
    assert_eq!(count(&list, "domains"), 2);

    let one = app.page(&token, "One", "<p>1</p>").await;
    app.page(&token, "Two", "<p>2</p>").await;
    let (status, body) = app
        .post("/v1/pages", &token, page("Three", "<p>3</p>"))
        .await;
    assert_quota(status, &body, "pages", 2);
    let (_, list) = app.get("/v1/pages", &token).await;
    assert_eq!(count(&list, "pages"), 2);

    let link = |path: &str| json!({ "page_id": one["id"], "domain_id": first["id"], "path": path });
    let (status, body) = app.post("/v1/links", &token, link("/offer")).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app.post("/v1/links", &token, link("/other")).await;
    assert_quota(status, &body, "links", 1);
    let (_, list) = app.get("/v1/links", &token).await;
    assert_eq!(count(&list, "links"), 1);

    let (status, body) = app
        .post(
            "/v1/webhooks",
            &token,
            json!({ "url": "https://93.184.215.14/a" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            "/v1/webhooks",
            &token,
            json!({ "url": "https://93.184.215.14/b" }),
        )
        .await;
    assert_quota(status, &body, "webhook_endpoints", 1);

    let product = |name: &str| json!({ "kind": "video", "name": name, "origin_path": "/v/1" });
    let (status, made) = app.post("/v1/products", &token, product("A")).await;
    assert_eq!(status, 201, "{made}");
    let (status, body) = app.post("/v1/products", &token, product("B")).await;
    assert_quota(status, &body, "products", 1);
    let mount = |path: &str| json!({ "path": path, "target": { "type": "product", "product_id": made["id"] } });
    let (status, body) = app.post("/v1/mounts", &token, mount("/watch/*")).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app.post("/v1/mounts", &token, mount("/film")).await;
    assert_quota(status, &body, "mounts", 1);
    let (_, me) = app.get("/v1/account", &token).await;
    let usage = |quota: &str| {
        me["quotas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["quota"] == quota)
            .cloned()
            .unwrap_or_else(|| panic!("no {quota} in {me}"))
    };
    assert_eq!(
        usage("domains"),
        json!({ "quota": "domains", "used": 2, "limit": 2 })
    );
    assert_eq!(usage("links")["used"], 1);
    assert_eq!(usage("mounts")["used"], 1);
    assert_eq!(usage("products")["used"], 1);
    assert_eq!(usage("page_bytes")["used"], 16);
    // Another account has quotas of its own.
    let (_, other) = app.account("heidi").await;
    app.domain(&other, "c.example.com").await;
    app.stop().await;
}

async fn page_bytes_count_current_content(db: Db) {
    let Some((app, _database)) = app_with(db, small()).await else {
        return;
    };
    let (_, token) = app.account("ivan").await;
    let big = app.page(&token, "Big", &"x".repeat(90)).await;
    let (status, body) = app
        .post("/v1/pages", &token, page("More", &"y".repeat(20)))
        .await;
    assert_quota(status, &body, "page_bytes", 100);
    // Growing a page past the quota is refused and changes nothing.
    let path = format!("/v1/pages/{}", big["id"].as_str().unwrap());
    let (status, body) = app
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({ "content": "z".repeat(101) })),
        )
        .await;
    assert_quota(status, &body, "page_bytes", 100);
    let (_, current) = app.get(&path, &token).await;
    assert_eq!(current["content"], "x".repeat(90));
    // Shrinking is always allowed, and frees room.
    let (status, _) = app
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({ "content": "small" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post("/v1/pages", &token, page("More", &"y".repeat(20)))
        .await;
    assert_eq!(status, 201, "{body}");
    app.stop().await;
}

async fn a_batch_answers_quota_exceeded_per_item(db: Db) {
    let Some((app, _database)) = app_with(db, small()).await else {
        return;
    };
    let (_, token) = app.account("judy").await;
    app.domain(&token, "a.example.com").await;
    let hostnames = ["b.example.com", "c.example.com", "d.example.com"];
    let (status, batch) = app
        .post(
            "/v1/domains/batch",
            &token,
            json!({ "hostnames": hostnames }),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    let results: Vec<&str> = batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["created", "quota_exceeded", "quota_exceeded"]);
    assert!(batch["items"][1]["message"]
        .as_str()
        .unwrap()
        .contains("at most 2 domains"));
    let (_, list) = app.get("/v1/domains", &token).await;
    assert_eq!(count(&list, "domains"), 2);
    app.stop().await;
}

async fn concurrent_adds_at_the_limit_cannot_both_pass(db: Db) {
    let Some((app, _database)) = app_with(db, small()).await else {
        return;
    };
    let (_, token) = app.account("ken").await;
    let mut calls = Vec::new();
    for n in 0..6 {
        let request = app
            .http
            .post(app.url("/v1/domains"))
            .bearer_auth(&token)
            .json(&json!({ "hostname": format!("s{n}.example.com") }))
            .send();
        calls.push(tokio::spawn(async move {
            request.await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 403, 403, 403, 403]);
    let (_, list) = app.get("/v1/domains", &token).await;
    assert_eq!(count(&list, "domains"), 2);
    app.stop().await;
}

async fn a_page_keeps_its_newest_revisions(db: Db) {
    let Some((app, _database)) = app_with(db, small()).await else {
        return;
    };
    let (_, token) = app.account("liam").await;
    let page = app.page(&token, "Offer", "<p>1</p>").await;
    let path = format!("/v1/pages/{}", page["id"].as_str().unwrap());
    for n in 2..=6 {
        let (status, body) = app
            .call(
                "PATCH",
                &path,
                Some(&token),
                Some(json!({ "content": format!("<p>{n}</p>") })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, revisions) = app.get(&format!("{path}/revisions"), &token).await;
    let numbers: Vec<i64> = revisions["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [6, 5, 4]);
    let (_, current) = app.get(&path, &token).await;
    assert_eq!(current["content"], "<p>6</p>");
    app.stop().await;
}

both_stores!(
    domains_pages_and_links_stop_at_their_quotas,
    page_bytes_count_current_content,
    a_batch_answers_quota_exceeded_per_item,
    concurrent_adds_at_the_limit_cannot_both_pass,
    a_page_keeps_its_newest_revisions,
);
