//! An account token reaches only its own objects: every endpoint that names
//! an object answers 404 for another account's, and lists never show them.

use serde_json::json;

use crate::both_stores;
use crate::helpers::{spawn_app, Db};

async fn another_accounts_objects_answer_404(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, owner) = app.account("katie").await;
    let (_, intruder) = app.account("mallory").await;

    let domain = app.domain(&owner, "sales.example.com").await;
    let domain_id = domain["id"].as_str().unwrap();
    let page = app.page(&owner, "Secret", "<p>secret</p>").await;
    let page_id = page["id"].as_str().unwrap();
    let (_, link) = app
        .post(
            "/v1/links",
            &owner,
            json!({ "page_id": page_id, "domain_id": domain_id, "path": "x" }),
        )
        .await;
    let link_id = link["id"].as_str().unwrap();
    let (_, tokens) = app.get("/v1/tokens", &owner).await;
    let token_id = tokens["tokens"][0]["id"].as_str().unwrap();

    // Every endpoint that takes an id (in the path or the body).
    let attempts: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", format!("/v1/domains/{domain_id}"), None),
        ("DELETE", format!("/v1/domains/{domain_id}"), None),
        ("GET", format!("/v1/domains/{domain_id}/settings"), None),
        (
            "PUT",
            format!("/v1/domains/{domain_id}/settings"),
            Some(json!({})),
        ),
        ("GET", format!("/v1/pages/{page_id}"), None),
        (
            "PATCH",
            format!("/v1/pages/{page_id}"),
            Some(json!({ "content": "pwned" })),
        ),
        ("DELETE", format!("/v1/pages/{page_id}"), None),
        ("GET", format!("/v1/pages/{page_id}/revisions"), None),
        ("GET", format!("/v1/links/{link_id}"), None),
        ("DELETE", format!("/v1/links/{link_id}"), None),
        ("DELETE", format!("/v1/tokens/{token_id}"), None),
        (
            "POST",
            "/v1/links".into(),
            Some(json!({ "page_id": page_id, "path": "mine" })),
        ),
    ];
    for (method, path, body) in &attempts {
        let (status, answer) = app.call(method, path, Some(&intruder), body.clone()).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found");
        assert!(!answer.to_string().contains("katie"), "{answer}");
    }
    // The intruder's own page cannot be linked onto the owner's domain.
    let own_page = app.page(&intruder, "Mine", "<p>mine</p>").await;
    let (status, _) = app
        .post(
            "/v1/links",
            &intruder,
            json!({ "page_id": own_page["id"], "domain_id": domain_id, "path": "y" }),
        )
        .await;
    assert_eq!(status, 404);
    // Nor set as the owner's Index.
    let (status, _) = app
        .call(
            "PUT",
            &format!("/v1/domains/{domain_id}/settings"),
            Some(&owner),
            Some(json!({ "index": { "type": "page", "page_id": own_page["id"] } })),
        )
        .await;
    assert_eq!(status, 404);

    // Lists show only the caller's objects.
    for path in [
        "/v1/domains",
        "/v1/pages",
        "/v1/links",
        "/v1/tokens",
        "/v1/events",
    ] {
        let (status, list) = app.get(path, &intruder).await;
        assert_eq!(status, 200);
        let text = list.to_string();
        for secret in [domain_id, page_id, link_id, token_id, "sales.example.com"] {
            assert!(!text.contains(secret), "{path} shows {secret}: {text}");
        }
    }
    // And nothing of the owner's changed.
    let (status, still) = app.get(&format!("/v1/pages/{page_id}"), &owner).await;
    assert_eq!(
        (status, still["content"].as_str()),
        (200, Some("<p>secret</p>"))
    );
    let (status, _) = app.get(&format!("/v1/links/{link_id}"), &owner).await;
    assert_eq!(status, 200);
    let (status, _) = app.get("/v1/account", &owner).await;
    assert_eq!(status, 200);
    app.stop().await;
}

both_stores!(another_accounts_objects_answer_404);
