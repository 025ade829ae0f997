//! A local authoritative DNS server for the local stack, `doctor` and the
//! verifier benchmark: serves zone files (hickory-server, in memory) on one
//! address, UDP and TCP, until Ctrl-C.
//!
//! `portico-local-dns 127.0.0.1:5353 tests/zones/*.zone` — each file is a
//! zone named after the file (`example.test.zone` → `example.test`), in
//! zone-file syntax relative to its origin; an SOA is added.

use std::net::SocketAddr;
use std::path::Path;

use portico_tests::dns::{DnsServer, Zone};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(listen) = args.next().and_then(|a| a.parse::<SocketAddr>().ok()) else {
        eprintln!("usage: portico-local-dns <ip:port> <zone files…>");
        std::process::exit(2);
    };
    let mut zones = Vec::new();
    for file in args {
        let path = Path::new(&file);
        let origin = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".zone"))
            .unwrap_or_else(|| {
                eprintln!("{file}: name zone files <origin>.zone");
                std::process::exit(2);
            });
        let text = std::fs::read_to_string(path).unwrap_or_else(|err| {
            eprintln!("{file}: {err}");
            std::process::exit(2);
        });
        zones.push(Zone::new(origin, &text));
    }
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
    let _ = tokio::signal::ctrl_c().await;
    drop(server);
}
