//! The control plane's behaviour, over HTTP, against SQLite and PostgreSQL.

mod helpers;

mod account_deletion;
mod accounts;
mod apex;
mod api_budget;
mod certificates;
mod crash;
mod dashboard;
mod domain_batch;
mod domain_connect_flow;
mod domains;
mod drift;
mod edge;
mod errors;
mod events;
mod fencing;
mod health;
mod idempotency;
mod incremental;
mod input;
mod isolation;
mod links;
mod mounts;
mod observability;
mod openapi;
mod ownership;
mod pages;
mod pagination;
mod parking;
mod publishing;
mod quotas;
mod rate_limits;
mod replicas;
mod serving;
mod token_scopes;
mod verification;
mod verify_coalescing;
mod webhooks;
mod webhooks_crash;
#[path = "../verify/world.rs"]
#[allow(dead_code)]
mod world;

/// Says plainly whether the PostgreSQL variants ran or were skipped
/// (.config/nextest.toml shows this test's output even when it passes).
#[tokio::test]
async fn postgres_availability() {
    match helpers::postgres_available().await {
        Ok(()) => println!("PostgreSQL tests run against {}", helpers::postgres_url()),
        Err(why) if helpers::postgres_required() => {
            panic!("PostgreSQL is required (PORTICO_TEST_POSTGRES_REQUIRED) but {why}")
        }
        Err(why) => println!(
            "PostgreSQL tests SKIPPED (only SQLite was tested): {why}. \
             Set PORTICO_TEST_POSTGRES_URL to a reachable server to run them."
        ),
    }
}
