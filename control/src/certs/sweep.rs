//! Custom hostnames no domain needs any more: left behind when a removal
//! was lost to a crash or an outage longer than its retries. They serve
//! nothing (the edge has no record for them) but count against the zone's
//! custom hostnames. `portico-control certificates sweep` lists them and,
//! with `--delete`, deletes them.
//!
//! The zone is listed before the store is read: a domain is stored before
//! its custom hostname is created, so every listed hostname whose domain
//! exists is found in the store, even while domains are being added.

use std::collections::HashSet;

use super::cloudflare::RetryBudget;
use super::{CertificateError, Certificates};
use crate::store::Store;

/// A custom hostname without a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub id: String,
    pub hostname: String,
    /// Its hostname status, e.g. `active`.
    pub status: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Certificates(#[from] CertificateError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The zone's custom hostnames that no domain in the store is served at;
/// deleted too when `delete` is set. Nothing under `certificate_provider = none`.
pub async fn sweep(
    store: &Store,
    certificates: &Certificates,
    delete: bool,
) -> Result<Vec<Orphan>, SweepError> {
    let Certificates::Cloudflare(client) = certificates else {
        return Ok(Vec::new());
    };
    let listed = client.list_zone(RetryBudget::PATIENT).await?;
    let served: HashSet<String> =
        sqlx::query_scalar::<_, String>("SELECT served_host FROM domains")
            .fetch_all(store.pool())
            .await?
            .into_iter()
            .collect();
    let orphans: Vec<Orphan> = listed
        .into_iter()
        .filter(|custom| !served.contains(&custom.hostname.to_ascii_lowercase()))
        .map(|custom| Orphan {
            status: custom.hostname_status().to_string(),
            id: custom.id,
            hostname: custom.hostname,
        })
        .collect();
    if delete {
        for orphan in &orphans {
            client.delete(&orphan.id, RetryBudget::PATIENT).await?;
            tracing::info!(host = %orphan.hostname, id = %orphan.id, "orphaned Cloudflare custom hostname deleted");
        }
    }
    Ok(orphans)
}
