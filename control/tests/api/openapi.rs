//! The OpenAPI document parses, documents every endpoint of the issue, and
//! every documented operation is served (never the router's fallback).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{spawn_app, Db};

const EXPECTED: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/v1/accounts"),
    ("get", "/v1/accounts/{account_id}"),
    ("delete", "/v1/accounts/{account_id}"),
    ("get", "/v1/account"),
    ("delete", "/v1/account"),
    ("post", "/v1/accounts/{account_id}/tokens"),
    ("get", "/v1/tokens"),
    ("post", "/v1/tokens"),
    ("delete", "/v1/tokens/{token_id}"),
    ("get", "/v1/domains"),
    ("post", "/v1/domains"),
    ("get", "/v1/domains/{domain_id}"),
    ("delete", "/v1/domains/{domain_id}"),
    ("get", "/v1/domains/{domain_id}/settings"),
    ("put", "/v1/domains/{domain_id}/settings"),
    ("put", "/v1/domains/{domain_id}/apex"),
    ("get", "/v1/domains/{domain_id}/diagnostics"),
    ("post", "/v1/domains/{domain_id}/verify"),
    ("post", "/v1/domains/{domain_id}/domain-connect"),
    ("get", "/v1/domain-connect/return"),
    ("get", "/v1/pages"),
    ("post", "/v1/pages"),
    ("get", "/v1/pages/{page_id}"),
    ("patch", "/v1/pages/{page_id}"),
    ("delete", "/v1/pages/{page_id}"),
    ("get", "/v1/pages/{page_id}/revisions"),
    ("get", "/v1/links"),
    ("post", "/v1/links"),
    ("get", "/v1/links/{link_id}"),
    ("patch", "/v1/links/{link_id}"),
    ("delete", "/v1/links/{link_id}"),
    ("get", "/v1/products"),
    ("post", "/v1/products"),
    ("get", "/v1/products/{product_id}"),
    ("patch", "/v1/products/{product_id}"),
    ("delete", "/v1/products/{product_id}"),
    ("get", "/v1/mounts"),
    ("post", "/v1/mounts"),
    ("get", "/v1/mounts/{mount_id}"),
    ("patch", "/v1/mounts/{mount_id}"),
    ("delete", "/v1/mounts/{mount_id}"),
    ("get", "/v1/account/platform-host/settings"),
    ("put", "/v1/account/platform-host/settings"),
    ("get", "/v1/events"),
    ("post", "/v1/domains/batch"),
    ("get", "/v1/webhooks"),
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks/{endpoint_id}"),
    ("patch", "/v1/webhooks/{endpoint_id}"),
    ("delete", "/v1/webhooks/{endpoint_id}"),
    ("post", "/v1/webhooks/{endpoint_id}/rotate"),
    ("get", "/v1/webhooks/{endpoint_id}/messages"),
    (
        "post",
        "/v1/webhooks/{endpoint_id}/messages/{message_id}/redeliver",
    ),
    ("get", "/v1/admin/publishing"),
    ("get", "/v1/admin/publishing/parked"),
    ("post", "/v1/admin/publishing/parked/retry"),
    ("post", "/v1/admin/publishing/parked/{parked_id}/retry"),
];

#[tokio::test]
async fn the_document_describes_every_route() {
    let (app, _db) = spawn_app(Db::Sqlite).await.unwrap();
    let response = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string());
    // It reads back as an OpenAPI 3.1 document.
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_value(doc.clone()).expect("a valid OpenAPI document");
    assert!(!parsed.paths.paths.is_empty());

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            documented.insert((method.clone(), path.clone()));
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            // Whatever takes input (a header is refused with its own 400)
            // documents the control-character refusal.
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let takes_input = parameters.iter().any(|p| p["in"] != "header")
                || operation.get("requestBody").is_some();
            if takes_input {
                assert!(
                    operation["responses"]["422"]["description"]
                        .as_str()
                        .is_some_and(|d| d.contains("control_character")),
                    "{method} {path}: {}",
                    operation["responses"]
                );
            }
            // Every authenticated POST takes an Idempotency-Key.
            if method == "post" && operation.get("security").is_some() {
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                    "{method} {path}: no Idempotency-Key"
                );
                assert!(
                    operation["responses"]["422"]["description"]
                        .as_str()
                        .is_some_and(|d| d.contains("idempotency_key_reused")),
                    "{method} {path}"
                );
            }
            // Every $ref resolves.
            for reference in refs(operation) {
                let name = reference.trim_start_matches("#/components/schemas/");
                assert!(
                    doc["components"]["schemas"][name].is_object(),
                    "{method} {path}: {reference}"
                );
            }
            // Served: an unauthenticated call is refused or answered, never "no such endpoint".
            let url = app.url(&path.replace('{', "x").replace('}', ""));
            let response = app
                .http
                .request(method.to_uppercase().parse().unwrap(), url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            let not_routed = status == 404 && body["error"]["message"] == "no such endpoint";
            assert!(
                !not_routed && status != 405,
                "{method} {path} is documented but not served: {status} {body}"
            );
            // The DNS provider sends the customer's browser here, without a
            // token: the signed state is the credential.
            let public = ["/v1/domain-connect/return"];
            if path.starts_with("/v1/") && !public.contains(&path.as_str()) {
                assert_eq!(
                    status, 401,
                    "{method} {path} answers without a token: {body}"
                );
            }
        }
    }
    let expected: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    assert!(missing.is_empty(), "not documented: {missing:?}");
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(
        extra.is_empty(),
        "documented but not expected by this test (add them here): {extra:?}"
    );
    for scheme in ["admin_token", "account_token"] {
        assert_eq!(
            doc["components"]["securitySchemes"][scheme]["scheme"],
            "bearer"
        );
    }
    app.stop().await;
}

fn refs(value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| {
                if k == "$ref" {
                    v.as_str().map(|s| vec![s.to_string()]).unwrap_or_default()
                } else {
                    refs(v)
                }
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(refs).collect(),
        _ => Vec::new(),
    }
}
