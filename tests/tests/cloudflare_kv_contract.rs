//! The Workers KV contract test server enforces the documented rules: what a
//! client that passes against it must send.

use portico_tests::cloudflare_kv::{Fault, KvContractConfig, KvContractServer, MAX_PAIRS};
use portico_tests::Result;
use serde_json::{json, Value};

struct Client {
    http: reqwest::Client,
    server: KvContractServer,
}

impl Client {
    async fn start() -> Result<Client> {
        Ok(Client {
            http: reqwest::Client::builder().no_proxy().build()?,
            server: KvContractServer::start(KvContractConfig::default()).await?,
        })
    }

    fn namespace_url(&self, namespace: &str) -> String {
        let account = &self.server.config().account_id;
        format!(
            "{}/accounts/{account}/storage/kv/namespaces/{namespace}",
            self.server.api_url()
        )
    }

    async fn send(
        &self,
        method: &str,
        url: String,
        token: &str,
        body: String,
    ) -> Result<(u16, Value, Option<String>)> {
        let response = self
            .http
            .request(method.parse().unwrap(), url)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let body: Value = serde_json::from_str(&response.text().await?)?;
        Ok((status, body, retry_after))
    }

    async fn put(&self, namespace: &str, body: Value) -> Result<(u16, Value, Option<String>)> {
        let token = self.server.config().api_token.clone();
        self.send(
            "PUT",
            format!("{}/bulk", self.namespace_url(namespace)),
            &token,
            body.to_string(),
        )
        .await
    }
}

const ROUTES: &str = "routes-namespace-id";

#[tokio::test]
async fn writes_and_deletes_in_bulk_in_cloudflares_envelope() -> Result<()> {
    let client = Client::start().await?;
    let (status, body, _) = client
        .put(
            ROUTES,
            json!([{ "key": "a", "value": "1" }, { "key": "b", "value": "aGk=", "base64": true }]),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["messages"], json!([]));
    assert_eq!(
        body["result"],
        json!({ "successful_key_count": 2, "unsuccessful_keys": [] })
    );
    assert_eq!(client.server.get(ROUTES, "a").as_deref(), Some("1"));
    assert_eq!(client.server.get(ROUTES, "b").as_deref(), Some("hi"));

    let token = client.server.config().api_token.clone();
    let url = format!("{}/bulk/delete", client.namespace_url(ROUTES));
    let (status, body, _) = client
        .send("POST", url, &token, json!(["a"]).to_string())
        .await?;
    assert_eq!((status, body["success"].as_bool()), (200, Some(true)));
    assert!(client.server.get(ROUTES, "a").is_none());

    // The local edge's copy of the endpoints, with its own token.
    let local = format!("{}/__portico/kv/ROUTES/bulk", client.server.edge_url());
    let local_token = client.server.config().local_token.clone();
    let (status, _, _) = client
        .send(
            "PUT",
            local.clone(),
            &local_token,
            json!([{ "key": "c", "value": "3" }]).to_string(),
        )
        .await?;
    assert_eq!(status, 200);
    assert_eq!(client.server.get(ROUTES, "c").as_deref(), Some("3"));
    let (status, _, _) = client
        .send(
            "PUT",
            local,
            &token,
            json!([{ "key": "c", "value": "3" }]).to_string(),
        )
        .await?;
    assert_eq!(status, 401);
    Ok(())
}

#[tokio::test]
async fn refuses_what_the_api_refuses() -> Result<()> {
    let client = Client::start().await?;
    let many: Vec<Value> = (0..=MAX_PAIRS)
        .map(|i| json!({ "key": format!("k{i}"), "value": "v" }))
        .collect();
    let long_key = "k".repeat(513);
    let cases = [
        (json!({ "key": "a", "value": "1" }), "not an array"),
        (json!([{ "key": "a" }]), "no value"),
        (json!([{ "key": "", "value": "1" }]), "empty key"),
        (
            json!([{ "key": long_key, "value": "1" }]),
            "key over 512 bytes",
        ),
        (json!([{ "key": "..", "value": "1" }]), "`..`"),
        (
            json!([{ "key": "a", "value": "!!", "base64": true }]),
            "bad base64",
        ),
        (
            json!([{ "key": "a", "value": "1", "expiration_ttl": 30 }]),
            "ttl under 60",
        ),
        (Value::Array(many), "over 10,000 pairs"),
    ];
    for (body, why) in cases {
        let (status, answer, _) = client.put(ROUTES, body).await?;
        assert_eq!(status, 400, "{why}: {answer}");
        assert_eq!(answer["success"], false, "{why}");
        assert!(answer["errors"][0]["message"].is_string(), "{why}");
    }
    let (status, _, _) = client
        .send(
            "PUT",
            format!("{}/bulk", client.namespace_url(ROUTES)),
            "wrong",
            "[]".into(),
        )
        .await?;
    assert_eq!(status, 401);
    let (status, _, _) = client.put("no-such-namespace", json!([])).await?;
    assert_eq!(status, 404);
    assert!(client.server.entries(ROUTES).is_empty());
    Ok(())
}

#[tokio::test]
async fn injects_rate_limits_and_server_errors() -> Result<()> {
    let client = Client::start().await?;
    client.server.inject(Fault {
        status: 429,
        retry_after: Some(7),
    });
    client.server.inject(Fault {
        status: 502,
        retry_after: None,
    });
    let body = json!([{ "key": "a", "value": "1" }]);
    let (status, answer, retry_after) = client.put(ROUTES, body.clone()).await?;
    assert_eq!(
        (status, retry_after.as_deref(), answer["success"].as_bool()),
        (429, Some("7"), Some(false))
    );
    let (status, _, _) = client.put(ROUTES, body.clone()).await?;
    assert_eq!(status, 502);
    assert!(client.server.get(ROUTES, "a").is_none());
    let (status, _, _) = client.put(ROUTES, body).await?;
    assert_eq!(status, 200);
    assert_eq!(client.server.attempts(), 3);
    assert_eq!(client.server.accepted().len(), 1);
    Ok(())
}

#[tokio::test]
async fn holds_requests_until_released() -> Result<()> {
    let client = Client::start().await?;
    client.server.hold();
    let body = json!([{ "key": "a", "value": "1" }]);
    let (answer, ()) = tokio::join!(client.put(ROUTES, body), async {
        client.server.wait_until_held(1).await;
        // Held before being looked at: nothing written, nothing recorded yet.
        assert!(client.server.get(ROUTES, "a").is_none());
        assert_eq!(client.server.attempts(), 0);
        client.server.release();
    });
    assert_eq!(answer?.0, 200);
    assert_eq!(client.server.get(ROUTES, "a").as_deref(), Some("1"));
    Ok(())
}

impl Client {
    /// `GET …/keys?{query}` with the API token.
    async fn list(&self, namespace: &str, query: &str) -> Result<(u16, Value)> {
        let token = self.server.config().api_token.clone();
        let url = format!("{}/keys?{query}", self.namespace_url(namespace));
        let response = self.http.get(url).bearer_auth(token).send().await?;
        let status = response.status().as_u16();
        Ok((status, serde_json::from_str(&response.text().await?)?))
    }
}

#[tokio::test]
async fn lists_keys_sorted_page_by_page_with_an_opaque_cursor() -> Result<()> {
    let client = Client::start().await?;
    // Written out of order; listed in byte order.
    let mut written: Vec<String> = (0..25).rev().map(|i| format!("v1/k{i:02}")).collect();
    written.push("other".into());
    let pairs: Vec<Value> = written
        .iter()
        .map(|key| json!({ "key": key, "value": "v", "metadata": { "sha256": key } }))
        .collect();
    assert_eq!(client.put(ROUTES, Value::Array(pairs)).await?.0, 200);

    let mut listed = Vec::new();
    let mut query = "limit=10&prefix=v1%2F".to_string();
    let mut pages = 0;
    loop {
        let (status, body) = client.list(ROUTES, &query).await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], true);
        let keys = body["result"].as_array().unwrap();
        assert_eq!(body["result_info"]["count"], keys.len());
        for key in keys {
            let name = key["name"].as_str().unwrap().to_string();
            // Metadata written with the key comes back with it.
            assert_eq!(key["metadata"]["sha256"], name);
            listed.push(name);
        }
        pages += 1;
        let cursor = body["result_info"]["cursor"].as_str().unwrap();
        if cursor.is_empty() {
            break;
        }
        // Opaque: not a key name.
        assert!(!cursor.starts_with("v1/"));
        query = format!("limit=10&prefix=v1%2F&cursor={}", urlencode(cursor));
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = (0..25).map(|i| format!("v1/k{i:02}")).collect();
    expected.sort();
    assert_eq!(listed, expected);

    // Without a limit: up to 1000 at once, every key, the prefix-less one too.
    let (status, body) = client.list(ROUTES, "").await?;
    assert_eq!(status, 200);
    assert_eq!(body["result"].as_array().unwrap().len(), 26);
    assert_eq!(body["result_info"]["cursor"], "");
    // Deleted keys are not listed, nor is their metadata kept.
    let token = client.server.config().api_token.clone();
    let url = format!("{}/bulk/delete", client.namespace_url(ROUTES));
    client
        .send("POST", url, &token, json!(["other"]).to_string())
        .await?;
    let (_, body) = client.list(ROUTES, "").await?;
    assert_eq!(body["result"].as_array().unwrap().len(), 25);
    assert!(client.server.metadata(ROUTES, "other").is_none());
    Ok(())
}

#[tokio::test]
async fn listing_refuses_what_the_api_refuses() -> Result<()> {
    let client = Client::start().await?;
    for query in ["limit=9", "limit=0", "limit=1001", "limit=ten", "limit=-5"] {
        let (status, body) = client.list(ROUTES, query).await?;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["success"], false, "{query}");
    }
    for query in ["limit=10", "limit=1000"] {
        assert_eq!(client.list(ROUTES, query).await?.0, 200, "{query}");
    }
    let (status, _) = client.list(ROUTES, "cursor=made-up").await?;
    assert_eq!(status, 400);
    let (status, _) = client.list("no-such-namespace", "").await?;
    assert_eq!(status, 404);
    let url = format!("{}/keys", client.namespace_url(ROUTES));
    let response = client.http.get(url).bearer_auth("wrong").send().await?;
    assert_eq!(response.status().as_u16(), 401);
    // Metadata over 1024 bytes is refused at write time.
    let big = "m".repeat(1100);
    let (status, _, _) = client
        .put(
            ROUTES,
            json!([{ "key": "a", "value": "1", "metadata": { "x": big } }]),
        )
        .await?;
    assert_eq!(status, 400);
    Ok(())
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
