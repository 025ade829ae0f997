//! Portico's control plane: the REST API for dashboards, the store (SQLite
//! or PostgreSQL through sqlx), and the publisher that pushes routing
//! records and page content to Workers KV through an outbox. Rules about
//! hostnames, paths, URLs and the KV record format come from
//! `portico-shared`.

pub mod api;
pub mod app;
pub mod config;
pub mod lifecycle;
pub mod publish;
pub mod store;
pub mod telemetry;

/// reqwest is built without a default TLS crypto provider: installs ring's
/// (a no-op when one is installed already). Call before building a client.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
