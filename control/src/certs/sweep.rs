//! Custom hostnames no domain needs any more: left behind when a removal
//! was lost to a crash or an outage longer than its retries, or when a
//! legacy hostname's domain was removed (`remove` leaves those to this
//! sweep). They serve nothing (the edge has no record for them) but count
//! against the zone's custom hostnames. `portico-control
//! sweep-certificates` lists them and, with `--delete`, deletes them.
//!
//! A custom hostname is an orphan when no stored domain has the domain id
//! its metadata names, or, without Portico's metadata (legacy, or set up by
//! hand), when no stored domain is served at its name.
//!
//! The zone is listed before the store is read: a domain is stored before
//! its custom hostname is created, so every listed hostname whose domain
//! exists is found in the store, even while domains are being added.

use std::collections::HashSet;

use super::cloudflare::RetryBudget;
use super::custom_hostname::{CustomHostname, Holder};
use super::{CertificateError, CertificateOwner, Certificates};
use crate::store::Store;

/// A custom hostname without a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub id: String,
    pub hostname: String,
    /// Its hostname status, e.g. `active`.
    pub status: String,
    /// The (gone) domain its metadata names; `None` without Portico's metadata.
    pub owner: Option<CertificateOwner>,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Certificates(#[from] CertificateError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The stored domains, as the sweep matches them.
#[derive(Debug, Default)]
pub struct Domains {
    pub ids: HashSet<String>,
    pub served_hosts: HashSet<String>,
}

impl Domains {
    /// Whether a stored domain owns `custom`.
    pub fn own(&self, custom: &CustomHostname) -> bool {
        match custom.holder() {
            Holder::Domain(owner) => self.ids.contains(&owner.domain_id),
            Holder::Legacy | Holder::Unknown => self
                .served_hosts
                .contains(&custom.hostname.to_ascii_lowercase()),
        }
    }
}

/// The zone's custom hostnames that no stored domain owns; deleted too when
/// `delete` is set. Nothing under `certificate_provider = none`.
pub async fn sweep(
    store: &Store,
    certificates: &Certificates,
    delete: bool,
) -> Result<Vec<Orphan>, SweepError> {
    let Certificates::Cloudflare(client) = certificates else {
        return Ok(Vec::new());
    };
    let listed = client.list_zone(RetryBudget::PATIENT).await?;
    let mut domains = Domains::default();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, served_host FROM domains")
        .fetch_all(store.pool())
        .await?;
    for (id, served_host) in rows {
        domains.ids.insert(id);
        domains.served_hosts.insert(served_host);
    }
    let orphans: Vec<Orphan> = listed
        .into_iter()
        .filter(|custom| !domains.own(custom))
        .map(|custom| Orphan {
            status: custom.hostname_status().to_string(),
            owner: match custom.holder() {
                Holder::Domain(owner) => Some(owner),
                Holder::Legacy | Holder::Unknown => None,
            },
            id: custom.id,
            hostname: custom.hostname,
        })
        .collect();
    if delete {
        for orphan in &orphans {
            client.delete(&orphan.id, RetryBudget::PATIENT).await?;
            tracing::info!(host = %orphan.hostname, id = %orphan.id, domain = ?orphan.owner.as_ref().map(|o| &o.domain_id), "orphaned Cloudflare custom hostname deleted");
        }
    }
    Ok(orphans)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn custom(hostname: &str, metadata: Option<serde_json::Value>) -> CustomHostname {
        let mut value = json!({ "id": "x", "hostname": hostname });
        if let Some(metadata) = metadata {
            value["custom_metadata"] = metadata;
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_orphan_is_one_no_stored_domain_owns() {
        let domains = Domains {
            ids: ["dom-a".to_string()].into(),
            served_hosts: ["sales.example.com".to_string()].into(),
        };
        let a = CertificateOwner::new("acc-a", "dom-a").metadata();
        let gone = CertificateOwner::new("acc-b", "dom-gone").metadata();
        let by_hand = json!({ "customer_id": "7" });
        let cases = [
            // Judged by domain id: the name does not matter.
            ("sales.example.com", Some(a.clone()), true),
            ("old.example.com", Some(a), true),
            ("sales.example.com", Some(gone), false),
            // Without Portico's metadata: judged by name.
            ("sales.example.com", None, true),
            ("Sales.Example.com", None, true),
            ("old.example.com", None, false),
            ("sales.example.com", Some(by_hand.clone()), true),
            ("old.example.com", Some(by_hand), false),
        ];
        for (hostname, metadata, owned) in cases {
            let label = format!("{hostname} {metadata:?}");
            assert_eq!(domains.own(&custom(hostname, metadata)), owned, "{label}");
        }
    }
}
