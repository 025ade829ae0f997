//! A local authoritative DNS server for the local stack, `doctor` and the
//! verifier benchmark, until Ctrl-C or SIGTERM.
//!
//! `portico-local-dns 127.0.0.1:5353 tests/zones/*.zone` — serves zone files
//! (hickory-server, in memory) on one address, UDP and TCP: each file is a
//! zone named after the file (`example.test.zone` → `example.test`), in
//! zone-file syntax relative to its origin; an SOA is added.
//!
//! `portico-local-dns --admin 127.0.0.1:8053 --forward 127.0.0.1:8081 127.0.0.1:5353 [zone files…]`
//! — the local DNS provider and registrar (`portico_tests::local_dns`):
//! records change live through the admin server's API and page
//! (`http://127.0.0.1:8053/`), the registrar's URL forwards are answered on
//! `--forward`; zone files given are loaded first.
//! `--platform-domain` (default `portico.test`) names the zone whose every
//! host resolves to 127.0.0.1. `--state FILE` keeps the records and forwards
//! made through the API or the page in FILE (JSON), so they outlive a
//! restart (`scripts/dev`: `.portico/dns.json`). With `--admin`, the
//! provider also speaks Domain Connect there (`local_dns::domain_connect`).

use std::net::SocketAddr;
use std::path::Path;

use portico_tests::dns::{DnsServer, Zone};
use portico_tests::local_dns::{LocalDns, LocalDnsOptions};

const USAGE: &str = "usage: portico-local-dns [--admin <ip:port>] [--forward <ip:port>] \
                     [--platform-domain <domain>] [--state <file>] <ip:port> [zone files…]";

fn fail(message: &str) -> ! {
    eprintln!("{message}\n{USAGE}");
    std::process::exit(2);
}

fn address(text: Option<String>, what: &str) -> SocketAddr {
    text.and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        fail(&format!(
            "{what}: expected an address such as 127.0.0.1:8053"
        ))
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut admin = None;
    let mut forward = None;
    let mut platform_domain = "portico.test".to_string();
    let mut state = None;
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--admin" => admin = Some(address(args.next(), "--admin")),
            "--forward" => forward = Some(address(args.next(), "--forward")),
            "--state" => {
                state = Some(
                    args.next()
                        .map(std::path::PathBuf::from)
                        .unwrap_or_else(|| fail("--state: expected a file")),
                )
            }
            "--platform-domain" => {
                platform_domain = args
                    .next()
                    .unwrap_or_else(|| fail("--platform-domain: expected a domain"))
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            flag if flag.starts_with("--") => fail(&format!("unknown option {flag}")),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let listen = address(positional.next(), "the DNS address");
    let mut zones = Vec::new();
    for file in positional {
        let path = Path::new(&file);
        let origin = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".zone"))
            .unwrap_or_else(|| fail(&format!("{file}: name zone files <origin>.zone")));
        let text = std::fs::read_to_string(path).unwrap_or_else(|err| {
            eprintln!("{file}: {err}");
            std::process::exit(2);
        });
        zones.push((origin.to_string(), text));
    }

    if admin.is_none() && forward.is_none() {
        // Zone files only, served as they are.
        let zones: Vec<Zone> = zones
            .iter()
            .map(|(origin, text)| Zone::new(origin, text))
            .collect();
        let server = DnsServer::start(listen, &zones)
            .await
            .unwrap_or_else(|err| {
                eprintln!("cannot serve: {err:?}");
                std::process::exit(1);
            });
        eprintln!(
            "serving {} zone(s) on {} (UDP and TCP); Ctrl-C stops",
            zones.len(),
            server.addr
        );
        stopped().await;
        drop(server);
        return;
    }

    let count = zones.len();
    let local = LocalDns::start(LocalDnsOptions {
        dns: listen,
        admin,
        forward,
        platform_domain,
        zones,
        state,
        domain_connect: true,
    })
    .await
    .unwrap_or_else(|err| {
        eprintln!("cannot serve: {err:?}");
        std::process::exit(1);
    });
    eprintln!(
        "DNS on {} (UDP and TCP), {count} zone file(s) loaded",
        local.dns_addr
    );
    if let Some(addr) = local.admin_addr {
        eprintln!("DNS provider page and API on http://{addr}/ (records: /api/records, forwards: /api/forwards; Domain Connect: /v2/…)");
    }
    if let Some(addr) = local.forward_addr {
        eprintln!("registrar forwarding on http://{addr}/");
    }
    eprintln!("Ctrl-C stops");
    stopped().await;
    drop(local);
}

/// Ctrl-C or SIGTERM.
async fn stopped() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}
