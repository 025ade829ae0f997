//! `portico-control serve` as a real process (the binary cargo built),
//! publishing to the KV contract server, killed with SIGKILL when dropped.

use std::time::{Duration, Instant};

use portico_tests::cloudflare_kv::KvContractServer;

use crate::helpers::{TestDatabase, ADMIN_TOKEN, CONTENT_NS, ROUTES_NS};

/// A `serve` process, killed (SIGKILL) when dropped.
pub struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` on a free port, on `database`, publishing to `server`
/// through the Cloudflare API; `extra` environment variables on top.
/// Returns the process and its API's base URL.
pub fn serve(
    database: &TestDatabase,
    server: &KvContractServer,
    extra: &[(&str, &str)],
) -> (Serving, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = server.config();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_portico-control"));
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("PORTICO_")) {
        command.env_remove(name);
    }
    command
        .arg("serve")
        .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
        .env("PORTICO_DATABASE_URL", &database.url)
        .env("PORTICO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("PORTICO_VERIFIER", "false")
        .env("PORTICO_KV", "cloudflare")
        .env("PORTICO_CLOUDFLARE_API_URL", server.api_url())
        .env("PORTICO_CLOUDFLARE_ACCOUNT_ID", &config.account_id)
        .env("PORTICO_CLOUDFLARE_API_TOKEN", &config.api_token)
        .env("PORTICO_CLOUDFLARE_ROUTES_NAMESPACE_ID", ROUTES_NS)
        .env("PORTICO_CLOUDFLARE_CONTENT_NAMESPACE_ID", CONTENT_NS)
        .env("PORTICO_LOG", "warn")
        .stdout(std::process::Stdio::null());
    for (name, value) in extra {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    (Serving(child), format!("http://127.0.0.1:{port}"))
}

/// Creates an account through a running `serve`, once it answers.
pub async fn create_account(api: &str, username: &str) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = http
            .post(format!("{api}/v1/accounts"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({ "username": username }))
            .send()
            .await;
        if let Ok(response) = sent {
            assert_eq!(response.status().as_u16(), 201);
            return;
        }
        assert!(Instant::now() < deadline, "serve did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
