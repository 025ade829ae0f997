//! The edge worker under `wrangler dev` (the real workerd runtime, local KV),
//! one instance per test: its own loopback port and KV store, seeded through
//! wrangler's own `kv ... --local --binding` commands, the whole process group
//! stopped on drop.
//!
//! It serves the worker already built in `build/` and never builds it:
//! `scripts/test` runs `scripts/build-edge --dev` once before the tests.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use reqwest::header::HOST;
use tempfile::TempDir;

use crate::process::{free_loopback_port, stop_group};
use crate::{repo_root, Error, Result};

/// workerd usually answers within a few seconds; a cold machine may be slow.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What the worker starts with: KV contents per binding and overridden vars.
#[derive(Default)]
pub struct WranglerDevBuilder {
    kv: BTreeMap<String, Vec<(String, String)>>,
    vars: BTreeMap<String, String>,
    https_urls: bool,
    production_build: bool,
}

impl WranglerDevBuilder {
    /// Seeds `key = value` in the KV namespace bound as `binding` (e.g. ROUTES).
    pub fn kv(mut self, binding: &str, key: &str, value: &str) -> Self {
        self.kv
            .entry(binding.to_owned())
            .or_default()
            .push((key.to_owned(), value.to_owned()));
        self
    }

    /// The worker sees `https://` request URLs, as behind Cloudflare, while
    /// wrangler dev still listens on plain HTTP (`--upstream-protocol https`).
    pub fn https_urls(mut self) -> Self {
        self.https_urls = true;
        self
    }

    /// Serves build/ only if it is a production build (no `local-kv`), with
    /// LOCAL_KV_TOKEN allowed anyway: to show such a build has no endpoint.
    pub fn production_build(mut self) -> Self {
        self.production_build = true;
        self
    }

    /// Overrides one of wrangler.toml's `[vars]` (e.g. HTTPS_REDIRECT).
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    pub async fn start(self) -> Result<WranglerDev> {
        let root = repo_root();
        let wrangler = root.join("node_modules/.bin/wrangler");
        if !wrangler.is_file() {
            return Err(Error::msg(format!(
                "{} is missing: run scripts/ensure-tools (scripts/test does)",
                wrangler.display()
            )));
        }
        let worker = root.join("build/entry.mjs");
        if !worker.is_file()
            || !root.join("build/index.js").is_file()
            || !root.join("build/index_bg.wasm").is_file()
        {
            return Err(Error::msg(format!(
                "the edge worker is not built ({} is missing): run scripts/build-edge --dev \
                 (scripts/test does it before the tests)",
                worker.display()
            )));
        }

        // The KV bulk endpoint the local stack publishes through exists only
        // in development builds (edge feature `local-kv`).
        let features = fs::read_to_string(root.join("build/features")).unwrap_or_default();
        let local_kv = features.split([',', '\n']).any(|f| f.trim() == "local-kv");
        if self.production_build && local_kv {
            return Err(Error::msg(
                "build/ is a development build (local-kv): build the production one \
                 (scripts/build-edge, or scripts/check-bundle)",
            ));
        }
        if !self.production_build && self.vars.contains_key("LOCAL_KV_TOKEN") && !local_kv {
            return Err(Error::msg(
                "the edge worker in build/ is a production build, without the local KV \
                 endpoint: run scripts/build-edge --dev (scripts/test does)",
            ));
        }

        let dir = tempfile::Builder::new()
            .prefix("portico-wrangler-")
            .tempdir()?;
        let config = write_config(&root, dir.path(), &worker, &self.vars)?;
        let persist_dir = dir.path().join("state");
        let wrangler = Wrangler {
            program: wrangler,
            config,
            persist_dir,
            home: dir.path().to_path_buf(),
        };

        for (binding, pairs) in &self.kv {
            wrangler.bulk_put(binding, pairs).await?;
        }

        let port = free_loopback_port()?;
        let inspector_port = free_loopback_port()?;
        let log_path = dir.path().join("wrangler-dev.log");
        let log = File::create(&log_path)?;
        let mut command = wrangler.command(&["dev"]);
        command
            .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &inspector_port.to_string()])
            .arg("--show-interactive-dev-session=false")
            .args(if self.https_urls {
                &["--upstream-protocol", "https"][..]
            } else {
                &[]
            })
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group, so that drop stops workerd along with wrangler.
            .process_group(0);
        let child = command.spawn()?;

        let mut dev = WranglerDev {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .no_proxy()
                // Tests look at redirects themselves: each must be one hop.
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()?,
            log_path,
            wrangler,
            _dir: dir,
        };
        dev.wait_until_ready().await?;
        Ok(dev)
    }
}

/// A running `wrangler dev` serving the built edge worker on 127.0.0.1.
pub struct WranglerDev {
    child: Child,
    base_url: String,
    http: reqwest::Client,
    log_path: PathBuf,
    wrangler: Wrangler,
    // Last: removed once drop has stopped the processes that use it.
    _dir: TempDir,
}

impl WranglerDev {
    pub fn builder() -> WranglerDevBuilder {
        WranglerDevBuilder::default()
    }

    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// GET `path` as a visitor of `host` would (the Host header picks the domain).
    pub async fn get(&self, host: &str, path: &str) -> Result<reqwest::Response> {
        Ok(self
            .http
            .get(self.url(path))
            .header(HOST, host)
            .send()
            .await?)
    }

    /// A request of any method to `path`, as a visitor of `host`.
    pub fn request(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).header(HOST, host)
    }

    /// Writes one KV key while the worker runs; it sees the value at once.
    pub async fn put_kv(&self, binding: &str, key: &str, value: &str) -> Result<()> {
        self.wrangler.put(binding, key, value).await
    }

    /// What wrangler dev printed so far (requests, worker logs, errors).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    async fn wait_until_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(Error::msg(format!(
                    "wrangler dev exited ({status}) before answering:\n{}",
                    self.log()
                )));
            }
            // Any answer from the worker, even its 404 page, means it is up.
            if self.http.get(self.url("/")).send().await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::msg(format!(
                    "wrangler dev did not answer on {} within {READY_TIMEOUT:?}:\n{}",
                    self.base_url,
                    self.log()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for WranglerDev {
    fn drop(&mut self) {
        stop_group(&mut self.child, STOP_GRACE);
        if thread::panicking() {
            eprintln!("--- wrangler dev log ---\n{}", self.log());
        }
    }
}

/// The wrangler CLI pointed at one test's config and local state.
struct Wrangler {
    program: PathBuf,
    config: PathBuf,
    persist_dir: PathBuf,
    /// Per-test scratch: logs and the dev registry of parallel instances stay apart.
    home: PathBuf,
}

impl Wrangler {
    /// `wrangler <subcommand...> --config .. --persist-to ..`, quiet and offline.
    fn command(&self, subcommand: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(subcommand)
            .arg("--config")
            .arg(&self.config)
            .arg("--persist-to")
            .arg(&self.persist_dir)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("WRANGLER_LOG_PATH", self.home.join("logs"))
            .env("WRANGLER_REGISTRY_PATH", self.home.join("registry"))
            .env("NO_COLOR", "1");
        command
    }

    async fn bulk_put(&self, binding: &str, pairs: &[(String, String)]) -> Result<()> {
        let entries: Vec<_> = pairs
            .iter()
            .map(|(key, value)| serde_json::json!({ "key": key, "value": value }))
            .collect();
        let file = self.home.join(format!("seed-{binding}.json"));
        fs::write(&file, serde_json::to_vec(&entries)?)?;
        let mut command = self.command(&["kv", "bulk", "put", "--local", "--binding", binding]);
        command.arg(&file);
        run(command).await
    }

    async fn put(&self, binding: &str, key: &str, value: &str) -> Result<()> {
        // The value goes through a file: any bytes, and no argument parsing.
        let file = tempfile::NamedTempFile::new_in(&self.home)?;
        fs::write(file.path(), value)?;
        let mut command = self.command(&["kv", "key", "put", key, "--local", "--binding", binding]);
        command.arg("--path").arg(file.path());
        run(command).await
    }
}

async fn run(command: Command) -> Result<()> {
    let mut command = tokio::process::Command::from(command);
    let output = command.stdin(Stdio::null()).output().await?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::msg(format!(
        "{:?} failed ({}):\n{}{}",
        command.as_std(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

/// wrangler.toml as it is, minus the build command (the worker is built
/// already) and the deploy environments, with `main` at the built worker.
fn write_config(
    root: &Path,
    dir: &Path,
    worker: &Path,
    vars: &BTreeMap<String, String>,
) -> Result<PathBuf> {
    let mut config: toml::Table = fs::read_to_string(root.join("wrangler.toml"))?.parse()?;
    config.remove("build");
    config.remove("env");
    config.insert("main".into(), worker.display().to_string().into());
    if !vars.is_empty() {
        let table = config
            .entry("vars")
            .or_insert_with(|| toml::Table::new().into())
            .as_table_mut()
            .ok_or_else(|| Error::msg("wrangler.toml: [vars] is not a table"))?;
        for (name, value) in vars {
            table.insert(name.clone(), value.clone().into());
        }
    }
    let path = dir.join("wrangler.toml");
    fs::write(&path, toml::to_string(&config)?)?;
    Ok(path)
}
