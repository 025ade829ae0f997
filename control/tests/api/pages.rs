use serde_json::json;
use sha2::{Digest, Sha256};

use crate::both_stores;
use crate::helpers::{spawn_app, Db};

async fn content_changes_make_revisions(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    for kind in [
        "page",
        "checkout",
        "membership",
        "video",
        "calendar",
        "helpdesk",
    ] {
        let (status, page) = app
            .post(
                "/v1/pages",
                &token,
                json!({ "kind": kind, "title": kind, "content": "<p>x</p>" }),
            )
            .await;
        assert_eq!((status, page["kind"].as_str()), (201, Some(kind)), "{page}");
    }
    let page = app.page(&token, "Offer", "<h1>v1</h1>").await;
    assert_eq!(page["revision"], 1);
    assert_eq!(page["digest"], hex::encode(Sha256::digest(b"<h1>v1</h1>")));
    let path = format!("/v1/pages/{}", page["id"].as_str().unwrap());

    let (status, updated) = app
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({ "content": "<h1>v2</h1>" })),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["revision"], 2);
    assert_eq!(updated["content"], "<h1>v2</h1>");
    // The same content again, or a title change alone, is no new revision.
    let (_, same) = app
        .call(
            "PATCH",
            &path,
            Some(&token),
            Some(json!({ "content": "<h1>v2</h1>", "title": "Spring offer" })),
        )
        .await;
    assert_eq!(
        (same["revision"].as_i64(), same["title"].as_str()),
        (Some(2), Some("Spring offer"))
    );

    let (status, revisions) = app.get(&format!("{path}/revisions"), &token).await;
    assert_eq!(status, 200);
    let numbers: Vec<i64> = revisions["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![2, 1]);

    let (status, read) = app.get(&path, &token).await;
    assert_eq!(
        (status, read["content"].as_str()),
        (200, Some("<h1>v2</h1>"))
    );
    let (_, list) = app.get("/v1/pages", &token).await;
    assert_eq!(list["pages"].as_array().unwrap().len(), 7);
    assert!(list["pages"][0].get("content").is_none());

    let (status, _) = app.call("DELETE", &path, Some(&token), None).await;
    assert_eq!(status, 204);
    let (status, _) = app.get(&path, &token).await;
    assert_eq!(status, 404);
    app.stop().await;
}

async fn page_input_is_checked(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let (status, body) = app
        .post(
            "/v1/pages",
            &token,
            json!({ "kind": "page", "title": "  ", "content": "" }),
        )
        .await;
    assert_eq!(
        (
            status,
            body["error"]["code"].as_str(),
            body["error"]["field"].as_str()
        ),
        (422, Some("title_empty"), Some("title"))
    );
    let (status, body) = app
        .post(
            "/v1/pages",
            &token,
            json!({ "kind": "page", "title": "t".repeat(201), "content": "" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("title_too_long"))
    );
    let (status, body) = app
        .post(
            "/v1/pages",
            &token,
            json!({ "kind": "blog", "title": "t", "content": "" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_body"))
    );
    let big = "x".repeat(1024 * 1024 + 1);
    let (status, body) = app
        .post(
            "/v1/pages",
            &token,
            json!({ "kind": "page", "title": "t", "content": big }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("page_too_large"))
    );
    let exactly = "x".repeat(1024 * 1024);
    let (status, _) = app
        .post(
            "/v1/pages",
            &token,
            json!({ "kind": "page", "title": "t", "content": exactly }),
        )
        .await;
    assert_eq!(status, 201);
    app.stop().await;
}

both_stores!(content_changes_make_revisions, page_input_is_checked);
