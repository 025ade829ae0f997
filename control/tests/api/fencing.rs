//! Fenced publishing: a publisher that lost its lease stops before its next
//! KV request (or mid-request, at its heartbeat) and deletes nothing; a
//! request slower than the lease lands while the lease is renewed; a crashed
//! publisher is replaced within its short lease; batches are bounded in
//! bytes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_control::publish::kv_cloudflare::CloudflareKv;
use portico_control::publish::{Drained, PublishSettings, Publisher};
use portico_control::store::outbox::{self, Namespace};
use portico_control::store::{lease, Store};
use portico_tests::cloudflare_kv::KvContractServer;
use tokio::sync::Notify;

use crate::both_stores;
use crate::helpers::{
    cloudflare_settings, kv_server, start, Db, TestDatabase, CONTENT_NS, ROUTES_NS,
};
use crate::serving::{create_account, serve};

pub async fn open_store(database: &TestDatabase) -> Store {
    let store = Store::connect(&database.url, 4).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// A publisher (a replica) sending to the KV contract server.
pub fn publisher(store: &Store, server: &KvContractServer, settings: PublishSettings) -> Publisher {
    let backend = CloudflareKv::from_settings(&cloudflare_settings(server))
        .unwrap()
        .unwrap();
    Publisher::with_settings(
        store.clone(),
        Arc::new(backend),
        settings,
        Arc::new(Notify::new()),
    )
}

pub async fn put(store: &Store, namespace: Namespace, key: &str, value: &str) {
    let mut conn = store.pool().acquire().await.unwrap();
    outbox::enqueue_put(
        &mut conn,
        namespace,
        key,
        value,
        portico_control::store::now_ms(),
    )
    .await
    .unwrap();
}

/// Another replica takes the lease over, as a takeover does (a new holder,
/// the token bumped), until `expires_at`.
async fn steal_lease(store: &Store, expires_at: i64) {
    sqlx::query(
        "UPDATE publisher_lease SET holder = 'pub_elsewhere', token = token + 1, expires_at = $1 WHERE id = 1",
    )
    .bind(expires_at)
    .execute(store.pool())
    .await
    .unwrap();
}

fn accepted_puts(server: &KvContractServer, namespace: &str) -> Vec<Vec<String>> {
    server
        .accepted()
        .into_iter()
        .filter(|r| r.namespace == namespace && r.op == "put")
        .map(|r| r.keys)
        .collect()
}

async fn a_deposed_publisher_stops_before_its_next_write(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let store = open_store(&database).await;
    let server = kv_server().await;
    put(&store, Namespace::Content, "v1/c/page", "<h1>Offer</h1>").await;
    put(&store, Namespace::Routes, "v1/h/a.example", "old").await;
    let first = publisher(&store, &server, PublishSettings::default());
    // The first request (content) is in flight when another replica takes over.
    server.hold();
    let batch = tokio::spawn({
        let first = first.clone();
        async move { first.drain_once().await }
    });
    server.wait_until_held(1).await;
    steal_lease(&store, 0).await;
    put(&store, Namespace::Routes, "v1/h/a.example", "new").await;
    server.release();
    assert_eq!(batch.await.unwrap().unwrap(), Drained::Deposed);
    // It never sent its routing write, and deleted nothing.
    assert!(accepted_puts(&server, ROUTES_NS).is_empty());
    assert_eq!(accepted_puts(&server, CONTENT_NS).len(), 1);
    assert_eq!(outbox::pending(store.pool()).await.unwrap(), 3);

    // The new leader (the thief's lease ran out) delivers everything, newest last.
    let second = publisher(&store, &server, PublishSettings::default());
    assert_eq!(second.drain_once().await.unwrap(), Drained::Delivered(3));
    assert_eq!(
        server.get(ROUTES_NS, "v1/h/a.example").as_deref(),
        Some("new")
    );
    assert_eq!(first.drain_once().await.unwrap(), Drained::NotLeader);
    assert_eq!(accepted_puts(&server, ROUTES_NS).len(), 1);
    store.close().await;
}

async fn a_deposed_publisher_deletes_nothing(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let store = open_store(&database).await;
    let server = kv_server().await;
    put(&store, Namespace::Routes, "v1/h/a.example", "v1").await;
    let first = publisher(&store, &server, PublishSettings::default());
    server.hold();
    let batch = tokio::spawn({
        let first = first.clone();
        async move { first.drain_once().await }
    });
    server.wait_until_held(1).await;
    let token = lease::current(store.pool()).await.unwrap().token;
    // Taken over while its last request is in flight; the request lands.
    steal_lease(&store, portico_control::store::now_ms() + 60_000).await;
    server.release();
    assert_eq!(batch.await.unwrap().unwrap(), Drained::Deposed);
    assert_eq!(
        server.get(ROUTES_NS, "v1/h/a.example").as_deref(),
        Some("v1")
    );
    // The rows stay for the new leader: only it may delete them.
    assert_eq!(outbox::pending(store.pool()).await.unwrap(), 1);
    let now = lease::current(store.pool()).await.unwrap();
    assert_eq!(now.holder.as_deref(), Some("pub_elsewhere"));
    assert_eq!(now.token, token + 1);
    assert_eq!(first.drain_once().await.unwrap(), Drained::NotLeader);
    assert_eq!(server.accepted().len(), 1);
    store.close().await;
}

async fn a_crashed_publisher_is_replaced_within_its_short_lease(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let store = open_store(&database).await;
    // A process publishes, then dies without giving its lease up (SIGKILL).
    let short = PublishSettings::default();
    assert_eq!(short.lease_ttl, Duration::from_secs(5));
    put(&store, Namespace::Routes, "v1/h/before.example", "x").await;
    let dead = publisher(&store, &server, short.clone());
    assert_eq!(dead.drain_once().await.unwrap(), Drained::Delivered(1));
    let crashed_at = Instant::now();
    drop(dead);
    store.close().await;

    // The restarted process (a new holder, default settings) publishes a change.
    let mut settings = database.settings();
    settings.kv = cloudflare_settings(&server);
    settings.publish.poll_interval = PublishSettings::default().poll_interval;
    settings.publish.lease_ttl = short.lease_ttl;
    let app = start(&settings).await;
    app.account("katie").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.get(ROUTES_NS, "v1/h/katie.portico.test").is_none() {
        assert!(Instant::now() < deadline, "not published within 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waited = crashed_at.elapsed();
    eprintln!("published {waited:?} after the crash");
    // It waited for the dead lease (5 s), not a minute; and not less: it was fenced out.
    let lease = short.lease_ttl;
    assert!(waited >= lease - Duration::from_millis(500), "{waited:?}");
    assert!(waited < lease + Duration::from_secs(3), "{waited:?}");
    let status = lease::current(app.store().pool()).await.unwrap();
    assert_eq!(status.token, 2, "one takeover after the first");
    app.stop().await;
}

/// Where the lease is 1.5 s, a bulk request that takes 4 s.
async fn a_request_slower_than_the_lease_lands_while_renewals_do(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let store = open_store(&database).await;
    let server = kv_server().await;
    put(&store, Namespace::Routes, "v1/h/slow.example", "v1").await;
    let lease_ttl = Duration::from_millis(1500);
    let slow = publisher(
        &store,
        &server,
        PublishSettings {
            lease_ttl,
            ..PublishSettings::default()
        },
    );
    server.hold();
    let batch = tokio::spawn({
        let slow = slow.clone();
        async move { slow.drain_once().await }
    });
    server.wait_until_held(1).await;
    tokio::time::sleep(lease_ttl * 2 + Duration::from_secs(1)).await;
    // Still ours, renewed by the heartbeat: no other replica could take over.
    let lease = lease::current(store.pool()).await.unwrap();
    assert_eq!(lease.holder.as_deref(), Some(slow.holder()));
    assert!(
        lease.expires_at > portico_control::store::now_ms(),
        "{lease:?}"
    );
    assert!(!batch.is_finished());
    server.release();
    assert_eq!(batch.await.unwrap().unwrap(), Drained::Delivered(1));
    assert_eq!(
        server.get(ROUTES_NS, "v1/h/slow.example").as_deref(),
        Some("v1")
    );
    assert_eq!(outbox::pending(store.pool()).await.unwrap(), 0);
    store.close().await;
}

/// Taken over while a request is out: the heartbeat's next renewal is
/// refused, and the request is cut short without waiting for KV.
async fn a_deposed_publisher_cuts_its_request_short(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let store = open_store(&database).await;
    let server = kv_server().await;
    put(&store, Namespace::Routes, "v1/h/cut.example", "v1").await;
    let lease_ttl = Duration::from_millis(3000);
    let first = publisher(
        &store,
        &server,
        PublishSettings {
            lease_ttl,
            ..PublishSettings::default()
        },
    );
    server.hold();
    let batch = tokio::spawn({
        let first = first.clone();
        async move { first.drain_once().await }
    });
    server.wait_until_held(1).await;
    let stolen_at = Instant::now();
    steal_lease(&store, portico_control::store::now_ms() + 60_000).await;
    let drained = tokio::time::timeout(lease_ttl, batch)
        .await
        .expect("stopped at the next beat, with KV still holding the request");
    assert_eq!(drained.unwrap().unwrap(), Drained::Deposed);
    assert!(stolen_at.elapsed() < lease_ttl / 3 + Duration::from_millis(500));
    server.release();
    assert_eq!(outbox::pending(store.pool()).await.unwrap(), 1);
    store.close().await;
}

async fn batches_are_bounded_in_bytes(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let store = open_store(&database).await;
    let server = kv_server().await;
    let page = "x".repeat(3_000);
    for i in 0..10 {
        put(
            &store,
            Namespace::Content,
            &format!("v1/c/page{i:02}"),
            &page,
        )
        .await;
    }
    put(
        &store,
        Namespace::Content,
        "v1/c/large",
        &"y".repeat(25_000),
    )
    .await;
    put(&store, Namespace::Content, "v1/c/after", "z").await;
    let settings = PublishSettings {
        batch_bytes: 10_000,
        ..PublishSettings::default()
    };
    let publisher = publisher(&store, &server, settings);
    let mut batches = Vec::new();
    loop {
        match publisher.drain_once().await.unwrap() {
            Drained::Delivered(rows) => batches.push(rows),
            Drained::Idle => break,
            other => panic!("{other:?}"),
        }
    }
    // Three pages of 3 kB fit in 10 kB; a row over the bound goes alone.
    assert_eq!(batches, vec![3, 3, 3, 1, 1, 1]);
    let sizes: Vec<usize> = accepted_puts(&server, CONTENT_NS)
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(sizes, batches);
    assert_eq!(server.entries(CONTENT_NS).len(), 12);
    store.close().await;
}

async fn published_within(server: &KvContractServer, key: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while server.get(ROUTES_NS, key).is_none() {
        assert!(
            Instant::now() < deadline,
            "{key} not published within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_killed_control_plane_is_replaced_within_seconds(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let (first, api) = serve(&database, &server, &[]);
    create_account(&api, "katie").await;
    published_within(&server, "v1/h/katie.portico.test", Duration::from_secs(20)).await;
    drop(first); // SIGKILL: the lease is not given up
    let killed_at = Instant::now();

    let (second, api) = serve(&database, &server, &[]);
    create_account(&api, "bob").await;
    published_within(&server, "v1/h/bob.portico.test", Duration::from_secs(20)).await;
    let waited = killed_at.elapsed();
    eprintln!("a change reached KV {waited:?} after the kill");
    drop(second);
    // The dead lease (5 s by default) plus a poll (1 s), not the minute it used to be.
    assert!(waited < Duration::from_secs(8), "{waited:?}");
}

both_stores!(
    a_killed_control_plane_is_replaced_within_seconds,
    a_deposed_publisher_stops_before_its_next_write,
    a_deposed_publisher_deletes_nothing,
    a_crashed_publisher_is_replaced_within_its_short_lease,
    a_request_slower_than_the_lease_lands_while_renewals_do,
    a_deposed_publisher_cuts_its_request_short,
    batches_are_bounded_in_bytes,
);
