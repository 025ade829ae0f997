//! The Cloudflare API budget every replica shares (`cloudflare_api::budget`):
//! two stores on one database (two replicas) asking as fast as they can
//! never get more than the limit in any window, and get close to it; the
//! verifier's certificate requests stop at the budget and say so.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portico_control::cloudflare_api::budget::{CallBudget, Spent};
use portico_control::store::Store;

use crate::both_stores;
use crate::certificates::{saas_server, verify, verifying_app_with};
use crate::helpers::{Db, TestDatabase};
use crate::world::Scenario;

both_stores!(
    replicas_share_one_budget,
    certificate_requests_stop_at_the_budget
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
