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
