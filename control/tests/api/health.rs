use crate::both_stores;
use crate::helpers::{spawn_app, Db};

async fn healthz_and_readyz_answer(db: Db) {
    let Some((app, _db)) = spawn_app(db).await else {
        return;
    };
    let (status, body) = app.call("GET", "/healthz", None, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = app.call("GET", "/readyz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ok")),
        "{body}"
    );
    app.stop().await;
}

both_stores!(healthz_and_readyz_answer);

async fn not_ready_until_migrated(db: Db) {
    let Some(database) = crate::helpers::TestDatabase::new(db).await else {
        return;
    };
    let store = portico_control::store::Store::connect(&database.url, 1)
        .await
        .unwrap();
    let why = store.ready().await.unwrap_err();
    assert!(why.contains("migrate"), "{why}");
    store.migrate().await.unwrap();
    store.ready().await.unwrap();
    // Migrating again is a no-op.
    store.migrate().await.unwrap();
    store.close().await;
}

both_stores!(not_ready_until_migrated);
