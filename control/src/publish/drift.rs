//! Drift between Workers KV and the store: what KV holds (listed, with the
//! SHA-256 each value was written with as metadata) compared with what
//! `kv_published` says it holds, and the outbox writes that repair it.
//!
//! Observe, then decide: [`observe`] lists both namespaces and reads the
//! store, [`compare`] is pure, [`repair`] and [`rewrite_all`] only enqueue
//! (the fenced publisher delivers). The listing is taken before the store is
//! read, so a write that lands in between can only make a key look missing
//! or stale (and be written again, harmlessly), never make a published key
//! look extra and be deleted. Keys with writes still in the outbox are in
//! flight, not drift, and are left out.

use std::collections::{BTreeMap, BTreeSet};

use portico_shared::record::FORMAT_VERSION;
use serde::Serialize;

use super::kv_cloudflare::listed_digest;
use super::sync::RecordSettings;
use super::{list_all, KvBackend, KvError, ListedKey};
use crate::store::outbox::{self, Namespace};
use crate::store::{now_ms, Store};

/// Every key this version writes starts with it; other keys are not ours to judge.
pub fn key_prefix() -> String {
    format!("v{FORMAT_VERSION}/")
}

/// How one namespace differs from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NamespaceDrift {
    /// Published according to the store, absent from KV.
    pub missing: Vec<String>,
    /// In KV, not published according to the store.
    pub extra: Vec<String>,
    /// In both, but KV holds another value (or one without our digest).
    pub stale: Vec<String>,
    /// Keys compared (listed in KV).
    pub listed: usize,
    /// Keys left out because a write to them waits in the outbox.
    pub in_flight: usize,
}

impl NamespaceDrift {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.stale.is_empty()
    }
}

/// How KV differs from the store, per namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    pub routes: NamespaceDrift,
    pub content: NamespaceDrift,
}

impl DriftReport {
    pub fn is_clean(&self) -> bool {
        self.routes.is_clean() && self.content.is_clean()
    }

    /// A few lines for an operator.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, drift) in [("ROUTES", &self.routes), ("CONTENT", &self.content)] {
            out.push_str(&format!(
                "{name}: {} keys listed, {} missing, {} extra, {} stale, {} in flight\n",
                drift.listed,
                drift.missing.len(),
                drift.extra.len(),
                drift.stale.len(),
                drift.in_flight
            ));
            for (what, keys) in [
                ("missing", &drift.missing),
                ("extra", &drift.extra),
                ("stale", &drift.stale),
            ] {
                for key in keys.iter().take(5) {
                    out.push_str(&format!("  {what}: {key}\n"));
                }
                if keys.len() > 5 {
                    out.push_str(&format!("  … and {} more {what}\n", keys.len() - 5));
                }
            }
        }
        out.push_str(if self.is_clean() {
            "KV matches the store.\n"
        } else {
            "KV differs from the store.\n"
        });
        out
    }
}

/// The facts one namespace's comparison needs.
#[derive(Debug, Clone, Default)]
pub struct NamespaceFacts {
    /// What KV holds (ours: under [`key_prefix`]).
    pub listed: Vec<ListedKey>,
    /// Key → SHA-256 of its value, as `kv_published` has it.
    pub published: BTreeMap<String, String>,
    /// Keys with writes waiting in the outbox.
    pub in_flight: BTreeSet<String>,
}

/// Pure: KV's keys against the store's.
pub fn compare(facts: &NamespaceFacts) -> NamespaceDrift {
    let mut drift = NamespaceDrift {
        listed: facts.listed.len(),
        ..NamespaceDrift::default()
    };
    let mut seen = BTreeSet::new();
    for key in &facts.listed {
        seen.insert(key.name.as_str());
        if facts.in_flight.contains(&key.name) {
            drift.in_flight += 1;
            continue;
        }
        match facts.published.get(&key.name) {
            None => drift.extra.push(key.name.clone()),
            Some(digest) if listed_digest(key.metadata.as_ref()) != Some(digest.as_str()) => {
                drift.stale.push(key.name.clone())
            }
            Some(_) => {}
        }
    }
    for key in facts.published.keys() {
        if seen.contains(key.as_str()) {
            continue;
        }
        if facts.in_flight.contains(key) {
            drift.in_flight += 1;
        } else {
            drift.missing.push(key.clone());
        }
    }
    drift
}

#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
    #[error("kv: {0}")]
    Kv(#[from] KvError),
}

/// Lists both namespaces, then reads the store, and compares.
pub async fn observe(store: &Store, backend: &dyn KvBackend) -> Result<DriftReport, DriftError> {
    let prefix = key_prefix();
    let routes_listed = list_all(backend, Namespace::Routes, Some(&prefix)).await?;
    let content_listed = list_all(backend, Namespace::Content, Some(&prefix)).await?;
    let published: Vec<(String, String, String)> =
        sqlx::query_as("SELECT namespace, key, value_digest FROM kv_published")
            .fetch_all(store.pool())
            .await?;
    let queued: Vec<(String, String)> =
        sqlx::query_as("SELECT DISTINCT namespace, key FROM outbox")
            .fetch_all(store.pool())
            .await?;
    let mut facts = [
        NamespaceFacts {
            listed: routes_listed,
            ..NamespaceFacts::default()
        },
        NamespaceFacts {
            listed: content_listed,
            ..NamespaceFacts::default()
        },
    ];
    let slot = |namespace: &str| match Namespace::parse(namespace) {
        Some(Namespace::Routes) => Some(0),
        Some(Namespace::Content) => Some(1),
        None => None,
    };
    for (namespace, key, digest) in published {
        if let Some(i) = slot(&namespace) {
            facts[i].published.insert(key, digest);
        }
    }
    for (namespace, key) in queued {
        if let Some(i) = slot(&namespace) {
            facts[i].in_flight.insert(key);
        }
    }
    Ok(DriftReport {
        routes: compare(&facts[0]),
        content: compare(&facts[1]),
    })
}

/// Enqueues what fixes `report`: missing and stale keys are forgotten in
/// `kv_published`, so every account's resync puts them again (with their
/// current values); extra routing keys are deleted, unless published
/// meanwhile; extra content is marked unreferenced, so the content
/// collection deletes it after its delay (an edge may still name it).
/// Returns how many outbox rows were written.
pub async fn repair(
    store: &Store,
    records: &RecordSettings,
    report: &DriftReport,
) -> Result<usize, sqlx::Error> {
    let mut written = 0;
    let mut tx = store.pool().begin().await?;
    let now = now_ms();
    for (namespace, drift) in [
        (Namespace::Routes, &report.routes),
        (Namespace::Content, &report.content),
    ] {
        for key in drift.missing.iter().chain(&drift.stale) {
            sqlx::query("DELETE FROM kv_published WHERE namespace = $1 AND key = $2")
                .bind(namespace.as_str())
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        for key in &drift.extra {
            let published: Option<(String,)> =
                sqlx::query_as("SELECT key FROM kv_published WHERE namespace = $1 AND key = $2")
                    .bind(namespace.as_str())
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if published.is_some() {
                continue;
            }
            if namespace == Namespace::Content {
                // An edge may still hold a record naming it: adopted as
                // unreferenced, it is collected after the delay (`gc`).
                let digest = key.rsplit('/').next().unwrap_or_default();
                sqlx::query(
                    "INSERT INTO kv_published (namespace, key, account_id, value_digest, unreferenced_since) \
                     VALUES ('content', $1, NULL, $2, $3) ON CONFLICT (namespace, key) DO NOTHING",
                )
                .bind(key)
                .bind(digest)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            } else {
                outbox::enqueue_delete(&mut tx, namespace, key, now).await?;
                written += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(written + super::sync::republish_all(store, records).await?)
}

/// `--full`: forgets everything `kv_published` holds and resyncs every
/// account, so every desired key (and every content a record names) is put
/// again. Rebuilds a wiped namespace; deletes nothing. Content waiting for
/// collection keeps its mark (and is collected as planned).
pub async fn rewrite_all(store: &Store, records: &RecordSettings) -> Result<usize, sqlx::Error> {
    sqlx::query(
        "DELETE FROM kv_published WHERE namespace <> 'content' OR unreferenced_since IS NULL",
    )
    .execute(store.pool())
    .await?;
    super::sync::republish_all(store, records).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listed(name: &str, digest: Option<&str>) -> ListedKey {
        ListedKey {
            name: name.into(),
            metadata: digest.map(|d| json!({ "sha256": d })),
        }
    }

    #[test]
    fn finds_missing_extra_and_stale_and_skips_in_flight() {
        let facts = NamespaceFacts {
            listed: vec![
                listed("v1/h/ok", Some("d1")),
                listed("v1/h/old", Some("dx")),
                listed("v1/h/unknown-digest", None),
                listed("v1/h/extra", Some("d9")),
                listed("v1/h/being-deleted", Some("d8")),
            ],
            published: [
                ("v1/h/ok", "d1"),
                ("v1/h/old", "d2"),
                ("v1/h/unknown-digest", "d3"),
                ("v1/h/gone", "d4"),
                ("v1/h/being-put", "d5"),
            ]
            .into_iter()
            .map(|(k, d)| (k.to_string(), d.to_string()))
            .collect(),
            in_flight: ["v1/h/being-deleted", "v1/h/being-put"]
                .into_iter()
                .map(String::from)
                .collect(),
        };
        let drift = compare(&facts);
        assert_eq!(drift.missing, vec!["v1/h/gone"]);
        assert_eq!(drift.extra, vec!["v1/h/extra"]);
        assert_eq!(drift.stale, vec!["v1/h/old", "v1/h/unknown-digest"]);
        assert_eq!((drift.listed, drift.in_flight), (5, 2));
        assert!(!drift.is_clean());
        assert!(compare(&NamespaceFacts::default()).is_clean());
    }
}
