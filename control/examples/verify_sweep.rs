//! Benchmark (not run in CI): verify many processing domains against a
//! local authoritative DNS server, then measure the same server's ceiling
//! with dnsperf (Debian package `dnsperf`) and print the ratio.
//!
//! ```sh
//! cargo run --release -p portico-control --example verify_sweep -- \
//!     [--domains 10000] [--concurrency 256] [--scheduler] [--dnsperf-seconds 10]
//! ```
//!
//! The DNS server (hickory-server, in memory, in this process) holds the
//! customer zone `example.test` with one `dN CNAME uN.portico.test.` per
//! domain (account `uN`) and plays both the recursive resolver and the zone's
//! nameserver. `--scheduler` also runs the full sweep through the store
//! (SQLite), `Scheduler::tick` and the lifecycle (publish, wait for the
//! outbox, connected), with KV updates dropped (`kv = none`).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_control::certs::{CertificateOwner, Certificates};
use portico_control::config::RawSettings;
use portico_control::verify::settings::VerifySettings;
use portico_control::verify::{Subject, Verifier};
use portico_shared::{Integration, PlatformDomain, Username};
use portico_tests::dns::{DnsServer, Zone};
use tokio::sync::Semaphore;

/// The portico-control binary's allocator (control/Cargo.toml), so the
/// verifier is measured as it runs in `serve`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    domains: usize,
    concurrency: usize,
    scheduler: bool,
    dnsperf_seconds: u64,
}

fn options() -> Options {
    let mut options = Options {
        domains: 10_000,
        concurrency: 256,
        scheduler: false,
        dnsperf_seconds: 10,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--domains" => options.domains = value().parse().expect("--domains N"),
            "--concurrency" => options.concurrency = value().parse().expect("--concurrency N"),
            "--dnsperf-seconds" => {
                options.dnsperf_seconds = value().parse().expect("--dnsperf-seconds N")
            }
            "--scheduler" => {
                options.scheduler = true;
                i += 1;
                continue;
            }
            // cargo bench passes --bench; ignore what is not ours.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    options
}

fn settings(server: std::net::SocketAddr, concurrency: usize) -> VerifySettings {
    let raw = RawSettings {
        dns_resolvers: Some(server.to_string()),
        dns_nameserver_port: Some(server.port()),
        dns_timeout_ms: Some(2000),
        verify_concurrency: Some(concurrency),
        // The zone's nameserver is this process's server, on loopback.
        verify_allow_private_addresses: Some(true),
        ..RawSettings::default()
    };
    VerifySettings::resolve(&raw).expect("valid settings")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let options = options();
    let n = options.domains;
    let mut records = String::from("@ NS ns1.dns-host.test.\n");
    for i in 0..n {
        records.push_str(&format!("d{i} CNAME u{i}.portico.test.\n"));
    }
    let zones = [
        Zone::new("example.test", &records),
        Zone::new("dns-host.test", "ns1 A 127.0.0.1\n"),
        Zone::new("portico.test", "@ NS ns1.dns-host.test.\n* A 127.0.0.1\n"),
        Zone::new("test", ""),
    ];
    let server = DnsServer::loopback(&zones)
        .await
        .expect("the DNS server starts");
    println!(
        "local authoritative DNS server on {} ({n} domains in example.test)",
        server.addr
    );
    let platform = PlatformDomain::parse("portico.test").unwrap();

    // 1. The verifier alone: every check of every domain, bounded concurrency.
    let verifier = Arc::new(
        Verifier::new(
            settings(server.addr, options.concurrency),
            platform.clone(),
            Certificates::None,
        )
        .expect("verifier"),
    );
    let subjects: Vec<Subject> = (0..n)
        .map(|i| Subject {
            integration: Integration::classify(&format!("d{i}.example.test"), &platform).unwrap(),
            username: Some(Username::parse(&format!("u{i}")).unwrap()),
            ownership_token: None,
            owner: Some(CertificateOwner::new(format!("a{i}"), format!("d{i}"))),
        })
        .collect();
    let permits = Arc::new(Semaphore::new(options.concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for subject in subjects {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let verifier = verifier.clone();
        tasks.spawn(async move {
            let _permit = permit;
            verifier.verify(&subject, true, 0).await.ready
        });
    }
    let mut ready = 0;
    while let Some(result) = tasks.join_next().await {
        if result.unwrap() {
            ready += 1;
        }
    }
    let elapsed = started.elapsed();
    let queries = verifier.dns.queries();
    let domains_per_second = n as f64 / elapsed.as_secs_f64();
    let verifier_qps = queries as f64 / elapsed.as_secs_f64();
    println!(
        "verify: {n} domains in {:.2} s = {domains_per_second:.0} domains/s ({ready} ready), {queries} DNS queries ({:.1} per domain) = {verifier_qps:.0} queries/s, concurrency {}",
        elapsed.as_secs_f64(),
        queries as f64 / n as f64,
        options.concurrency
    );

    // 2. Optionally the full sweep: store, scheduler, lifecycle.
    if options.scheduler {
        sweep(&server, &options, platform.clone()).await;
    }

    // 3. dnsperf against the same server: the ceiling.
    let file = std::env::temp_dir().join("portico-verify-sweep.queries");
    let mut lines = String::new();
    for i in 0..n.min(10_000) {
        for kind in ["CNAME", "A", "AAAA", "CAA"] {
            lines.push_str(&format!("d{i}.example.test {kind}\n"));
        }
    }
    std::fs::write(&file, lines).unwrap();
    let output = tokio::task::spawn_blocking({
        let port = server.addr.port().to_string();
        let file = file.clone();
        let seconds = options.dnsperf_seconds.to_string();
        move || {
            Command::new("dnsperf")
                .args(["-s", "127.0.0.1", "-p", &port, "-d"])
                .arg(&file)
                .args(["-l", &seconds, "-c", "4", "-T", "2", "-q", "500"])
                .output()
        }
    })
    .await
    .unwrap();
    match output {
        Ok(output) if output.status.success() => {
            let text = String::from_utf8_lossy(&output.stdout);
            let qps = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Queries per second:"))
                .and_then(|v| v.trim().parse::<f64>().ok());
            match qps {
                Some(qps) => println!(
                    "dnsperf: {qps:.0} queries/s against the same server; the verifier reached {:.0}% of it ({verifier_qps:.0} queries/s), i.e. at most {:.0} domains/s at {:.1} queries per domain",
                    100.0 * verifier_qps / qps,
                    qps / (queries as f64 / n as f64),
                    queries as f64 / n as f64
                ),
                None => println!("dnsperf said:\n{text}"),
            }
        }
        Ok(output) => println!(
            "dnsperf failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => println!("dnsperf not run ({err}): apt-get install dnsperf"),
    }
    let _ = std::fs::remove_file(file);
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The full sweep: N processing domains in a SQLite store, checked by the
/// scheduler until none is due, each published and connected.
async fn sweep(server: &DnsServer, options: &Options, platform: PlatformDomain) {
    use portico_control::lifecycle::scheduler::Scheduler;
    use portico_control::publish::{NoKv, Publisher};
    use portico_control::store::{now_ms, Store};
    use tokio::sync::{watch, Notify};

    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("sweep.db").display()
    );
    let store = Store::connect(&url, 8).await.unwrap();
    store.migrate().await.unwrap();
    let now = now_ms();
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..options.domains {
        // One account per domain: each connect republishes its own account.
        sqlx::query("INSERT INTO accounts (id, username, created_at) VALUES ($1, $2, $3)")
            .bind(format!("acc_{i}"))
            .bind(format!("u{i}"))
            .bind(now)
            .execute(&mut *tx)
            .await
            .unwrap();
        let id = format!("dom_{i}");
        let host = format!("d{i}.example.test");
        sqlx::query(
            "INSERT INTO domains (id, account_id, hostname, kind, root, served_host, status, added_at, connect_deadline, updated_at) \
             VALUES ($1, $5, $2, 'subdomain', 'example.test', $2, 'processing', $3, $4, $3)",
        )
        .bind(&id)
        .bind(&host)
        .bind(now)
        .bind(now + 86_400_000)
        .bind(format!("acc_{i}"))
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query("INSERT INTO domain_checks (domain_id, next_check_at) VALUES ($1, $2)")
            .bind(&id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let wake = Arc::new(Notify::new());
    let publisher = Publisher::new(
        store.clone(),
        Arc::new(NoKv),
        10_000,
        Duration::from_millis(20),
        wake.clone(),
    );
    let (stop, stopped) = watch::channel(false);
    let publishing = tokio::spawn(publisher.run(stopped));
    let verifier = Verifier::new(
        settings(server.addr, options.concurrency),
        platform.clone(),
        Certificates::None,
    )
    .unwrap();
    let units = portico_control::unit::Units {
        store: store.clone(),
        records: portico_control::publish::sync::RecordSettings {
            platform,
            hsts_max_age_s: 0,
            apex_addresses: Default::default(),
        },
        wake,
        clock: portico_control::clock::Clock::system(),
        challenge_label: Default::default(),
        webhooks_wake: Arc::new(tokio::sync::Notify::new()),
    };
    let scheduler = Arc::new(Scheduler::new(units, Arc::new(verifier)));
    let started = Instant::now();
    let mut checked = 0;
    loop {
        let done = scheduler.tick(now).await.unwrap();
        if done == 0 {
            break;
        }
        checked += done;
    }
    let elapsed = started.elapsed();
    let (connected,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM domains WHERE status = 'connected'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    println!(
        "scheduler sweep (SQLite, publish + wait for the outbox + connected): {checked} domains in {:.2} s = {:.0} domains/s, {connected} connected",
        elapsed.as_secs_f64(),
        checked as f64 / elapsed.as_secs_f64()
    );
    let _ = stop.send(true);
    let _ = publishing.await;
    store.close().await;
}
