//! The custom hostnames contract test server enforces the documented rules
//! and plays the states tests script.

use portico_tests::cloudflare_saas::{
    Fault, HostnameState, SaasContractConfig, SaasContractServer, DUPLICATE_CODE,
};
use portico_tests::Result;
use serde_json::{json, Value};

struct Client {
    http: reqwest::Client,
    server: SaasContractServer,
}

impl Client {
    async fn start() -> Result<Client> {
        Ok(Client {
            http: reqwest::Client::builder().no_proxy().build()?,
            server: SaasContractServer::start(SaasContractConfig::default()).await?,
        })
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/zones/{}/custom_hostnames{rest}",
            self.server.api_url(),
            self.server.config().zone_id
        )
    }

    /// Sends with the right token; `body` as JSON.
    async fn send(&self, method: &str, url: String, body: Option<Value>) -> Result<(u16, Value)> {
        let token = self.server.config().api_token.clone();
        self.send_as(method, url, &token, body).await
    }

    async fn send_as(
        &self,
        method: &str,
        url: String,
        token: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let mut request = self
            .http
            .request(method.parse().unwrap(), url)
            .header("authorization", format!("Bearer {token}"));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body: Value = serde_json::from_str(&response.text().await?)?;
        Ok((status, body))
    }

    async fn create(&self, hostname: &str) -> Result<(u16, Value)> {
        self.send(
            "POST",
            self.url(""),
            Some(json!({
                "hostname": hostname,
                "ssl": { "method": "http", "type": "dv", "settings": { "min_tls_version": "1.2", "http2": "on" } },
            })),
        )
        .await
    }
}

#[tokio::test]
async fn creates_lists_edits_and_deletes_in_cloudflares_shapes() -> Result<()> {
    let client = Client::start().await?;
    let (status, created) = client.create("sales.example.com").await?;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        (
            &created["success"],
            &created["errors"],
            &created["messages"]
        ),
        (&json!(true), &json!([]), &json!([]))
    );
    let result = &created["result"];
    let id = result["id"].as_str().unwrap().to_string();
    assert_eq!(result["hostname"], "sales.example.com");
    assert_eq!(result["status"], "pending");
    assert_eq!(result["ssl"]["status"], "initializing");
    assert_eq!(
        (&result["ssl"]["method"], &result["ssl"]["type"]),
        (&json!("http"), &json!("dv"))
    );
    assert_eq!(result["ssl"]["settings"]["min_tls_version"], "1.2");
    assert_eq!(result["ownership_verification"]["type"], "txt");

    // The zone has it once: a second create is a duplicate.
    let (status, duplicate) = client.create("sales.example.com").await?;
    assert_eq!(status, 409);
    assert_eq!(duplicate["success"], false);
    assert_eq!(duplicate["errors"][0]["code"], DUPLICATE_CODE);

    client.create("www.other.example").await?;
    let (status, listed) = client
        .send("GET", client.url("?hostname=sales.example.com"), None)
        .await?;
    assert_eq!(status, 200);
    assert_eq!(listed["result"].as_array().unwrap().len(), 1);
    assert_eq!(listed["result"][0]["id"], id.as_str());
    assert_eq!(listed["result_info"]["total_count"], 1);
    let (_, all) = client.send("GET", client.url("?per_page=1"), None).await?;
    assert_eq!(
        (
            &all["result_info"]["count"],
            &all["result_info"]["total_count"],
            &all["result_info"]["total_pages"]
        ),
        (&json!(1), &json!(2), &json!(2))
    );

    let (status, one) = client
        .send("GET", client.url(&format!("/{id}")), None)
        .await?;
    assert_eq!((status, &one["result"]["id"]), (200, &json!(id)));

    client
        .server
        .set_state("sales.example.com", HostnameState::validation_timed_out());
    let (status, edited) = client
        .send(
            "PATCH",
            client.url(&format!("/{id}")),
            Some(json!({ "ssl": { "method": "http", "type": "dv" } })),
        )
        .await?;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["result"]["ssl"]["status"], "pending_validation");
    assert_eq!(client.server.get("sales.example.com").unwrap().refreshes, 1);

    // DELETE answers a bare `{id}`, as documented.
    let (status, deleted) = client
        .send("DELETE", client.url(&format!("/{id}")), None)
        .await?;
    assert_eq!((status, deleted), (200, json!({ "id": id })));
    assert!(client.server.get("sales.example.com").is_none());
    let (status, gone) = client
        .send("DELETE", client.url(&format!("/{id}")), None)
        .await?;
    assert_eq!((status, &gone["success"]), (404, &json!(false)));
    Ok(())
}

#[tokio::test]
async fn refuses_what_the_api_refuses() -> Result<()> {
    let client = Client::start().await?;
    let ssl = json!({ "method": "http", "type": "dv" });
    let cases = [
        (json!({ "ssl": ssl }), "no hostname"),
        (
            json!({ "hostname": "a.example.com", "ssl": { "method": "dns", "type": "dv" } }),
            "ssl.method",
        ),
        (
            json!({ "hostname": "a.example.com", "ssl": { "method": "http", "type": "ov" } }),
            "ssl.type",
        ),
        (
            json!({ "hostname": "a.example.com", "ssl": { "method": "http" } }),
            "no ssl.type",
        ),
        (
            json!({ "hostname": "a.example.com", "ssl": { "method": "http", "type": "dv", "settings": { "min_tls_version": "1.4" } } }),
            "min_tls_version",
        ),
        (
            json!({ "hostname": "a.example.com", "ssl": { "method": "http", "type": "dv", "settings": { "http3": "on" } } }),
            "unknown setting",
        ),
        (
            json!({ "hostname": "a.example.com", "ssl": { "method": "http", "type": "dv", "validation": "http" } }),
            "unknown ssl field",
        ),
        (
            json!({ "hostname": "a.example.com", "ssl": ssl, "origin": "x" }),
            "unknown field",
        ),
        (
            json!({ "hostname": "*.example.com", "ssl": ssl }),
            "wildcard",
        ),
        (
            json!({ "hostname": "Sales.Example.com.", "ssl": ssl }),
            "not normalized",
        ),
        (
            json!({ "hostname": "a".repeat(64) + ".com", "ssl": ssl }),
            "label over 63",
        ),
        (json!(["a.example.com"]), "not an object"),
    ];
    for (body, why) in cases {
        let (status, answer) = client.send("POST", client.url(""), Some(body)).await?;
        assert_eq!(status, 400, "{why}: {answer}");
        assert_eq!(answer["success"], false, "{why}");
        assert!(answer["errors"][0]["message"].is_string(), "{why}");
    }
    let (status, _) = client
        .send_as("GET", client.url(""), "wrong-token", None)
        .await?;
    assert_eq!(status, 401);
    let (status, answer) = client
        .send(
            "GET",
            format!(
                "{}/zones/other-zone/custom_hostnames",
                client.server.api_url()
            ),
            None,
        )
        .await?;
    assert_eq!((status, &answer["errors"][0]["code"]), (404, &json!(7003)));
    for query in [
        "?hostname=a.example.com&id=x",
        "?per_page=51",
        "?page=0",
        "?colour=blue",
    ] {
        let (status, answer) = client.send("GET", client.url(query), None).await?;
        assert_eq!(status, 400, "{query}: {answer}");
    }
    // Without `Content-Type: application/json`.
    let token = client.server.config().api_token.clone();
    let status = client
        .http
        .post(client.url(""))
        .bearer_auth(token)
        .body(json!({ "hostname": "a.example.com" }).to_string())
        .send()
        .await?
        .status();
    assert_eq!(status, 400);
    let (status, _) = client.send("GET", client.url("/no-such-id"), None).await?;
    assert_eq!(status, 404);
    assert!(client.server.hostnames().is_empty());
    Ok(())
}

#[tokio::test]
async fn plays_scripted_states_one_per_read() -> Result<()> {
    let client = Client::start().await?;
    client.create("sales.example.com").await?;
    client.server.script(
        "sales.example.com",
        [
            HostnameState::not_cnamed(),
            HostnameState::pending_issuance(),
            HostnameState::active(),
        ],
    );
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (_, listed) = client
            .send("GET", client.url("?hostname=sales.example.com"), None)
            .await?;
        let hostname = &listed["result"][0];
        seen.push(format!(
            "{}/{}",
            hostname["status"], hostname["ssl"]["status"]
        ));
    }
    assert_eq!(
        seen,
        [
            "\"pending\"/\"pending_validation\"",
            "\"pending\"/\"pending_issuance\"",
            "\"active\"/\"active\"",
            "\"active\"/\"active\"",
        ]
    );

    // Errors are rendered where Cloudflare puts them.
    client
        .server
        .set_state("sales.example.com", HostnameState::caa_blocked());
    let (_, listed) = client.send("GET", client.url(""), None).await?;
    assert!(
        listed["result"][0]["ssl"]["validation_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("CAA")
    );
    client
        .server
        .set_state("sales.example.com", HostnameState::moved());
    let (_, listed) = client.send("GET", client.url(""), None).await?;
    assert_eq!(listed["result"][0]["status"], "moved");
    assert_eq!(
        listed["result"][0]["verification_errors"][0],
        "custom hostname does not CNAME to this zone."
    );
    // A refresh puts a moved hostname back to pending.
    let id = listed["result"][0]["id"].as_str().unwrap().to_string();
    let (_, edited) = client
        .send(
            "PATCH",
            client.url(&format!("/{id}")),
            Some(json!({ "ssl": { "method": "http", "type": "dv" } })),
        )
        .await?;
    assert_eq!(edited["result"]["status"], "pending");

    // A hostname hidden from the next list is still there for the create.
    client.server.hide_from_next_list("sales.example.com");
    let (_, listed) = client
        .send("GET", client.url("?hostname=sales.example.com"), None)
        .await?;
    assert_eq!(listed["result"], json!([]));
    let (status, _) = client.create("sales.example.com").await?;
    assert_eq!(status, 409);
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
        status: 503,
        retry_after: None,
    });
    let response = client
        .http
        .get(client.url(""))
        .bearer_auth(&client.server.config().api_token)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let (status, answer) = client.create("sales.example.com").await?;
    assert_eq!((status, &answer["success"]), (503, &json!(false)));
    assert!(
        client.server.hostnames().is_empty(),
        "a fault touches no state"
    );
    let (status, _) = client.create("sales.example.com").await?;
    assert_eq!(status, 200);
    assert_eq!(client.server.requests().len(), 3);
    assert_eq!(client.server.count("POST"), 2);
    Ok(())
}
