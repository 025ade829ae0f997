//! Malformed requests get our error body with a 4xx, never a 500.

use serde_json::Value;

use crate::both_stores;
use crate::helpers::{spawn_app, Db, ADMIN_TOKEN};

async fn malformed_bodies_are_client_errors(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.com").await;
    let page = app.page(&token, "p", "<p>").await;
    let endpoints = [
        ("POST", "/v1/accounts".to_string(), ADMIN_TOKEN.to_string()),
        ("POST", "/v1/tokens".to_string(), token.clone()),
        ("POST", "/v1/domains".to_string(), token.clone()),
        (
            "PUT",
            format!("/v1/domains/{}/settings", domain["id"].as_str().unwrap()),
            token.clone(),
        ),
        ("POST", "/v1/pages".to_string(), token.clone()),
        (
            "PATCH",
            format!("/v1/pages/{}", page["id"].as_str().unwrap()),
            token.clone(),
        ),
        ("POST", "/v1/links".to_string(), token.clone()),
    ];
    let bodies: [(&str, &str, u16, &str); 8] = [
        ("{", "application/json", 400, "malformed_json"),
        ("not json at all", "application/json", 400, "malformed_json"),
        ("[1, 2]", "application/json", 422, "invalid_body"),
        // serde fills a struct from an array of its fields; a body is an object.
        ("[null, null, null]", "application/json", 422, "invalid_body"),
        // A misspelt field is refused, not ignored.
        ("{\"unknown_field\": 1}", "application/json", 422, "invalid_body"),
        ("{\"hostname\": 42, \"username\": 7, \"kind\": 1, \"page_id\": 1, \"index\": 5, \"title\": 9, \"name\": 3}", "application/json", 422, "invalid_body"),
        ("{}", "text/plain", 415, "unsupported_media_type"),
        ("", "application/json", 400, "malformed_json"),
    ];
    for (method, path, token) in &endpoints {
        for (body, content_type, status, code) in bodies {
            let response = app
                .http
                .request(method.parse().unwrap(), app.url(path))
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let got = response.status().as_u16();
            let json: Value = response.json().await.unwrap();
            assert_eq!(
                (got, json["error"]["code"].as_str()),
                (status, Some(code)),
                "{method} {path} {body}: {json}"
            );
            assert!(json["error"]["message"].is_string());
        }
    }
    // Over the body limit: 413 in our shape. (The server may close the
    // connection without reading the rest: use a connection of its own.)
    let huge = format!(
        "{{\"kind\":\"page\",\"title\":\"t\",\"content\":\"{}\"}}",
        "x".repeat(3 * 1024 * 1024)
    );
    let once = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = once
        .post(app.url("/v1/pages"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["error"]["code"], "body_too_large");

    // A method an endpoint does not take: 405 in the same shape.
    let (status, body) = app.call("PUT", "/v1/domains", Some(&token), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );

    // Unknown endpoints answer in the same shape.
    let (status, body) = app.get("/v1/nothing-here", &token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    app.stop().await;
}

both_stores!(malformed_bodies_are_client_errors);
