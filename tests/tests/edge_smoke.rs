//! The built edge worker, under wrangler dev with local KV, routes by Host.

use portico_tests::wrangler::WranglerDev;
use portico_tests::Result;

#[tokio::test]
async fn answers_a_connected_host_and_refuses_an_unknown_one() -> Result<()> {
    let edge = WranglerDev::builder()
        .kv("ROUTES", "v1/h/sales.example.com", "tenant-1")
        .start()
        .await?;

    let connected = edge.get("sales.example.com", "/offer").await?;
    assert_eq!(connected.status(), 200);
    let content_type = connected.headers()["content-type"].to_str()?.to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(connected.text().await?, "routed: tenant-1");

    // Host names are case-insensitive.
    let shouted = edge.get("SALES.Example.COM", "/").await?;
    assert_eq!(shouted.status(), 200);

    let unknown = edge.get("unknown.example.org", "/").await?;
    assert_eq!(unknown.status(), 404);
    assert!(unknown
        .text()
        .await?
        .contains("This domain is not connected"));
    Ok(())
}
