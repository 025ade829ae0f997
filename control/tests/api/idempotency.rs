//! `Idempotency-Key` on POSTs: a retry replays the first answer and creates
//! nothing; the key on another request is a 422, while the first still
//! runs a 409; keys are per token, kept 24 h; a 5xx is not kept.

use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::{spawn_app, Db, TestApp, ADMIN_TOKEN};

struct Answer {
    status: u16,
    body: Value,
    replayed: bool,
}

async fn send(app: &TestApp, token: Option<&str>, path: &str, key: &str, body: Value) -> Answer {
    let mut request = app
        .http
        .post(app.url(path))
        .header("Idempotency-Key", key)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        replayed,
    }
}

async fn count(app: &TestApp, token: &str, list: &str) -> usize {
    let (status, page) = app.get(&format!("/v1/{list}"), token).await;
    assert_eq!(status, 200, "{page}");
    page[list].as_array().unwrap().len()
}

fn code(answer: &Answer) -> (u16, Option<&str>) {
    (answer.status, answer.body["error"]["code"].as_str())
}

async fn a_retry_replays_the_first_answer_and_creates_nothing(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = json!({ "hostname": "shop.example.com" });
    let first = send(
        &app,
        Some(&token),
        "/v1/domains",
        "add-shop",
        domain.clone(),
    )
    .await;
    assert_eq!(
        (first.status, first.replayed),
        (201, false),
        "{}",
        first.body
    );
    let again = send(
        &app,
        Some(&token),
        "/v1/domains",
        "add-shop",
        domain.clone(),
    )
    .await;
    assert_eq!(
        (again.status, again.replayed),
        (201, true),
        "{}",
        again.body
    );
    assert_eq!(again.body, first.body);
    assert_eq!(count(&app, &token, "domains").await, 1);

    // The key on another body, or another path: refused, nothing created.
    let other = json!({ "hostname": "other.example.com" });
    let reused = send(&app, Some(&token), "/v1/domains", "add-shop", other).await;
    assert_eq!(code(&reused), (422, Some("idempotency_key_reused")));
    let page = json!({ "kind": "page", "title": "Offer", "content": "<p>x</p>" });
    let reused = send(&app, Some(&token), "/v1/pages", "add-shop", page.clone()).await;
    assert_eq!(code(&reused), (422, Some("idempotency_key_reused")));
    assert_eq!(count(&app, &token, "domains").await, 1);
    assert_eq!(count(&app, &token, "pages").await, 0);

    // Keys are per token: another token's same key runs on its own.
    let (status, second) = app
        .post("/v1/tokens", &token, json!({ "name": "ci" }))
        .await;
    assert_eq!(status, 201);
    let second = second["secret"].as_str().unwrap();
    let made = send(&app, Some(second), "/v1/pages", "add-shop", page.clone()).await;
    assert_eq!((made.status, made.replayed), (201, false), "{}", made.body);
    assert_eq!(count(&app, &token, "pages").await, 1);

    // A 4xx is kept too; without a key every POST runs.
    let empty = json!({ "kind": "page", "title": "", "content": "<p>x</p>" });
    let refused = send(&app, Some(&token), "/v1/pages", "bad-page", empty.clone()).await;
    assert_eq!((refused.status, refused.replayed), (422, false));
    let again = send(&app, Some(&token), "/v1/pages", "bad-page", empty).await;
    assert_eq!((again.status, again.replayed), (422, true));
    assert_eq!(again.body, refused.body);
    app.post("/v1/pages", &token, page.clone()).await;
    app.post("/v1/pages", &token, page.clone()).await;
    assert_eq!(count(&app, &token, "pages").await, 3);

    // The admin token's POSTs too.
    let account = json!({ "username": "lena" });
    let first = send(
        &app,
        Some(ADMIN_TOKEN),
        "/v1/accounts",
        "lena",
        account.clone(),
    )
    .await;
    let again = send(&app, Some(ADMIN_TOKEN), "/v1/accounts", "lena", account).await;
    assert_eq!(
        (first.status, again.status, again.replayed),
        (201, 201, true)
    );
    assert_eq!(first.body["id"], again.body["id"]);
    app.stop().await;
}

async fn bad_keys_are_refused_and_checked_after_the_token(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let page = json!({ "kind": "page", "title": "Offer", "content": "<p>x</p>" });
    for key in ["", "two words", &"k".repeat(256)] {
        let answer = send(&app, Some(&token), "/v1/pages", key, page.clone()).await;
        assert_eq!(
            code(&answer),
            (400, Some("invalid_idempotency_key")),
            "{key:?}"
        );
    }
    let longest = "k".repeat(255);
    let answer = send(&app, Some(&token), "/v1/pages", &longest, page.clone()).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let answer = send(&app, None, "/v1/pages", "two words", page.clone()).await;
    assert_eq!(code(&answer), (401, Some("unauthorized")));
    let answer = send(&app, Some("not-a-token"), "/v1/pages", "k1", page).await;
    assert_eq!(code(&answer), (401, Some("unauthorized")));
    app.stop().await;
}

async fn token_id(app: &TestApp, token: &str) -> String {
    let (_, tokens) = app.get("/v1/tokens", token).await;
    tokens["tokens"][0]["id"].as_str().unwrap().to_string()
}

async fn sql(app: &TestApp, statement: &str) {
    sqlx::query(statement)
        .execute(app.store().pool())
        .await
        .unwrap_or_else(|err| panic!("{statement}: {err}"));
}

async fn in_flight_expired_and_failed_requests(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let me = token_id(&app, &token).await;
    let page = json!({ "kind": "page", "title": "Offer", "content": "<p>x</p>" });
    let now = app.state.clock.now_ms();

    // A request with the key still running (its claim has no answer yet).
    sql(
        &app,
        &format!(
            "INSERT INTO idempotency_keys (token_id, key, fingerprint, created_at) \
             VALUES ('{me}', 'busy', 'x', {now})"
        ),
    )
    .await;
    let busy = send(&app, Some(&token), "/v1/pages", "busy", page.clone()).await;
    assert_eq!(code(&busy), (409, Some("idempotency_key_in_use")));
    // A claim left by a crashed replica is taken over after ten minutes.
    let stale = now - 11 * 60 * 1000;
    sql(
        &app,
        &format!("UPDATE idempotency_keys SET created_at = {stale} WHERE key = 'busy'"),
    )
    .await;
    let taken = send(&app, Some(&token), "/v1/pages", "busy", page.clone()).await;
    assert_eq!(
        (taken.status, taken.replayed),
        (201, false),
        "{}",
        taken.body
    );

    // After 24 h the key is forgotten: the same request runs again.
    let first = send(&app, Some(&token), "/v1/pages", "daily", page.clone()).await;
    let day_ago = now - 24 * 3600 * 1000 - 1;
    sql(
        &app,
        &format!("UPDATE idempotency_keys SET created_at = {day_ago} WHERE key = 'daily'"),
    )
    .await;
    let later = send(&app, Some(&token), "/v1/pages", "daily", page.clone()).await;
    assert_eq!((later.status, later.replayed), (201, false));
    assert_ne!(first.body["id"], later.body["id"]);
    assert_eq!(count(&app, &token, "pages").await, 3);

    // Sent five times at once: one runs, the others wait for it (409) or
    // get its answer.
    let racer = || send(&app, Some(&token), "/v1/pages", "race", page.clone());
    let (a, b, c, d, e) = tokio::join!(racer(), racer(), racer(), racer(), racer());
    let answers = [a, b, c, d, e];
    let ran = answers
        .iter()
        .filter(|a| a.status == 201 && !a.replayed)
        .count();
    assert_eq!(ran, 1);
    for answer in &answers {
        let fine = answer.status == 201 || code(answer) == (409, Some("idempotency_key_in_use"));
        assert!(fine, "{} {}", answer.status, answer.body);
    }
    assert_eq!(count(&app, &token, "pages").await, 4);

    // A 5xx is not kept: the retry runs (and succeeds once the store is back).
    sql(
        &app,
        "ALTER TABLE page_revisions RENAME TO page_revisions_away",
    )
    .await;
    let failed = send(&app, Some(&token), "/v1/pages", "flaky", page.clone()).await;
    sql(
        &app,
        "ALTER TABLE page_revisions_away RENAME TO page_revisions",
    )
    .await;
    assert_eq!(code(&failed), (500, Some("internal")));
    let retried = send(&app, Some(&token), "/v1/pages", "flaky", page).await;
    assert_eq!(
        (retried.status, retried.replayed),
        (201, false),
        "{}",
        retried.body
    );
    assert_eq!(count(&app, &token, "pages").await, 5);
    app.stop().await;
}

both_stores!(
    a_retry_replays_the_first_answer_and_creates_nothing,
    bad_keys_are_refused_and_checked_after_the_token,
    in_flight_expired_and_failed_requests
);
