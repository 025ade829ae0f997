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
