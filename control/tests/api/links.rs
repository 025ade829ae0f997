use serde_json::json;

use crate::both_stores;
use crate::helpers::{
    cloudflare_settings, kv_server, spawn_app, start, Db, TestDatabase, ROUTES_NS,
};

async fn pages_go_at_paths_unique_per_host(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.com").await;
    let domain_id = domain["id"].as_str().unwrap();
    let page = app.page(&token, "Offer", "<h1>Offer</h1>").await;
    let other_page = app.page(&token, "Other", "<h1>Other</h1>").await;

    let (status, on_platform) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "path": "/Offer" }),
        )
        .await;
    assert_eq!(status, 201, "{on_platform}");
    assert_eq!(on_platform["host"], "katie.portico.test");
    assert_eq!(on_platform["path"], "/offer");
    assert_eq!(on_platform["url"], "https://katie.portico.test/offer");
    assert!(on_platform["domain_id"].is_null());

    let (status, on_domain) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "domain_id": domain_id, "path": "offer" }),
        )
        .await;
    assert_eq!(status, 201, "{on_domain}");
    assert_eq!(on_domain["url"], "https://sales.example.com/offer");

    // Same path, same host: 409, whichever page.
    for (page_id, domain) in [
        (&other_page["id"], json!(domain_id)),
        (&other_page["id"], json!(null)),
    ] {
        let (status, body) = app
            .post(
                "/v1/links",
                &token,
                json!({ "page_id": page_id, "domain_id": domain, "path": "offer" }),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("path_taken")),
            "{body}"
        );
    }
    for (path, code) in [
        ("a//b", "slug_empty"),
        ("cdn-cgi", "slug_reserved"),
        ("my offer", "slug_invalid_character"),
        ("", "slug_empty"),
    ] {
        let (status, body) = app
            .post(
                "/v1/links",
                &token,
                json!({ "page_id": page["id"], "path": path }),
            )
            .await;
        assert_eq!(
            (
                status,
                body["error"]["code"].as_str(),
                body["error"]["field"].as_str()
            ),
            (422, Some(code), Some("path")),
            "{path}"
        );
    }
    let (status, _) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": "pg_nope", "path": "x" }),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "domain_id": "dom_nope", "path": "x" }),
        )
        .await;
    assert_eq!(status, 404);

    app.post(
        "/v1/links",
        &token,
        json!({ "page_id": other_page["id"], "path": "other" }),
    )
    .await;
    let (status, list) = app
        .get(
            &format!("/v1/links?page_id={}", page["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["links"].as_array().unwrap().len(), 2);
    let (_, all) = app.get("/v1/links", &token).await;
    assert_eq!(all["links"].as_array().unwrap().len(), 3);

    let link_path = format!("/v1/links/{}", on_domain["id"].as_str().unwrap());
    let (status, read) = app.get(&link_path, &token).await;
    assert_eq!((status, &read), (200, &on_domain));
    let (status, _) = app.call("DELETE", &link_path, Some(&token), None).await;
    assert_eq!(status, 204);
    let (status, _) = app.get(&link_path, &token).await;
    assert_eq!(status, 404);
    // The path is free again.
    let (status, _) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": other_page["id"], "domain_id": domain_id, "path": "offer" }),
        )
        .await;
    assert_eq!(status, 201);

    // Removing the domain removes its links.
    app.call(
        "DELETE",
        &format!("/v1/domains/{domain_id}"),
        Some(&token),
        None,
    )
    .await;
    let (_, all) = app.get("/v1/links", &token).await;
    assert_eq!(all["links"].as_array().unwrap().len(), 2);
    app.stop().await;
}

both_stores!(
    pages_go_at_paths_unique_per_host,
    a_link_changes_in_one_step
);

/// PATCH: the same link at another path, page or host; the old key is
/// unpublished as the new one is published; a taken path changes nothing.
async fn a_link_changes_in_one_step(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let kv = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&kv);
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    let offer = app.page(&token, "Offer", "<h1>Offer</h1>").await;
    let other = app.page(&token, "Other", "<h1>Other</h1>").await;
    let (_, link) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": offer["id"], "path": "offer" }),
        )
        .await;
    app.post(
        "/v1/links",
        &token,
        json!({ "page_id": other["id"], "path": "taken" }),
    )
    .await;
    let id = link["id"].as_str().unwrap();
    let path = format!("/v1/links/{id}");
    let patch = |body: serde_json::Value| {
        let (app, token, path) = (&app, &token, &path);
        async move { app.call("PATCH", path, Some(token), Some(body)).await }
    };
    app.published().await;
    assert!(kv.get(ROUTES_NS, "v1/p/katie.portico.test/offer").is_some());

    let (status, body) = patch(json!({ "path": "taken" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("path_taken")),
        "{body}"
    );
    let (status, body) = patch(json!({ "path": "a b" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("slug_invalid_character")),
        "{body}"
    );
    let (status, body) = patch(json!({ "page_id": "pg_nope" })).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = patch(json!({ "domain_id": "dom_nope" })).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = patch(json!({ "slug": "x" })).await;
    assert_eq!(status, 422, "unknown fields are refused: {body}");
    let (_, unchanged) = app.get(&path, &token).await;
    assert_eq!(
        unchanged["url"], "https://katie.portico.test/offer",
        "nothing changed"
    );

    // The same path again is no conflict with itself.
    let (status, same) = patch(json!({ "path": "offer" })).await;
    assert_eq!((status, same["id"].as_str()), (200, Some(id)), "{same}");

    let (status, moved) = patch(json!({ "path": "Sale", "page_id": other["id"] })).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["id"], link["id"], "the same link");
    assert_eq!(moved["url"], "https://katie.portico.test/sale");
    assert_eq!(moved["page_id"], other["id"]);
    app.published().await;
    assert!(kv.get(ROUTES_NS, "v1/p/katie.portico.test/offer").is_none());
    assert!(kv.get(ROUTES_NS, "v1/p/katie.portico.test/sale").is_some());

    // Onto a domain (not published until it connects) and back.
    let domain = app.domain(&token, "sales.example.com").await;
    let (status, on_domain) = patch(json!({ "domain_id": domain["id"] })).await;
    assert_eq!(status, 200, "{on_domain}");
    assert_eq!(on_domain["url"], "https://sales.example.com/sale");
    app.published().await;
    assert!(kv.get(ROUTES_NS, "v1/p/katie.portico.test/sale").is_none());
    let (status, back) = patch(json!({ "domain_id": null })).await;
    assert_eq!(
        (status, back["host"].as_str()),
        (200, Some("katie.portico.test")),
        "{back}"
    );
    let (_, all) = app.get("/v1/links", &token).await;
    assert_eq!(
        all["links"].as_array().unwrap().len(),
        2,
        "nothing created: {all}"
    );
    app.stop().await;
}
