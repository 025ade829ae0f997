//! The Cloudflare API budget every replica shares (`cloudflare_api::budget`):
//! two stores on one database (two replicas) asking as fast as they can
//! never get more than the limit in any window, and get close to it; the
//! verifier's certificate requests stop at the budget and say so; the
//! publisher's Workers KV requests stay within theirs, the writes queued
//! meanwhile sharing one request (`publish::budgeted`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portico_control::cloudflare_api::budget::{CallBudget, Spent};
use portico_control::publish::budgeted::Budgeted;
use portico_control::publish::kv_cloudflare::CloudflareKv;
use portico_control::publish::{KvBackend, PublishSettings, Publisher};
use portico_control::store::outbox::Namespace;
use portico_control::store::Store;
use portico_tests::cloudflare_kv::KvContractServer;
use tokio::sync::{watch, Notify};

use crate::both_stores;
use crate::certificates::{saas_server, verify, verifying_app_with};
use crate::fencing::{open_store, put};
use crate::helpers::{cloudflare_settings, kv_server, Db, TestDatabase, ROUTES_NS};
use crate::world::Scenario;

both_stores!(
    replicas_share_one_budget,
    certificate_requests_stop_at_the_budget,
    publishing_stays_within_the_kv_budget
);

async fn replicas_share_one_budget(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    const LIMIT: u32 = 20;
    const WINDOW: Duration = Duration::from_secs(2);
    const RUN: Duration = Duration::from_secs(5);
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let store = Store::connect(&database.url, 4).await.unwrap();
        store.migrate().await.unwrap();
        replicas.push(CallBudget::per_window(store, LIMIT, WINDOW).unwrap());
    }
    let granted: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (budget, granted) = (replicas[n % 2].clone(), granted.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            while started.elapsed() < RUN {
                // The time of asking: the budget reads the clock right then.
                let asked = Instant::now();
                match budget.take(Duration::ZERO).await {
                    Ok(()) => granted.lock().unwrap().push(asked),
                    Err(Spent::Wait(wait)) => {
                        assert!(wait <= WINDOW, "{wait:?}");
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(Spent::Store(err)) => panic!("{err}"),
                }
            }
            refused
        }));
    }
    let mut refused = 0;
    for task in tasks {
        refused += task.await.unwrap();
    }
    let mut times = granted.lock().unwrap().clone();
    times.sort();
    assert!(refused > 0, "the tasks asked for more than the budget");
    for (i, start) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < WINDOW)
            .count();
        assert!(
            within <= LIMIT as usize,
            "{within} requests within {WINDOW:?} (limit {LIMIT})"
        );
    }
    // Two at once, then one every WINDOW/18: about 47 in 5 s.
    assert!(times.len() >= 40, "only {} granted in {RUN:?}", times.len());
    // Both replicas read the same gauge: what every replica used (and
    // deferred) in the current fixed window, within the limit.
    let (a, b) = (
        replicas[0].usage().await.unwrap(),
        replicas[1].usage().await.unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!((a.limit, a.window_s), (LIMIT, WINDOW.as_secs()));
    assert!(a.used <= u64::from(LIMIT), "{a:?}");
    let recent = times
        .iter()
        .filter(|t| {
            let ms = a.window_start_ms;
            let since =
                time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000 - i128::from(ms);
            t.elapsed().as_millis() as i128 <= since
        })
        .count();
    // (A grant's time is taken just before the budget reads the clock.)
    assert!(
        a.used.abs_diff(recent as u64) <= 2,
        "{a:?}, {recent} granted since"
    );
}

async fn certificate_requests_stop_at_the_budget(db: Db) {
    let world = Scenario::simple(
        "example.test",
        "sales CNAME katie.portico.test.\nshop CNAME katie.portico.test.\n",
    )
    .start()
    .await;
    let saas = saas_server().await;
    let Some((app, _db, _kv)) = verifying_app_with(db, &world, Some(&saas), |settings| {
        // Two requests at once, then one every 17 s.
        settings.cloudflare_api_budget = 20;
    })
    .await
    else {
        return;
    };
    let (_, token) = app.account("katie").await;
    let sales = app.domain(&token, "sales.example.test").await;
    let shop = app.domain(&token, "shop.example.test").await;
    verify(&app, &token, sales["id"].as_str().unwrap()).await;
    let spent = saas.requests().len();
    assert!(
        (1..=2).contains(&spent),
        "the first certificate fits the burst: {spent} requests"
    );
    let (status, certificate) = verify(&app, &token, shop["id"].as_str().unwrap()).await;
    assert_eq!(status, "processing");
    assert_eq!(certificate["state"], "pending", "{certificate}");
    let found = certificate["found"].as_str().unwrap();
    assert!(found.contains("Cloudflare API budget"), "{found}");
    assert!(
        saas.requests().len() <= 2,
        "no request beyond the budget: {:?}",
        saas.requests()
    );
    assert!(saas.get("shop.example.test").is_none());
    app.stop().await;
}

/// Publishes `keys` routing records queued one every 10 ms, each followed
/// by a wake-up (as connects do), through `backend`; returns the bulk
/// requests the server accepted, once every key is there.
async fn publish_trickle(
    store: &Store,
    server: &KvContractServer,
    backend: Arc<dyn KvBackend>,
    keys: usize,
) -> Vec<(Instant, usize)> {
    let wake = Arc::new(Notify::new());
    let settings = PublishSettings {
        poll_interval: Duration::from_millis(10),
        ..PublishSettings::default()
    };
    let publisher = Publisher::with_settings(store.clone(), backend, settings, wake.clone());
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(publisher.run(shutdown));
    let first = server.accepted().len();
    for n in 0..keys {
        put(
            store,
            Namespace::Routes,
            &format!("v1/h/d{n}.example.test"),
            "r",
        )
        .await;
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.entries(ROUTES_NS).len() < keys {
        assert!(Instant::now() < deadline, "not every key reached KV");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    running.await.unwrap();
    server.accepted()[first..]
        .iter()
        .map(|r| (r.at, r.keys.len()))
        .collect()
}

/// The most requests in any `window`.
fn busiest(requests: &[(Instant, usize)], window: Duration) -> usize {
    (0..requests.len())
        .map(|i| {
            requests[i..]
                .iter()
                .take_while(|(t, _)| t.duration_since(requests[i].0) < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

async fn publishing_stays_within_the_kv_budget(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    const LIMIT: u32 = 8;
    const WINDOW: Duration = Duration::from_secs(2);
    const KEYS: usize = 200;
    let store = open_store(&database).await;
    let client = |server: &KvContractServer| -> Arc<dyn KvBackend> {
        Arc::new(
            CloudflareKv::from_settings(&cloudflare_settings(server))
                .unwrap()
                .unwrap(),
        )
    };
    let server = kv_server().await;

    // Without a budget, the same trickle of connects (2 s of them) sends
    // a request per key or two: more than the limit in a window.
    let unpaced = publish_trickle(&store, &server, client(&server), KEYS).await;
    assert!(
        busiest(&unpaced, WINDOW) > LIMIT as usize,
        "the workload must need the budget: {} requests",
        unpaced.len()
    );

    let server = kv_server().await;
    let budget = CallBudget::named(store.clone(), "cloudflare-kv", LIMIT, WINDOW).unwrap();
    let paced = Budgeted::new(client(&server), budget);
    let requests = publish_trickle(&store, &server, Arc::new(paced), KEYS).await;
    let busiest = busiest(&requests, WINDOW);
    assert!(
        busiest <= LIMIT as usize,
        "{busiest} requests within {WINDOW:?} (limit {LIMIT}): {requests:?}"
    );
    // Every key delivered, in far fewer requests: the writes queued while
    // the publisher waited for the budget went out together.
    let sent: usize = requests.iter().map(|(_, keys)| keys).sum();
    assert_eq!(sent, KEYS);
    assert!(
        requests.len() * 10 <= unpaced.len() * 3 && requests.len() <= 15,
        "{} requests with the budget, {} without",
        requests.len(),
        unpaced.len()
    );
    store.close().await;
}
