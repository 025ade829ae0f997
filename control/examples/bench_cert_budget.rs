//! Benchmark (not run in CI): 10,000 processing domains' certificates
//! followed for a simulated hour against the Cloudflare for SaaS test
//! double, within the Cloudflare API budget, with certificate states read
//! in pages on Cloudflare's validation schedule, against a baseline in the
//! same run: one lookup per domain per check (the previous behaviour).
//!
//! ```sh
//! cargo run --release -p portico-control --example bench_cert_budget -- \
//!     [--domains 10000] [--speedup 60] [--check-s 30] [--budget 1000] \
//!     [--database sqlite|<postgres URL>] [--only paged|baseline]
//! ```
//!
//! Time is compressed `speedup` times: the budget's five-minute window,
//! Cloudflare's validation schedule (in the double and in the client) and
//! the check interval all shrink alike, so a simulated hour takes a minute.
//! Every domain's custom hostname exists (added before the run) and is
//! pending validation; the double validates it, as Cloudflare would once
//! the CNAME is in place, at one of the first 15 attempts of Cloudflare's
//! backoff schedule (a hash of the name picks which: the last comes about
//! 37 minutes in). A domain is checked every `check-s` simulated seconds
//! (the verifier's 5–30 s) until its certificate is active (Connected).
//! Reported: the double's requests in the busiest five simulated minutes
//! (sliding, by arrival time) against the budget, the budget's own
//! count per fixed window, checks deferred by the budget, and when the last
//! domain was connected (or how many were after the hour).

mod common;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::flags;
use portico_control::certs::backoff::Schedule;
use portico_control::certs::cloudflare::CloudflareCertificates;
use portico_control::certs::{
    CertificateError, CertificateOwner, CertificateState, Certificates, Validation,
};
use portico_control::cloudflare_api::budget::CallBudget;
use portico_control::store::Store;
use portico_shared::Hostname;
use portico_tests::cloudflare_saas::{
    cloudflare_attempt_s, HostnameState, SaasContractConfig, SaasContractServer,
};

const SIM_HOUR: Duration = Duration::from_secs(3600);
const WINDOW: Duration = Duration::from_secs(300);
const WORKERS: usize = 16;

/// Domains by when their next check is due, earliest first.
type Due = BinaryHeap<Reverse<(Instant, usize)>>;

struct Run {
    label: &'static str,
    /// Simulated seconds until the last domain was connected.
    all_connected_s: Option<f64>,
    connected: usize,
    requests: usize,
    busiest_window: usize,
    budget_windows: Vec<u64>,
    deferred: u64,
    /// Seconds from Cloudflare's validation to the domain seen connected:
    /// median, 99th percentile, most.
    lag_s: (f64, f64, f64),
}

fn owner(n: usize) -> CertificateOwner {
    CertificateOwner::new(format!("acc-{}", n % 1000), format!("dom-{n}"))
}

fn name(n: usize) -> String {
    format!("site{n}.customer{}.example", n % 1000)
}

/// The attempt at which Cloudflare validates `host`: 0 to 14.
fn succeeds_at(host: &str) -> u32 {
    let hash = host.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (hash % 15) as u32
}

async fn store(database: &str, dir: &tempfile::TempDir, label: &str) -> Store {
    let url = match database {
        "sqlite" => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join(format!("{label}.db")).display()
        ),
        url => url.to_string(),
    };
    let store = Store::connect(&url, 8).await.unwrap();
    store.migrate().await.unwrap();
    // A fresh budget for each run (PostgreSQL keeps the row between runs).
    sqlx::query("UPDATE api_budgets SET tat_us = 0, window_start_us = 0, window_used = 0, window_refused = 0")
        .execute(store.pool())
        .await
        .unwrap();
    store
}

#[allow(clippy::too_many_arguments)]
async fn run(
    label: &'static str,
    paged: bool,
    domains: usize,
    speedup: u32,
    check: Duration,
    limit: u32,
    database: &str,
    dir: &tempfile::TempDir,
) -> Run {
    let unit = Duration::from_secs(1) / speedup;
    let window = WINDOW / speedup;
    let server = Arc::new(
        SaasContractServer::start(SaasContractConfig::default())
            .await
            .unwrap(),
    );
    for n in 0..domains {
        server.insert_with(
            &name(n),
            HostnameState::pending_validation(),
            "http",
            owner(n).metadata(),
        );
    }
    server.validate_on_schedule(unit, succeeds_at);
    let store = store(database, dir, label).await;
    let budget = CallBudget::per_window(store, limit, window).unwrap();
    let mut client = CloudflareCertificates::new(
        &server.api_url(),
        &server.config().zone_id,
        &server.config().api_token,
    )
    .unwrap()
    .with_budget(Some(budget.clone()))
    .with_refresh_interval(WINDOW / speedup);
    if paged {
        client = client.with_paged_reads(Schedule { unit });
    }
    let certs = Certificates::Cloudflare(Arc::new(client));

    let started = Instant::now();
    let sim = |at: Instant| at.duration_since(started).as_secs_f64() * f64::from(speedup);
    let end = started + SIM_HOUR / speedup;
    let check_real = check / speedup;
    // Domains by when their next check is due.
    let queue: Arc<Mutex<Due>> = Arc::new(Mutex::new(
        (0..domains)
            .map(|n| Reverse((started + check_real.mul_f64(n as f64 / domains as f64), n)))
            .collect(),
    ));
    let connected: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let deferred = Arc::new(std::sync::atomic::AtomicU64::new(0));

    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (queue, connected, deferred, certs) = (
            queue.clone(),
            connected.clone(),
            deferred.clone(),
            certs.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap().pop();
                let Some(Reverse((due, n))) = next else {
                    return;
                };
                if due >= end || Instant::now() >= end {
                    queue.lock().unwrap().push(Reverse((due, n)));
                    return;
                }
                tokio::time::sleep_until(due.into()).await;
                let host = Hostname::parse(&name(n)).unwrap();
                let again = match certs.ensure(&host, &owner(n), Validation::Http).await {
                    Ok(report) if report.state == CertificateState::Active => {
                        connected.lock().unwrap().insert(n, Instant::now());
                        None
                    }
                    Ok(_) => Some(check_real),
                    Err(CertificateError::Reading) => {
                        deferred.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        Some(check_real)
                    }
                    Err(CertificateError::Throttled(wait)) => {
                        deferred.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        Some(check_real.max(wait))
                    }
                    Err(err) => panic!("{err}"),
                };
                if let Some(after) = again {
                    queue
                        .lock()
                        .unwrap()
                        .push(Reverse((Instant::now() + after, n)));
                }
            }
        }));
    }
    // The budget's own count, by its fixed window: the most it showed.
    let mut windows: std::collections::BTreeMap<i64, u64> = Default::default();
    while workers.iter().any(|w| !w.is_finished()) {
        tokio::time::sleep(window / 200).await;
        let usage = budget.usage().await.unwrap();
        let most = windows.entry(usage.window_start_ms).or_default();
        *most = (*most).max(usage.used);
    }
    let windows: Vec<u64> = windows.into_values().collect();
    // Requests as they arrived at the double, in the busiest window.
    let mut arrivals: Vec<Instant> = server.requests().iter().map(|r| r.at).collect();
    arrivals.sort();
    let mut busiest_window = 0;
    let mut first = 0;
    for (last, at) in arrivals.iter().enumerate() {
        while *at - arrivals[first] >= window {
            first += 1;
        }
        busiest_window = busiest_window.max(last + 1 - first);
    }
    let connected = connected.lock().unwrap();
    // How long after Cloudflare validated it each domain was seen connected.
    let mut lags: Vec<f64> = connected
        .iter()
        .map(|(n, at)| sim(*at) - cloudflare_attempt_s(succeeds_at(&name(*n))) as f64)
        .collect();
    if std::env::var("BENCH_DEBUG").is_ok() {
        let mut by_k: std::collections::BTreeMap<u32, f64> = Default::default();
        for (n, at) in connected.iter() {
            let k = succeeds_at(&name(*n));
            let lag = sim(*at) - cloudflare_attempt_s(k) as f64;
            let most = by_k.entry(k).or_default();
            *most = most.max(lag);
        }
        eprintln!("{label}: most lag by attempt {by_k:?}");
    }
    lags.sort_by(f64::total_cmp);
    let lag = |q: f64| {
        lags.get(((lags.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let lag_s = (lag(0.5), lag(0.99), lag(1.0));
    let all_connected_s = (connected.len() == domains)
        .then(|| connected.values().map(|at| sim(*at)).fold(0.0, f64::max));
    Run {
        label,
        all_connected_s,
        connected: connected.len(),
        requests: server.request_count(),
        busiest_window,
        budget_windows: windows,
        deferred: deferred.load(std::sync::atomic::Ordering::Relaxed),
        lag_s,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let flags = flags();
    let number = |name: &str, default: u64| {
        flags
            .get(name)
            .map(|v| v.parse::<u64>().expect(name))
            .unwrap_or(default)
    };
    let domains = number("domains", 10_000) as usize;
    let speedup = number("speedup", 60) as u32;
    let check = Duration::from_secs(number("check-s", 30));
    let limit = number("budget", 1000) as u32;
    let database = flags
        .get("database")
        .cloned()
        .unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir().unwrap();
    println!(
        "{domains} processing domains, a check every {} s, budget {limit} requests per 5 min, \
         one simulated hour at {speedup}x, database {}, {} cores",
        check.as_secs(),
        if database == "sqlite" {
            "sqlite"
        } else {
            "postgres"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let only = flags.get("only").cloned().unwrap_or_default();
    let mut runs = Vec::new();
    for (label, paged) in [
        ("per-check lookups (baseline)", false),
        ("paged reads", true),
    ] {
        if (only == "paged" && !paged) || (only == "baseline" && paged) {
            continue;
        }
        runs.push(
            run(
                label, paged, domains, speedup, check, limit, &database, &dir,
            )
            .await,
        );
    }
    for r in &runs {
        println!("\n{}:", r.label);
        println!(
            "  requests to Cloudflare: {} in all; busiest 5 min: {} ({:.0} % of the budget, {:.0} % of Cloudflare's 1,200)",
            r.requests,
            r.busiest_window,
            100.0 * r.busiest_window as f64 / f64::from(limit),
            100.0 * r.busiest_window as f64 / 1200.0,
        );
        println!(
            "  budget used per fixed 5 min window: {:?}",
            r.budget_windows
        );
        println!(
            "  checks deferred (budget spent, or the first zone read under way): {}",
            r.deferred
        );
        println!(
            "  from Cloudflare's validation to connected: median {:.0} s, p99 {:.0} s, most {:.0} s",
            r.lag_s.0, r.lag_s.1, r.lag_s.2
        );
        match r.all_connected_s {
            Some(s) => println!(
                "  all {} connected after {:.1} simulated minutes",
                r.connected,
                s / 60.0
            ),
            None => println!("  connected after the hour: {} of {domains}", r.connected),
        }
    }
}
