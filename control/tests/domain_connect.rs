//! Domain Connect apply URLs against independent implementations: the
//! standard's reference client (`domain-connect` on PyPI, installed by
//! `scripts/ensure-tools` into target/api-tools) builds the same URL byte
//! for byte from the same key, and `openssl dgst -verify` (a stock RSA
//! verifier) accepts the signature with the public key reassembled from the
//! TXT records Portico says to publish.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use portico_control::domain_connect::apply::{query_string, ApplyRequest, SigningKey};
use portico_control::domain_connect::template::Service;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn reference_python() -> PathBuf {
    let python = workspace().join("target/api-tools/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/ensure-tools (it installs the Domain Connect reference client)",
        python.display()
    );
    python
}

fn generate_key(dir: &Path) -> String {
    let path = dir.join("key.pem");
    let status = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    std::fs::read_to_string(path).unwrap()
}

fn requests() -> Vec<ApplyRequest> {
    let base = ApplyRequest {
        url_sync_ux: "https://dcsync.provider.test".into(),
        provider_id: "portico.test".into(),
        service: Service::Subdomain,
        domain: "example.com".into(),
        host: Some("sales".into()),
        variables: vec![("target".into(), "katie.portico.test".into())],
        redirect_uri: Some("https://app.portico.test/v1/domain-connect/return".into()),
        state: Some("d_12:abc~DEF-_.".into()),
    };
    vec![
        base.clone(),
        ApplyRequest {
            service: Service::Root,
            host: None,
            domain: "example.co.uk".into(),
            state: Some("spaces and / slashes * stars ü".into()),
            ..base.clone()
        },
        ApplyRequest {
            redirect_uri: None,
            state: None,
            host: Some("deep.shop".into()),
            ..base
        },
    ]
}

#[test]
fn apply_urls_match_the_reference_client_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let pem = generate_key(dir.path());
    let key = SigningKey::from_pem(&pem, "_dcpubkeyv1").unwrap();
    let python = reference_python();
    let script = workspace().join("control/tests/domain_connect/reference_client.py");
    for request in requests() {
        let ours = request.signed_url(&key);
        let input = serde_json::json!({
            "url_sync_ux": request.url_sync_ux,
            "provider_id": request.provider_id,
            "service_id": request.service.id(),
            "domain": request.domain,
            "host": request.host,
            "params": request.variables,
            "redirect_uri": request.redirect_uri,
            "state": request.state,
            "private_key": pem,
            "key_id": key.key_id(),
        });
        let mut child = Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "reference client failed for {request:?}"
        );
        let theirs = String::from_utf8(out.stdout).unwrap();
        assert_eq!(ours, theirs.trim_end(), "for {request:?}");
    }
}

#[test]
fn signatures_verify_with_the_published_key_and_a_stock_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_pem(&generate_key(dir.path()), "_dcpubkeyv1").unwrap();

    // Reassemble the key from its TXT records, as a DNS provider does.
    let mut parts: Vec<(usize, String)> = key
        .public_key_records()
        .iter()
        .map(|record| {
            let fields: Vec<&str> = record.split(',').collect();
            assert_eq!(fields.len(), 3, "{record}");
            assert_eq!(fields[1], "a=RS256");
            assert!(record.len() <= 255, "one TXT string: {record}");
            let index = fields[0].strip_prefix("p=").unwrap().parse().unwrap();
            (index, fields[2].strip_prefix("d=").unwrap().to_string())
        })
        .collect();
    assert!(parts.len() > 1, "a 2048-bit key spans several records");
    parts.reverse(); // providers must order by p=, not by arrival
    parts.sort();
    let body: String = parts.into_iter().map(|(_, d)| d).collect();
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n");
    std::fs::write(dir.path().join("pub.pem"), pem).unwrap();

    for request in requests() {
        let url = request.signed_url(&key);
        let query = query_string(&request.parameters());
        let (signed, tail) = url.split_once("&sig=").unwrap();
        assert!(
            signed.ends_with(&query),
            "the signature covers the query as sent"
        );
        let sig = tail.split("&key=").next().unwrap();
        let sig = percent_encoding::percent_decode_str(sig)
            .decode_utf8()
            .unwrap();
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sig.as_bytes())
            .unwrap();
        std::fs::write(dir.path().join("sig.bin"), raw).unwrap();
        std::fs::write(dir.path().join("data"), &query).unwrap();
        let verify = |data: &str| {
            Command::new("openssl")
                .args([
                    "dgst",
                    "-sha256",
                    "-verify",
                    "pub.pem",
                    "-signature",
                    "sig.bin",
                    data,
                ])
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        };
        assert!(verify("data"), "openssl rejects the signature of {query}");
        std::fs::write(dir.path().join("tampered"), query.replace("katie", "kat1e")).unwrap();
        assert!(!verify("tampered"), "a changed query must not verify");
    }
}
