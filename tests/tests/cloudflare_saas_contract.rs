//! The custom hostnames contract test server enforces the documented rules
//! (`custom_metadata`, PATCH, TXT validation included) and plays the states
//! tests script.

use portico_tests::cloudflare_saas::{
    Fault, HostnameState, SaasContractConfig, SaasContractServer, DUPLICATE_CODE, METADATA_CODE,
    NO_METADATA_ACCESS_CODE,
};
use portico_tests::Result;
use serde_json::{json, Value};

struct Client {
    http: reqwest::Client,
    server: SaasContractServer,
}

impl Client {
    async fn start() -> Result<Client> {
        Client::start_with(SaasContractConfig::default()).await
    }

    async fn start_with(config: SaasContractConfig) -> Result<Client> {
        Ok(Client {
            http: reqwest::Client::builder().no_proxy().build()?,
            server: SaasContractServer::start(config).await?,
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

    async fn patch(&self, id: &str, body: Value) -> Result<(u16, Value)> {
        self.send("PATCH", self.url(&format!("/{id}")), Some(body))
            .await
    }

    async fn get(&self, id: &str) -> Result<Value> {
        let (status, body) = self.send("GET", self.url(&format!("/{id}")), None).await?;
        assert_eq!(status, 200, "{body}");
        Ok(body["result"].clone())
    }
}

#[tokio::test]
async fn creates_lists_edits_and_deletes_in_cloudflares_shapes() -> Result<()> {
    let client = Client::start().await?;
    let (status, created) = client.create("sales.example.com").await?;
    assert_eq!(status, 201, "{created}");
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
    for n in 0..5 {
        client.create(&format!("p{n}.other.example")).await?;
    }
    // Seven in all, five a page: pages in creation order, a page past the
    // last empty.
    let mut seen = Vec::new();
    for page in 1..=3 {
        let (status, listed) = client
            .send("GET", client.url(&format!("?per_page=5&page={page}")), None)
            .await?;
        assert_eq!(status, 200, "{listed}");
        let info = &listed["result_info"];
        assert_eq!(
            (
                &info["page"],
                &info["per_page"],
                &info["total_count"],
                &info["total_pages"]
            ),
            (&json!(page), &json!(5), &json!(7), &json!(2))
        );
        let names: Vec<(String, String)> = listed["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let field = |f: &str| h[f].as_str().unwrap().to_string();
                (field("hostname"), field("id"))
            })
            .collect();
        assert_eq!(info["count"], json!(names.len()));
        assert_eq!(names.len(), [5, 2, 0][page - 1]);
        seen.extend(names);
    }
    let distinct: std::collections::HashSet<&String> = seen.iter().map(|(n, _)| n).collect();
    assert_eq!((seen.len(), distinct.len()), (7, 7));
    assert_eq!(seen[0].0, "sales.example.com");
    for (name, id) in &seen {
        if name.starts_with('p') {
            let (status, _) = client
                .send("DELETE", client.url(&format!("/{id}")), None)
                .await?;
            assert_eq!(status, 200);
        }
    }

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
    assert_eq!(status, 202, "{edited}");
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
        "?per_page=4",
        "?page=0",
        "?order=hostname",
        "?direction=up",
        "?ssl=2",
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
    assert_eq!(status, 201);
    assert_eq!(client.server.requests().len(), 3);
    assert_eq!(client.server.count("POST"), 2);
    Ok(())
}

fn owner_metadata(domain: &str) -> Value {
    json!({ "portico_account": "acc-1", "portico_domain": domain })
}

#[tokio::test]
async fn stores_returns_and_patches_custom_metadata() -> Result<()> {
    let client = Client::start().await?;
    let (status, created) = client
        .send(
            "POST",
            client.url(""),
            Some(json!({
                "hostname": "sales.example.com",
                "ssl": { "method": "http", "type": "dv" },
                "custom_metadata": owner_metadata("dom-1"),
            })),
        )
        .await?;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["result"]["custom_metadata"],
        owner_metadata("dom-1")
    );
    let id = created["result"]["id"].as_str().unwrap().to_string();
    let (_, listed) = client
        .send("GET", client.url("?hostname=sales.example.com"), None)
        .await?;
    assert_eq!(
        listed["result"][0]["custom_metadata"],
        owner_metadata("dom-1")
    );

    // Without metadata, a hostname has none to show.
    client.create("www.other.example").await?;
    let (_, listed) = client
        .send("GET", client.url("?hostname=www.other.example"), None)
        .await?;
    assert!(listed["result"][0].get("custom_metadata").is_none());

    // A PATCH of custom_metadata alone replaces it and leaves the
    // certificate alone: no new validation.
    client
        .server
        .set_state("sales.example.com", HostnameState::active());
    let (status, edited) = client
        .patch(&id, json!({ "custom_metadata": owner_metadata("dom-2") }))
        .await?;
    assert_eq!(status, 202, "{edited}");
    assert_eq!(edited["result"]["custom_metadata"], owner_metadata("dom-2"));
    let now = client.get(&id).await?;
    assert_eq!(now["custom_metadata"], owner_metadata("dom-2"));
    assert_eq!(
        (&now["status"], &now["ssl"]["status"]),
        (&json!("active"), &json!("active"))
    );
    let stored = client.server.by_id(&id).unwrap();
    assert_eq!((stored.refreshes, stored.method.as_str()), (0, "http"));
    let (_, edited) = client
        .patch(
            &id,
            json!({ "custom_metadata": { "portico_domain": "dom-3" } }),
        )
        .await?;
    assert_eq!(
        edited["result"]["custom_metadata"],
        json!({ "portico_domain": "dom-3" }),
        "replaced, not merged"
    );
    Ok(())
}

#[tokio::test]
async fn refuses_custom_metadata_the_api_refuses() -> Result<()> {
    let client = Client::start().await?;
    let (_, created) = client.create("sales.example.com").await?;
    let id = created["result"]["id"].as_str().unwrap().to_string();
    let cases = [
        (json!("dom-1"), "not an object"),
        (json!(["dom-1"]), "an array"),
        (json!(null), "null"),
        (json!({ "portico_domain": 7 }), "a number"),
        (json!({ "redirect_to_https": true }), "a boolean"),
        (json!({ "nested": { "a": "b" } }), "an object value"),
        (json!({ "big": "x".repeat(4096) }), "over 4 KB"),
    ];
    for (metadata, why) in cases {
        let (status, answer) = client
            .send(
                "POST",
                client.url(""),
                Some(json!({ "hostname": "new.example.com", "ssl": { "method": "http", "type": "dv" }, "custom_metadata": metadata })),
            )
            .await?;
        assert_eq!(
            (status, &answer["errors"][0]["code"]),
            (400, &json!(METADATA_CODE)),
            "POST, {why}: {answer}"
        );
        let (status, answer) = client
            .patch(&id, json!({ "custom_metadata": metadata }))
            .await?;
        assert_eq!(
            (status, &answer["errors"][0]["code"]),
            (400, &json!(METADATA_CODE)),
            "PATCH, {why}: {answer}"
        );
    }
    assert!(client.server.get("new.example.com").is_none());
    assert_eq!(client.server.by_id(&id).unwrap().custom_metadata, None);

    // A zone Cloudflare has not enabled custom metadata for.
    let client = Client::start_with(SaasContractConfig {
        custom_metadata: false,
        ..SaasContractConfig::default()
    })
    .await?;
    let (status, answer) = client
        .send(
            "POST",
            client.url(""),
            Some(json!({ "hostname": "sales.example.com", "custom_metadata": owner_metadata("dom-1") })),
        )
        .await?;
    assert_eq!(
        (status, &answer["errors"][0]["code"]),
        (403, &json!(NO_METADATA_ACCESS_CODE))
    );
    assert!(client.server.hostnames().is_empty());
    Ok(())
}

#[tokio::test]
async fn txt_validation_lists_its_records_and_activates_once_they_are_seen() -> Result<()> {
    let client = Client::start().await?;
    let (status, created) = client
        .send(
            "POST",
            client.url(""),
            Some(json!({ "hostname": "sales.example.com", "ssl": { "method": "txt", "type": "dv" } })),
        )
        .await?;
    assert_eq!(status, 201, "{created}");
    let result = &created["result"];
    let id = result["id"].as_str().unwrap().to_string();
    assert_eq!(result["ssl"]["method"], "txt");
    // Tokens are "ready after a few seconds": none while initializing.
    assert!(result["ssl"].get("validation_records").is_none());
    let ownership = &result["ownership_verification"];
    assert_eq!(ownership["type"], "txt");
    assert_eq!(ownership["name"], "_cf-custom-hostname.sales.example.com");

    client
        .server
        .set_state("sales.example.com", HostnameState::not_cnamed());
    let now = client.get(&id).await?;
    let records = now["ssl"]["validation_records"].as_array().unwrap().clone();
    assert_eq!(records.len(), 1, "{now}");
    assert_eq!(records[0]["txt_name"], "_acme-challenge.sales.example.com");
    let dcv = records[0]["txt_value"].as_str().unwrap().to_string();
    let proof = now["ownership_verification"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(dcv, proof, "separate tokens");

    // A wrong value changes nothing.
    client
        .server
        .add_txt("_cf-custom-hostname.sales.example.com", "wrong");
    assert_eq!(client.get(&id).await?["status"], "pending");

    client
        .server
        .add_txt("_cf-custom-hostname.sales.example.com", &proof);
    let now = client.get(&id).await?;
    assert_eq!(now["status"], "active", "{now}");
    assert!(now.get("verification_errors").is_none(), "{now}");
    assert_eq!(now["ssl"]["status"], "pending_validation");

    client
        .server
        .add_txt("_acme-challenge.sales.example.com", &dcv);
    let now = client.get(&id).await?;
    assert_eq!(now["ssl"]["status"], "active", "{now}");
    assert!(now["ssl"].get("validation_records").is_none());
    Ok(())
}

#[tokio::test]
async fn a_patch_switches_the_validation_method() -> Result<()> {
    let client = Client::start().await?;
    let (_, created) = client.create("sales.example.com").await?;
    let id = created["result"]["id"].as_str().unwrap().to_string();
    let (status, edited) = client
        .patch(&id, json!({ "ssl": { "method": "txt", "type": "dv" } }))
        .await?;
    assert_eq!(status, 202, "{edited}");
    let ssl = &edited["result"]["ssl"];
    assert_eq!(
        (&ssl["method"], &ssl["status"]),
        (&json!("txt"), &json!("pending_validation"))
    );
    assert!(
        ssl["validation_records"][0]["txt_name"].is_string(),
        "{ssl}"
    );
    let (_, edited) = client
        .patch(&id, json!({ "ssl": { "method": "http", "type": "dv" } }))
        .await?;
    let ssl = &edited["result"]["ssl"];
    assert_eq!(ssl["method"], "http");
    assert!(
        ssl["validation_records"][0]["http_url"].is_string(),
        "{ssl}"
    );
    assert_eq!(
        client.server.by_id(&id).unwrap().refreshes,
        0,
        "a switch is not a refresh"
    );
    // The documented pair is still required.
    let (status, _) = client
        .patch(&id, json!({ "ssl": { "method": "txt" } }))
        .await?;
    assert_eq!(status, 400);
    Ok(())
}
