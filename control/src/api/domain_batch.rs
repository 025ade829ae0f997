//! Bulk onboarding: up to 1,000 hostnames in one call, each added as the
//! single add would (its own unit of work: an item that fails leaves
//! nothing behind), one result per item, and the records to create grouped
//! by DNS zone for whoever administers it (as a zone-file snippet and CSV).
//! The items' first checks are spread over time instead of fired at once.

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain_add::{add_one, OwnershipProof};
use super::domains::{username, view, DnsRecordView, DomainView, RootForwardView};
use super::error::ErrorBody;
use super::{AccountAuth, ApiError, ApiJson, AppState};

pub const MAX_BATCH: usize = 1000;
/// Between two items' first checks: 1,000 items are checked over 200 s.
pub const CHECK_SPACING_MS: i64 = 200;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDomains {
    /// 1 to 1,000 hostnames, as the single add takes them.
    #[schema(min_items = 1, max_items = 1000)]
    pub hostnames: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// As given.
    pub hostname: String,
    /// `created`, or the error code the single add answers with
    /// (`domain_already_added`, `hostname_taken`, `host_*`, …), or `duplicate`
    /// (the same hostname earlier in the batch).
    pub result: String,
    /// `created`: the domain as the API returns it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainView>,
    /// Otherwise: what the single add would have said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `hostname_taken`: how to prove the hostname is yours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<OwnershipProof>,
}

/// What one DNS zone's administrator creates.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ZoneRecords {
    /// The registrable domain (`example.com`).
    pub zone: String,
    pub records: Vec<DnsRecordView>,
    /// Root domains: the forwards to create at the registrar.
    pub root_forwards: Vec<RootForwardView>,
    /// The records as zone-file lines.
    pub zone_file: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResult {
    /// One per hostname given, in order.
    pub items: Vec<BatchItem>,
    pub created: usize,
    pub failed: usize,
    /// The created domains' records, by zone.
    pub zones: Vec<ZoneRecords>,
    /// Every record of `zones`: `zone,type,host,name,value` lines.
    pub records_csv: String,
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// Groups the created domains' records by zone.
fn by_zone(created: &[&DomainView]) -> (Vec<ZoneRecords>, String) {
    let mut zones: BTreeMap<&str, ZoneRecords> = BTreeMap::new();
    for domain in created {
        let zone = zones.entry(&domain.root).or_insert_with(|| ZoneRecords {
            zone: domain.root.clone(),
            records: Vec::new(),
            root_forwards: Vec::new(),
            zone_file: String::new(),
        });
        for record in &domain.dns_records {
            zone.zone_file.push_str(&format!(
                "{} 3600 IN {} {}\n",
                fqdn(&record.name),
                record.record_type,
                fqdn(&record.value)
            ));
            zone.records.push(record.clone());
        }
        zone.root_forwards.extend(domain.root_forward.clone());
    }
    let mut csv = String::from("zone,type,host,name,value\n");
    for zone in zones.values() {
        for record in &zone.records {
            csv.push_str(&format!(
                "{},{},{},{},{}\n",
                zone.zone, record.record_type, record.host, record.name, record.value
            ));
        }
    }
    (zones.into_values().collect(), csv)
}

/// Adds many hostnames at once; one result per item, never all or nothing.
#[utoipa::path(
    post,
    path = "/v1/domains/batch",
    tag = "domains",
    request_body = NewDomains,
    security(("account_token" = [])),
    responses(
        (status = 200, description = "One result per item", body = BatchResult),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_batch`: none, or more than 1,000", body = ErrorBody),
    )
)]
pub async fn add_domains(
    auth: AccountAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewDomains>,
) -> Result<ApiJson<BatchResult>, ApiError> {
    if input.hostnames.is_empty() || input.hostnames.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "hostnames",
            "invalid_batch",
            format!("send 1 to {MAX_BATCH} hostnames"),
        ));
    }
    let username = username(&state, &auth.account_id).await?;
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(input.hostnames.len());
    let mut checks = 0;
    for typed in input.hostnames {
        let key = typed.trim().to_ascii_lowercase();
        if !seen.insert(key) {
            items.push(BatchItem {
                hostname: typed,
                result: "duplicate".into(),
                domain: None,
                message: Some("the same hostname is earlier in this batch".into()),
                proof: None,
            });
            continue;
        }
        let delay = checks * CHECK_SPACING_MS;
        let item = match add_one(&state, &auth.account_id, &username, &typed, delay).await {
            Ok(domain) => {
                checks += 1;
                BatchItem {
                    hostname: typed,
                    result: "created".into(),
                    domain: Some(view(&state, &username, &domain)),
                    message: None,
                    proof: None,
                }
            }
            Err(ApiError::Internal(why)) => return Err(ApiError::Internal(why)),
            Err(err) => BatchItem {
                hostname: typed,
                result: err.code().to_string(),
                message: Some(err.to_string()),
                proof: match err {
                    ApiError::HostnameTaken { proof, .. } => Some(*proof),
                    _ => None,
                },
                domain: None,
            },
        };
        items.push(item);
    }
    let created: Vec<&DomainView> = items.iter().filter_map(|i| i.domain.as_ref()).collect();
    let (zones, records_csv) = by_zone(&created);
    let created = created.len();
    Ok(ApiJson(BatchResult {
        failed: items.len() - created,
        created,
        items,
        zones,
        records_csv,
    }))
}
