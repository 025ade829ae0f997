//! Portico's control plane: the REST API for dashboards, the store (SQLite
//! or PostgreSQL through sqlx), and the publisher that pushes routing
//! records and page content to Workers KV through an outbox. Rules about
//! hostnames, paths, URLs and the KV record format come from
//! `portico-shared`.

pub mod api;
pub mod app;
pub mod certs;
pub mod clock;
pub mod cloudflare_api;
pub mod config;
pub mod dashboard;
pub mod domain_connect;
pub mod lifecycle;
pub mod metrics;
pub mod publish;
pub mod quota;
pub mod retry;
pub mod store;
pub mod telemetry;
pub mod unit;
pub mod verify;
pub mod webhooks;
