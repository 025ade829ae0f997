//! One `spawn_app()` for every API test (zero2prod style): the service on
//! 127.0.0.1:0 with a fresh database, SQLite (a file in a temporary
//! directory) or PostgreSQL (a new database per test, dropped afterwards).
//!
//! PostgreSQL: `PORTICO_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Where it does not answer, the
//! PostgreSQL variants return at once and `postgres_availability` says
//! plainly that they were skipped, unless `PORTICO_TEST_POSTGRES_REQUIRED=1`
//! (scripts/test sets it, after scripts/ensure-postgres found or started a
//! server): then they fail.

use std::sync::OnceLock;
use std::time::Duration;

use portico_control::api::limits::RateLimitSettings;
use portico_control::api::AppState;
use portico_control::app::Application;
use portico_control::config::{KvSettings, RawSettings, Settings};
use portico_control::store::{outbox, Store};
use portico_tests::cloudflare_kv::{KvContractConfig, KvContractServer};
use rand::RngCore;
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const PLATFORM: &str = "portico.test";
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs a scenario against both stores: `mod <name> { fn sqlite; fn postgres }`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Db::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Db::Postgres).await
                }
            }
        )*
    };
}

pub fn postgres_url() -> String {
    std::env::var("PORTICO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_string())
}

/// `PORTICO_TEST_POSTGRES_REQUIRED=1` (scripts/test, so CI): a PostgreSQL
/// variant fails, rather than skips, when the server does not answer.
pub fn postgres_required() -> bool {
    std::env::var("PORTICO_TEST_POSTGRES_REQUIRED").is_ok_and(|v| v == "1" || v == "true")
}

static POSTGRES: OnceLock<Result<(), String>> = OnceLock::new();

/// Whether PostgreSQL answers (checked once per process).
pub async fn postgres_available() -> Result<(), String> {
    if let Some(known) = POSTGRES.get() {
        return known.clone();
    }
    let url = postgres_url();
    let result =
        match tokio::time::timeout(Duration::from_secs(3), PgConnection::connect(&url)).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                Ok(())
            }
            Ok(Err(err)) => Err(format!("{url}: {err}")),
            Err(_) => Err(format!("{url}: no answer within 3 s")),
        };
    POSTGRES.get_or_init(|| result).clone()
}

/// A fresh PostgreSQL database; dropped when the guard is.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    async fn create() -> PgDatabase {
        let base = postgres_url();
        let mut bytes = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut bytes);
        let name = format!("portico_test_{}", hex::encode(bytes));
        let mut conn = PgConnection::connect(&base)
            .await
            .expect("PostgreSQL answered a moment ago");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create a test database");
        let _ = conn.close().await;
        PgDatabase {
            url: with_database(&base, &name),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let base = postgres_url();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&base).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// `postgres://…/<db>?…` with the database replaced.
fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (url, None),
    };
    let after_scheme = main.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match main[after_scheme..].find('/') {
        Some(slash) => &main[..after_scheme + slash],
        None => main,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// Where the database lives: kept across restarts of the app within a test.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<TempDir>,
    _pg: Option<PgDatabase>,
}

impl TestDatabase {
    /// `None` when PostgreSQL is wanted but absent.
    pub async fn new(db: Db) -> Option<TestDatabase> {
        match db {
            Db::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("portico-control-")
                    .tempdir()
                    .unwrap();
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("data/portico.db").display()
                );
                Some(TestDatabase {
                    url,
                    _dir: Some(dir),
                    _pg: None,
                })
            }
            Db::Postgres => {
                if let Err(why) = postgres_available().await {
                    assert!(
                        !postgres_required(),
                        "PostgreSQL is required (PORTICO_TEST_POSTGRES_REQUIRED) but {why}"
                    );
                    eprintln!("PostgreSQL tests skipped: {why}");
                    return None;
                }
                let pg = PgDatabase::create().await;
                Some(TestDatabase {
                    url: pg.url.clone(),
                    _dir: None,
                    _pg: Some(pg),
                })
            }
        }
    }

    pub fn settings(&self) -> Settings {
        let raw = RawSettings {
            platform_domain: Some(PLATFORM.into()),
            listen: Some("127.0.0.1:0".into()),
            database_url: Some(self.url.clone()),
            admin_token: Some(ADMIN_TOKEN.into()),
            publish_poll_ms: Some(20),
            // Scheduled DNS checks stay off unless a test turns them on
            // (with resolvers on loopback).
            verifier: Some(false),
            database_max_connections: Some(5),
            // The tests' customers use `.test` names, as the local stack's do.
            allow_test_domains: Some(true),
            ..RawSettings::default()
        };
        let mut settings = Settings::resolve(raw).expect("test settings are valid");
        // The tests hammer the API; rate_limits.rs turns limits on where it needs them.
        settings.rate_limits = RateLimitSettings::off();
        settings
    }
}

/// The running service.
pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Starts the service with a fresh database and no KV (`kv = none`).
pub async fn spawn_app(db: Db) -> Option<(TestApp, TestDatabase)> {
    let database = TestDatabase::new(db).await?;
    let app = start(&database.settings()).await;
    Some((app, database))
}

/// The KV contract server and settings that point the service at it.
pub async fn kv_server() -> KvContractServer {
    KvContractServer::start(KvContractConfig::default())
        .await
        .unwrap()
}

pub fn cloudflare_settings(server: &KvContractServer) -> KvSettings {
    let config = server.config();
    KvSettings::Cloudflare {
        api_url: server.api_url(),
        account_id: config.account_id.clone(),
        api_token: config.api_token.clone(),
        routes_namespace_id: config.local_bindings[0].1.clone(),
        content_namespace_id: config.local_bindings[1].1.clone(),
    }
}

pub fn local_settings(server: &KvContractServer) -> KvSettings {
    KvSettings::Local {
        edge_url: server.edge_url(),
        token: server.config().local_token.clone(),
    }
}

pub const ROUTES_NS: &str = "routes-namespace-id";
pub const CONTENT_NS: &str = "content-namespace-id";

/// Starts the service with these settings.
pub async fn start(settings: &Settings) -> TestApp {
    let app = Application::build(settings)
        .await
        .expect("the application builds");
    run(app)
}

/// Starts the service with these settings and this KV backend.
pub async fn start_with_backend(
    settings: &Settings,
    backend: std::sync::Arc<dyn portico_control::publish::KvBackend>,
) -> TestApp {
    let app = Application::build_with_backend(settings, backend)
        .await
        .expect("the application builds");
    run(app)
}

fn run(app: Application) -> TestApp {
    let address = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        state,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestApp {
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Graceful shutdown: waits until the server and publisher stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends a request; `body` as JSON when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// Creates an account and its first token; returns (account id, token).
    pub async fn account(&self, username: &str) -> (String, String) {
        let (status, account) = self
            .post("/v1/accounts", ADMIN_TOKEN, json!({ "username": username }))
            .await;
        assert_eq!(status, 201, "{account}");
        let id = account["id"].as_str().unwrap().to_string();
        let (status, token) = self
            .post(
                &format!("/v1/accounts/{id}/tokens"),
                ADMIN_TOKEN,
                json!({ "name": "test" }),
            )
            .await;
        assert_eq!(status, 201, "{token}");
        (id, token["secret"].as_str().unwrap().to_string())
    }

    /// `POST …/verify` as the dashboard's "Check now" does it: while another
    /// check of the domain runs (409 `verification_in_progress`, such as the
    /// background scheduler's), asks again.
    pub async fn verify_domain(&self, domain_id: &str, token: &str) -> (u16, Value) {
        let path = format!("/v1/domains/{domain_id}/verify");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self.post(&path, token, Value::Null).await;
            let running = status == 409 && body["error"]["code"] == "verification_in_progress";
            if !running || tokio::time::Instant::now() > deadline {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Adds a domain; returns its JSON.
    pub async fn domain(&self, token: &str, hostname: &str) -> Value {
        let (status, domain) = self
            .post("/v1/domains", token, json!({ "hostname": hostname }))
            .await;
        assert_eq!(status, 201, "{domain}");
        domain
    }

    /// Creates a page; returns its JSON.
    pub async fn page(&self, token: &str, title: &str, content: &str) -> Value {
        let (status, page) = self
            .post(
                "/v1/pages",
                token,
                json!({ "kind": "page", "title": title, "content": content }),
            )
            .await;
        assert_eq!(status, 201, "{page}");
        page
    }

    /// Marks a domain connected (what verification will do) and publishes it.
    pub async fn connect(&self, domain_id: &str) {
        portico_control::lifecycle::mark_connected(
            &self.state.units,
            domain_id,
            self.state.clock.now_ms(),
        )
        .await
        .expect("mark connected");
    }

    /// Waits until the publisher has delivered every outbox row.
    pub async fn published(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let pending = outbox::pending(self.store().pool()).await.unwrap();
            if pending == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{pending} outbox rows still pending"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[test]
fn replaces_the_database_in_postgres_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
}

/// The check named `name` in a verification report.
pub fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}
