use serde_json::json;

use crate::both_stores;
use crate::helpers::{spawn_app, Db, ADMIN_TOKEN};

async fn admin_creates_accounts(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (status, account) = app
        .post("/v1/accounts", ADMIN_TOKEN, json!({ "username": "katie" }))
        .await;
    assert_eq!(status, 201, "{account}");
    assert_eq!(account["username"], "katie");
    assert_eq!(account["platform_host"], "katie.portico.test");
    let id = account["id"].as_str().unwrap();
    assert!(id.starts_with("acc_"));

    let (status, again) = app
        .post("/v1/accounts", ADMIN_TOKEN, json!({ "username": "katie" }))
        .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("username_taken"))
    );

    for (username, code) in [
        ("Katie", "username_invalid_character"),
        ("www", "username_reserved"),
        ("", "username_empty"),
    ] {
        let (status, body) = app
            .post("/v1/accounts", ADMIN_TOKEN, json!({ "username": username }))
            .await;
        assert_eq!(status, 422, "{username}: {body}");
        assert_eq!(body["error"]["code"], code);
        assert_eq!(body["error"]["field"], "username");
    }

    let (status, read) = app.get(&format!("/v1/accounts/{id}"), ADMIN_TOKEN).await;
    assert_eq!((status, &read["username"]), (200, &json!("katie")));
    let (status, missing) = app.get("/v1/accounts/acc_nope", ADMIN_TOKEN).await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    app.stop().await;
}

async fn tokens_are_checked_and_kept_apart(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (status, body) = app
        .call(
            "POST",
            "/v1/accounts",
            None,
            Some(json!({ "username": "a1" })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = app
        .post(
            "/v1/accounts",
            "not-the-admin-token",
            json!({ "username": "a1" }),
        )
        .await;
    assert_eq!(status, 401);

    let (account_id, token) = app.account("katie").await;
    // An account token cannot act as the admin, nor the admin as an account.
    let (status, body) = app
        .post("/v1/accounts", &token, json!({ "username": "other" }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = app.get("/v1/domains", ADMIN_TOKEN).await;
    assert_eq!(status, 403);

    let (status, me) = app.get("/v1/account", &token).await;
    assert_eq!(
        (status, me["id"].as_str()),
        (200, Some(account_id.as_str()))
    );

    // Tokens: the secret is shown once, stored hashed, listed without it.
    let (status, second) = app
        .post("/v1/tokens", &token, json!({ "name": "ci" }))
        .await;
    assert_eq!(status, 201, "{second}");
    let secret = second["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("ptk_") && secret.len() == 68);
    assert!(secret.starts_with(second["prefix"].as_str().unwrap()));
    let (status, list) = app.get("/v1/tokens", &token).await;
    assert_eq!(status, 200);
    let tokens = list["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|t| t.get("secret").is_none()));
    assert!(!list.to_string().contains(&secret));

    let (status, revoked) = app
        .call(
            "DELETE",
            &format!("/v1/tokens/{}", second["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    let (status, _) = app.get("/v1/account", &secret).await;
    assert_eq!(status, 401);
    let (status, _) = app
        .call("DELETE", "/v1/tokens/tok_nope", Some(&token), None)
        .await;
    assert_eq!(status, 404);
    app.stop().await;
}

both_stores!(admin_creates_accounts, tokens_are_checked_and_kept_apart);
