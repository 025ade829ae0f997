//! Deleting an account: its domains removed (KV records unpublished,
//! certificates deleted), its pages and links gone, its tokens dead, and
//! its username retired for good.

use portico_control::api::error::ApiError;
use serde_json::{json, Value};

use crate::both_stores;
use crate::certificates::{saas_server, until_gone, verify, verifying_app_with};
use crate::helpers::{spawn_app, Db, TestApp, ADMIN_TOKEN, CONTENT_NS, ROUTES_NS};
use crate::world::Scenario;

const SALES: &str = "sales.example.test";
const POINTING: &str = "sales CNAME katie.portico.test.\n";

async fn count(app: &TestApp, table: &str, account_id: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(&format!(
        "SELECT COUNT(*) FROM {table} WHERE account_id = $1"
    ))
    .bind(account_id)
    .fetch_one(app.store().pool())
    .await
    .unwrap();
    n
}

/// `DELETE /v1/accounts/{id}` with the admin token: the status.
async fn admin_delete(app: &TestApp, account_id: &str) -> u16 {
    let path = format!("/v1/accounts/{account_id}");
    app.call("DELETE", &path, Some(ADMIN_TOKEN), None).await.0
}

async fn error_code(app: &TestApp, method: &str, path: &str, token: &str) -> (u16, Value) {
    let (status, body) = app.call(method, path, Some(token), None).await;
    (status, body["error"]["code"].clone())
}

async fn the_admin_deletes_an_account_and_everything_it_published_goes(db: Db) {
    let world = Scenario::simple("example.test", POINTING).start().await;
    let saas = saas_server().await;
    let Some((app, _db, kv)) = verifying_app_with(db, &world, Some(&saas), |_| {}).await else {
        return;
    };
    let (account_id, token) = app.account("katie").await;
    let page = app.page(&token, "Offer", "<h1>Offer</h1>").await;
    let (status, link) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "path": "offer" }),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    let domain = app.domain(&token, SALES).await;
    let domain_id = domain["id"].as_str().unwrap();
    verify(&app, &token, domain_id).await;
    assert!(saas.get(SALES).is_some(), "a certificate was requested");
    app.connect(domain_id).await;
    app.published().await;
    for key in [
        "v1/h/sales.example.test",
        "v1/h/katie.portico.test",
        "v1/p/katie.portico.test/offer",
    ] {
        assert!(kv.get(ROUTES_NS, key).is_some(), "{key} published");
    }
    assert!(!kv.entries(CONTENT_NS).is_empty());

    // The admin route takes the admin token only.
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/accounts/{account_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .call(
            "DELETE",
            &format!("/v1/accounts/{account_id}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // Its tokens stop at once.
    assert_eq!(
        error_code(&app, "GET", "/v1/account", &token).await,
        (401, json!("unauthorized"))
    );
    assert_eq!(
        error_code(&app, "GET", "/v1/domains", &token).await,
        (401, json!("unauthorized"))
    );

    // Unpublished: the domain, the platform host and its link.
    app.published().await;
    let left: Vec<String> = kv
        .entries(ROUTES_NS)
        .into_keys()
        .filter(|key| key.contains("example.test") || key.contains("katie."))
        .collect();
    assert!(left.is_empty(), "still in KV: {left:?}");
    // The certificate deleted, through the same path as a domain's removal.
    until_gone(&saas, SALES).await;
    for table in ["domains", "pages", "links"] {
        assert_eq!(count(&app, table, &account_id).await, 0, "{table}");
    }

    // The tombstone: readable by the admin, no new tokens.
    let (status, tombstone) = app
        .get(&format!("/v1/accounts/{account_id}"), ADMIN_TOKEN)
        .await;
    assert_eq!(status, 200);
    assert_eq!(tombstone["username"], "katie");
    assert!(tombstone["deleted_at"].is_string(), "{tombstone}");
    let (status, body) = app
        .post(
            &format!("/v1/accounts/{account_id}/tokens"),
            ADMIN_TOKEN,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("account_deleted"))
    );

    // The username is retired: spelled the same way after normalisation too.
    for username in ["katie", " katie "] {
        let (status, body) = app
            .post("/v1/accounts", ADMIN_TOKEN, json!({ "username": username }))
            .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (409, &json!("username_retired")),
            "{username:?}: {body}"
        );
    }
    let (status, body) = app
        .post("/v1/accounts", ADMIN_TOKEN, json!({ "username": "Katie" }))
        .await;
    assert_eq!(status, 422, "never a username: {body}");

    // A CNAME still naming katie proves nothing for anyone else.
    let (_, bob) = app.account("bob").await;
    let taken_over = app.domain(&bob, SALES).await;
    let (status, report) = app
        .verify_domain(taken_over["id"].as_str().unwrap(), &bob)
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["status"], "processing", "{report}");
    app.published().await;
    assert!(kv.get(ROUTES_NS, "v1/h/sales.example.test").is_none());

    // Deleting again answers the same (and removes anything left); unknown: 404.
    assert_eq!(admin_delete(&app, &account_id).await, 204);
    assert_eq!(
        error_code(&app, "DELETE", "/v1/accounts/acc_nope", ADMIN_TOKEN).await,
        (404, json!("not_found"))
    );
    app.stop().await;
}

async fn an_account_deletes_itself_with_a_write_token_and_its_username(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (account_id, token) = app.account("katie").await;
    let (_, other) = app.account("other").await;
    app.domain(&token, SALES).await;
    app.page(&token, "Offer", "<h1>Offer</h1>").await;
    let (status, read) = app
        .post("/v1/tokens", &token, json!({ "scope": "read" }))
        .await;
    assert_eq!(status, 201, "{read}");
    let read = read["secret"].as_str().unwrap().to_string();

    assert_eq!(
        error_code(&app, "DELETE", "/v1/account?confirm=katie", &read).await,
        (403, json!("insufficient_scope"))
    );
    assert_eq!(
        error_code(&app, "DELETE", "/v1/account?confirm=katie", ADMIN_TOKEN).await,
        (403, json!("forbidden"))
    );
    for path in [
        "/v1/account",
        "/v1/account?confirm=",
        "/v1/account?confirm=other",
        "/v1/account?confirm=Katie",
    ] {
        let (status, body) = app.call("DELETE", path, Some(&token), None).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["error"]["code"], "confirmation_mismatch");
        assert_eq!(body["error"]["field"], "confirm");
    }
    assert_eq!(count(&app, "domains", &account_id).await, 1, "nothing done");

    let (status, body) = app
        .call("DELETE", "/v1/account?confirm=katie", Some(&token), None)
        .await;
    assert_eq!(status, 204, "{body}");
    for secret in [&token, &read] {
        assert_eq!(
            error_code(&app, "GET", "/v1/account", secret).await,
            (401, json!("unauthorized"))
        );
    }
    assert_eq!(
        error_code(&app, "DELETE", "/v1/account?confirm=katie", &token).await,
        (401, json!("unauthorized"))
    );
    for table in ["domains", "pages"] {
        assert_eq!(count(&app, table, &account_id).await, 0, "{table}");
    }
    let (status, body) = app
        .post("/v1/accounts", ADMIN_TOKEN, json!({ "username": "katie" }))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("username_retired"))
    );
    // A request that passed the token check just before the deletion
    // reaches its unit of work after it: refused as its next request would
    // be, before its change runs.
    let late = app
        .state
        .units
        .run_as(&account_id, &[account_id.as_str()], async |unit| {
            sqlx::query(
                "INSERT INTO pages (id, account_id, kind, title, current_revision, created_at, updated_at) \
                 VALUES ('pg_late', $1, 'page', 'Late', 1, 0, 0)",
            )
            .bind(&account_id)
            .execute(unit.conn())
            .await?;
            Ok::<_, ApiError>(())
        })
        .await;
    assert!(matches!(late, Err(ApiError::Unauthorized)), "{late:?}");
    assert_eq!(count(&app, "pages", &account_id).await, 0);
    // Something left behind all the same (a write by another path): deleting
    // again removes it.
    sqlx::query(
        "INSERT INTO pages (id, account_id, kind, title, current_revision, created_at, updated_at) \
         VALUES ('pg_left', $1, 'page', 'Left', 1, 0, 0)",
    )
    .bind(&account_id)
    .execute(app.store().pool())
    .await
    .unwrap();
    assert_eq!(admin_delete(&app, &account_id).await, 204);
    assert_eq!(count(&app, "pages", &account_id).await, 0);
    // Other accounts are untouched; the hostname is free for them.
    let (status, _) = app.get("/v1/account", &other).await;
    assert_eq!(status, 200);
    app.domain(&other, SALES).await;
    app.stop().await;
}

both_stores!(
    the_admin_deletes_an_account_and_everything_it_published_goes,
    an_account_deletes_itself_with_a_write_token_and_its_username,
);
