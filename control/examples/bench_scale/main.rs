//! Scale benchmark (not run in CI): N accounts and M domains on PostgreSQL
//! with two `serve` replicas, and on SQLite with one, side by side.
//!
//! ```sh
//! scripts/bench-scale [--accounts 10000] [--domains 100000] [--database postgres|sqlite|both]
//!     [--replicas 2] [--dashboards 1000] [--poll-seconds 5] [--dashboard-seconds 30]
//!     [--dnsperf-seconds 10] [--sweep-timeout-seconds 3600] [--dashboards-during-sweep true]
//! ```
//!
//! `scripts/bench-scale` builds the release `portico-control` binary and
//! this example, then runs it. Per database:
//!
//! 1. **Seed** (straight into the store with multi-row `INSERT`s, not the
//!    API: adding through `POST /v1/domains/batch` is `bench_batch`'s
//!    subject): accounts `u<i>`, domains `d<k>.c<i>.test`, every one
//!    `processing` and due for its first check. The customers' DNS is one
//!    zone per account on a local authoritative server (hickory, in this
//!    process), each domain's CNAME naming its account's host.
//! 2. **Sweep**: the `serve` processes start (release binary, verifier on,
//!    production settings otherwise; KV through the Cloudflare API of the
//!    Workers KV contract server in this process; certificates `none`);
//!    timed until every domain is `connected` (each connect publishes its
//!    routing record and waits for KV). DNS queries from the replicas'
//!    `portico_dns_queries_total`. Meanwhile (`--dashboards-during-sweep
//!    true`, the default) the dashboards get their tokens as soon as the
//!    replicas answer and poll as in 4 until every domain is connected;
//!    each answer must list the account's domains, each `processing` or
//!    `connected`.
//! 3. **Publishing**: `portico-control republish --full` queues every key of
//!    every account again; the leading replica drains them to the KV
//!    double. Keys/s from the double's accepted bulk requests, sampled.
//! 4. **Dashboards**: one read token per dashboard's account (admin API;
//!    already made in 2 unless `--dashboards-during-sweep false`), then each
//!    dashboard polls `GET /v1/domains` every `--poll-seconds` for
//!    `--dashboard-seconds`; p50/p99 from an HDR histogram. Every answer
//!    must list the account's domains, all connected.
//! 5. **Memory**: VmRSS of each replica after each phase, and VmHWM (peak).
//!
//! Then dnsperf (Debian package `dnsperf`) measures the DNS server's
//! ceiling, and a markdown table is printed. Any domain not connected in
//! time, any unexpected answer, a replica that exits: non-zero exit.
//! `PORTICO_*` variables in the environment reach the replicas
//! (`PORTICO_VERIFY_CONCURRENCY=256 scripts/bench-scale …`).

#[path = "../common/mod.rs"]
mod common;
mod dashboards;
mod replicas;
mod world;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use portico_control::store::{outbox, Store};
use portico_shared::{Integration, PlatformDomain, RoutingKeys};
use portico_tests::cloudflare_kv::{KvContractConfig, KvContractServer};
use portico_tests::dns::DnsServer;

use replicas::{Memory, Replica};
use world::{Database, Scale};

/// Workers KV's bulk write takes up to 10,000 pairs a request; Cloudflare's
/// API allows 1,200 requests per five minutes per user (docs/scale-benchmark.md).
const KV_PAIRS_PER_REQUEST: f64 = 10_000.0;
const API_REQUESTS_PER_SECOND: f64 = 1200.0 / 300.0;

struct Options {
    scale: Scale,
    postgres: bool,
    sqlite: bool,
    replicas: usize,
    dashboards: usize,
    poll: Duration,
    dashboard_time: Duration,
    dnsperf_seconds: u64,
    sweep_timeout: Duration,
    /// Dashboards poll during the sweep too (phase 2), not only after it.
    dashboards_during_sweep: bool,
}

fn options() -> anyhow::Result<Options> {
    let flags = common::flags();
    let number = |name: &str, default: u64| -> anyhow::Result<u64> {
        flags
            .get(name)
            .map(|v| v.parse().with_context(|| format!("--{name} N")))
            .unwrap_or(Ok(default))
    };
    let (postgres, sqlite) = match flags.get("database").map(String::as_str) {
        None | Some("both") => (true, true),
        Some("postgres") => (true, false),
        Some("sqlite") => (false, true),
        Some(other) => bail!("--database postgres|sqlite|both, not {other}"),
    };
    let scale = Scale {
        accounts: number("accounts", 10_000)? as usize,
        domains: number("domains", 100_000)? as usize,
    };
    ensure!(
        scale.accounts > 0 && scale.domains >= scale.accounts,
        "at least one account, and at least one domain per account"
    );
    let dashboards = (number("dashboards", 1000)? as usize).min(scale.accounts);
    let dashboards_during_sweep = match flags.get("dashboards-during-sweep").map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => bail!("--dashboards-during-sweep true|false, not {other}"),
    };
    Ok(Options {
        scale,
        postgres,
        sqlite,
        replicas: number("replicas", 2)? as usize,
        dashboards,
        poll: Duration::from_secs(number("poll-seconds", 5)?),
        dashboard_time: Duration::from_secs(number("dashboard-seconds", 30)?),
        dnsperf_seconds: number("dnsperf-seconds", 10)?,
        sweep_timeout: Duration::from_secs(number("sweep-timeout-seconds", 3600)?),
        dashboards_during_sweep,
    })
}

/// What one database's run measured.
struct Figures {
    label: String,
    seed: Duration,
    sweep: Duration,
    /// The dashboards during the sweep: how long making their tokens took
    /// (inside `sweep`), and what their polls measured.
    during_sweep: Option<(Duration, dashboards::Polled)>,
    checks_ready: f64,
    dns_queries: f64,
    sweep_kv_keys: usize,
    sweep_kv_requests: usize,
    republish: Duration,
    published_keys: usize,
    publish_requests: usize,
    /// From the first key delivered to the last.
    drain: Duration,
    /// From `republish --full` starting to the outbox empty.
    publish_total: Duration,
    dashboards: dashboards::Polled,
    after_sweep: Vec<Memory>,
    after_publish: Vec<Memory>,
    end: Vec<Memory>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("bench_scale failed: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let options = options()?;
    let bin = replicas::binary()?;
    let scale = options.scale;
    let started = Instant::now();
    let dns = world::dns(scale).await?;
    eprintln!(
        "DNS server on {}: {} zones, {} domains ({:.1} s)",
        dns.addr,
        scale.accounts,
        scale.domains,
        started.elapsed().as_secs_f64()
    );
    let mut runs = Vec::new();
    if options.postgres {
        runs.push(one_database(&options, &bin, &dns, true).await?);
    }
    if options.sqlite {
        runs.push(one_database(&options, &bin, &dns, false).await?);
    }
    let ceiling = if options.dnsperf_seconds > 0 {
        Some(dnsperf(&dns, scale, options.dnsperf_seconds).await?)
    } else {
        None
    };
    print_table(&options, &runs, ceiling);
    Ok(())
}

async fn one_database(
    options: &Options,
    bin: &std::path::Path,
    dns: &DnsServer,
    postgres: bool,
) -> anyhow::Result<Figures> {
    let dir = tempfile::tempdir()?;
    let database = Database::create(postgres, dir.path()).await?;
    let result = measure(options, bin, dns, postgres, &database, dir.path()).await;
    database.drop_now().await;
    if result.is_err() {
        eprintln!("the replicas' logs are kept in {}", dir.keep().display());
    }
    result
}

async fn measure(
    options: &Options,
    bin: &std::path::Path,
    dns: &DnsServer,
    postgres: bool,
    database: &Database,
    dir: &std::path::Path,
) -> anyhow::Result<Figures> {
    let scale = options.scale;
    let processes = if postgres { options.replicas } else { 1 };
    let label = if postgres {
        format!("PostgreSQL, {processes} replicas")
    } else {
        "SQLite, 1 process".to_string()
    };
    let store = Store::connect(&database.url, 4).await?;
    store.migrate().await?;
    let seeding = Instant::now();
    world::seed(&store, scale).await?;
    let seed = seeding.elapsed();
    eprintln!(
        "{label}: seeded {} accounts, {} domains in {:.1} s",
        scale.accounts,
        scale.domains,
        seed.as_secs_f64()
    );

    let kv = Arc::new(
        KvContractServer::start(KvContractConfig::default())
            .await
            .map_err(|err| anyhow::anyhow!("{err}"))?,
    );
    let env = replicas::environment(&database.url, dir, &kv, dns);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()?;

    // 2. The sweep, from the processes' start to every domain connected.
    // The clock starts with the processes, as the verifier does: starting it
    // once the replicas answer would leave out checks already under way. The
    // dashboards' tokens need the admin API, so they are made first thing
    // once the replicas answer, inside the sweep's time (their duration is
    // reported beside it). The verifier works on meanwhile: what they add to
    // the sweep is their load (one admin request per dashboard), not their
    // duration. A replica started before the clock only to make them would
    // cost the sweep more: killed, it leaves the publisher lease held until
    // it expires, and the sweep's connects wait for KV.
    let sweeping = Instant::now();
    let mut running = Vec::new();
    for n in 0..processes {
        running.push(Replica::start(
            bin,
            &env,
            dir.join(format!("serve-{n}.log")),
        )?);
    }
    for replica in &mut running {
        replica.ready(&http).await?;
    }
    let apis: Vec<String> = running.iter().map(|r| r.api.clone()).collect();
    let mut tokens = None;
    let mut tokens_took = Duration::ZERO;
    if options.dashboards_during_sweep {
        let making = Instant::now();
        tokens = Some(dashboards::tokens(&http, &apis, options.dashboards).await?);
        tokens_took = making.elapsed();
        eprintln!(
            "{label}: {} dashboard tokens made in {:.1} s, polling during the sweep",
            options.dashboards,
            tokens_took.as_secs_f64()
        );
    }
    let (stop_polling, polling_stopped) = tokio::sync::watch::channel(false);
    let swept = async {
        let swept = all_connected(&label, &store, &mut running, scale, sweeping, options)
            .await
            .map(|()| sweeping.elapsed());
        // On a failure too: the dashboards stop and the error is returned.
        let _ = stop_polling.send(true);
        swept
    };
    let polled_during = async {
        match &tokens {
            Some(tokens) => dashboards::poll(
                &http,
                &apis,
                tokens.clone(),
                scale,
                options.poll,
                dashboards::Expect::ProcessingOrConnected,
                dashboards::Until::Stopped(polling_stopped),
            )
            .await
            .map(Some),
            None => Ok(None),
        }
    };
    let (swept, polled_during) = tokio::join!(swept, polled_during);
    // The sweep's end is when every domain was connected, not when the
    // dashboards' last requests came back.
    let sweep = swept?;
    let polled_during = polled_during?;
    if let Some(polled) = &polled_during {
        if polled.unexpected > 0 {
            bail!(
                "{label}: {} unexpected dashboard answers during the sweep, the first: {}",
                polled.unexpected,
                polled.first_unexpected.clone().unwrap_or_default()
            );
        }
    }
    let during_sweep = polled_during.map(|polled| (tokens_took, polled));
    let mut dns_queries = 0.0;
    let mut checks_ready = 0.0;
    for replica in &running {
        dns_queries += replica.metric(&http, "portico_dns_queries_total").await?;
        checks_ready += replica
            .metric(&http, r#"portico_checks_total{outcome="ready"}"#)
            .await?;
    }
    let (sweep_kv_requests, sweep_kv_keys) = kv.accepted_counts();
    every_domain_in_kv(&kv, scale)?;
    let after_sweep = memory(&running)?;
    eprintln!(
        "{label}: swept in {:.1} s, {dns_queries} DNS queries, {sweep_kv_keys} KV keys",
        sweep.as_secs_f64()
    );

    // 3. Publishing everything again.
    let (requests_before, keys_before) = kv.accepted_counts();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let (kv, stop) = (kv.clone(), stop.clone());
        async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                samples.push((Instant::now(), kv.accepted_counts().1));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            samples.push((Instant::now(), kv.accepted_counts().1));
            samples
        }
    });
    let publishing = Instant::now();
    let republish = replicas::republish_full(bin, &env).await?;
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let (depth, _) = outbox::depth(store.pool()).await?;
        if depth == 0 {
            break;
        }
        for replica in &mut running {
            replica.alive()?;
        }
        ensure!(
            Instant::now() < deadline,
            "{label}: {depth} outbox rows still waiting 30 minutes after republish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let publish_total = publishing.elapsed();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.await?;
    let (requests_after, keys_after) = kv.accepted_counts();
    let published_keys = keys_after - keys_before;
    ensure!(
        published_keys >= scale.domains,
        "{label}: republish --full delivered {published_keys} keys for {} domains",
        scale.domains
    );
    let first = samples
        .iter()
        .find(|(_, keys)| *keys > keys_before)
        .map(|(at, _)| *at)
        .unwrap_or(publishing);
    let last = samples
        .iter()
        .find(|(_, keys)| *keys == keys_after)
        .map(|(at, _)| *at)
        .unwrap_or_else(Instant::now);
    every_domain_in_kv(&kv, scale)?;
    let after_publish = memory(&running)?;
    eprintln!(
        "{label}: republished {published_keys} keys in {:.1} s",
        publish_total.as_secs_f64()
    );

    // 4. Dashboards.
    let tokens = match tokens {
        Some(tokens) => tokens,
        None => dashboards::tokens(&http, &apis, options.dashboards).await?,
    };
    let polled = dashboards::poll(
        &http,
        &apis,
        tokens,
        scale,
        options.poll,
        dashboards::Expect::Connected,
        dashboards::Until::Deadline(Instant::now() + options.dashboard_time),
    )
    .await?;
    for replica in &mut running {
        replica.alive()?;
    }
    if polled.unexpected > 0 {
        bail!(
            "{label}: {} unexpected dashboard answers, the first: {}",
            polled.unexpected,
            polled.first_unexpected.unwrap_or_default()
        );
    }
    let end = memory(&running)?;
    drop(running);
    store.close().await;
    Ok(Figures {
        label,
        seed,
        sweep,
        during_sweep,
        checks_ready,
        dns_queries,
        sweep_kv_keys,
        sweep_kv_requests,
        republish,
        published_keys,
        publish_requests: requests_after - requests_before,
        drain: last.saturating_duration_since(first),
        publish_total,
        dashboards: polled,
        after_sweep,
        after_publish,
        end,
    })
}

/// Waits until every domain is `connected` in the store; fails when a
/// replica exits or `--sweep-timeout-seconds` pass since `sweeping`.
async fn all_connected(
    label: &str,
    store: &Store,
    running: &mut [Replica],
    scale: Scale,
    sweeping: Instant,
    options: &Options,
) -> anyhow::Result<()> {
    let mut last_report = Instant::now();
    loop {
        let (connected,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM domains WHERE status = 'connected'")
                .fetch_one(store.pool())
                .await?;
        if connected as usize == scale.domains {
            return Ok(());
        }
        for replica in running.iter_mut() {
            replica.alive()?;
        }
        if sweeping.elapsed() > options.sweep_timeout {
            bail!(
                "{label}: {connected} of {} domains connected after {} s",
                scale.domains,
                options.sweep_timeout.as_secs(),
            );
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "{label}: {connected} of {} connected after {:.0} s",
                scale.domains,
                sweeping.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every domain's host record is in the routes namespace.
fn every_domain_in_kv(kv: &KvContractServer, scale: Scale) -> anyhow::Result<()> {
    let platform = PlatformDomain::parse("portico.test").expect("a platform domain");
    let routes = kv.entries(replicas::ROUTES_NS);
    for k in 0..scale.domains {
        let host = scale.hostname(k);
        let integration = Integration::classify(&host, &platform)
            .map_err(|err| anyhow::anyhow!("{host}: {err:?}"))?;
        for key in RoutingKeys::of(&integration).hosts {
            ensure!(routes.contains_key(&key), "{key} is not in KV");
        }
    }
    Ok(())
}

fn memory(running: &[Replica]) -> anyhow::Result<Vec<Memory>> {
    running.iter().map(Replica::memory).collect()
}

/// dnsperf against the same server: queries per second it answers.
async fn dnsperf(dns: &DnsServer, scale: Scale, seconds: u64) -> anyhow::Result<f64> {
    let file = std::env::temp_dir().join("portico-bench-scale.queries");
    let mut lines = String::new();
    for k in 0..scale.domains.min(10_000) {
        let host = scale.hostname(k);
        for kind in ["CNAME", "A", "AAAA", "CAA", "NS"] {
            lines.push_str(&format!("{host} {kind}\n"));
        }
    }
    std::fs::write(&file, lines)?;
    let port = dns.addr.port().to_string();
    let output = tokio::task::spawn_blocking({
        let file = file.clone();
        move || {
            Command::new("dnsperf")
                .args(["-s", "127.0.0.1", "-p", &port, "-d"])
                .arg(&file)
                .args([
                    "-l",
                    &seconds.to_string(),
                    "-c",
                    "4",
                    "-T",
                    "2",
                    "-q",
                    "500",
                ])
                .output()
        }
    })
    .await?
    .context("dnsperf did not run: apt-get install dnsperf, or --dnsperf-seconds 0")?;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "dnsperf failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Queries per second:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .with_context(|| format!("no queries per second in dnsperf's output:\n{text}"))
}

fn per_second(count: f64, took: Duration) -> f64 {
    count / took.as_secs_f64().max(1e-9)
}

fn print_table(options: &Options, runs: &[Figures], ceiling: Option<f64>) {
    let scale = options.scale;
    let n = scale.domains as f64;
    let cell = |f: &dyn Fn(&Figures) -> String| -> String {
        runs.iter().map(|run| format!(" {} |", f(run))).collect()
    };
    let row = |name: &str, f: &dyn Fn(&Figures) -> String| println!("| {name} |{}", cell(f));
    println!();
    println!(
        "{} accounts, {} domains; {} dashboards polling every {} s {}for {} s after publishing; {} cores",
        scale.accounts,
        scale.domains,
        options.dashboards,
        options.poll.as_secs(),
        if options.dashboards_during_sweep {
            "during the sweep and "
        } else {
            ""
        },
        options.dashboard_time.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| |{}", cell(&|r| r.label.clone()));
    println!("|---|{}", "---|".repeat(runs.len()));
    row("seed (SQL, not timed in the sweep)", &|r| {
        format!("{:.1} s", r.seed.as_secs_f64())
    });
    row("sweep: all connected", &|r| {
        format!(
            "{:.1} s = **{:.0} domains/s**",
            r.sweep.as_secs_f64(),
            per_second(n, r.sweep)
        )
    });
    row("checks that found DNS ready", &|r| {
        format!("{:.0}", r.checks_ready)
    });
    row("DNS queries (per domain)", &|r| {
        format!("{:.0} ({:.1})", r.dns_queries, r.dns_queries / n)
    });
    row("DNS queries/s during the sweep", &|r| {
        format!("{:.0}", per_second(r.dns_queries, r.sweep))
    });
    if let Some(qps) = ceiling {
        row(
            &format!("… of dnsperf's ceiling ({qps:.0} queries/s)"),
            &|r| format!("{:.1} %", 100.0 * per_second(r.dns_queries, r.sweep) / qps),
        );
    }
    row("KV keys written during the sweep", &|r| {
        format!(
            "{} ({:.0} keys/s)",
            r.sweep_kv_keys,
            per_second(r.sweep_kv_keys as f64, r.sweep)
        )
    });
    row("KV bulk requests during the sweep (per 5 min)", &|r| {
        format!(
            "{} ({:.0})",
            r.sweep_kv_requests,
            300.0 * per_second(r.sweep_kv_requests as f64, r.sweep)
        )
    });
    row("`republish --full`: queueing", &|r| {
        format!("{:.1} s", r.republish.as_secs_f64())
    });
    row("publishing: keys, bulk requests", &|r| {
        format!(
            "{} keys, {} requests ({:.0} pairs each)",
            r.published_keys,
            r.publish_requests,
            r.published_keys as f64 / r.publish_requests.max(1) as f64
        )
    });
    row("publishing: first to last key delivered", &|r| {
        format!(
            "{:.1} s = **{:.0} keys/s**",
            r.drain.as_secs_f64(),
            per_second(r.published_keys as f64, r.drain)
        )
    });
    row("publishing: republish start to outbox empty", &|r| {
        format!(
            "{:.1} s = {:.0} keys/s",
            r.publish_total.as_secs_f64(),
            per_second(r.published_keys as f64, r.publish_total)
        )
    });
    row(
        "sustained API ceiling at these pairs a request (1,200 requests / 5 min)",
        &|r| {
            let pairs = r.published_keys as f64 / r.publish_requests.max(1) as f64;
            let ceiling = API_REQUESTS_PER_SECOND * pairs;
            format!(
                "{ceiling:.0} keys/s: measured {:.1}×",
                per_second(r.published_keys as f64, r.drain) / ceiling
            )
        },
    );
    row("sustained API ceiling at 10,000 pairs a request", &|r| {
        let ceiling = API_REQUESTS_PER_SECOND * KV_PAIRS_PER_REQUEST;
        format!(
            "{ceiling:.0} keys/s: measured {:.2}×",
            per_second(r.published_keys as f64, r.drain) / ceiling
        )
    });
    let latencies = |h: &hdrhistogram::Histogram<u64>| {
        format!(
            "**{:.1} / {:.1}** / {:.1} ms",
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0,
            h.max() as f64 / 1000.0
        )
    };
    if options.dashboards_during_sweep {
        row("dashboard tokens made (inside the sweep's time)", &|r| {
            r.during_sweep.as_ref().map_or(String::new(), |(took, _)| {
                format!("{:.1} s", took.as_secs_f64())
            })
        });
        row(
            "`GET /v1/domains` answers during the sweep (listing a domain processing)",
            &|r| {
                r.during_sweep
                    .as_ref()
                    .map_or(String::new(), |(_, polled)| {
                        format!("{} ({})", polled.latency_us.len(), polled.processing)
                    })
            },
        );
        row("`GET /v1/domains` p50 / p99 / max during the sweep", &|r| {
            r.during_sweep
                .as_ref()
                .map_or(String::new(), |(_, polled)| latencies(&polled.latency_us))
        });
    }
    row("`GET /v1/domains` answers", &|r| {
        format!("{}", r.dashboards.latency_us.len())
    });
    row("`GET /v1/domains` p50 / p99 / max", &|r| {
        latencies(&r.dashboards.latency_us)
    });
    let mib = |memories: &[Memory], f: fn(&Memory) -> f64| -> String {
        memories
            .iter()
            .map(|m| format!("{:.0}", f(m)))
            .collect::<Vec<_>>()
            .join(" + ")
            + " MiB"
    };
    row("RSS per process after the sweep", &|r| {
        mib(&r.after_sweep, |m| m.rss_mib)
    });
    row("RSS per process after publishing", &|r| {
        mib(&r.after_publish, |m| m.rss_mib)
    });
    row("RSS per process at the end", &|r| {
        mib(&r.end, |m| m.rss_mib)
    });
    row("peak RSS per process (VmHWM)", &|r| {
        mib(&r.end, |m| m.peak_mib)
    });
}
