//! The `portico-control` binary: `migrate`, and `serve`'s refusal to start
//! without an admin token.

use std::process::Command;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_portico-control"));
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("PORTICO_")) {
        command.env_remove(name);
    }
    command
}

#[test]
fn migrate_creates_the_data_dir_and_the_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("state");
    let output = binary()
        .arg("migrate")
        .env("PORTICO_DATA_DIR", &data_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(data_dir.join("portico.db").is_file());
}

#[test]
fn serve_refuses_to_start_without_an_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let output = binary()
        .arg("serve")
        .env("PORTICO_DATA_DIR", dir.path())
        .env("PORTICO_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("admin_token") && stderr.contains("PORTICO_DEV"),
        "{stderr}"
    );
}

#[test]
fn a_config_file_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("portico.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nkv = \"carrier-pigeon\"\n",
    )
    .unwrap();
    let output = binary()
        .args(["--config"])
        .arg(&config)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("kv") && stderr.contains("carrier-pigeon"),
        "{stderr}"
    );
}

#[test]
fn dev_mode_serves_without_an_admin_token_and_logs_one() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary()
        .arg("serve")
        .env("PORTICO_DATA_DIR", dir.path())
        .env("PORTICO_LISTEN", "127.0.0.1:0")
        .env("PORTICO_DEV", "true")
        .env("PORTICO_LOG_FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut token = None;
    let mut serving = false;
    for line in BufReader::new(stderr).lines().take(50) {
        let line = line.unwrap();
        let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(made_up) = json["admin_token"].as_str() {
            token = Some(made_up.to_string());
        }
        if json["message"] == "serving" {
            serving = true;
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(token.is_some_and(|t| t.starts_with("dev_")));
    assert!(serving);
}
