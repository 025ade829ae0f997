//! What Workers KV holds, compared with the store: listing keys through the
//! KV client, and `republish --verify` finding and repairing drift.

use portico_control::publish::kv_cloudflare::CloudflareKv;
use portico_control::publish::{list_all, KvBackend, KvFailure, KvPut};
use portico_control::store::outbox::Namespace;

use crate::helpers::{cloudflare_settings, kv_server, local_settings, ROUTES_NS};

#[tokio::test]
async fn lists_every_key_across_pages() {
    let server = kv_server().await;
    let kv = CloudflareKv::from_settings(&cloudflare_settings(&server))
        .unwrap()
        .unwrap();
    let pairs: Vec<KvPut> = (0..2500)
        .map(|i| KvPut {
            key: format!("v1/h/{i:04}.example"),
            value: "{}".into(),
        })
        .collect();
    kv.put(Namespace::Routes, &pairs).await.unwrap();
    server.insert(ROUTES_NS, "zz-other", "x");
    let listed = list_all(&kv, Namespace::Routes, Some("v1/h/"))
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(|k| k.name.as_str()).collect();
    let expected: Vec<&str> = pairs.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(names, expected);
    // Three pages of at most 1000 keys.
    let all = list_all(&kv, Namespace::Routes, None).await.unwrap();
    assert_eq!(all.len(), 2501);
    assert!(list_all(&kv, Namespace::Content, None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_local_edge_cannot_list_and_says_so() {
    let server = kv_server().await;
    let kv = CloudflareKv::from_settings(&local_settings(&server))
        .unwrap()
        .unwrap();
    let err = list_all(&kv, Namespace::Routes, None).await.unwrap_err();
    assert_eq!(err.kind, KvFailure::Setup);
    assert!(err.message.contains("cannot list"), "{}", err.message);
    // It never asked the server.
    assert_eq!(server.attempts(), 0);
}
