use serde_json::json;

use crate::both_stores;
use crate::helpers::{spawn_app, Db};

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
        ("a/b", "slug_nested"),
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

both_stores!(pages_go_at_paths_unique_per_host);
