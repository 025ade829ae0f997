//! The local DNS provider and registrar over the wire: its admin API (JSON,
//! 4xx errors with codes), its DNS answers right after a change (UDP), the
//! registrar's forwarding, and its page.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use portico_tests::client::{Endpoints, StackClient};
use portico_tests::local_dns::{LocalDns, LocalDnsOptions};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::net::UdpSocket;

async fn start() -> (LocalDns, StackClient) {
    start_with(LocalDnsOptions::default()).await
}

async fn start_with(options: LocalDnsOptions) -> (LocalDns, StackClient) {
    let dns = LocalDns::start(options).await.unwrap();
    let client = StackClient::new(Endpoints {
        api: String::new(),
        edge: String::new(),
        dns_admin: format!("http://{}", dns.admin_addr.unwrap()),
        forwarder: format!("http://{}", dns.forward_addr.unwrap()),
        admin_token: String::new(),
        platform_domain: "portico.test".into(),
    })
    .unwrap();
    (dns, client)
}

/// One UDP query; the answer's code and its records' data as text.
async fn ask(
    server: SocketAddr,
    name: &str,
    record_type: RecordType,
) -> (ResponseCode, Vec<String>) {
    let mut query = Message::new(4242, MessageType::Query, OpCode::Query);
    query.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(&query.to_vec().unwrap(), server)
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("the DNS server answers")
        .unwrap();
    let answer = Message::from_vec(&buf[..len]).unwrap();
    let data = answer
        .answers
        .iter()
        .filter(|r| r.record_type() == record_type)
        .map(|r| match &r.data {
            RData::CNAME(target) => target.0.to_ascii(),
            other => other.to_string(),
        })
        .collect();
    (answer.metadata.response_code, data)
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_answered_as_soon_as_they_are_created() {
    let (dns, client) = start().await;
    // Not registered yet: the registry zone says NXDOMAIN.
    let (rcode, _) = ask(dns.dns_addr, "sales.shop.test.", RecordType::CNAME).await;
    assert_eq!(rcode, ResponseCode::NXDomain);

    let created = client
        .create_record("Sales.Shop.test", "cname", "demo.portico.test")
        .await
        .unwrap();
    let asked = Instant::now();
    assert_eq!(
        created,
        json!({ "name": "sales.shop.test", "type": "CNAME", "value": "demo.portico.test.", "ttl": 60 })
    );
    let (rcode, answers) = ask(dns.dns_addr, "sales.shop.test.", RecordType::CNAME).await;
    assert_eq!(
        (rcode, answers),
        (
            ResponseCode::NoError,
            vec!["demo.portico.test.".to_string()]
        )
    );
    assert!(asked.elapsed() < Duration::from_secs(1));
    // The zone was made with its SOA and the provider's NS.
    let (_, ns) = ask(dns.dns_addr, "shop.test.", RecordType::NS).await;
    assert_eq!(ns, vec!["ns1.dns-host.test.".to_string()]);
    let (_, ns_address) = ask(dns.dns_addr, "ns1.dns-host.test.", RecordType::A).await;
    assert_eq!(ns_address, vec!["127.0.0.1".to_string()]);
    let listed = client.dns(Method::GET, "/api/records", None).await.unwrap();
    assert_eq!(listed.status, 200);
    assert!(listed.body["records"]
        .as_array()
        .unwrap()
        .contains(&created));

    assert!(client
        .delete_records("sales.shop.test", "CNAME")
        .await
        .unwrap());
    let (_, answers) = ask(dns.dns_addr, "sales.shop.test.", RecordType::CNAME).await;
    assert!(answers.is_empty());
    assert!(!client
        .delete_records("sales.shop.test", "CNAME")
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_with_a_code() {
    let (_dns, client) = start().await;
    for (body, status, expected) in [
        (
            json!({ "name": "x", "type": "A", "value": "192.0.2.1" }),
            422,
            "invalid_name",
        ),
        (
            json!({ "name": "a.shop.test", "type": "SRV", "value": "1" }),
            422,
            "invalid_type",
        ),
        (
            json!({ "name": "a.shop.test", "type": "A", "value": "300.1.1.1" }),
            422,
            "invalid_value",
        ),
        (
            json!({ "name": "a.shop.test", "type": "A", "value": "192.0.2.1", "ttl": 0 }),
            422,
            "invalid_ttl",
        ),
        (
            json!({ "name": "a.shop.test", "type": "A" }),
            422,
            "invalid_body",
        ),
        (
            json!({ "name": "shop.test", "type": "CNAME", "value": "demo.portico.test" }),
            409,
            "record_conflict",
        ),
    ] {
        let answer = client
            .dns(Method::POST, "/api/records", Some(body.clone()))
            .await
            .unwrap();
        assert_eq!(
            (answer.status, code(&answer.body)),
            (status, expected),
            "{body}"
        );
        assert!(answer.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    client
        .create_record("www.shop.test", "CNAME", "demo.portico.test")
        .await
        .unwrap();
    let again = client
        .dns(
            Method::POST,
            "/api/records",
            Some(
                json!({ "name": "www.shop.test", "type": "CNAME", "value": "demo.portico.test." }),
            ),
        )
        .await
        .unwrap();
    assert_eq!((again.status, code(&again.body)), (409, "record_exists"));
    let beside = client
        .dns(
            Method::POST,
            "/api/records",
            Some(json!({ "name": "www.shop.test", "type": "A", "value": "192.0.2.1" })),
        )
        .await
        .unwrap();
    assert_eq!(
        (beside.status, code(&beside.body)),
        (409, "record_conflict")
    );

    let raw = reqwest::Client::new()
        .post(format!("{}/api/records", client.endpoints.dns_admin))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: Value = serde_json::from_str(&raw.text().await.unwrap()).unwrap();
    assert_eq!(code(&body), "malformed_json");
    let missing = client
        .dns(Method::DELETE, "/api/records?name=a.shop.test", None)
        .await
        .unwrap();
    assert_eq!(
        (missing.status, code(&missing.body)),
        (400, "invalid_query")
    );
    let nowhere = client.dns(Method::GET, "/api/nothing", None).await.unwrap();
    assert_eq!((nowhere.status, code(&nowhere.body)), (404, "not_found"));
    let bad_forward = client
        .dns(
            Method::PUT,
            "/api/forwards/shop.test",
            Some(json!({ "to": "www.shop.test" })),
        )
        .await
        .unwrap();
    assert_eq!(
        (bad_forward.status, code(&bad_forward.body)),
        (422, "invalid_url")
    );
    let bad_status = client
        .dns(
            Method::PUT,
            "/api/forwards/shop.test",
            Some(json!({ "to": "https://www.shop.test", "status": 200 })),
        )
        .await
        .unwrap();
    assert_eq!(
        (bad_status.status, code(&bad_status.body)),
        (422, "invalid_status")
    );
    let not_forwarded = client
        .dns(Method::DELETE, "/api/forwards/shop.test", None)
        .await
        .unwrap();
    assert_eq!(not_forwarded.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registrar_forwards_and_points_the_host_at_its_forwarding_address() {
    let (dns, client) = start().await;
    let forward = client
        .forward("shop.test", "https://www.shop.test")
        .await
        .unwrap();
    assert_eq!(
        forward,
        json!({ "host": "shop.test", "to": "https://www.shop.test", "status": 301, "keep_path": true })
    );
    let (_, a) = ask(dns.dns_addr, "shop.test.", RecordType::A).await;
    assert_eq!(a, vec!["127.0.0.1".to_string()]);
    let page = client
        .forwarder_get("shop.test", "/offer?ref=mail")
        .await
        .unwrap();
    assert_eq!(page.status, 301);
    assert_eq!(
        page.location.as_deref(),
        Some("https://www.shop.test/offer?ref=mail")
    );
    let other = client.forwarder_get("elsewhere.test", "/").await.unwrap();
    assert_eq!(other.status, 404);
    let listed = client
        .dns(Method::GET, "/api/forwards", None)
        .await
        .unwrap();
    assert_eq!(listed.body, json!({ "forwards": [forward] }));

    assert!(client.delete_forward("shop.test").await.unwrap());
    let (_, a) = ask(dns.dns_addr, "shop.test.", RecordType::A).await;
    assert!(a.is_empty());
    let gone = client.forwarder_get("shop.test", "/").await.unwrap();
    assert_eq!(gone.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_lists_records_and_takes_form_posts() {
    let (_dns, client) = start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = &client.endpoints.dns_admin;
    let added = http
        .post(format!("{base}/records"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=sales.shop.test&type=CNAME&value=demo.portico.test&ttl=60")
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 303);
    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Local DNS provider and registrar</title>"));
    assert!(html.contains("sales.shop.test") && html.contains("demo.portico.test."));
    assert!(html.contains("<label for=\"record-name\">"));
    // Self-contained: no scripts, no stylesheets or images from anywhere.
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("src="));
    let refused = http
        .post(format!("{base}/records"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=%3Cb%3E.shop.test&type=A&value=1.2.3.4")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("role=\"alert\"") && html.contains("&lt;b&gt;.shop.test"));
    assert!(!html.contains("<b>.shop.test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_state_file_records_and_forwards_outlive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("dns.json");
    let options = || LocalDnsOptions {
        state: Some(state.clone()),
        zones: vec![(
            "example.test".into(),
            "www CNAME katie.portico.test.\n".into(),
        )],
        ..LocalDnsOptions::default()
    };

    let (dns, client) = start_with(options()).await;
    client
        .create_record("sales.shop.test", "CNAME", "demo.portico.test")
        .await
        .unwrap();
    client
        .create_record("www.shop.test", "CNAME", "demo.portico.test")
        .await
        .unwrap();
    client
        .forward("shop.test", "https://www.shop.test")
        .await
        .unwrap();
    client
        .delete_records("www.shop.test", "CNAME")
        .await
        .unwrap();
    let before = client.dns(Method::GET, "/api/records", None).await.unwrap();
    drop(dns);

    // A new process on the same file: the same records (the zone file's
    // included, once), the removed one still removed, the forward answered.
    let (dns, client) = start_with(options()).await;
    let after = client.dns(Method::GET, "/api/records", None).await.unwrap();
    assert_eq!(after.body, before.body);
    let (_, cname) = ask(dns.dns_addr, "sales.shop.test.", RecordType::CNAME).await;
    assert_eq!(cname, vec!["demo.portico.test.".to_string()]);
    let (_, gone) = ask(dns.dns_addr, "www.shop.test.", RecordType::CNAME).await;
    assert!(gone.is_empty());
    let (_, a) = ask(dns.dns_addr, "shop.test.", RecordType::A).await;
    assert_eq!(a, vec!["127.0.0.1".to_string()]);
    let forwarded = client.forwarder_get("shop.test", "/x").await.unwrap();
    assert_eq!(forwarded.status, 301);
    assert_eq!(
        forwarded.location.as_deref(),
        Some("https://www.shop.test/x")
    );
    drop(dns);

    // A file that is not a state file is refused, not overwritten.
    std::fs::write(&state, "not json").unwrap();
    let err = LocalDns::start(options()).await.err().expect("refused");
    assert!(err.to_string().contains("not a state file"), "{err}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "not json");
}
