//! Hostile input: NUL and other control characters in every text field,
//! path parameter and query parameter are 422 `control_character` (never a
//! 500 from PostgreSQL, never stored by SQLite); special-use names are
//! never customers' domains, `.test` only where the operator allows it.

use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::{spawn_app, start, Db, TestApp, TestDatabase, ADMIN_TOKEN};

/// NUL, escape, DEL and a C1 control: each refused everywhere.
const BAD: [&str; 4] = ["\u{0}", "\u{1b}", "\u{7f}", "\u{85}"];
/// The same, percent-encoded for a URL.
const BAD_IN_URL: [&str; 4] = ["%00", "%1B", "%7F", "%C2%85"];

fn assert_refused(status: u16, body: &Value, field: &str, what: &str) {
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("control_character")),
        "{what}: {body}"
    );
    assert_eq!(body["error"]["field"], field, "{what}: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("U+"));
}

/// Every body field the API takes, with `bad` put in the one named.
fn bodies(bad: &str, page_id: &str) -> Vec<(&'static str, &'static str, bool, Value)> {
    let page =
        |title: &str, content: &str| json!({ "kind": "page", "title": title, "content": content });
    vec![
        // (method, endpoint, admin, body) — the field is named by the test below.
        (
            "POST",
            "/v1/accounts",
            true,
            json!({ "username": format!("ka{bad}tie") }),
        ),
        (
            "POST",
            "/v1/tokens",
            false,
            json!({ "name": format!("ci{bad}") }),
        ),
        (
            "POST",
            "/v1/domains",
            false,
            json!({ "hostname": format!("sales{bad}.example.com") }),
        ),
        (
            "POST",
            "/v1/pages",
            false,
            page(&format!("Spring{bad}"), "<p>ok</p>"),
        ),
        (
            "POST",
            "/v1/pages",
            false,
            page("Spring", &format!("<p>{bad}</p>")),
        ),
        (
            "POST",
            "/v1/links",
            false,
            json!({ "page_id": format!("{page_id}{bad}"), "path": "/offer" }),
        ),
        (
            "POST",
            "/v1/links",
            false,
            json!({ "page_id": page_id, "domain_id": format!("dm{bad}"), "path": "/offer" }),
        ),
        (
            "POST",
            "/v1/links",
            false,
            json!({ "page_id": page_id, "path": format!("/off{bad}er") }),
        ),
    ]
}

const BODY_FIELDS: [&str; 8] = [
    "username",
    "name",
    "hostname",
    "title",
    "content",
    "page_id",
    "domain_id",
    "path",
];

async fn control_characters_are_refused_everywhere(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (account_id, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.com").await;
    let domain_id = domain["id"].as_str().unwrap().to_string();
    let page = app.page(&token, "Spring", "<p>\n\tkept\r\n</p>").await;
    let page_id = page["id"].as_str().unwrap().to_string();
    let (status, link) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page_id, "path": "/offer" }),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    let link_id = link["id"].as_str().unwrap().to_string();
    let (_, tokens) = app.get("/v1/tokens", &token).await;
    let token_id = tokens["tokens"][0]["id"].as_str().unwrap().to_string();

    for bad in BAD {
        // Body fields.
        for ((method, endpoint, admin, body), field) in
            bodies(bad, &page_id).into_iter().zip(BODY_FIELDS)
        {
            let auth = if admin { ADMIN_TOKEN } else { token.as_str() };
            let (status, answer) = app.call(method, endpoint, Some(auth), Some(body)).await;
            assert_refused(
                status,
                &answer,
                field,
                &format!("{method} {endpoint} {field} {bad:?}"),
            );
        }
        let (status, answer) = app
            .post(
                &format!("/v1/accounts/{account_id}/tokens"),
                ADMIN_TOKEN,
                json!({ "name": format!("a{bad}") }),
            )
            .await;
        assert_refused(status, &answer, "name", "admin token name");
        for (body, field) in [
            (json!({ "title": format!("t{bad}") }), "title"),
            (json!({ "content": format!("{bad}") }), "content"),
        ] {
            let (status, answer) = app
                .call(
                    "PATCH",
                    &format!("/v1/pages/{page_id}"),
                    Some(&token),
                    Some(body),
                )
                .await;
            assert_refused(status, &answer, field, "PATCH page");
        }
        for (setting, field) in [
            (
                json!({ "type": "url", "url": format!("https://example.org/{bad}") }),
                "index.url",
            ),
            (
                json!({ "type": "page", "page_id": format!("{page_id}{bad}") }),
                "index.page_id",
            ),
        ] {
            let body = json!({ "index": setting, "not_found": { "type": "default" } });
            let (status, answer) = app
                .call(
                    "PUT",
                    &format!("/v1/domains/{domain_id}/settings"),
                    Some(&token),
                    Some(body),
                )
                .await;
            assert_refused(status, &answer, field, "PUT settings");
        }
    }

    // A line break is not a title's, but HTML keeps it.
    let (status, answer) = app
        .post(
            "/v1/pages",
            &token,
            json!({ "kind": "page", "title": "a\nb", "content": "<p>" }),
        )
        .await;
    assert_refused(status, &answer, "title", "line break in a title");

    // Path parameters, on every route that has one.
    for bad in BAD_IN_URL {
        let settings =
            json!({ "index": { "type": "default" }, "not_found": { "type": "default" } });
        let admin_routes = [
            (
                "GET",
                format!("/v1/accounts/{account_id}{bad}"),
                "account_id",
                None,
            ),
            (
                "POST",
                format!("/v1/accounts/a{bad}b/tokens"),
                "account_id",
                Some(json!({ "name": "x" })),
            ),
            (
                "POST",
                format!("/v1/admin/publishing/parked/1{bad}/retry"),
                "parked_id",
                None,
            ),
        ];
        let account_routes = [
            (
                "GET",
                format!("/v1/domains/{domain_id}{bad}"),
                "domain_id",
                None,
            ),
            ("DELETE", format!("/v1/domains/{bad}"), "domain_id", None),
            (
                "GET",
                format!("/v1/domains/{bad}{domain_id}/settings"),
                "domain_id",
                None,
            ),
            (
                "PUT",
                format!("/v1/domains/{domain_id}{bad}/settings"),
                "domain_id",
                Some(settings),
            ),
            (
                "GET",
                format!("/v1/domains/{domain_id}{bad}/diagnostics"),
                "domain_id",
                None,
            ),
            (
                "POST",
                format!("/v1/domains/{domain_id}{bad}/verify"),
                "domain_id",
                None,
            ),
            ("GET", format!("/v1/pages/{page_id}{bad}"), "page_id", None),
            (
                "PATCH",
                format!("/v1/pages/{page_id}{bad}"),
                "page_id",
                Some(json!({ "title": "t" })),
            ),
            (
                "DELETE",
                format!("/v1/pages/{page_id}{bad}"),
                "page_id",
                None,
            ),
            (
                "GET",
                format!("/v1/pages/{page_id}{bad}/revisions"),
                "page_id",
                None,
            ),
            ("GET", format!("/v1/links/{link_id}{bad}"), "link_id", None),
            (
                "DELETE",
                format!("/v1/links/{link_id}{bad}"),
                "link_id",
                None,
            ),
            (
                "DELETE",
                format!("/v1/tokens/{token_id}{bad}"),
                "token_id",
                None,
            ),
            // Query parameters.
            ("GET", format!("/v1/events?cursor=x{bad}"), "cursor", None),
            (
                "GET",
                format!("/v1/links?page_id={page_id}{bad}"),
                "page_id",
                None,
            ),
        ];
        let routes = admin_routes
            .into_iter()
            .map(|r| (ADMIN_TOKEN, r))
            .chain(account_routes.into_iter().map(|r| (token.as_str(), r)));
        for (auth, (method, path, field, body)) in routes {
            let (status, answer) = app.call(method, &path, Some(auth), body).await;
            assert_refused(status, &answer, field, &format!("{method} {path}"));
        }
        let (status, answer) = app
            .get(
                &format!("/v1/admin/publishing/parked?limit=1{bad}"),
                ADMIN_TOKEN,
            )
            .await;
        assert_refused(status, &answer, "limit", "parked limit");
    }

    // Nothing was stored or changed by any of them.
    nothing_changed(&app, &token, &page_id).await;
    app.stop().await;
}

async fn nothing_changed(app: &TestApp, token: &str, page_id: &str) {
    let (_, domains) = app.get("/v1/domains", token).await;
    assert_eq!(domains["domains"].as_array().unwrap().len(), 1, "{domains}");
    let (_, pages) = app.get("/v1/pages", token).await;
    assert_eq!(pages["pages"].as_array().unwrap().len(), 1, "{pages}");
    let (_, page) = app.get(&format!("/v1/pages/{page_id}"), token).await;
    assert_eq!(page["title"], "Spring");
    assert_eq!(page["content"], "<p>\n\tkept\r\n</p>");
    let (_, links) = app.get("/v1/links", token).await;
    assert_eq!(links["links"].as_array().unwrap().len(), 1, "{links}");
    let (_, tokens) = app.get("/v1/tokens", token).await;
    assert_eq!(tokens["tokens"].as_array().unwrap().len(), 1, "{tokens}");
}

const SPECIAL_USE: [&str; 12] = [
    "app.localhost",
    "printer.local",
    "x.internal",
    "nothing.invalid",
    "shop.example",
    "name.alt",
    "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
    "router.home.arpa",
    "1.0.0.127.in-addr.arpa",
    "nas.home",
    "intranet.corp",
    "www.app.localhost",
];

async fn special_use_names_are_never_customers_domains(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    // As in production: `.test` refused too.
    let mut settings = database.settings();
    settings.allow_test_domains = false;
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    for hostname in SPECIAL_USE.iter().chain(&["shop.test", "sales.shop.test"]) {
        let (status, answer) = app
            .post("/v1/domains", &token, json!({ "hostname": hostname }))
            .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some("domain_special_use")),
            "{hostname}: {answer}"
        );
        assert_eq!(answer["error"]["field"], "hostname");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("reserved"),
            "{answer}"
        );
    }
    app.domain(&token, "sales.example.com").await;
    let (_, domains) = app.get("/v1/domains", &token).await;
    assert_eq!(domains["domains"].as_array().unwrap().len(), 1);
    app.stop().await;

    // The local stack's setting lets `.test` through, and nothing else.
    let app = start(&database.settings()).await;
    let (_, token) = app.account("bob").await;
    app.domain(&token, "shop.test").await;
    for hostname in SPECIAL_USE {
        let (status, answer) = app
            .post("/v1/domains", &token, json!({ "hostname": hostname }))
            .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some("domain_special_use")),
            "{hostname}: {answer}"
        );
    }
    app.stop().await;
}

both_stores!(
    control_characters_are_refused_everywhere,
    special_use_names_are_never_customers_domains
);

/// The last line of defence: PostgreSQL's refusal of a NUL in text (SQLSTATE
/// 22021) is the caller's 422, never a 500, should a check above ever miss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refusing_a_nul_is_a_client_error() {
    let Some((app, _db)) = spawn_app(Db::Postgres).await else {
        return;
    };
    let Err(err) = sqlx::query("SELECT CAST($1 AS TEXT)")
        .bind("a\0b")
        .fetch_one(app.store().pool())
        .await
    else {
        panic!("PostgreSQL took a NUL in text");
    };
    let api: portico_control::api::ApiError = err.into();
    assert_eq!(
        (api.status().as_u16(), api.code()),
        (422, "control_character")
    );
    app.stop().await;
}
