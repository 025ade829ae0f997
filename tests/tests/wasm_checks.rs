//! Dashboards check what customers type with the wasm build of `shared`;
//! the API checks it again natively. Both must agree, case for case
//! (IDNA and Public Suffix tables included). Needs `scripts/build-wasm-pkg`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use portico_shared::checks;
use serde_json::{json, Value};

const PLATFORM: &str = "pages.example.net";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn wasm_checks_agree_with_native_checks() {
    let pkg = root().join("shared/pkg/portico_shared.js");
    assert!(
        pkg.exists(),
        "{} is missing: run scripts/build-wasm-pkg (scripts/test does)",
        pkg.display()
    );
    let hosts = [
        "Sales.Example.com",
        "bücher.de:443",
        "xn--bcher-kva.de",
        "192.168.0.1",
        "*.example.com",
        "",
        "a..b",
    ];
    let domains = [
        "example.com",
        "www.example.co.uk",
        "shop.example.co.uk",
        "https://Sales.Example.com/",
        "co.uk",
        "github.io",
        "katie.pages.example.net",
        "bücher.de",
        "app.localhost",
        "x.internal",
        "shop.test",
    ];
    let slugs = ["offer", "/Offer/", "a/b", "cdn-cgi", "my offer", ""];
    let usernames = ["katie", "Katie", "www", "-x"];
    let urls = [
        ("https://other.org/x", "example.com"),
        ("https://WWW.Example.com./", "example.com"),
        ("https://example.com/", "sales.example.com"),
        ("ftp://other.org/", "example.com"),
        ("https://u:p@other.org/", "example.com"),
    ];

    let mut cases = Vec::new();
    let mut native = Vec::new();
    for host in hosts {
        cases.push(json!({ "fn": "normalizeHostname", "args": [host] }));
        native.push(serde_json::to_value(checks::normalize_hostname(host)).unwrap());
    }
    for domain in domains {
        cases.push(json!({ "fn": "classifyDomain", "args": [domain, PLATFORM, "katie"] }));
        native.push(
            serde_json::to_value(checks::classify_domain(domain, PLATFORM, Some("katie"))).unwrap(),
        );
    }
    for slug in slugs {
        cases.push(json!({ "fn": "checkSlug", "args": [slug] }));
        native.push(serde_json::to_value(checks::check_slug(slug)).unwrap());
    }
    for username in usernames {
        cases.push(json!({ "fn": "checkUsername", "args": [username] }));
        native.push(serde_json::to_value(checks::check_username(username)).unwrap());
    }
    for (url, domain) in urls {
        cases.push(json!({ "fn": "checkExternalUrl", "args": [url, domain, PLATFORM] }));
        native
            .push(serde_json::to_value(checks::check_external_url(url, domain, PLATFORM)).unwrap());
    }

    let mut node = Command::new("node")
        .arg(root().join("tests/wasm/run-checks.mjs"))
        .arg(root().join("shared/pkg"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node is needed to load the wasm package");
    node.stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&cases).unwrap().as_bytes())
        .unwrap();
    let output = node.wait_with_output().unwrap();
    assert!(output.status.success(), "node failed");
    let wasm: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();

    assert_eq!(wasm.len(), native.len());
    for ((case, wasm), native) in cases.iter().zip(&wasm).zip(&native) {
        assert_eq!(wasm, native, "{case}");
    }
    // The cases exercise both outcomes, and the wasm tables really map IDNA.
    assert!(native.iter().any(|n| n["ok"] == true) && native.iter().any(|n| n["ok"] == false));
    assert_eq!(wasm[1]["value"]["ascii"], "xn--bcher-kva.de");
    assert_eq!(wasm[1]["value"]["unicode"], "bücher.de");
}
