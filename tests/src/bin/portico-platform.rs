//! The stand-in platform application (`portico_tests::platform`) on its own,
//! for the local stack (`scripts/dev` runs it where wrangler.toml's
//! `PLATFORM_ORIGIN` points) and the proxy benchmark (`scripts/bench-proxy`),
//! until Ctrl-C or SIGTERM.
//!
//! `portico-platform [--video-bytes N] <ip:port>` with the shared secret in
//! `ORIGIN_SIGNING_SECRET` (at least 32 bytes, as the edge's).

use std::net::SocketAddr;

use portico_tests::platform::Platform;

const USAGE: &str = "usage: ORIGIN_SIGNING_SECRET=… portico-platform [--video-bytes N] <ip:port>";

fn fail(message: &str) -> ! {
    eprintln!("{message}\n{USAGE}");
    std::process::exit(2);
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut video_bytes: u64 = 10 * 1024 * 1024;
    let mut address = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--video-bytes" => {
                video_bytes = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| fail("--video-bytes: expected a number of bytes"))
            }
            other => {
                address = Some(other.parse::<SocketAddr>().unwrap_or_else(|_| {
                    fail(&format!(
                        "{other}: expected an address such as 127.0.0.1:8788"
                    ))
                }))
            }
        }
    }
    let address = address.unwrap_or_else(|| fail("no address"));
    let secret = std::env::var("ORIGIN_SIGNING_SECRET")
        .unwrap_or_else(|_| fail("ORIGIN_SIGNING_SECRET is not set"));
    let platform = Platform::start_on(address, &secret, video_bytes)
        .await
        .unwrap_or_else(|err| fail(&err.to_string()));
    eprintln!(
        "portico-platform on {} (video: {video_bytes} bytes at /video/intro.mp4)",
        platform.base_url()
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .unwrap_or_else(|err| fail(&err.to_string()));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
