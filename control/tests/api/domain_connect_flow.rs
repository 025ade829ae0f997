//! Domain Connect end to end, over real HTTP and DNS on loopback, on both
//! stores: the service discovers the local DNS provider (`_domainconnect`
//! TXT, its settings, its template support), signs the apply URL; the
//! provider verifies the signature with the key it reads from DNS, writes
//! the records on consent and sends the browser back with the state; the
//! return checks the domain at once and it is Connected. A forged, replayed
//! or cancelled return changes nothing; a provider that lies gets the
//! manual steps.

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use portico_control::config::RawSettings;
use portico_control::domain_connect::settings::DomainConnectSettings;
use portico_control::verify::settings::VerifySettings;
use portico_shared::PlatformDomain;
use portico_tests::local_dns::records::NewRecord;
use portico_tests::local_dns::{LocalDns, LocalDnsOptions};
use serde_json::{json, Value};

use crate::both_stores;
use crate::helpers::*;

struct Flow {
    app: TestApp,
    account_id: String,
    _database: TestDatabase,
    dns: LocalDns,
    token: String,
    browser: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn flow(db: Db, zones: &[(&str, &str)]) -> Option<Flow> {
    flow_with(db, zones, true, 0).await
}

/// `allow_private`: the verifier's outbound rule (false: production's).
/// `verify_per_min`: the verify rate limit (0: off, as elsewhere in the tests).
async fn flow_with(
    db: Db,
    zones: &[(&str, &str)],
    allow_private: bool,
    verify_per_min: u32,
) -> Option<Flow> {
    let dns = LocalDns::start(LocalDnsOptions {
        platform_domain: PLATFORM.into(),
        zones: zones
            .iter()
            .map(|(origin, text)| (origin.to_string(), text.to_string()))
            .collect(),
        ..LocalDnsOptions::default()
    })
    .await
    .unwrap();
    let database = TestDatabase::new(db).await?;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("dc-key.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key_file)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(made.success());

    let port = free_port();
    let mut settings = database.settings();
    settings.listen = SocketAddr::from(([127, 0, 0, 1], port));
    let dns_port = dns.dns_addr.port();
    settings.verify = VerifySettings::resolve(&RawSettings {
        dns_resolvers: Some(dns.dns_addr.to_string()),
        dns_nameserver_port: Some(dns_port),
        dns_nameserver_addresses: Some("*=127.0.0.1".into()),
        dns_timeout_ms: Some(1000),
        forward_http_port: Some(dns.forward_addr.unwrap().port()),
        forward_https_port: Some(9),
        forward_timeout_ms: Some(2000),
        verify_allow_private_addresses: Some(allow_private),
        verifier: Some(false),
        ..RawSettings::default()
    })
    .unwrap();
    let dc = DomainConnectSettings::resolve(
        &RawSettings {
            domain_connect_key_file: Some(key_file.display().to_string()),
            domain_connect_return_url: Some(format!("http://127.0.0.1:{port}")),
            ..RawSettings::default()
        },
        &PlatformDomain::parse(PLATFORM).unwrap(),
    )
    .unwrap()
    .expect("configured");
    // The platform publishes its public key where the template says.
    for value in dc.key.public_key_records() {
        dns.provider
            .add_record(&NewRecord {
                name: dc.key_record_name(),
                kind: "TXT".into(),
                value,
                ttl: Some(300),
            })
            .unwrap();
    }
    settings.domain_connect = Some(dc);
    settings.rate_limits.verify_per_min = verify_per_min;
    let app = start(&settings).await;
    let (account_id, token) = app.account("katie").await;
    Some(Flow {
        app,
        account_id,
        _database: database,
        dns,
        token,
        browser: reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _dir: dir,
    })
}

impl Flow {
    async fn add(&self, hostname: &str) -> String {
        let domain = self.app.domain(&self.token, hostname).await;
        domain["id"].as_str().unwrap().to_string()
    }

    async fn offer(&self, id: &str) -> Value {
        let (status, offer) = self
            .app
            .post(
                &format!("/v1/domains/{id}/domain-connect"),
                &self.token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{offer}");
        offer
    }

    async fn status(&self, id: &str) -> (String, Value) {
        let (status, domain) = self
            .app
            .get(&format!("/v1/domains/{id}"), &self.token)
            .await;
        assert_eq!(status, 200);
        let (_, diagnostics) = self
            .app
            .get(&format!("/v1/domains/{id}/diagnostics"), &self.token)
            .await;
        (
            domain["status"].as_str().unwrap().to_string(),
            diagnostics["report"].clone(),
        )
    }

    /// The customer's click at the provider: the consent page, then Connect.
    async fn consent(&self, apply_url: &str, action: &str) -> reqwest::Response {
        let page = self.browser.get(apply_url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("CNAME"), "{html}");
        self.browser
            .post(apply_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("action={action}"))
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        self.browser.get(url).send().await.unwrap()
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn a_root_domain_connects_with_one_click(db: Db) {
    let Some(flow) = flow(db, &[("shop.test", "")]).await else {
        return;
    };
    let id = flow.add("shop.test").await;
    let offer = flow.offer(&id).await;
    assert_eq!(offer["offered"], true, "{offer}");
    assert_eq!(offer["provider_name"], "Local DNS provider");
    let apply_url = offer["apply_url"].as_str().unwrap();
    assert!(apply_url.starts_with(&format!(
        "http://{}/v2/domainTemplates/providers/portico.test/services/root/apply?",
        flow.dns.admin_addr.unwrap()
    )));
    // The manual records come with it, for whoever prefers them.
    assert_eq!(offer["dns_records"][0]["host"], "www");

    let back = flow.consent(apply_url, "connect").await;
    assert_eq!(back.status(), 303);
    let return_url = location(&back);
    assert!(return_url.starts_with(offer["redirect_uri"].as_str().unwrap()));
    let records = flow.dns.provider.records();
    assert!(records
        .iter()
        .any(|r| r.name == "www.shop.test" && r.value == "katie.portico.test."));
    assert_eq!(flow.dns.provider.forwards()[0].to, "https://www.shop.test");

    // A forged return (the state's signature broken) changes nothing.
    let forged = return_url.replace("state=", "state=x");
    let refused = flow.get(&forged).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_state");
    let (status, report) = flow.status(&id).await;
    assert_eq!((status.as_str(), &report), ("processing", &Value::Null));

    // The real return checks at once and sends the browser to the domain.
    let done = flow.get(&return_url).await;
    assert_eq!(done.status(), 303);
    assert!(location(&done).ends_with(&format!("/#/domains/{id}")));
    let (status, report) = flow.status(&id).await;
    assert_eq!(status, "connected", "{report:#}");

    // Replayed: refused, nothing run.
    let replay = flow.get(&return_url).await;
    assert_eq!(replay.status(), 409);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"]["code"], "state_used");

    // Connected: nothing more to offer.
    let offer = flow.offer(&id).await;
    assert_eq!(offer["offered"], false);
    assert_eq!(offer["reason"]["code"], "already_connected");
}

async fn a_subdomain_connects_and_a_cancel_changes_nothing(db: Db) {
    let Some(flow) = flow(db, &[("shop.test", "")]).await else {
        return;
    };
    let id = flow.add("sales.shop.test").await;
    let offer = flow.offer(&id).await;
    assert_eq!(offer["offered"], true, "{offer}");
    let apply_url = offer["apply_url"].as_str().unwrap().to_string();

    let cancelled = flow.consent(&apply_url, "cancel").await;
    assert_eq!(cancelled.status(), 303);
    let back = location(&cancelled);
    assert!(back.contains("error=access_denied"), "{back}");
    assert!(flow
        .dns
        .provider
        .records()
        .iter()
        .all(|r| r.name != "sales.shop.test"));
    let done = flow.get(&back).await;
    assert_eq!(done.status(), 303);
    assert_eq!(flow.status(&id).await, ("processing".into(), Value::Null));

    // A tampered apply URL (another target) fails the provider's check.
    let tampered = apply_url.replace("target=katie.", "target=mallory.");
    let refused = flow.get(&tampered).await;
    assert_eq!(refused.status(), 403);

    let offer = flow.offer(&id).await;
    let back = flow
        .consent(offer["apply_url"].as_str().unwrap(), "connect")
        .await;
    assert!(flow
        .dns
        .provider
        .records()
        .iter()
        .any(|r| r.name == "sales.shop.test" && r.value == "katie.portico.test."));
    let done = flow.get(&location(&back)).await;
    assert_eq!(done.status(), 303);
    assert_eq!(flow.status(&id).await.0, "connected");
}

/// Providers that lie: malformed settings, a `_domainconnect` value that is
/// not a host, none at all, a template endpoint that says 404, or one that
/// answers another platform's template: the manual steps with a note, never
/// a button. (A private address is allowed here; see the next test.)
async fn a_provider_that_lies_gets_the_manual_steps(db: Db) {
    use axum::extract::Path;
    use axum::routing::get;
    let junk = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let junk_addr = junk.local_addr().unwrap();
    let base = format!("http://{junk_addr}");
    tokio::spawn(async move {
        let settings = move |Path(domain): Path<String>| {
            let base = base.clone();
            async move {
                if domain == "malformed.test" {
                    return "{\"providerId\": 7".to_string();
                }
                json!({"providerId": "liar.test", "providerName": "Liar",
                    "urlSyncUX": base, "urlAPI": base})
                .to_string()
            }
        };
        let support = |Path((_, service)): Path<(String, String)>| async move {
            match service.as_str() {
                // Says yes, with another platform's template.
                "root" => (
                    200,
                    json!({"providerId": "other.test", "serviceId": "root"}).to_string(),
                ),
                _ => (404, String::new()),
            }
        };
        let app = axum::Router::new()
            .route("/v2/{domain}/settings", get(settings))
            .route(
                "/v2/domainTemplates/providers/{provider}/services/{service}",
                get(move |path| async move {
                    let (status, body) = support(path).await;
                    (axum::http::StatusCode::from_u16(status).unwrap(), body)
                }),
            );
        let _ = axum::serve(junk, app).await;
    });
    let announce = format!("_domainconnect TXT \"{junk_addr}\"\n");
    let Some(flow) = flow(
        db,
        &[
            ("shop.test", ""),
            ("malformed.test", &announce),
            ("liar.test", &announce),
            (
                "badrecord.test",
                "_domainconnect TXT \"https://evil.test/x\"\n",
            ),
        ],
    )
    .await
    else {
        return;
    };
    for (hostname, code) in [
        ("www.malformed.test", "malformed"),
        ("www.badrecord.test", "bad_record"),
        ("sales.nowhere.test", "no_record"),
        ("www.liar.test", "template_unsupported"),
        ("sales.liar.test", "template_unsupported"),
    ] {
        let id = flow.add(hostname).await;
        let offer = flow.offer(&id).await;
        assert_eq!(offer["offered"], false, "{offer}");
        assert_eq!(offer["reason"]["code"], code, "{hostname}: {offer}");
        assert!(offer["apply_url"].is_null());
        assert!(!offer["dns_records"].as_array().unwrap().is_empty());
    }
}

/// In production (public addresses only), a provider whose API is at a
/// private address (here loopback) is never asked.
async fn a_provider_at_a_private_address_is_not_asked(db: Db) {
    let Some(flow) = flow_with(db, &[("shop.test", "")], false, 0).await else {
        return;
    };
    let id = flow.add("sales.shop.test").await;
    let offer = flow.offer(&id).await;
    assert_eq!(offer["offered"], false, "{offer}");
    assert_eq!(offer["reason"]["code"], "refused", "{offer}");
    let message = offer["reason"]["message"].as_str().unwrap();
    assert!(message.contains("loopback"), "{message}");
}

/// The return runs a check: it is charged to the account's verify limit
/// (here 2 a minute), as `…/verify` is. The offers spend the token's.
async fn returns_are_within_the_verify_rate_limit(db: Db) {
    let Some(flow) = flow_with(db, &[("shop.test", "")], true, 2).await else {
        return;
    };
    let mut returns = Vec::new();
    for hostname in ["a.shop.test", "b.shop.test", "c.shop.test"] {
        let id = flow.add(hostname).await;
        let (status, offer) = flow
            .app
            .post(
                &format!("/v1/domains/{id}/domain-connect"),
                &flow.token,
                json!({}),
            )
            .await;
        if returns.len() == 2 {
            // The token's verify bucket is spent by the two offers.
            assert_eq!(status, 429, "{offer}");
            break;
        }
        assert_eq!(offer["offered"], true, "{offer}");
        let back = flow
            .consent(offer["apply_url"].as_str().unwrap(), "connect")
            .await;
        returns.push((id, location(&back)));
    }
    let (first, second) = (&returns[0], &returns[1]);
    assert_eq!(flow.get(&first.1).await.status(), 303);
    assert_eq!(flow.get(&second.1).await.status(), 303);
    // A third return within the minute (a state of the same account) is
    // refused, and checks nothing.
    let id = flow.add("d.shop.test").await;
    let dc = flow.app.state.domain_connect.clone().unwrap();
    let state = dc
        .state_key
        .seal(&portico_control::domain_connect::state::new_state(
            &id,
            &flow.account_id,
            [1; 16],
            flow.app.state.clock.now_ms(),
        ));
    let third = flow
        .get(&format!("{}?state={state}", dc.redirect_uri()))
        .await;
    assert_eq!(third.status(), 429);
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(flow.status(&id).await, ("processing".into(), Value::Null));
}

both_stores!(
    a_root_domain_connects_with_one_click,
    a_subdomain_connects_and_a_cancel_changes_nothing,
    a_provider_that_lies_gets_the_manual_steps,
    a_provider_at_a_private_address_is_not_asked,
    returns_are_within_the_verify_rate_limit,
);
