//! Two `serve` processes (the real binary) on one PostgreSQL database, with
//! the verifier on against DNS on loopback, certificates from the custom
//! hostnames contract server, KV through the local edge endpoint of the KV
//! contract server, and webhooks to a receiver on loopback.
//!
//! Together they do each piece of work once: every domain is checked ready
//! once (the sum of both replicas' `portico_checks_total`), connected once,
//! gets one custom hostname (one create), one replica publishes (the lease),
//! and every webhook message arrives once. Then each replica in turn is
//! killed with SIGKILL while domains are being added, and the survivor
//! finishes everything: nothing lost (every domain connected with its
//! certificate, KV equal to what the store says, every message delivered).
//! A check the killed replica had claimed waits for its claim to expire
//! (`verify::scheduler::CLAIM_LEASE`, 2 minutes), so this test takes that long.
//!
//! PostgreSQL only: SQLite is one process's database.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::post;
use portico_control::config::DEFAULT_HSTS_MAX_AGE_S;
use portico_control::publish::sync::{expected, RecordSettings};
use portico_control::store::{outbox, Store};
use portico_shared::PlatformDomain;
use portico_tests::cloudflare_kv::KvContractServer;
use portico_tests::cloudflare_saas::{HostnameState, SaasContractConfig, SaasContractServer};
use serde_json::{json, Value};

use crate::helpers::{kv_server, Db, TestDatabase, ADMIN_TOKEN, PLATFORM, ROUTES_NS};
use crate::serving::{serve, Serving};
use crate::world::{Scenario, World};

const USERNAME: &str = "replicas";
/// Domains added while both run, then while each is killed.
const BATCH: usize = 8;

/// Webhook ids in the order received.
type Received = Arc<Mutex<Vec<String>>>;

async fn receiver() -> (Received, String) {
    let received: Received = Arc::default();
    let app = axum::Router::new().route(
        "/hook",
        post({
            let received = received.clone();
            move |headers: HeaderMap| {
                let received = received.clone();
                async move {
                    let id = headers["webhook-id"].to_str().unwrap().to_string();
                    received.lock().unwrap().push(id);
                    // Slow enough that a kill catches attempts in flight.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    "ok"
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (received, format!("http://{address}/hook"))
}

struct Replicas<'a> {
    database: &'a TestDatabase,
    kv: &'a KvContractServer,
    env: Vec<(String, String)>,
    processes: [Option<Serving>; 2],
    urls: [String; 2],
}

impl Replicas<'_> {
    fn start(&mut self, slot: usize) {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (process, url) = serve(self.database, self.kv, &env);
        self.processes[slot] = Some(process);
        self.urls[slot] = url;
    }

    /// SIGKILL: nothing is given up cleanly.
    fn kill(&mut self, slot: usize) {
        self.processes[slot] = None;
    }
}

async fn call(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = http
            .request(method.parse().unwrap(), format!("{api}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await;
        if let Ok(answer) = sent {
            let status = answer.status().as_u16();
            return (status, answer.json().await.unwrap_or(Value::Null));
        }
        assert!(Instant::now() < deadline, "{api} did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sum of a counter's samples whose series starts with `series`.
async fn scraped(http: &reqwest::Client, api: &str, series: &str) -> f64 {
    let text = http
        .get(format!("{api}/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with(series))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

fn host(n: usize) -> String {
    format!("d{n}.example.test")
}

/// Waits until every domain added is connected, the outbox is empty and
/// every webhook message delivered; `within` at most.
async fn settled(store: &Store, expected_domains: usize, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (connected,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM domains WHERE status = 'connected'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        let (depth, _) = outbox::depth(store.pool()).await.unwrap();
        let (undelivered,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM webhook_messages WHERE state <> 'delivered'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        if connected as usize == expected_domains && depth == 0 && undelivered == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not settled: {connected}/{expected_domains} connected, {depth} outbox rows, \
             {undelivered} webhook messages undelivered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Nothing lost: one custom hostname per domain, KV equal to the store,
/// every webhook message received, each domain connected once.
async fn nothing_lost(
    store: &Store,
    saas: &SaasContractServer,
    kv: &KvContractServer,
    received: &Received,
    domains: usize,
) {
    let names: Vec<String> = saas.hostnames().into_iter().map(|h| h.hostname).collect();
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(
        names.len(),
        unique.len(),
        "one custom hostname per name: {names:?}"
    );
    for n in 0..domains {
        assert!(
            unique.contains(&host(n)),
            "{} has no custom hostname",
            host(n)
        );
    }

    let records = RecordSettings {
        platform: PlatformDomain::parse(PLATFORM).unwrap(),
        hsts_max_age_s: DEFAULT_HSTS_MAX_AGE_S,
        apex_addresses: Default::default(),
    };
    let (account,): (String,) = sqlx::query_as("SELECT id FROM accounts")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let wanted = expected(&mut conn, &records, &account).await.unwrap();
    drop(conn);
    assert_eq!(
        kv.entries(ROUTES_NS),
        wanted.routes,
        "KV holds exactly what the store says is published"
    );

    let messages: Vec<(String,)> = sqlx::query_as("SELECT message_id FROM webhook_messages")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let got: BTreeSet<String> = received.lock().unwrap().iter().cloned().collect();
    for (id,) in &messages {
        assert!(got.contains(id), "webhook message {id} never arrived");
    }

    let connects: Vec<(String, i64)> = sqlx::query_as(
        "SELECT domain_id, COUNT(*) FROM events WHERE kind = 'domain_connected' GROUP BY domain_id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(connects.len(), domains, "{connects:?}");
    assert!(
        connects.iter().all(|(_, count)| *count == 1),
        "each domain connected once: {connects:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_do_each_thing_once_and_lose_nothing_to_sigkill() {
    let Some(database) = TestDatabase::new(Db::Postgres).await else {
        return;
    };
    let records: String = (0..3 * BATCH)
        .map(|n| format!("d{n} CNAME {USERNAME}.{PLATFORM}.\n"))
        .collect();
    let world: World = Scenario::simple("example.test", &records).start().await;
    let kv = kv_server().await;
    let saas = SaasContractServer::start(SaasContractConfig::default())
        .await
        .unwrap();
    // Certificates issue at once: the test is about who does the work.
    saas.create_in(HostnameState::active());
    let (received, hook_url) = receiver().await;
    let kv_config = kv.config();
    let env: Vec<(String, String)> = [
        ("PORTICO_PLATFORM_DOMAIN", PLATFORM.to_string()),
        ("PORTICO_ALLOW_TEST_DOMAINS", "true".into()),
        ("PORTICO_VERIFIER", "true".into()),
        ("PORTICO_VERIFY_POLL_MS", "100".into()),
        // A connected domain is not checked again during the test.
        ("PORTICO_VERIFY_RECHECK_SECS", "3600".into()),
        ("PORTICO_DNS_RESOLVERS", world.resolver.addr.to_string()),
        (
            "PORTICO_DNS_NAMESERVER_PORT",
            world.nameserver_port.to_string(),
        ),
        ("PORTICO_DNS_TIMEOUT_MS", "500".into()),
        ("PORTICO_VERIFY_ALLOW_PRIVATE_ADDRESSES", "true".into()),
        ("PORTICO_FORWARD_HTTP_PORT", "9".into()),
        ("PORTICO_FORWARD_HTTPS_PORT", "9".into()),
        ("PORTICO_CERTIFICATE_PROVIDER", "cloudflare".into()),
        ("PORTICO_CLOUDFLARE_API_URL", saas.api_url()),
        (
            "PORTICO_CLOUDFLARE_API_TOKEN",
            saas.config().api_token.clone(),
        ),
        ("PORTICO_CLOUDFLARE_ZONE_ID", saas.config().zone_id.clone()),
        ("PORTICO_KV", "local".into()),
        ("PORTICO_LOCAL_KV_URL", kv.edge_url()),
        ("PORTICO_LOCAL_KV_TOKEN", kv_config.local_token.clone()),
        ("PORTICO_PUBLISH_LEASE_MS", "1500".into()),
        ("PORTICO_PUBLISH_POLL_MS", "50".into()),
        ("PORTICO_WEBHOOK_ALLOW_HTTP", "true".into()),
        ("PORTICO_WEBHOOK_POLL_MS", "50".into()),
        ("PORTICO_WEBHOOK_TIMEOUT_MS", "2000".into()),
        ("PORTICO_WEBHOOK_RETRY_SCHEDULE_S", "1,1,1,1,1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut replicas = Replicas {
        database: &database,
        kv: &kv,
        env,
        processes: [None, None],
        urls: [String::new(), String::new()],
    };
    replicas.start(0);
    replicas.start(1);
    let store = Store::connect(&database.url, 2).await.unwrap();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let api = replicas.urls[0].clone();
    let (status, account) = call(
        &http,
        &api,
        ADMIN_TOKEN,
        "POST",
        "/v1/accounts",
        json!({ "username": USERNAME }),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    let id = account["id"].as_str().unwrap();
    let (status, token) = call(
        &http,
        &api,
        ADMIN_TOKEN,
        "POST",
        &format!("/v1/accounts/{id}/tokens"),
        json!({ "name": "t" }),
    )
    .await;
    assert_eq!(status, 201, "{token}");
    let token = token["secret"].as_str().unwrap().to_string();
    let (status, endpoint) = call(
        &http,
        &api,
        &token,
        "POST",
        "/v1/webhooks",
        json!({ "url": hook_url }),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");

    let add = |api: String, n: usize| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let (status, body) = call(
                &http,
                &api,
                &token,
                "POST",
                "/v1/domains",
                json!({ "hostname": host(n) }),
            )
            .await;
            assert_eq!(status, 201, "{body}");
        }
    };

    // Both running: the work is shared, each piece done once.
    for n in 0..BATCH {
        add(replicas.urls[n % 2].clone(), n).await;
    }
    settled(&store, BATCH, Duration::from_secs(60)).await;
    nothing_lost(&store, &saas, &kv, &received, BATCH).await;
    let mut ready = 0.0;
    let mut leaders = 0.0;
    let mut publishers = 0;
    for url in &replicas.urls {
        ready += scraped(&http, url, r#"portico_checks_total{outcome="ready"}"#).await;
        leaders += scraped(&http, url, "portico_publisher_leader ").await;
        if scraped(&http, url, "portico_published_rows_total").await > 0.0 {
            publishers += 1;
        }
    }
    assert_eq!(
        ready, BATCH as f64,
        "each domain checked ready once, by one replica"
    );
    assert_eq!(leaders, 1.0, "one replica holds the publisher lease");
    assert_eq!(publishers, 1, "one replica published");
    assert_eq!(
        saas.count("POST"),
        BATCH,
        "one custom hostname created per domain"
    );
    let ids = received.lock().unwrap().clone();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        ids.len(),
        unique.len(),
        "no webhook message sent twice: {ids:?}"
    );

    // Each replica killed in turn while domains are being added.
    for (round, victim) in [0usize, 1].into_iter().enumerate() {
        let survivor = 1 - victim;
        let first = BATCH * (round + 1);
        for n in first..first + BATCH / 2 {
            add(replicas.urls[victim].clone(), n).await;
        }
        // Checks, certificate calls, publishing and deliveries in flight.
        tokio::time::sleep(Duration::from_millis(300)).await;
        replicas.kill(victim);
        for n in first + BATCH / 2..first + BATCH {
            add(replicas.urls[survivor].clone(), n).await;
        }
        // A claim the victim held expires after CLAIM_LEASE (2 min).
        settled(&store, first + BATCH, Duration::from_secs(200)).await;
        nothing_lost(&store, &saas, &kv, &received, first + BATCH).await;
        replicas.start(victim);
    }
    let per_host: BTreeMap<String, usize> =
        saas.hostnames()
            .into_iter()
            .fold(BTreeMap::new(), |mut counts, h| {
                *counts.entry(h.hostname).or_default() += 1;
                counts
            });
    let deliveries = received.lock().unwrap().clone();
    let messages = deliveries.iter().collect::<BTreeSet<_>>().len();
    println!(
        "two replicas: {} domains connected, {} custom hostnames, {} webhook deliveries received ({messages} messages), {} KV requests",
        3 * BATCH,
        per_host.len(),
        deliveries.len(),
        kv.attempts(),
    );
    drop(replicas);
    store.close().await;
}
