//! Tokens: a `read` or `write` scope, an optional expiry, and when each
//! was last used (written at most once a minute).

use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::{spawn_app, Db, TestApp, ADMIN_TOKEN};

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn now() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

async fn new_token(app: &TestApp, token: &str, body: Value) -> (String, Value) {
    let (status, created) = app.post("/v1/tokens", token, body).await;
    assert_eq!(status, 201, "{created}");
    (created["secret"].as_str().unwrap().to_string(), created)
}

async fn listed(app: &TestApp, token: &str, id: &Value) -> Value {
    let (status, list) = app.get("/v1/tokens", token).await;
    assert_eq!(status, 200, "{list}");
    list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| &t["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

/// Every documented operation that is not a GET and takes an account
/// token answers a `read` token 403 `insufficient_scope`, before looking
/// at anything else (ids, body); every GET works.
async fn a_read_token_only_reads(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let (read, created) = new_token(&app, &token, json!({ "scope": "read", "name": "ro" })).await;
    assert_eq!(created["scope"], "read");
    let (_, default) = new_token(&app, &token, json!({})).await;
    assert_eq!(default["scope"], "write", "write unless asked");

    let (status, doc) = app.call("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let mut refused = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let takes_account_token = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s.get("account_token").is_some()));
            if !takes_account_token {
                continue;
            }
            let concrete = path
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        "x_nope"
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let (status, body) = app
                .call(
                    &method.to_uppercase(),
                    &concrete,
                    Some(&read),
                    (method != "get").then(|| json!({})),
                )
                .await;
            if method == "get" {
                assert!(
                    status == 200 || status == 404,
                    "GET {path}: {status} {body}"
                );
            } else {
                assert_eq!(
                    (status, &body["error"]["code"]),
                    (403, &json!("insufficient_scope")),
                    "{method} {path}"
                );
                refused += 1;
            }
        }
    }
    // Tokens, domains, verify, pages, links, webhooks, the account itself…
    assert!(refused >= 15, "only {refused} writes checked");

    // A read token cannot mint a token, nor revoke one (its own either).
    let (status, _) = app
        .post("/v1/tokens", &read, json!({ "scope": "write" }))
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/tokens/{}", created["id"].as_str().unwrap()),
            Some(&read),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, me) = app.get("/v1/account", &read).await;
    assert_eq!((status, &me["username"]), (200, &json!("katie")));

    // The admin issues read tokens too; an unknown scope is refused.
    let (status, me) = app.get("/v1/account", &token).await;
    assert_eq!(status, 200);
    let account_id = me["id"].as_str().unwrap();
    let (status, issued) = app
        .post(
            &format!("/v1/accounts/{account_id}/tokens"),
            ADMIN_TOKEN,
            json!({ "scope": "read" }),
        )
        .await;
    assert_eq!((status, &issued["scope"]), (201, &json!("read")));
    for scope in [json!("admin"), json!("READ"), json!("")] {
        for (path, caller) in [
            ("/v1/tokens".to_string(), token.as_str()),
            (format!("/v1/accounts/{account_id}/tokens"), ADMIN_TOKEN),
        ] {
            let (status, body) = app.post(&path, caller, json!({ "scope": scope })).await;
            assert_eq!(status, 422, "{scope}: {body}");
            assert_eq!(body["error"]["code"], "token_scope_invalid");
            assert_eq!(body["error"]["field"], "scope");
        }
    }
    let (status, body) = app.post("/v1/tokens", &token, json!({ "scope": 1 })).await;
    assert!((400..500).contains(&status), "{status} {body}");
    app.stop().await;
}

async fn tokens_expire(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let in_an_hour = rfc3339(now() + 60 * MINUTE);
    let (expiring, created) = new_token(
        &app,
        &token,
        json!({ "expires_at": in_an_hour, "scope": "read" }),
    )
    .await;
    assert_eq!(created["expires_at"], json!(in_an_hour));
    let (_, forever) = new_token(&app, &token, json!({})).await;
    assert_eq!(forever["expires_at"], Value::Null);
    let (status, _) = app.get("/v1/account", &expiring).await;
    assert_eq!(status, 200);
    let row = listed(&app, &token, &created["id"]).await;
    assert_eq!(
        (&row["scope"], &row["expires_at"]),
        (&json!("read"), &json!(in_an_hour))
    );

    // Time passes (the store is told so).
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
        .bind(now() - 1)
        .bind(created["id"].as_str().unwrap())
        .execute(app.store().pool())
        .await
        .unwrap();
    for (method, path) in [("GET", "/v1/account"), ("POST", "/v1/tokens")] {
        let (status, body) = app.call(method, path, Some(&expiring), None).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (401, &json!("token_expired")),
            "{method} {path}"
        );
    }
    // Still listed, with its expiry, for the account to see.
    let row = listed(&app, &token, &created["id"]).await;
    assert!(row["expires_at"].is_string());

    for (expires_at, code) in [
        (json!("tomorrow"), "token_expiry_invalid"),
        (json!("2027-01-31"), "token_expiry_invalid"),
        (json!(""), "token_expiry_invalid"),
        (json!(rfc3339(now() - DAY)), "token_expiry_past"),
        (json!("1970-01-01T00:00:00Z"), "token_expiry_past"),
        (json!(rfc3339(now() + 400 * DAY)), "token_expiry_too_far"),
        (json!("9999-12-31T23:59:59Z"), "token_expiry_too_far"),
    ] {
        let (status, body) = app
            .post("/v1/tokens", &token, json!({ "expires_at": expires_at }))
            .await;
        assert_eq!(status, 422, "{expires_at}: {body}");
        assert_eq!(body["error"]["code"], code, "{expires_at}");
        assert_eq!(body["error"]["field"], "expires_at");
    }
    let (status, body) = app
        .post("/v1/tokens", &token, json!({ "expires_at": 1_900_000_000 }))
        .await;
    assert!((400..500).contains(&status), "{status} {body}");
    // A time with an offset is fine.
    let in_a_month = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap())
        + time::Duration::days(30);
    let text = in_a_month
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(text.ends_with("+02:00"), "{text}");
    let (_, offset) = new_token(&app, &token, json!({ "expires_at": text })).await;
    assert_eq!(
        offset["expires_at"],
        json!(rfc3339((in_a_month.unix_timestamp()) * 1000))
    );
    app.stop().await;
}

async fn last_used_is_recorded_at_most_once_a_minute(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let (second, created) = new_token(&app, &token, json!({ "name": "ci" })).await;
    assert_eq!(created["last_used_at"], Value::Null);
    assert_eq!(
        listed(&app, &token, &created["id"]).await["last_used_at"],
        Value::Null
    );
    let (status, _) = app.get("/v1/domains", &second).await;
    assert_eq!(status, 200);
    let first_use = listed(&app, &token, &created["id"]).await["last_used_at"].clone();
    assert!(first_use.is_string(), "{first_use}");

    let set = |at: i64| {
        let pool = app.store().pool().clone();
        let id = created["id"].as_str().unwrap().to_string();
        async move {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    // Used 10 s ago: not written again.
    let recently = now() - 10_000;
    set(recently).await;
    app.get("/v1/domains", &second).await;
    assert_eq!(
        listed(&app, &token, &created["id"]).await["last_used_at"],
        json!(rfc3339(recently))
    );
    // Used 2 minutes ago: written.
    let before = now() - 2 * MINUTE;
    set(before).await;
    app.get("/v1/domains", &second).await;
    let after = listed(&app, &token, &created["id"]).await["last_used_at"].clone();
    assert!(after.is_string());
    assert_ne!(after, json!(rfc3339(before)));
    app.stop().await;
}

both_stores!(
    a_read_token_only_reads,
    tokens_expire,
    last_used_is_recorded_at_most_once_a_minute,
);
