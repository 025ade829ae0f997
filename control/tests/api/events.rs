use crate::both_stores;
use crate::helpers::{spawn_app, Db};

async fn activity_is_listed_newest_first_with_a_cursor(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let (_, other) = app.account("bob").await;
    app.domain(&other, "bob.example.net").await;

    let first = app.domain(&token, "one.example.com").await;
    app.domain(&token, "two.example.com").await;
    let third = app.domain(&token, "three.example.com").await;
    app.connect(third["id"].as_str().unwrap()).await;
    app.call(
        "DELETE",
        &format!("/v1/domains/{}", first["id"].as_str().unwrap()),
        Some(&token),
        None,
    )
    .await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/events?limit=2&cursor={cursor}"),
            None => "/v1/events?limit=2".to_string(),
        };
        let (status, page) = app.get(&path, &token).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for event in page["events"].as_array().unwrap() {
            seen.push((
                event["kind"].as_str().unwrap().to_string(),
                event["hostname"].as_str().unwrap().to_string(),
            ));
            assert!(!event["message"].as_str().unwrap().is_empty());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let expected = [
        ("domain_removed", "one.example.com"),
        ("domain_connected", "three.example.com"),
        ("domain_added", "three.example.com"),
        ("domain_added", "two.example.com"),
        ("domain_added", "one.example.com"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, h)| (k.to_string(), h.to_string()))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);

    for bad in [
        "/v1/events?cursor=nonsense",
        "/v1/events?limit=0",
        "/v1/events?limit=x",
    ] {
        let (status, body) = app.get(bad, &token).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    app.stop().await;
}

async fn lifecycle_events_for_disconnect_and_expiry(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let stays = app.domain(&token, "stays.example.com").await;
    let expires = app.domain(&token, "late.example.com").await;
    let state = &app.state;
    let id = stays["id"].as_str().unwrap();
    app.connect(id).await;
    portico_control::lifecycle::mark_disconnected(
        &state.units,
        id,
        "its CNAME no longer points at the platform",
        state.clock.now_ms(),
    )
    .await
    .unwrap();
    portico_control::lifecycle::expire(
        &state.units,
        expires["id"].as_str().unwrap(),
        state.clock.now_ms(),
    )
    .await
    .unwrap();
    let (_, domain) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(domain["status"], "disconnected");
    let (status, _) = app
        .get(
            &format!("/v1/domains/{}", expires["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(status, 404);
    let (_, page) = app.get("/v1/events", &token).await;
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "domain_expired",
            "domain_disconnected",
            "domain_connected",
            "domain_added",
            "domain_added"
        ]
    );
    assert!(page["events"][0]["message"]
        .as_str()
        .unwrap()
        .contains("24 hours"));
    app.stop().await;
}

both_stores!(
    activity_is_listed_newest_first_with_a_cursor,
    lifecycle_events_for_disconnect_and_expiry
);
