//! Publishing survives crashes: real `portico-control serve` processes
//! publish to the KV contract server while accounts change pages, links and
//! domains, and the replica publishing is killed with SIGKILL at random
//! moments, then started again. Once the changes stop and the outbox is
//! drained, KV holds exactly what the store says is published: every routing
//! key with its value and no other, every content key a record names, with
//! the value it names. On PostgreSQL two replicas run side by side (the other
//! takes over); on SQLite one process is restarted after each kill.
//!
//! `PORTICO_CRASH_KILLS` sets how many kills (default 12 on PostgreSQL, 8 on
//! SQLite); `PORTICO_CRASH_SEED` replays a run (the seed is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portico_control::clock::Clock;
use portico_control::lifecycle;
use portico_control::publish::sync::{expected, sha256_hex, RecordSettings};
use portico_control::store::{outbox, parked, Store};
use portico_control::unit::Units;
use portico_shared::PlatformDomain;
use portico_tests::cloudflare_kv::KvContractServer;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::both_stores;
use crate::helpers::{kv_server, Db, TestDatabase, ADMIN_TOKEN, CONTENT_NS, PLATFORM, ROUTES_NS};
use crate::serving::{serve, Serving};

const ACCOUNTS: usize = 4;
/// Link paths, few so that links collide, move and get replaced.
const PATHS: [&str; 4] = ["offer", "join", "sale", "a/b"];
/// Hostnames shared by every account: one holds each at a time.
const HOSTS: [&str; 6] = [
    "one.crash.example.com",
    "two.crash.example.com",
    "three.crash.example.com",
    "www.four.example.com",
    "five.crash.example.com",
    "six.crash.example.com",
];
/// A short lease, so that each kill is followed by a takeover quickly.
const LEASE_MS: &str = "1500";

/// The replicas: `serve` processes on one database.
struct Fleet<'a> {
    database: &'a TestDatabase,
    server: &'a KvContractServer,
    processes: Vec<Option<Serving>>,
    /// The base URL of each live replica, read by the driver.
    apis: Arc<Mutex<Vec<String>>>,
    urls: Vec<String>,
}

impl<'a> Fleet<'a> {
    fn start(database: &'a TestDatabase, server: &'a KvContractServer, size: usize) -> Fleet<'a> {
        let mut fleet = Fleet {
            database,
            server,
            processes: Vec::new(),
            apis: Arc::default(),
            urls: Vec::new(),
        };
        for _ in 0..size {
            fleet.processes.push(None);
            fleet.urls.push(String::new());
            fleet.restart(fleet.processes.len() - 1);
        }
        fleet
    }

    fn restart(&mut self, slot: usize) {
        let env = [
            ("PORTICO_PUBLISH_LEASE_MS", LEASE_MS),
            ("PORTICO_PUBLISH_POLL_MS", "50"),
            ("PORTICO_PUBLISH_BATCH_SIZE", "25"),
            // Many small batches, as fast as they come: what this test
            // kills the publisher between (the budget's pacing has a test
            // of its own, `api_budget`).
            ("PORTICO_CLOUDFLARE_KV_BUDGET", "0"),
        ];
        let (process, api) = serve(self.database, self.server, &env);
        self.processes[slot] = Some(process);
        self.urls[slot] = api;
        self.publish_apis();
    }

    /// SIGKILL, as a crash: the lease is not given up.
    fn kill(&mut self, slot: usize) {
        self.processes[slot] = None;
        self.publish_apis();
    }

    fn publish_apis(&self) {
        *self.apis.lock().unwrap() = self
            .processes
            .iter()
            .zip(&self.urls)
            .filter(|(process, _)| process.is_some())
            .map(|(_, url)| url.clone())
            .collect();
    }

    /// The slot of the replica that publishes now (its lease running), as
    /// the replicas themselves say; waits for one.
    async fn leader(&self, http: &reqwest::Client) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for (slot, url) in self.urls.iter().enumerate() {
                if self.processes[slot].is_none() {
                    continue;
                }
                let Ok(answer) = http
                    .get(format!("{url}/v1/admin/publishing"))
                    .bearer_auth(ADMIN_TOKEN)
                    .send()
                    .await
                else {
                    continue;
                };
                let Ok(status) = answer.json::<Value>().await else {
                    continue;
                };
                let leads = status["leader"]["holder"] == status["replica"]
                    && status["leader"]["expires_in_ms"].as_i64() > Some(0);
                if leads {
                    return slot;
                }
            }
            assert!(Instant::now() < deadline, "no replica took the lease");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// One account as the driver knows it (ids it created; some may be gone).
#[derive(Default)]
struct Account {
    token: String,
    pages: Vec<String>,
    links: Vec<String>,
    domains: Vec<String>,
}

/// Changes accounts at random, through any live replica's API (and, for
/// what DNS would do, the lifecycle steps in this process), until told to stop.
struct Driver {
    http: reqwest::Client,
    apis: Arc<Mutex<Vec<String>>>,
    units: Units,
    rng: StdRng,
    accounts: Vec<Account>,
    changes: Arc<AtomicUsize>,
}

impl Driver {
    /// One API call through a live replica; a replica killed under it is
    /// tried again elsewhere. Never a 5xx.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let api = self.apis.lock().unwrap().choose(&mut self.rng).cloned();
            if let Some(api) = api {
                let mut request = self
                    .http
                    .request(method.parse().unwrap(), format!("{api}{path}"))
                    .bearer_auth(token);
                if let Some(body) = &body {
                    request = request.json(body);
                }
                if let Ok(answer) = request.send().await {
                    let status = answer.status().as_u16();
                    let body = answer.json::<Value>().await.unwrap_or(Value::Null);
                    assert!(status < 500, "{method} {path} answered {status}: {body}");
                    return (status, body);
                }
            }
            assert!(
                Instant::now() < deadline,
                "no replica answered {method} {path}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn setup(&mut self) {
        for i in 0..ACCOUNTS {
            let (status, account) = self
                .call(
                    "POST",
                    "/v1/accounts",
                    ADMIN_TOKEN,
                    Some(json!({ "username": format!("crash{i}") })),
                )
                .await;
            assert_eq!(status, 201, "{account}");
            let id = account["id"].as_str().unwrap().to_string();
            let (status, token) = self
                .call(
                    "POST",
                    &format!("/v1/accounts/{id}/tokens"),
                    ADMIN_TOKEN,
                    Some(json!({ "name": "crash" })),
                )
                .await;
            assert_eq!(status, 201, "{token}");
            self.accounts.push(Account {
                token: token["secret"].as_str().unwrap().to_string(),
                ..Account::default()
            });
        }
    }

    fn pick(&mut self, ids: fn(&Account) -> &Vec<String>, account: usize) -> Option<String> {
        ids(&self.accounts[account]).choose(&mut self.rng).cloned()
    }

    /// One random change to one random account.
    async fn change(&mut self) {
        let a = self.rng.gen_range(0..ACCOUNTS);
        let token = self.accounts[a].token.clone();
        let html = format!("<h1>crash{a} {}</h1>", self.rng.gen_range(0..1_000_000));
        let page = self.pick(|acct| &acct.pages, a);
        let link = self.pick(|acct| &acct.links, a);
        let domain = self.pick(|acct| &acct.domains, a);
        let now = self.units.clock.now_ms();
        match self.rng.gen_range(0..100) {
            0..15 => {
                let body = json!({ "kind": "page", "title": "p", "content": html });
                let (status, page) = self.call("POST", "/v1/pages", &token, Some(body)).await;
                if status == 201 {
                    self.accounts[a]
                        .pages
                        .push(page["id"].as_str().unwrap().into());
                }
            }
            15..35 => {
                if let Some(page) = page {
                    let body = json!({ "content": html });
                    self.call("PATCH", &format!("/v1/pages/{page}"), &token, Some(body))
                        .await;
                }
            }
            35..40 => {
                if let Some(page) = page {
                    self.call("DELETE", &format!("/v1/pages/{page}"), &token, None)
                        .await;
                }
            }
            40..62 => {
                if let Some(page) = page {
                    let on_domain = self.rng.gen_bool(0.7);
                    let path = PATHS.choose(&mut self.rng).unwrap();
                    let body = json!({
                        "page_id": page,
                        "domain_id": if on_domain { domain } else { None },
                        "path": path,
                    });
                    let (status, link) = self.call("POST", "/v1/links", &token, Some(body)).await;
                    if status == 201 {
                        self.accounts[a]
                            .links
                            .push(link["id"].as_str().unwrap().into());
                    }
                }
            }
            62..70 => {
                if let Some(link) = link {
                    self.call("DELETE", &format!("/v1/links/{link}"), &token, None)
                        .await;
                }
            }
            70..78 => {
                let host = HOSTS.choose(&mut self.rng).unwrap();
                let body = json!({ "hostname": host });
                let (status, domain) = self.call("POST", "/v1/domains", &token, Some(body)).await;
                if status == 201 {
                    self.accounts[a]
                        .domains
                        .push(domain["id"].as_str().unwrap().into());
                }
            }
            78..86 => {
                // Its DNS checked out: connected and published.
                if let Some(domain) = domain {
                    let _ = lifecycle::mark_connected(&self.units, &domain, now).await;
                }
            }
            86..92 => {
                if let (Some(domain), Some(page)) = (domain, page) {
                    let body = json!({
                        "index": { "type": "page", "page_id": page },
                        "not_found": { "type": "default" },
                    });
                    self.call(
                        "PUT",
                        &format!("/v1/domains/{domain}/settings"),
                        &token,
                        Some(body),
                    )
                    .await;
                }
            }
            92..95 => {
                if let Some(domain) = domain {
                    self.call("DELETE", &format!("/v1/domains/{domain}"), &token, None)
                        .await;
                }
            }
            95..98 => {
                // Its DNS stopped pointing here: disconnected, still served.
                if let Some(domain) = domain {
                    let _ =
                        lifecycle::mark_disconnected(&self.units, &domain, "crash test", now).await;
                }
            }
            _ => {
                // The grace period is over: off the edge.
                if let Some(domain) = domain {
                    let _ = lifecycle::unpublish(&self.units, &domain, now).await;
                }
            }
        }
        self.changes.fetch_add(1, Ordering::Relaxed);
    }
}

fn kills(db: Db) -> usize {
    std::env::var("PORTICO_CRASH_KILLS")
        .ok()
        .and_then(|kills| kills.parse().ok())
        .unwrap_or(match db {
            Db::Postgres => 12,
            Db::Sqlite => 8,
        })
}

async fn killing_the_publisher_loses_nothing_and_leaves_nothing_stale(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let seed: u64 = std::env::var("PORTICO_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test on {db:?}: PORTICO_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let server = kv_server().await;
    let replicas = match db {
        Db::Postgres => 2,
        Db::Sqlite => 1,
    };
    let mut fleet = Fleet::start(&database, &server, replicas);
    let store = Store::connect(&database.url, 2).await.unwrap();
    // What `serve` builds records with: no certificate provider, so no HSTS.
    let records = RecordSettings {
        platform: PlatformDomain::parse(PLATFORM).unwrap(),
        hsts_max_age_s: 0,
        apex_addresses: Default::default(),
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let mut driver = Driver {
        http: http.clone(),
        apis: fleet.apis.clone(),
        units: Units {
            store: store.clone(),
            records: records.clone(),
            wake: Arc::new(Notify::new()),
            clock: Clock::system(),
            challenge_label: Default::default(),
            webhooks_wake: Arc::new(Notify::new()),
        },
        rng: StdRng::seed_from_u64(rng.gen()),
        accounts: Vec::new(),
        changes: Arc::default(),
    };
    driver.setup().await;
    let changes = driver.changes.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let driving = tokio::spawn({
        let stop = stop.clone();
        async move {
            while !stop.load(Ordering::Relaxed) {
                driver.change().await;
            }
        }
    });

    let kills = kills(db);
    let mut waiting_at_kill = Vec::new();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..1200))).await;
        let leader = fleet.leader(&http).await;
        let (depth, _) = outbox::depth(store.pool()).await.unwrap();
        fleet.kill(leader);
        waiting_at_kill.push(depth);
        if replicas == 1 || rng.gen_bool(0.5) {
            fleet.restart(leader);
        } else {
            // The other replica takes over alone for a while.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..2000))).await;
            fleet.restart(leader);
        }
    }
    stop.store(true, Ordering::Relaxed);
    driving.await.expect("the driver never saw a 5xx");

    // Drained, with nothing refused.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (depth, _) = outbox::depth(store.pool()).await.unwrap();
        if depth == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{depth} outbox rows never delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        parked::count(store.pool()).await.unwrap(),
        0,
        "nothing parked"
    );

    // What the store says is published, account by account.
    let accounts: Vec<(String,)> = sqlx::query_as("SELECT id FROM accounts")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let mut routes = BTreeMap::new();
    let mut content = BTreeSet::new();
    let mut conn = store.pool().acquire().await.unwrap();
    for (account,) in &accounts {
        let wanted = expected(&mut conn, &records, account).await.unwrap();
        routes.extend(wanted.routes);
        content.extend(wanted.content);
    }
    drop(conn);

    let in_kv = server.entries(ROUTES_NS);
    let missing: Vec<_> = routes.keys().filter(|k| !in_kv.contains_key(*k)).collect();
    let extra: Vec<_> = in_kv.keys().filter(|k| !routes.contains_key(*k)).collect();
    let stale: Vec<_> = routes
        .iter()
        .filter(|(k, v)| in_kv.get(*k).is_some_and(|kv| kv != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && stale.is_empty(),
        "routing keys: missing {missing:?}, extra {extra:?}, stale {stale:?}"
    );
    let content_in_kv = server.entries(CONTENT_NS);
    for key in &content {
        let value = content_in_kv
            .get(key)
            .unwrap_or_else(|| panic!("content {key} missing"));
        assert!(
            key.ends_with(&sha256_hex(value.as_bytes())),
            "content {key} stale"
        );
    }
    let domains_published: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM domains WHERE published_at IS NOT NULL")
            .fetch_one(store.pool())
            .await
            .unwrap();
    let pending = waiting_at_kill.iter().filter(|depth| **depth > 0).count();
    println!(
        "{db:?}: {kills} SIGKILLs of the publishing replica ({pending} with outbox rows waiting: {waiting_at_kill:?}), \
         {} changes, {} KV requests; KV matches the store: {} routing keys ({} published domains), {} content keys",
        changes.load(Ordering::Relaxed),
        server.attempts(),
        routes.len(),
        domains_published.0,
        content.len(),
    );
    assert!(domains_published.0 > 0, "the run published some domain");
    drop(fleet);
    store.close().await;
}

both_stores!(killing_the_publisher_loses_nothing_and_leaves_nothing_stale);
