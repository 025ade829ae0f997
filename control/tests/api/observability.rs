//! What an on-call engineer sees: `/metrics` after real requests (HTTP by
//! route template, checks, DNS, publishing, the Cloudflare API, the store's
//! gauges), who may scrape it, and the `x-request-id` on every answer and
//! on the log lines of the request (a real `serve` process's JSON logs).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::both_stores;
use crate::helpers::*;
use crate::world::Scenario;

const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// One scrape: every sample line, `name{labels}` → value.
type Scrape = BTreeMap<String, f64>;

async fn scrape(app: &TestApp, token: &str) -> (Scrape, String) {
    let response = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let samples = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            (series.to_string(), value.parse::<f64>().expect(line))
        })
        .collect();
    (samples, text)
}

/// The value of the series, 0 when absent.
fn value(scrape: &Scrape, series: &str) -> f64 {
    scrape.get(series).copied().unwrap_or(0.0)
}

/// How much `series` grew between two scrapes.
fn grew(before: &Scrape, after: &Scrape, series: &str) -> f64 {
    value(after, series) - value(before, series)
}

/// The sum over every series of `name` whose labels hold all of `labels`.
fn sum(scrape: &Scrape, name: &str, labels: &[&str]) -> f64 {
    scrape
        .iter()
        .filter(|(series, _)| {
            series.starts_with(&format!("{name}{{")) && labels.iter().all(|l| series.contains(l))
        })
        .map(|(_, value)| value)
        .sum()
}

async fn requests_checks_and_publishing_move_the_metrics(db: Db) {
    let world = Scenario::simple("example.test", "sales CNAME katie.portico.test.\n")
        .start()
        .await;
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let server = kv_server().await;
    let mut settings = database.settings();
    settings.verify = world.settings();
    settings.verify.publish_wait = Duration::from_secs(5);
    settings.kv = cloudflare_settings(&server);
    settings.metrics_token = Some(METRICS_TOKEN.into());
    let app = start(&settings).await;

    let (before, _) = scrape(&app, METRICS_TOKEN).await;
    let (_, token) = app.account("katie").await;
    let domain = app.domain(&token, "sales.example.test").await;
    let id = domain["id"].as_str().unwrap();
    let (status, _) = app.get(&format!("/v1/domains/{id}"), &token).await;
    assert_eq!(status, 200);
    let (status, _) = app.get("/v1/domains/dom_nosuchdomain", &token).await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/no/such/route/sales.example.test", &token).await;
    assert_eq!(status, 404);
    let (status, report) = app.verify_domain(id, &token).await;
    assert_eq!(status, 200, "{report}");
    app.published().await;
    let (after, text) = scrape(&app, METRICS_TOKEN).await;

    let http = "portico_http_request_duration_seconds_count";
    for (labels, at_least) in [
        (r#"method="POST",route="/v1/domains",status="201""#, 1.0),
        (
            r#"method="GET",route="/v1/domains/{domain_id}",status="200""#,
            1.0,
        ),
        (
            r#"method="GET",route="/v1/domains/{domain_id}",status="404""#,
            1.0,
        ),
        (r#"method="GET",route="unmatched",status="404""#, 1.0),
        (r#"method="POST",route="/v1/accounts",status="201""#, 1.0),
    ] {
        let series = format!("{http}{{{labels}}}");
        assert!(
            grew(&before, &after, &series) >= at_least,
            "{series} did not move:\n{text}"
        );
    }
    // A histogram: buckets by `le`, a sum of the latencies.
    let bucket = "portico_http_request_duration_seconds_bucket";
    let labels = [r#"route="/v1/domains/{domain_id}""#, r#"status="200""#];
    assert!(
        sum(&after, bucket, &[&labels[..], &[r#"le="+Inf""#]].concat()) >= 1.0,
        "{text}"
    );
    assert!(
        value(
            &after,
            r#"portico_http_request_duration_seconds_sum{method="GET",route="/v1/domains/{domain_id}",status="200"}"#
        ) > 0.0
    );
    // Route templates only: no id, hostname or raw path in any label.
    for secret in [
        id,
        "sales.example.test",
        "dom_nosuchdomain",
        "/no/such/route",
        "katie",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into /metrics");
    }
    // Every route label is one of the router's templates.
    let (_, doc) = portico_control::api::api_router();
    let templates: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
    for series in after.keys().filter(|s| s.starts_with(http)) {
        let route = series
            .split("route=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            ["unmatched", "/metrics", "/v1/openapi.json"].contains(&route)
                || templates.contains(&route),
            "{series} is not a route template"
        );
    }

    assert!(
        grew(&before, &after, r#"portico_checks_total{outcome="ready"}"#) >= 1.0,
        "{text}"
    );
    assert!(grew(&before, &after, "portico_check_duration_seconds_count") >= 1.0);
    assert!(
        grew(
            &before,
            &after,
            r#"portico_certificate_findings_total{state="ready"}"#
        ) >= 1.0,
        "{text}"
    );
    assert!(
        sum(&after, "portico_dns_queries_total", &[])
            - sum(&before, "portico_dns_queries_total", &[])
            >= 2.0,
        "{text}"
    );
    assert!(
        grew(
            &before,
            &after,
            r#"portico_publish_passes_total{outcome="delivered"}"#
        ) >= 1.0,
        "{text}"
    );
    assert!(grew(&before, &after, "portico_published_rows_total") >= 1.0);
    assert!(value(&after, "portico_publish_last_success_timestamp_seconds") > 1.7e9);
    assert!(
        grew(
            &before,
            &after,
            r#"portico_cloudflare_api_requests_total{api="kv",outcome="ok"}"#
        ) >= 1.0,
        "{text}"
    );
    assert_eq!(
        value(&after, "portico_cloudflare_api_budget_limit"),
        f64::from(settings.cloudflare_api_budget)
    );
    // The store's gauges, read at the scrape.
    assert_eq!(
        value(&after, r#"portico_domains{status="connected"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(&after, r#"portico_domains{status="processing"}"#),
        0.0
    );
    assert_eq!(value(&after, "portico_outbox_depth"), 0.0);
    assert_eq!(value(&after, "portico_outbox_oldest_age_seconds"), 0.0);
    assert_eq!(value(&after, "portico_webhook_backlog"), 0.0);
    assert_eq!(value(&after, "portico_publisher_leader"), 1.0, "{text}");
    assert_eq!(value(&after, "portico_scrape_errors_total"), 0.0);

    // A change not yet published shows as depth and age.
    portico_control::store::outbox::enqueue_put(
        &mut app.store().pool().acquire().await.unwrap(),
        portico_control::store::outbox::Namespace::Routes,
        "metrics-test-key",
        "{}",
        portico_control::store::now_ms() - 90_000,
    )
    .await
    .unwrap();
    let (queued, text) = scrape(&app, METRICS_TOKEN).await;
    // The publisher may have taken it meanwhile; either it waits (with its
    // age) or it was delivered.
    if value(&queued, "portico_outbox_depth") >= 1.0 {
        assert!(
            value(&queued, "portico_outbox_oldest_age_seconds") >= 90.0,
            "{text}"
        );
    } else {
        app.published().await;
    }
    app.stop().await;
}

async fn only_the_metrics_and_admin_tokens_may_scrape(db: Db) {
    let Some(database) = TestDatabase::new(db).await else {
        return;
    };
    let mut settings = database.settings();
    settings.metrics_token = Some(METRICS_TOKEN.into());
    let app = start(&settings).await;
    let (_, token) = app.account("scraped").await;
    scrape(&app, METRICS_TOKEN).await;
    scrape(&app, ADMIN_TOKEN).await;
    for (token, status, code) in [
        (None, 401, "unauthorized"),
        (Some("not-a-token-of-anyone"), 401, "unauthorized"),
        (Some(token.as_str()), 403, "forbidden"),
    ] {
        let (got, body) = app.call("GET", "/metrics", token, None).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    app.stop().await;
}

async fn every_answer_carries_a_request_id(db: Db) {
    let Some((app, _database)) = spawn_app(db).await else {
        return;
    };
    let (_, token) = app.account("ids").await;
    let send = |method: &str, path: &str, id: Option<&str>, token: Option<&str>| {
        let mut request = app
            .http
            .request(method.parse().unwrap(), app.url(path))
            .header("content-type", "application/json");
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.body("{not json").send()
    };
    let mut seen = std::collections::BTreeSet::new();
    // Successes, 401, 404 of no route, 405, 400 of a bad body, 422.
    for (method, path, token, status) in [
        ("GET", "/healthz", None, 200),
        ("GET", "/v1/domains", None, 401),
        ("GET", "/nowhere", None, 404),
        ("DELETE", "/healthz", None, 405),
        ("POST", "/v1/domains", Some(token.as_str()), 400),
        ("GET", "/metrics", None, 401),
    ] {
        let answer = send(method, path, None, token).await.unwrap();
        assert_eq!(answer.status().as_u16(), status, "{method} {path}");
        let id = answer.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert!(seen.insert(id), "a new id per request");

        let given = "req-0f5c3b3e.trace:1";
        let answer = send(method, path, Some(given), token).await.unwrap();
        assert_eq!(answer.headers()["x-request-id"], given, "{method} {path}");

        for insane in ["has space", &"x".repeat(200), "semi;colon"] {
            let answer = send(method, path, Some(insane), token).await.unwrap();
            let id = answer.headers()["x-request-id"].to_str().unwrap();
            assert_ne!(id, insane);
            assert_eq!(id.len(), 36, "replaced by a UUID: {id}");
        }
    }
    app.stop().await;
}

both_stores!(
    requests_checks_and_publishing_move_the_metrics,
    only_the_metrics_and_admin_tokens_may_scrape,
    every_answer_carries_a_request_id,
);

/// A real `serve` logging JSON: the lines of a request carry its id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_the_request_id() {
    let database = TestDatabase::new(Db::Sqlite).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_portico-control"));
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("PORTICO_")) {
        command.env_remove(name);
    }
    let mut child = command
        .arg("serve")
        .env_remove("RUST_LOG")
        .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
        .env("PORTICO_DATABASE_URL", &database.url)
        .env("PORTICO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("PORTICO_VERIFIER", "false")
        .env("PORTICO_LOG_FORMAT", "json")
        .env("PORTICO_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://127.0.0.1:{port}/v1/accounts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = "log-line-request-id-42";
    loop {
        let sent = http
            .post(&url)
            .bearer_auth(ADMIN_TOKEN)
            .header("x-request-id", id)
            .json(&json!({ "username": "logged" }))
            .send()
            .await;
        if let Ok(answer) = sent {
            assert_eq!(answer.status().as_u16(), 201);
            assert_eq!(answer.headers()["x-request-id"], id);
            break;
        }
        assert!(Instant::now() < deadline, "serve did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The request's "finished processing" line, in its span.
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            break None;
        };
        let Ok(log) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if log["span"]["request_id"] == id {
            break Some(log);
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let log = found.expect("a log line of the request carries its id");
    assert_eq!(log["span"]["name"], "request", "{log}");
    assert_eq!(log["span"]["method"], "POST", "{log}");
}
