//! Benchmark (not run in CI): how fast the publisher drains the outbox to
//! the Workers KV contract server (`portico_tests::cloudflare_kv`, in this
//! process, over loopback HTTP), on SQLite and PostgreSQL.
//!
//! ```sh
//! cargo run --release -p portico-control --example publish_drain -- \
//!     [--keys 20000] [--value-bytes 300] [--batch-size 1000] [--database sqlite|postgres|both]
//! ```
//!
//! Each round queues `--keys` routing puts in one transaction, then times
//! `Publisher::drain_once` until the outbox is empty. It uses only the API
//! the publisher had before fencing too, so `scripts/bench-publish` builds
//! it against both and runs them in turn (docs/publishing.md).

use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_control::config::KvSettings;
use portico_control::publish::kv_cloudflare::CloudflareKv;
use portico_control::publish::{Drained, Publisher};
use portico_control::store::outbox::{self, Namespace};
use portico_control::store::Store;
use portico_tests::cloudflare_kv::{KvContractConfig, KvContractServer};
use rand::RngCore;
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::Notify;

struct Options {
    keys: usize,
    value_bytes: usize,
    batch_size: usize,
    databases: Vec<&'static str>,
}

fn options() -> Options {
    let mut options = Options {
        keys: 20_000,
        value_bytes: 300,
        batch_size: 1000,
        databases: vec!["sqlite", "postgres"],
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--keys" => options.keys = value.parse().expect("--keys N"),
            "--value-bytes" => options.value_bytes = value.parse().expect("--value-bytes N"),
            "--batch-size" => options.batch_size = value.parse().expect("--batch-size N"),
            "--database" => {
                options.databases = match value.as_str() {
                    "sqlite" => vec!["sqlite"],
                    "postgres" => vec!["postgres"],
                    "both" => vec!["sqlite", "postgres"],
                    other => panic!("--database sqlite|postgres|both, not {other}"),
                }
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    options
}

fn postgres_url() -> String {
    std::env::var("PORTICO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database: (url, what to drop afterwards).
async fn database(kind: &str, dir: &tempfile::TempDir) -> (String, Option<String>) {
    let mut bytes = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut bytes);
    let name = format!("portico_bench_{}", hex::encode(bytes));
    if kind == "sqlite" {
        let path = dir.path().join(format!("{name}.db"));
        return (format!("sqlite://{}?mode=rwc", path.display()), None);
    }
    let base = postgres_url();
    let mut conn = PgConnection::connect(&base)
        .await
        .expect("PostgreSQL answers");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let _ = conn.close().await;
    let server = &base[..base.rfind('/').expect("a database in the URL")];
    (format!("{server}/{name}"), Some(name))
}

async fn drop_database(name: &str) {
    if let Ok(mut conn) = PgConnection::connect(&postgres_url()).await {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
    }
}

async fn round(kind: &str, options: &Options, dir: &tempfile::TempDir) -> (Duration, usize) {
    let (url, drop_name) = database(kind, dir).await;
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let server = KvContractServer::start(KvContractConfig::default())
        .await
        .unwrap();
    let config = server.config();
    let backend = CloudflareKv::from_settings(&KvSettings::Cloudflare {
        api_url: server.api_url(),
        account_id: config.account_id.clone(),
        api_token: config.api_token.clone(),
        routes_namespace_id: config.local_bindings[0].1.clone(),
        content_namespace_id: config.local_bindings[1].1.clone(),
    })
    .unwrap()
    .unwrap();
    let value = format!(
        "{{\"v\":1,\"x\":\"{}\"}}",
        "x".repeat(options.value_bytes.saturating_sub(16))
    );
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..options.keys {
        outbox::enqueue_put(
            &mut tx,
            Namespace::Routes,
            &format!("v1/h/host{i}.example"),
            &value,
            0,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let publisher = Publisher::new(
        store.clone(),
        Arc::new(backend),
        options.batch_size,
        Duration::from_secs(1),
        Arc::new(Notify::new()),
    );
    let started = Instant::now();
    let mut rows = 0;
    loop {
        match publisher.drain_once().await.expect("delivered") {
            Drained::Delivered(n) => rows += n,
            Drained::Idle => break,
            other => panic!("{other:?}"),
        }
    }
    let took = started.elapsed();
    assert_eq!(rows, options.keys);
    assert_eq!(server.entries("routes-namespace-id").len(), options.keys);
    publisher.release().await;
    store.close().await;
    if let Some(name) = drop_name {
        drop_database(&name).await;
    }
    (took, server.accepted().len())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    let dir = tempfile::tempdir().unwrap();
    for kind in &options.databases {
        let (took, requests) = round(kind, &options, &dir).await;
        println!(
            "{kind}: {} keys of {} B in {:.3} s = {:.0} keys/s ({requests} bulk requests)",
            options.keys,
            options.value_bytes,
            took.as_secs_f64(),
            options.keys as f64 / took.as_secs_f64()
        );
    }
}
