//! The whole local stack on free loopback ports, for end-to-end tests (the
//! customer story, the dashboard's browser test):
//!
//! - the customers' DNS provider and registrar ([`LocalDns`], in this
//!   process): authoritative DNS (UDP+TCP), its admin API and page, and the
//!   registrar's URL forwarding;
//! - the edge worker under `wrangler dev` ([`WranglerDev`], local KV, the
//!   dev-only `LOCAL_KV_TOKEN` bulk endpoint);
//! - the control plane as a real process (`target/debug/portico-control
//!   serve`, built first if needed), a fresh SQLite file in a temporary
//!   directory, publishing into the edge's KV (`PORTICO_KV=local`), its
//!   verifier pointed at the local DNS (resolvers, nameserver port, every
//!   nameserver at 127.0.0.1) and the forwarder (its port, private addresses
//!   allowed); Domain Connect on, with a fresh key whose public half the
//!   local DNS publishes (`portico-control domain-connect key-records`).
//!
//! ```no_run
//! # async fn example() -> portico_tests::Result<()> {
//! let stack = portico_tests::stack::LocalStack::start().await?;
//! let client = stack.client()?;
//! let demo = client.create_account("demo").await?;
//! client.create_record("sales.shop.test", "CNAME", "demo.portico.test").await?;
//! let page = client.edge_get("demo.portico.test", "/").await?;
//! # Ok(()) }
//! ```
//!
//! Everything stops on drop: the control plane's and wrangler's process
//! groups (by PID), the in-process servers, the temporary directory.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::client::{Endpoints, StackClient};
use crate::local_dns::{LocalDns, LocalDnsOptions};
use crate::platform::Platform;
use crate::process::{free_loopback_port, stop_group};
use crate::wrangler::WranglerDev;
use crate::{repo_root, Error, Result};

pub const PLATFORM_DOMAIN: &str = "portico.test";
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A running local stack; see the module documentation.
pub struct LocalStack {
    /// The control plane's base URL, `http://127.0.0.1:PORT` (API under `/v1`).
    pub api: String,
    /// The edge's base URL; the Host header picks the domain.
    pub edge: String,
    /// The local DNS provider's admin server (API under `/api`, page at `/`).
    pub dns_admin: String,
    /// The registrar's forwarding server (the Host header picks the forward).
    pub forwarder: String,
    /// The DNS server (UDP and TCP).
    pub dns: SocketAddr,
    /// The platform operator's bearer token.
    pub admin_token: String,
    pub platform_domain: String,
    /// The DNS provider itself, for in-process changes.
    pub local_dns: LocalDns,
    control: Option<Child>,
    control_env: Vec<(String, String)>,
    control_port: u16,
    edge_worker: WranglerDev,
    /// The stand-in platform application the edge proxies mounts to,
    /// sharing the edge's signing secret.
    pub platform: Platform,
    dir: TempDir,
}

impl LocalStack {
    /// Starts every part and waits until each answers.
    pub async fn start() -> Result<LocalStack> {
        let dir = tempfile::Builder::new()
            .prefix("portico-stack-")
            .tempdir()?;
        let control_bin = control_binary().await?;
        let local_dns = LocalDns::start(LocalDnsOptions::default()).await?;
        let kv_token = random_token("kv");
        let signing_secret = random_token("origin-signing-secret-of-the-local-stack");
        let platform = Platform::start(&signing_secret, 1024 * 1024).await?;
        let edge_worker = WranglerDev::builder()
            .var("LOCAL_KV_TOKEN", &kv_token)
            .var("PLATFORM_ORIGIN", platform.base_url())
            .var("ORIGIN_SIGNING_SECRET", &signing_secret)
            .start()
            .await?;
        let admin_token = random_token("admin");
        let dns_port = local_dns.dns_addr.port();
        let forward_port = local_dns
            .forward_addr
            .map(|a| a.port())
            .ok_or_else(|| Error::msg("the local DNS has no forwarder"))?;
        let control_port = free_loopback_port()?;
        let dc_key = dir.path().join("dc-key.pem");
        publish_domain_connect_key(&control_bin, &dc_key, &local_dns)?;
        let edge = edge_worker.url("");
        let control_env: Vec<(String, String)> = [
            ("PORTICO_LISTEN", format!("127.0.0.1:{control_port}")),
            ("PORTICO_DATA_DIR", dir.path().display().to_string()),
            (
                "PORTICO_DATABASE_URL",
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("portico.db").display()
                ),
            ),
            ("PORTICO_ADMIN_TOKEN", admin_token.clone()),
            ("PORTICO_PLATFORM_DOMAIN", PLATFORM_DOMAIN.into()),
            ("PORTICO_KV", "local".into()),
            ("PORTICO_LOCAL_KV_URL", edge.clone()),
            ("PORTICO_LOCAL_KV_TOKEN", kv_token),
            ("PORTICO_DNS_RESOLVERS", format!("127.0.0.1:{dns_port}")),
            ("PORTICO_DNS_NAMESERVER_PORT", dns_port.to_string()),
            ("PORTICO_DNS_NAMESERVER_ADDRESSES", "*=127.0.0.1".into()),
            ("PORTICO_FORWARD_HTTP_PORT", forward_port.to_string()),
            ("PORTICO_VERIFY_ALLOW_PRIVATE_ADDRESSES", "true".into()),
            // Apex by address: the platform's "address" for the local DNS
            // (not the forwarder's 127.0.0.1, so the two never look alike).
            ("PORTICO_APEX_ADDRESSES", "127.0.0.2".into()),
            ("PORTICO_ALLOW_TEST_DOMAINS", "true".into()),
            // Webhook receivers on loopback, plain http (as in scripts/dev).
            ("PORTICO_WEBHOOK_ALLOW_HTTP", "true".into()),
            ("PORTICO_LOG", "info".into()),
            (
                "PORTICO_DOMAIN_CONNECT_KEY_FILE",
                dc_key.display().to_string(),
            ),
            (
                "PORTICO_DOMAIN_CONNECT_RETURN_URL",
                format!("http://127.0.0.1:{control_port}"),
            ),
            // The stories click "Check now" every 100 ms and poll the API:
            // the default rate limits (control/src/api/limits.rs) would throttle them.
            ("PORTICO_RATE_LIMIT_READS_PER_MIN", "0".into()),
            ("PORTICO_RATE_LIMIT_WRITES_PER_MIN", "0".into()),
            ("PORTICO_RATE_LIMIT_VERIFY_PER_MIN", "0".into()),
            ("PORTICO_RATE_LIMIT_ANONYMOUS_PER_MIN", "0".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut stack = LocalStack {
            api: format!("http://127.0.0.1:{control_port}"),
            edge,
            dns_admin: format!(
                "http://{}",
                local_dns
                    .admin_addr
                    .ok_or_else(|| Error::msg("no DNS admin"))?
            ),
            forwarder: format!("http://127.0.0.1:{forward_port}"),
            dns: local_dns.dns_addr,
            admin_token,
            platform_domain: PLATFORM_DOMAIN.into(),
            local_dns,
            control: None,
            control_env,
            control_port,
            edge_worker,
            platform,
            dir,
        };
        stack.control = Some(stack.spawn_control(&control_bin, &[])?);
        stack.wait_for_control().await?;
        Ok(stack)
    }

    /// A client for this stack's parts.
    pub fn client(&self) -> Result<StackClient> {
        StackClient::new(Endpoints {
            api: self.api.clone(),
            edge: self.edge.clone(),
            dns_admin: self.dns_admin.clone(),
            forwarder: self.forwarder.clone(),
            admin_token: self.admin_token.clone(),
            platform_domain: self.platform_domain.clone(),
        })
    }

    /// Stops the control plane and starts it again on the same port and
    /// database with its clock `offset_secs` ahead
    /// (`PORTICO_DEV_CLOCK_OFFSET_SECS`, development only): "a day later".
    pub async fn restart_control_with_clock_offset(&mut self, offset_secs: i64) -> Result<()> {
        self.stop_control();
        let offset = offset_secs.to_string();
        let child = self.spawn_control(
            &control_binary().await?,
            &[
                ("PORTICO_DEV", "true"),
                ("PORTICO_DEV_CLOCK_OFFSET_SECS", offset.as_str()),
            ],
        )?;
        self.control = Some(child);
        self.wait_for_control().await
    }

    /// What the control plane logged so far.
    pub fn control_log(&self) -> String {
        fs::read_to_string(self.control_log_path()).unwrap_or_default()
    }

    /// What wrangler dev logged so far.
    pub fn edge_log(&self) -> String {
        self.edge_worker.log()
    }

    fn control_log_path(&self) -> PathBuf {
        self.dir.path().join("control.log")
    }

    fn spawn_control(&self, binary: &PathBuf, extra: &[(&str, &str)]) -> Result<Child> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.control_log_path())?;
        let mut command = Command::new(binary);
        command.arg("serve").current_dir(repo_root());
        // Only this stack's settings: none inherited from the caller's shell.
        for (name, _) in std::env::vars() {
            if name.starts_with("PORTICO_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        command
            .envs(self.control_env.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        Ok(command.spawn()?)
    }

    async fn wait_for_control(&mut self) -> Result<()> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()?;
        let ready = format!("http://127.0.0.1:{}/readyz", self.control_port);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.control.as_mut() {
                if let Some(status) = child.try_wait()? {
                    return Err(Error::msg(format!(
                        "portico-control exited ({status}) before it was ready:\n{}",
                        self.control_log()
                    )));
                }
            }
            if let Ok(response) = client.get(&ready).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(Error::msg(format!(
                    "portico-control was not ready on {ready} within {READY_TIMEOUT:?}:\n{}",
                    self.control_log()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop_control(&mut self) {
        if let Some(mut child) = self.control.take() {
            stop_group(&mut child, STOP_GRACE);
        }
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        self.stop_control();
        if thread::panicking() {
            eprintln!("--- control plane log ---\n{}", self.control_log());
        }
        // The edge (WranglerDev) and the local DNS stop on their own drop.
    }
}

/// `target/debug/portico-control`, built first (cargo does nothing when it
/// is up to date), so a test never runs a stale control plane.
/// Makes the platform's Domain Connect key at `key` and publishes its public
/// half in the local DNS, as an operator does with
/// `portico-control domain-connect key-records`.
fn publish_domain_connect_key(
    control_bin: &PathBuf,
    key: &std::path::Path,
    dns: &LocalDns,
) -> Result<()> {
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(key)
        .stderr(Stdio::null())
        .status()?;
    if !made.success() {
        return Err(Error::msg("openssl could not make the Domain Connect key"));
    }
    let printed = Command::new(control_bin)
        .args(["domain-connect", "key-records"])
        .env("PORTICO_DOMAIN_CONNECT_KEY_FILE", key)
        .env("PORTICO_PLATFORM_DOMAIN", PLATFORM_DOMAIN)
        .output()?;
    if !printed.status.success() {
        return Err(Error::msg(format!(
            "domain-connect key-records: {}",
            String::from_utf8_lossy(&printed.stderr)
        )));
    }
    for line in String::from_utf8_lossy(&printed.stdout).lines() {
        let mut fields = line.splitn(3, ' ');
        let (Some(name), Some("TXT"), Some(value)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        dns.provider
            .add_record(&crate::local_dns::records::NewRecord {
                name: name.to_string(),
                kind: "TXT".into(),
                value: value.trim_matches('"').to_string(),
                ttl: Some(300),
            })
            .map_err(|e| Error::msg(e.to_string()))?;
    }
    Ok(())
}

/// `PORTICO_TEST_CONTROL_BIN` names another binary and skips the build.
async fn control_binary() -> Result<PathBuf> {
    if let Ok(path) = std::env::var("PORTICO_TEST_CONTROL_BIN") {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = tokio::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "portico-control",
            "--bin",
            "portico-control",
        ])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .await?;
    if !output.status.success() {
        return Err(Error::msg(format!(
            "cargo build -p portico-control failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    let binary = target.join("debug/portico-control");
    if !binary.is_file() {
        return Err(Error::msg(format!(
            "{} is missing after the build",
            binary.display()
        )));
    }
    Ok(binary)
}

/// A token nobody can guess: 24 bytes from the OS.
fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    let read =
        File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // Only ever on loopback; the time still makes it unique per stack.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes[..16].copy_from_slice(&nanos.to_le_bytes());
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}
