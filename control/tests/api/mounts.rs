//! Products, mounts and multi-segment paths: the API, and the records they
//! publish.

use portico_shared::{HostRecord, PathRecord, Target};
use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::{
    cloudflare_settings, kv_server, spawn_app, start, Db, TestDatabase, ROUTES_NS,
};

both_stores!(
    mounts_publish_origin_records_and_follow_their_product,
    bad_mounts_and_paths_are_refused_field_by_field,
    the_platform_host_has_index_and_404_settings
);

fn path_record(
    kv: &portico_tests::cloudflare_kv::KvContractServer,
    key: &str,
) -> Option<PathRecord> {
    kv.get(ROUTES_NS, key)
        .map(|value| PathRecord::decode(value.as_bytes()).expect("a valid path record"))
}

fn host_record(kv: &portico_tests::cloudflare_kv::KvContractServer, key: &str) -> HostRecord {
    let value = kv.get(ROUTES_NS, key).expect("a host record");
    HostRecord::decode(value.as_bytes()).expect("a valid host record")
}

/// The decision's target and remainder for `rest` under the record.
fn answer(record: &PathRecord, rest: &str) -> Option<(Target, String)> {
    record
        .answer(rest)
        .map(|(entry, remainder)| (entry.target.clone(), remainder.to_string()))
}

async fn mounts_publish_origin_records_and_follow_their_product(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let kv = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&kv);
    let app = start(&settings).await;
    let (account_id, token) = app.account("katie").await;
    let page = app.page(&token, "Intro", "<h1>Intro</h1>").await;

    let (status, product) = app
        .post(
            "/v1/products",
            &token,
            json!({ "kind": "membership", "name": "Gold members", "origin_path": "/memberships/42" }),
        )
        .await;
    assert_eq!(status, 201, "{product}");
    assert_eq!(product["kind"], "membership");
    let product_id = product["id"].as_str().unwrap();

    let (status, members) = app
        .post(
            "/v1/mounts",
            &token,
            json!({ "path": "/Courses/*", "target": { "type": "product", "product_id": product_id } }),
        )
        .await;
    assert_eq!(status, 201, "{members}");
    assert_eq!(members["path"], "/courses/*");
    assert_eq!(members["prefix"], true);
    assert_eq!(members["state"], "active");
    assert_eq!(members["origin_path"], "/memberships/42");
    assert_eq!(members["url"], "https://katie.portico.test/courses");
    assert_eq!(members["product"]["name"], "Gold members");
    let (status, book) = app
        .post(
            "/v1/mounts",
            &token,
            json!({ "path": "/courses/book", "target": { "type": "path", "origin_path": "/calendar/3" } }),
        )
        .await;
    assert_eq!(status, 201, "{book}");
    assert_eq!(book["prefix"], false);
    let (status, intro) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "path": "/courses/intro" }),
        )
        .await;
    assert_eq!(status, 201, "{intro}");
    assert_eq!(intro["path"], "/courses/intro");
    assert_eq!(intro["url"], "https://katie.portico.test/courses/intro");

    app.published().await;
    let key = "v1/p/katie.portico.test/courses";
    let record = path_record(&kv, key).expect("one record for the first segment");
    assert_eq!(record.entries.len(), 3, "{record:?}");
    assert_eq!(record.account.as_deref(), Some(account_id.as_str()));
    let members_id = members["id"].as_str().unwrap();
    let members_target = Target::Origin {
        path: "/memberships/42".into(),
        mount: Some(members_id.into()),
    };
    assert_eq!(
        answer(&record, "/lesson/2"),
        Some((members_target.clone(), "/lesson/2".into()))
    );
    assert!(matches!(
        answer(&record, "/intro"),
        Some((Target::Page { .. }, _))
    ));
    assert_eq!(
        answer(&record, "/book"),
        Some((
            Target::Origin {
                path: "/calendar/3".into(),
                mount: Some(book["id"].as_str().unwrap().into()),
            },
            String::new()
        ))
    );
    assert_eq!(
        host_record(&kv, "v1/h/katie.portico.test").account(),
        Some(account_id.as_str()),
        "the host record names the account"
    );

    // The product moves on the platform: its mounts follow.
    let product_path = format!("/v1/products/{product_id}");
    let (status, moved) = app
        .call(
            "PATCH",
            &product_path,
            Some(&token),
            Some(json!({ "origin_path": "/memberships/43" })),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    app.published().await;
    let record = path_record(&kv, key).unwrap();
    assert!(matches!(
        answer(&record, "/x"),
        Some((Target::Origin { path, .. }, _)) if path == "/memberships/43"
    ));

    // The product is removed: its mount stays, unpublished, and says so.
    let (status, _) = app.call("DELETE", &product_path, Some(&token), None).await;
    assert_eq!(status, 204);
    app.published().await;
    let record = path_record(&kv, key).unwrap();
    assert_eq!(record.entries.len(), 2, "{record:?}");
    assert_eq!(answer(&record, "/lesson/2"), None, "the host's 404 answers");
    let (_, read) = app.get(&format!("/v1/mounts/{members_id}"), &token).await;
    assert_eq!(read["state"], "product_missing", "{read}");
    assert!(read["product"].is_null());

    // Onto a connected domain: published under its served host.
    let domain = app.domain(&token, "sales.example.com").await;
    let (status, moved) = app
        .call(
            "PATCH",
            &format!("/v1/mounts/{}", book["id"].as_str().unwrap()),
            Some(&token),
            Some(json!({ "domain_id": domain["id"], "path": "/book/*" })),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["url"], "https://sales.example.com/book");
    app.connect(domain["id"].as_str().unwrap()).await;
    app.published().await;
    let record = path_record(&kv, "v1/p/sales.example.com/book").expect("on the domain");
    assert!(matches!(
        answer(&record, "/monday"),
        Some((Target::Origin { path, .. }, rest)) if path == "/calendar/3" && rest == "/monday"
    ));
    assert_eq!(
        host_record(&kv, "v1/h/sales.example.com").account(),
        Some(account_id.as_str())
    );
    let (_, list) = app.get("/v1/mounts", &token).await;
    assert_eq!(list["mounts"].as_array().unwrap().len(), 2, "{list}");

    // Deleting the mount unpublishes its key.
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/mounts/{}", book["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    app.published().await;
    assert!(path_record(&kv, "v1/p/sales.example.com/book").is_none());
    app.stop().await;
}

/// Status, error code and field.
type Refusal<'a> = (u16, Option<&'a str>, Option<&'a str>);

fn refusal(status: u16, body: &Value) -> Refusal<'_> {
    (
        status,
        body["error"]["code"].as_str(),
        body["error"]["field"].as_str(),
    )
}

async fn bad_mounts_and_paths_are_refused_field_by_field(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let (_, other_token) = app.account("mallory").await;
    let theirs = app.domain(&other_token, "their.example.com").await;
    let page = app.page(&token, "Offer", "<h1>Offer</h1>").await;
    let (_, product) = app
        .post(
            "/v1/products",
            &token,
            json!({ "kind": "checkout", "name": "Course", "origin_path": "/checkout/7" }),
        )
        .await;
    let (_, their_product) = app
        .post(
            "/v1/products",
            &other_token,
            json!({ "kind": "video", "name": "Film", "origin_path": "/v/1" }),
        )
        .await;
    let (status, _) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "path": "/offer" }),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .post(
            "/v1/mounts",
            &token,
            json!({ "path": "/buy/*", "target": { "type": "product", "product_id": product["id"] } }),
        )
        .await;
    assert_eq!(status, 201);

    let deep = "/a/b/c/d/e/f/g";
    let long = format!("/{}", vec!["abcdefghij"; 19].join("/"));
    let cases: Vec<(Value, Refusal)> = vec![
        (
            json!({ "path": "/x", "target": { "type": "product", "product_id": "prd_nope" } }),
            (404, Some("not_found"), None),
        ),
        (
            json!({ "path": "/x", "target": { "type": "product", "product_id": their_product["id"] } }),
            (404, Some("not_found"), None),
        ),
        (
            json!({ "path": "/x", "target": { "type": "product", "product_id": product["id"] }, "domain_id": theirs["id"] }),
            (404, Some("not_found"), None),
        ),
        (
            json!({ "path": "/offer", "target": { "type": "product", "product_id": product["id"] } }),
            (409, Some("path_taken"), None),
        ),
        (
            json!({ "path": "/Offer/*", "target": { "type": "product", "product_id": product["id"] } }),
            (409, Some("path_taken"), None),
        ),
        (
            json!({ "path": "/buy", "target": { "type": "product", "product_id": product["id"] } }),
            (409, Some("path_taken"), None),
        ),
        (
            json!({ "path": deep, "target": { "type": "product", "product_id": product["id"] } }),
            (422, Some("path_too_deep"), Some("path")),
        ),
        (
            json!({ "path": long, "target": { "type": "product", "product_id": product["id"] } }),
            (422, Some("path_too_long"), Some("path")),
        ),
        (
            json!({ "path": "/.well-known/acme-challenge/*", "target": { "type": "product", "product_id": product["id"] } }),
            (422, Some("slug_bad_edge"), Some("path")),
        ),
        (
            json!({ "path": "/cdn-cgi/*", "target": { "type": "product", "product_id": product["id"] } }),
            (422, Some("slug_reserved"), Some("path")),
        ),
        (
            json!({ "path": "/*", "target": { "type": "product", "product_id": product["id"] } }),
            (422, Some("slug_empty"), Some("path")),
        ),
        (json!({ "path": "/x" }), (422, Some("invalid_body"), None)),
        (
            json!({ "path": "/x", "target": { "type": "spaceship" } }),
            (422, Some("invalid_body"), None),
        ),
        (
            json!({ "path": "/x", "target": { "type": "path", "origin_path": "//evil.example/" } }),
            (
                422,
                Some("origin_path_not_normal"),
                Some("target.origin_path"),
            ),
        ),
        (
            json!({ "path": "/x", "target": { "type": "path", "origin_path": "https://evil.example/" } }),
            (
                422,
                Some("origin_path_not_absolute"),
                Some("target.origin_path"),
            ),
        ),
    ];
    for (body, want) in cases {
        let (status, answer) = app.post("/v1/mounts", &token, body.clone()).await;
        assert_eq!(refusal(status, &answer), want, "{body} → {answer}");
    }
    // A page path is exact, and deep paths are refused for pages too.
    for (path, want) in [
        ("/buy", (409, Some("path_taken"), None)),
        (
            "/courses/*",
            (422, Some("slug_invalid_character"), Some("path")),
        ),
        (deep, (422, Some("path_too_deep"), Some("path"))),
    ] {
        let (status, answer) = app
            .post(
                "/v1/links",
                &token,
                json!({ "page_id": page["id"], "path": path }),
            )
            .await;
        assert_eq!(refusal(status, &answer), want, "{path} → {answer}");
    }
    // Products: field-level refusals.
    for (body, want) in [
        (
            json!({ "kind": "membership", "name": " ", "origin_path": "/m" }),
            (422, Some("name_empty"), Some("name")),
        ),
        (
            json!({ "kind": "membership", "name": "M", "origin_path": "/m?x=1" }),
            (422, Some("origin_path_query"), Some("origin_path")),
        ),
    ] {
        let (status, answer) = app.post("/v1/products", &token, body.clone()).await;
        assert_eq!(refusal(status, &answer), want, "{body} → {answer}");
    }
    let (status, _) = app
        .post(
            "/v1/products",
            &token,
            json!({ "kind": "spaceship", "name": "M", "origin_path": "/m" }),
        )
        .await;
    assert_eq!(status, 422);
    // Another account's mount and product are not found.
    let (_, mine) = app.get("/v1/mounts", &token).await;
    let mount_id = mine["mounts"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .get(&format!("/v1/mounts/{mount_id}"), &other_token)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/mounts/{mount_id}"),
            Some(&other_token),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // One first segment holds at most 16 pages and mounts.
    for i in 0..15 {
        let (status, body) = app
            .post(
                "/v1/mounts",
                &token,
                json!({ "path": format!("/buy/{i}"), "target": { "type": "path", "origin_path": "/p" } }),
            )
            .await;
        assert_eq!(status, 201, "{i}: {body}");
    }
    let (status, full) = app
        .post(
            "/v1/mounts",
            &token,
            json!({ "path": "/buy/more", "target": { "type": "path", "origin_path": "/p" } }),
        )
        .await;
    assert_eq!(
        refusal(status, &full),
        (422, Some("path_segment_full"), Some("path")),
        "{full}"
    );
    // Moving one of them within the segment is not adding one.
    let (_, all) = app.get("/v1/mounts?limit=100", &token).await;
    let last = all["mounts"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, moved) = app
        .call(
            "PATCH",
            &format!("/v1/mounts/{last}"),
            Some(&token),
            Some(json!({ "path": "/buy/more" })),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    app.stop().await;
}

async fn the_platform_host_has_index_and_404_settings(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let kv = kv_server().await;
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&kv);
    let app = start(&settings).await;
    let (_, token) = app.account("katie").await;
    let home = app.page(&token, "Home", "<h1>Home</h1>").await;
    app.published().await;
    let before = host_record(&kv, "v1/h/katie.portico.test");

    let path = "/v1/account/platform-host/settings";
    let (status, current) = app.get(path, &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        current,
        json!({ "index": { "type": "default" }, "not_found": { "type": "default" } })
    );

    let (status, refused) = app
        .call(
            "PUT",
            path,
            Some(&token),
            Some(json!({ "not_found": { "type": "url", "url": "https://katie.portico.test/x" } })),
        )
        .await;
    assert_eq!(
        refusal(status, &refused),
        (422, Some("url_same_domain"), Some("not_found.url")),
        "{refused}"
    );
    let (status, _) = app
        .call(
            "PUT",
            path,
            Some(&token),
            Some(json!({ "index": { "type": "page", "page_id": "pg_nope" } })),
        )
        .await;
    assert_eq!(status, 404);

    let wanted = json!({
        "index": { "type": "page", "page_id": home["id"] },
        "not_found": { "type": "url", "url": "https://help.example.org/" },
    });
    let (status, saved) = app
        .call("PUT", path, Some(&token), Some(wanted.clone()))
        .await;
    assert_eq!((status, &saved), (200, &wanted));
    let (_, read) = app.get(path, &token).await;
    assert_eq!(read, wanted);
    app.published().await;
    let after = host_record(&kv, "v1/h/katie.portico.test");
    assert_ne!(after, before);
    let HostRecord::Site {
        index, not_found, ..
    } = after
    else {
        panic!("a site record");
    };
    assert!(matches!(index, Target::Page { .. }));
    assert_eq!(
        not_found,
        Target::External {
            url: "https://help.example.org/".into()
        }
    );
    // Back to the defaults.
    let (status, _) = app.call("PUT", path, Some(&token), Some(json!({}))).await;
    assert_eq!(status, 200);
    app.published().await;
    assert_eq!(host_record(&kv, "v1/h/katie.portico.test"), before);
    app.stop().await;
}
