//! `doctor`: the readable report (snapshots) and the command itself.

use std::process::Command;

use portico_control::verify::report::Report;
use portico_tests::forwarder::{Forward, Forwarder};

use crate::world::*;

fn normalized(report: &Report) -> String {
    report.render(false)
}

#[tokio::test]
async fn the_report_of_a_typo_reads_well() {
    let world = Scenario::simple(
        "example.test",
        "shop CNAME katei.portico.test.\n@ CAA 0 issue \"letsencrypt.org\"\n",
    )
    .nameservers(&["dns1.registrar-servers.com", "dns2.registrar-servers.com"])
    .start()
    .await;
    let report = verify(&world, "shop.example.test").await;
    insta::assert_snapshot!("typo_namecheap", normalized(&report));
    let mut json = serde_json::to_value(&report).unwrap();
    json["checked_at"] = "<time>".into();
    insta::assert_json_snapshot!("typo_namecheap_json", json);
}

#[tokio::test]
async fn the_report_of_a_godaddy_root_reads_well() {
    let forwarder = Forwarder::start(&[(
        "example.test",
        Forward::Redirect {
            status: 302,
            to: "https://www.example.test".into(),
            keep_path: false,
        },
    )])
    .await
    .unwrap();
    let world = Scenario::simple(
        "example.test",
        "@ A 127.0.0.1\nwww CNAME katie.portico.test.\n",
    )
    .nameservers(&["ns41.domaincontrol.com", "ns42.domaincontrol.com"])
    .start()
    .await;
    let verifier = world.verifier(world.settings_with(forwarder.addr.port()));
    let report = verifier
        .verify(&subject("example.test", Some("katie")), false, NOW)
        .await;
    insta::assert_snapshot!("godaddy_root", normalized(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_runs_against_a_local_zone() {
    let world = Scenario::simple(
        "example.test",
        "sales CNAME katie.portico.test.\nold CNAME katie.kartra.com.\n",
    )
    .start()
    .await;
    let run = |host: &str, extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_portico-control"))
            .arg("doctor")
            .arg(host)
            .args(extra)
            .env("PORTICO_DNS_RESOLVERS", world.resolver.addr.to_string())
            .env(
                "PORTICO_DNS_NAMESERVER_PORT",
                world.nameserver_port.to_string(),
            )
            .env("PORTICO_PLATFORM_DOMAIN", PLATFORM)
            // The zone's nameservers are on loopback.
            .env("PORTICO_VERIFY_ALLOW_PRIVATE_ADDRESSES", "true")
            .env("PORTICO_LOG", "warn")
            .env_remove("PORTICO_CONFIG")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    // Run the command off the runtime's threads: it blocks.
    let text = tokio::task::block_in_place(|| run("sales.example.test", &["--username", "katie"]));
    assert!(
        text.contains("[PASS] cname: sales.example.test CNAME → katie.portico.test"),
        "{text}"
    );
    assert!(text.contains("DNS ready"), "{text}");
    assert!(!text.contains("\u{1b}["), "no colour when not a terminal");
    let json = tokio::task::block_in_place(|| run("old.example.test", &["--json"]));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let cname = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cname")
        .unwrap();
    assert_eq!(cname["state"], "fail");
    assert!(cname["cause"].as_str().unwrap().contains("Kartra"));
}

#[test]
fn doctor_json_refuses_a_hostname_as_json() {
    for (host, code) in [
        ("bad host!", "host_invalid_character"),
        ("app.localhost", "domain_special_use"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_portico-control"))
            .args(["doctor", "--json", host])
            .env("PORTICO_PLATFORM_DOMAIN", "portico.example")
            .env("PORTICO_LOG", "warn")
            .env_remove("PORTICO_CONFIG")
            .env_remove("PORTICO_ALLOW_TEST_DOMAINS")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{host}");
        let body: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|err| panic!("{host}: not JSON ({err}): {output:?}"));
        assert_eq!(body["error"]["code"], code, "{host}");
        assert!(
            body["error"]["message"].as_str().unwrap().starts_with(host),
            "{body}"
        );
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    }
    // Without --json: plain text on stderr, as before.
    let output = Command::new(env!("CARGO_BIN_EXE_portico-control"))
        .args(["doctor", "bad host!"])
        .env("PORTICO_PLATFORM_DOMAIN", "portico.example")
        .env_remove("PORTICO_CONFIG")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("host_invalid_character"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_a_bare_domain_by_address() {
    // Someone else's address beside the platform's (192.0.2.10).
    let world = Scenario::simple(
        "example.test",
        "@ A 192.0.2.10\n@ A 127.0.0.9\nwww CNAME katie.portico.test.\n",
    )
    .start()
    .await;
    let output = tokio::task::block_in_place(|| {
        Command::new(env!("CARGO_BIN_EXE_portico-control"))
            .args([
                "doctor",
                "example.test",
                "--username",
                "katie",
                "--apex",
                "addresses",
            ])
            .env("PORTICO_DNS_RESOLVERS", world.resolver.addr.to_string())
            .env(
                "PORTICO_DNS_NAMESERVER_PORT",
                world.nameserver_port.to_string(),
            )
            .env("PORTICO_PLATFORM_DOMAIN", PLATFORM)
            .env("PORTICO_VERIFY_ALLOW_PRIVATE_ADDRESSES", "true")
            .env("PORTICO_APEX_ADDRESSES", "192.0.2.10")
            .env("PORTICO_FORWARD_HTTP_PORT", "9")
            .env("PORTICO_LOG", "warn")
            .env_remove("PORTICO_CONFIG")
            .output()
            .unwrap()
    });
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(
            "[FAIL] apex_addresses: example.test A 127.0.0.9 instead of the platform's 192.0.2.10"
        ),
        "{text}"
    );
    assert!(
        text.contains("Delete the A record of `@` (example.test) → `127.0.0.9`."),
        "{text}"
    );
    assert!(!text.contains("root_forward"), "{text}");
}
