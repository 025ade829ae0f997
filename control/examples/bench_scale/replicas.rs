//! `portico-control serve` as real processes (the release binary beside
//! this example), on one database, KV through the Cloudflare API of the
//! Workers KV contract server, certificates off; their memory and metrics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use portico_tests::cloudflare_kv::KvContractServer;
use portico_tests::dns::DnsServer;

pub const ADMIN: &str = "bench-scale-admin-token";
pub const ROUTES_NS: &str = "routes-namespace-id";
const CONTENT_NS: &str = "content-namespace-id";

/// Settings the harness must own: the caller's environment cannot override them.
const OWNED: &[&str] = &[
    "PORTICO_LISTEN",
    "PORTICO_DATABASE_URL",
    "PORTICO_ADMIN_TOKEN",
    "PORTICO_DATA_DIR",
    "PORTICO_KV",
    "PORTICO_CLOUDFLARE_API_URL",
    "PORTICO_CLOUDFLARE_ACCOUNT_ID",
    "PORTICO_CLOUDFLARE_API_TOKEN",
    "PORTICO_CLOUDFLARE_ROUTES_NAMESPACE_ID",
    "PORTICO_CLOUDFLARE_CONTENT_NAMESPACE_ID",
    "PORTICO_DNS_RESOLVERS",
    "PORTICO_DNS_NAMESERVER_PORT",
    "PORTICO_CERTIFICATE_PROVIDER",
];

/// The release `portico-control` binary: `PORTICO_CONTROL_BIN`, or the one
/// cargo built beside this example (`target/release/`).
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("PORTICO_CONTROL_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the example runs from target/<profile>/examples/")?;
    let bin = dir.join("portico-control");
    if !bin.exists() {
        bail!(
            "{} is missing: cargo build --release -p portico-control --bin portico-control (or set PORTICO_CONTROL_BIN)",
            bin.display()
        );
    }
    Ok(bin)
}

/// The environment every process of one run gets: the database, the KV
/// contract server, the local DNS; production defaults otherwise, except
/// what a `.test` world needs. `PORTICO_*` variables in the caller's
/// environment override the rest (`PORTICO_VERIFY_CONCURRENCY=256 …`).
pub fn environment(
    database_url: &str,
    data_dir: &Path,
    kv: &KvContractServer,
    dns: &DnsServer,
) -> Vec<(String, String)> {
    let config = kv.config();
    let mut env: Vec<(String, String)> = [
        ("PORTICO_DATABASE_URL", database_url.to_string()),
        ("PORTICO_DATA_DIR", data_dir.display().to_string()),
        ("PORTICO_ADMIN_TOKEN", ADMIN.into()),
        ("PORTICO_PLATFORM_DOMAIN", "portico.test".into()),
        ("PORTICO_ALLOW_TEST_DOMAINS", "true".into()),
        ("PORTICO_VERIFIER", "true".into()),
        ("PORTICO_DNS_RESOLVERS", dns.addr.to_string()),
        ("PORTICO_DNS_NAMESERVER_PORT", dns.addr.port().to_string()),
        // The zones' nameserver is the local server, on loopback.
        ("PORTICO_VERIFY_ALLOW_PRIVATE_ADDRESSES", "true".into()),
        ("PORTICO_CERTIFICATE_PROVIDER", "none".into()),
        ("PORTICO_KV", "cloudflare".into()),
        ("PORTICO_CLOUDFLARE_API_URL", kv.api_url()),
        ("PORTICO_CLOUDFLARE_ACCOUNT_ID", config.account_id.clone()),
        ("PORTICO_CLOUDFLARE_API_TOKEN", config.api_token.clone()),
        ("PORTICO_CLOUDFLARE_ROUTES_NAMESPACE_ID", ROUTES_NS.into()),
        ("PORTICO_CLOUDFLARE_CONTENT_NAMESPACE_ID", CONTENT_NS.into()),
        ("PORTICO_LOG", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (name, value) in std::env::vars() {
        if name.starts_with("PORTICO_")
            && !OWNED.contains(&name.as_str())
            && name != "PORTICO_CONTROL_BIN"
            && !name.starts_with("PORTICO_TEST_")
        {
            env.retain(|(k, _)| *k != name);
            env.push((name, value));
        }
    }
    env
}

fn command(bin: &Path, env: &[(String, String)]) -> Command {
    let mut command = Command::new(bin);
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("PORTICO_")) {
        command.env_remove(name);
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    command
}

/// One `serve` process; SIGKILLed when dropped.
pub struct Replica {
    child: Child,
    pub api: String,
    pub log: PathBuf,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process, from `/proc/<pid>/status`, in MiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// VmRSS: now.
    pub rss_mib: f64,
    /// VmHWM: the most it ever held.
    pub peak_mib: f64,
}

impl Replica {
    pub fn start(bin: &Path, env: &[(String, String)], log: PathBuf) -> anyhow::Result<Replica> {
        let port =
            portico_tests::process::free_loopback_port().map_err(|err| anyhow::anyhow!("{err}"))?;
        let stderr = std::fs::File::create(&log)?;
        let child = command(bin, env)
            .arg("serve")
            .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Replica {
            child,
            api: format!("http://127.0.0.1:{port}"),
            log,
        })
    }

    /// Fails when the process has exited (with where its log is).
    pub fn alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); its log: {}",
                self.api,
                self.log.display()
            );
        }
        Ok(())
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.alive()?;
            if let Ok(answer) = http.get(format!("{}/readyz", self.api)).send().await {
                if answer.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("{} not ready after 60 s", self.api);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib = |field: &str| -> anyhow::Result<f64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
                .with_context(|| format!("no {field} in /proc/{}/status", self.child.id()))
        };
        Ok(Memory {
            rss_mib: kib("VmRSS:")? / 1024.0,
            peak_mib: kib("VmHWM:")? / 1024.0,
        })
    }

    /// The sum of a metric's samples whose series starts with `series`.
    pub async fn metric(&self, http: &reqwest::Client, series: &str) -> anyhow::Result<f64> {
        let answer = http
            .get(format!("{}/metrics", self.api))
            .bearer_auth(ADMIN)
            .send()
            .await?;
        if !answer.status().is_success() {
            bail!("{}/metrics answered {}", self.api, answer.status());
        }
        let text = answer.text().await?;
        Ok(text
            .lines()
            .filter(|line| line.starts_with(series))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum())
    }
}

/// `portico-control republish --full` on the run's database: every key of
/// every account queued again; the running `serve` delivers them.
pub async fn republish_full(bin: &Path, env: &[(String, String)]) -> anyhow::Result<Duration> {
    let mut command = command(bin, env);
    command.args(["republish", "--full"]);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    if !output.status.success() {
        bail!(
            "republish --full failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(started.elapsed())
}
