use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::both_stores;
use crate::helpers::{spawn_app, Db};

fn parse_time(value: &serde_json::Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339).unwrap()
}

async fn adding_a_domain_answers_with_the_records_to_create(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;

    let sub = app.domain(&token, "Sales.Example.com").await;
    assert_eq!(sub["kind"], "subdomain");
    assert_eq!(sub["hostname"], "sales.example.com");
    assert_eq!(sub["served_host"], "sales.example.com");
    assert_eq!(sub["root"], "example.com");
    assert_eq!(sub["status"], "processing");
    assert_eq!(
        sub["dns_records"],
        json!([{ "type": "CNAME", "host": "sales", "name": "sales.example.com", "value": "katie.portico.test" }])
    );
    assert!(sub["root_forward"].is_null());
    assert_eq!(
        sub["settings"],
        json!({ "index": { "type": "default" }, "not_found": { "type": "default" } })
    );
    let added = parse_time(&sub["added_at"]);
    let deadline = parse_time(&sub["connect_deadline"]);
    assert_eq!(deadline - added, time::Duration::hours(24));

    let root = app.domain(&token, "https://example.org/").await;
    assert_eq!(root["kind"], "root");
    assert_eq!(root["served_host"], "www.example.org");
    assert_eq!(root["dns_records"][0]["host"], "www");
    assert_eq!(
        root["root_forward"],
        json!({ "from": "http://example.org", "to": "https://www.example.org", "status": 301, "forward_path": true, "redirect_www": false })
    );

    let (status, list) = app.get("/v1/domains", &token).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![sub["id"].as_str().unwrap(), root["id"].as_str().unwrap()]
    );
    let (status, read) = app
        .get(
            &format!("/v1/domains/{}", sub["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!((status, &read), (200, &sub));
    app.stop().await;
}

async fn refuses_what_cannot_be_a_customer_domain(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    for (hostname, code) in [
        ("*.example.com", "host_wildcard"),
        ("192.168.1.1", "host_ip_literal"),
        ("co.uk", "domain_public_suffix"),
        ("katie.portico.test", "domain_platform"),
        ("exa mple.com", "host_invalid_character"),
    ] {
        let (status, body) = app
            .post("/v1/domains", &token, json!({ "hostname": hostname }))
            .await;
        assert_eq!(status, 422, "{hostname}: {body}");
        assert_eq!(body["error"]["code"], code, "{hostname}");
        assert_eq!(body["error"]["field"], "hostname");
    }
    app.stop().await;
}

async fn a_hostname_belongs_to_one_account_at_a_time(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, katie) = app.account("katie").await;
    let (_, other) = app.account("bob").await;
    let domain = app.domain(&katie, "example.com").await;

    let (status, body) = app
        .post(
            "/v1/domains",
            &katie,
            json!({ "hostname": "www.example.com" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("domain_already_added"))
    );

    for hostname in ["example.com", "www.example.com"] {
        let (status, body) = app
            .post("/v1/domains", &other, json!({ "hostname": hostname }))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("hostname_taken")),
            "{body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("another account"), "{message}");
        assert!(
            !message.contains("katie") && !message.contains(domain["id"].as_str().unwrap()),
            "{message}"
        );
    }
    // A subdomain of the same root is another hostname.
    app.domain(&other, "shop.example.com").await;

    // Once removed, the hostname is free again.
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/domains/{}", domain["id"].as_str().unwrap()),
            Some(&katie),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .get(
            &format!("/v1/domains/{}", domain["id"].as_str().unwrap()),
            &katie,
        )
        .await;
    assert_eq!(status, 404);
    app.domain(&other, "example.com").await;
    app.stop().await;
}

async fn settings_take_pages_or_urls_on_other_domains(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "example.com").await;
    let id = domain["id"].as_str().unwrap();
    let page = app.page(&token, "Home", "<h1>Home</h1>").await;
    let path = format!("/v1/domains/{id}/settings");

    let wanted = json!({
        "index": { "type": "page", "page_id": page["id"] },
        "not_found": { "type": "url", "url": "https://other.org/missing" },
    });
    let (status, saved) = app
        .call("PUT", &path, Some(&token), Some(wanted.clone()))
        .await;
    assert_eq!((status, &saved), (200, &wanted));
    let (status, read) = app.get(&path, &token).await;
    assert_eq!((status, &read), (200, &wanted));

    // A URL on the domain itself would loop: refused with shared's rule.
    for url in ["https://www.example.com/x", "http://EXAMPLE.com/"] {
        let (status, body) = app
            .call(
                "PUT",
                &path,
                Some(&token),
                Some(json!({ "not_found": { "type": "url", "url": url } })),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "url_same_domain");
        assert_eq!(body["error"]["field"], "not_found.url");
    }
    let (status, body) = app
        .call(
            "PUT",
            &path,
            Some(&token),
            Some(json!({ "index": { "type": "url", "url": "ftp://other.org/" } })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("url_scheme"))
    );
    let (status, _) = app
        .call(
            "PUT",
            &path,
            Some(&token),
            Some(json!({ "index": { "type": "page", "page_id": "pg_nope" } })),
        )
        .await;
    assert_eq!(status, 404);

    // Absent targets fall back to the platform default.
    let (status, cleared) = app.call("PUT", &path, Some(&token), Some(json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(
        cleared,
        json!({ "index": { "type": "default" }, "not_found": { "type": "default" } })
    );

    // Deleting a page that is the Index (and linked) resets the Index and drops the link.
    let (status, _) = app
        .call(
            "PUT",
            &path,
            Some(&token),
            Some(json!({ "index": { "type": "page", "page_id": page["id"] } })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            "/v1/links",
            &token,
            json!({ "page_id": page["id"], "domain_id": id, "path": "home" }),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/v1/pages/{}", page["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, after) = app.get(&path, &token).await;
    assert_eq!(after["index"], json!({ "type": "default" }));
    let (_, links) = app.get("/v1/links", &token).await;
    assert_eq!(links["links"], json!([]));
    app.stop().await;
}

both_stores!(
    adding_a_domain_answers_with_the_records_to_create,
    refuses_what_cannot_be_a_customer_domain,
    a_hostname_belongs_to_one_account_at_a_time,
    settings_take_pages_or_urls_on_other_domains,
);

async fn two_accounts_racing_for_a_hostname_one_wins(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let mut tokens = Vec::new();
    for name in ["racer1", "racer2", "racer3", "racer4"] {
        tokens.push(app.account(name).await.1);
    }
    let attempts = tokens.iter().map(|token| {
        app.post(
            "/v1/domains",
            token,
            json!({ "hostname": "race.example.com" }),
        )
    });
    let results = futures_join(attempts).await;
    let created = results.iter().filter(|(status, _)| *status == 201).count();
    let refused = results
        .iter()
        .filter(|(status, body)| *status == 409 && body["error"]["code"] == "hostname_taken")
        .count();
    assert_eq!((created, refused), (1, 3), "{results:?}");
    app.stop().await;
}

/// Runs the futures concurrently on the runtime.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

both_stores!(two_accounts_racing_for_a_hostname_one_wins);
