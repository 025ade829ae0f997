//! The reference dashboard in a real browser: the whole local stack
//! (`LocalStack`: local DNS and registrar, the edge under `wrangler dev`, the
//! control plane process), then `control/dashboard/tests/flow.mjs` and
//! `onboarding.mjs` (playwright-core driving Debian's chromium, headless)
//! click through the customer's flow, then webhooks and bulk onboarding. Screenshots of each screen: `target/dashboard-screenshots/`.
//! Needs what `scripts/test` prepares: the edge build, `shared/pkg-web`,
//! `node_modules` (playwright-core) and `/usr/bin/chromium` (scripts/ensure-tools).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use portico_tests::stack::LocalStack;

/// The flow takes well under a minute on a quiet machine; a loaded one may take many.
const FLOW_TIMEOUT: Duration = Duration::from_secs(15 * 60);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chromium() -> PathBuf {
    std::env::var_os("PORTICO_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// What the flow needs before the stack is worth starting; each message says how to get it.
fn prerequisites() -> Vec<String> {
    let root = root();
    let mut missing = Vec::new();
    if !root
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push("node_modules/playwright-core: run scripts/ensure-tools (npm ci)".into());
    }
    if !chromium().is_file() {
        missing.push(format!(
            "{}: run scripts/ensure-tools (apt-get install chromium)",
            chromium().display()
        ));
    }
    if !root.join("shared/pkg-web/portico_shared_bg.wasm").is_file() {
        missing.push(
            "shared/pkg-web (the browser build of shared): run scripts/build-wasm-pkg".into(),
        );
    }
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_flow_works_in_a_browser() {
    let missing = prerequisites();
    assert!(
        missing.is_empty(),
        "the dashboard's browser test needs (scripts/test prepares all of it):\n  {}",
        missing.join("\n  ")
    );
    let stack = LocalStack::start().await.expect("the local stack starts");
    // One stack, the scripts in turn: each makes its own account and names.
    for script in ["flow.mjs", "onboarding.mjs"] {
        run_script(&stack, script).await;
    }
    drop(stack);
}

/// Runs one of control/dashboard/tests/*.mjs against `stack`; panics with
/// its output unless every step ran and passed.
async fn run_script(stack: &LocalStack, script: &str) {
    let screenshots = root().join("target/dashboard-screenshots");
    let mut command = Command::new("node");
    command
        .arg(root().join("control/dashboard/tests").join(script))
        .current_dir(root())
        .env("PORTICO_API_URL", &stack.api)
        .env("PORTICO_EDGE_URL", &stack.edge)
        .env("PORTICO_DNS_ADMIN_URL", &stack.dns_admin)
        .env("PORTICO_ADMIN_TOKEN", &stack.admin_token)
        .env("PORTICO_SCREENSHOTS_DIR", &screenshots)
        .env("PORTICO_CHROMIUM", chromium())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a timeout stops chromium along with node.
        .process_group(0);
    let child = command
        .spawn()
        .expect("node runs (Node 20, as scripts/ensure-tools expects)");
    let pid = child.id() as i32;
    let waited = tokio::time::timeout(
        FLOW_TIMEOUT,
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    let output = match waited {
        Ok(joined) => joined
            .expect("the waiting thread finishes")
            .expect("node's output is read"),
        Err(_) => {
            // SAFETY: kill(2) on the process group this test started; no memory is involved.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
            panic!(
                "{script} did not finish in {} s; screenshots so far: {}",
                FLOW_TIMEOUT.as_secs(),
                screenshots.display()
            );
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}); screenshots (*failure.png for the last screen): {}\n\
         --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status,
        screenshots.display()
    );
    // node:test's summary: every step ran and passed.
    assert!(
        stdout.contains("# fail 0") && stdout.contains("# skipped 0"),
        "unexpected summary:\n{stdout}"
    );
    println!("{stdout}");
}
