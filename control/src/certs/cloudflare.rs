//! Certificates through Cloudflare for SaaS: one custom hostname per domain
//! in the platform's zone, DV certificate, validated over HTTP (the
//! customer's CNAME already sends the authority's request to the zone) or
//! by TXT records (a site live elsewhere moves without downtime).
//!
//! Endpoints (API reference, "Custom Hostnames",
//! <https://developers.cloudflare.com/api/resources/custom_hostnames/>),
//! Bearer API token with Zone › SSL and Certificates › Edit:
//! - `GET  /zones/{zone_id}/custom_hostnames?hostname=…` (list, filtered by
//!   name; `result_info` pages);
//! - `POST /zones/{zone_id}/custom_hostnames` `{hostname, ssl: {method,
//!   type: "dv", settings}, custom_metadata}`;
//! - `PATCH /zones/{zone_id}/custom_hostnames/{id}`: "When sent with SSL
//!   config that matches existing config, used to indicate that hostname
//!   should pass domain control validation (DCV). Can also be used to change
//!   validation type"; also sets `custom_metadata` ("Custom metadata":
//!   "added via a PATCH request to the specific hostname ID");
//! - `DELETE /zones/{zone_id}/custom_hostnames/{id}` ("and any issued SSL
//!   certificates"), answering `{id}`.
//!
//! Whose a hostname is: its `custom_metadata` names the account and the
//! domain ([`CustomHostname::holder`]). `ensure` takes only its owner's,
//! adopts a legacy one (no metadata: created when one name had one domain)
//! by writing the metadata, and leaves any other alone, reporting
//! `HeldElsewhere`; `remove` deletes only its owner's; `hand_over` rewrites
//! the metadata in place. The zone needs custom metadata access, which
//! Cloudflare's account team enables ("Custom metadata"); without it every
//! create is refused (403, code 1413) and reported as such.
//!
//! Idempotent: `ensure` looks the name up before creating, so a crash
//! between creating and recording creates no duplicate, and a duplicate
//! refused by the API (409, code 1406 "Duplicate custom hostname found.")
//! is looked up again. 429 and 5xx are retried with backoff, honouring
//! `Retry-After`, within a budget the caller chooses ([`transport`]).

mod listing;
mod paged;
mod transport;
pub mod view;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portico_shared::Hostname;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::backoff::Schedule;
use super::custom_hostname::{CustomHostname, Holder};
use super::status::{held_elsewhere, report_for};
use super::{CertificateError, CertificateOwner, CertificateReport, HandOver, Validation};
use crate::cloudflare_api::budget::CallBudget;
use listing::list_page;
use transport::{is_duplicate, Transport};
pub use transport::{DUPLICATE_CODE, NO_METADATA_ACCESS_CODE};
use view::ZoneView;

/// One request; `ensure` makes two or three.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often `ensure` asks Cloudflare to validate a pending hostname again.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Custom hostnames per list page (the API's largest).
const PER_PAGE: u32 = 50;
/// Pages read when looking a name up: far more custom hostnames than one
/// name can match.
const MAX_PAGES: u32 = 20;

/// How hard to try before reporting the provider unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudget {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// The longest single wait; a longer `Retry-After` ends the retries.
    pub max_wait: Duration,
}

impl RetryBudget {
    /// The verifier's checks and removals: worth waiting for.
    pub const PATIENT: RetryBudget = RetryBudget {
        attempts: 5,
        max_wait: Duration::from_secs(30),
    };
    /// Inside an API request (domain added): answer the customer quickly;
    /// the verifier's next `ensure` finishes the job.
    pub const QUICK: RetryBudget = RetryBudget {
        attempts: 2,
        max_wait: Duration::from_secs(2),
    };
}

/// The custom hostnames of one zone.
pub struct CloudflareCertificates {
    api: Transport,
    refresh_interval: Duration,
    /// Custom hostname id → when this replica last asked for validation.
    refreshed: Mutex<HashMap<String, Instant>>,
    /// States read in pages, on Cloudflare's validation schedule
    /// ([`view`]); `None`: each check looks its hostname up by name.
    view: Option<Arc<ZoneView>>,
}

impl fmt::Debug for CloudflareCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareCertificates")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// What a lookup of a name found for one owner.
enum Claim {
    /// The owner's own.
    Mine(CustomHostname),
    /// No owner recorded: the owner's to adopt.
    Legacy(CustomHostname),
    /// Another domain's, or set up by hand.
    Elsewhere(CustomHostname),
    Nothing,
}

/// Where [`CloudflareCertificates::settle`] left a name for one owner.
enum Settled {
    /// The owner's; `asked`: creating or adopting it asked for validation.
    Owned { custom: CustomHostname, asked: bool },
    /// Another domain's, or set up by hand.
    Elsewhere(CustomHostname),
}

impl CloudflareCertificates {
    pub fn new(
        api_url: &str,
        zone_id: &str,
        api_token: &str,
    ) -> Result<CloudflareCertificates, String> {
        Ok(CloudflareCertificates {
            api: Transport::new(api_url, zone_id, api_token)?,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            refreshed: Mutex::default(),
            view: None,
        })
    }

    /// Every request takes from `budget` first (`None`: no client-side limit).
    pub fn with_budget(mut self, budget: Option<CallBudget>) -> CloudflareCertificates {
        self.api.budget = budget;
        self
    }

    /// Reads states in pages and follows `schedule` ([`view`]) instead of
    /// looking each hostname up at each check.
    pub fn with_paged_reads(mut self, schedule: Schedule) -> CloudflareCertificates {
        self.view = Some(Arc::new(ZoneView::new(schedule)));
        self
    }

    /// When this replica's last complete read of the zone started (ms);
    /// `None`: paged reads are off or none finished yet.
    pub fn zone_read_at_ms(&self) -> Option<i64> {
        self.view.as_ref().and_then(|view| view.read_at_ms())
    }

    /// How often a pending hostname is sent for validation again (tests: zero).
    pub fn with_refresh_interval(mut self, interval: Duration) -> CloudflareCertificates {
        self.refresh_interval = interval;
        self
    }

    /// The `ssl` object of every create, refresh and switch: DV, validated
    /// by `method` (`http` or `txt`).
    fn ssl_settings(method: &str) -> Value {
        json!({
            "method": method,
            "type": "dv",
            "settings": { "min_tls_version": "1.2", "http2": "on" },
        })
    }

    /// Finds `owner`'s custom hostname for `host` (adopting a legacy one),
    /// creates it when there is none, moves it to `validation` while its
    /// certificate is not active, asks Cloudflare to validate it again when
    /// that can help, and reports its state. Another domain's hostname of
    /// that name is reported, not touched.
    pub async fn ensure(
        &self,
        host: &Hostname,
        owner: &CertificateOwner,
        validation: Validation,
        budget: RetryBudget,
    ) -> Result<CertificateReport, CertificateError> {
        let (custom, asked) = match self.settle(host, owner, validation, budget).await? {
            Settled::Owned { custom, asked } => (custom, asked),
            Settled::Elsewhere(elsewhere) => {
                tracing::warn!(host = %host, id = %elsewhere.id, domain = %owner.domain_id, holder = ?elsewhere.holder(), "the custom hostname of this name belongs to another domain");
                return Ok(held_elsewhere(&elsewhere));
            }
        };
        let (custom, asked) = if switches(&custom, validation) {
            let body = json!({ "ssl": Self::ssl_settings(validation.method()) });
            let custom = self
                .patch(&custom.id, &body, budget, "switch validation method")
                .await?;
            tracing::info!(host = %host, id = %custom.id, method = validation.method(), "Cloudflare custom hostname switched validation method");
            (custom, true)
        } else {
            (custom, asked)
        };
        let report = report_for(&custom);
        if asked {
            // Validation was just asked for: that is this interval's refresh.
            self.refresh_due(&custom.id);
        } else if custom.wants_refresh()
            && self.refresh_pays(&custom)
            && self.refresh_due(&custom.id)
        {
            // The report says what happened; the next check sees the outcome.
            if let Err(err) = self.refresh(&custom, budget).await {
                tracing::warn!(host = %host, error = %err, "could not ask Cloudflare to validate the custom hostname again");
            }
        }
        Ok(report)
    }

    /// `owner`'s live custom hostname for `host`, adopted or created as
    /// needed, or the one that is someone else's.
    async fn settle(
        &self,
        host: &Hostname,
        owner: &CertificateOwner,
        validation: Validation,
        budget: RetryBudget,
    ) -> Result<Settled, CertificateError> {
        for attempt in 0..2 {
            // After a duplicate, by name: the view missed one.
            match self.claim(host, owner, budget, attempt > 0).await? {
                Claim::Mine(custom) => {
                    return Ok(Settled::Owned {
                        custom,
                        asked: false,
                    })
                }
                Claim::Legacy(custom) => {
                    let (custom, asked) = self.adopt(custom, owner, validation, budget).await?;
                    return Ok(Settled::Owned { custom, asked });
                }
                Claim::Elsewhere(custom) => return Ok(Settled::Elsewhere(custom)),
                Claim::Nothing if attempt == 0 => {
                    if let Some(custom) = self.create(host, owner, validation, budget).await? {
                        return Ok(Settled::Owned {
                            custom,
                            asked: true,
                        });
                    }
                    // Created meanwhile (another replica, or a request that
                    // timed out after Cloudflare acted on it): look again.
                }
                Claim::Nothing => break,
            }
        }
        Err(CertificateError::Unavailable(format!(
            "Cloudflare says {host} already exists in zone {} but does not list it",
            self.api.zone_id
        )))
    }

    /// What the live custom hostnames named `host` are to `owner`; one
    /// still being deleted does not count (a new one can be created).
    async fn claim(
        &self,
        host: &Hostname,
        owner: &CertificateOwner,
        budget: RetryBudget,
        by_name: bool,
    ) -> Result<Claim, CertificateError> {
        let mut live = self.live(host, budget, by_name).await?;
        if let Some(custom) = take(&mut live, |c| c.is_held_by(owner)) {
            return Ok(Claim::Mine(custom));
        }
        if let Some(custom) = take(&mut live, |c| c.holder() == Holder::Legacy) {
            return Ok(Claim::Legacy(custom));
        }
        Ok(match live.into_iter().next() {
            Some(custom) => Claim::Elsewhere(custom),
            None => Claim::Nothing,
        })
    }

    /// Writes `owner` into a legacy hostname's metadata (and the validation
    /// method, when it differs and can still change): before owners were
    /// recorded, a name had one domain, and `owner`'s is the one served there
    /// now. True when the method changed, which asks for validation.
    async fn adopt(
        &self,
        custom: CustomHostname,
        owner: &CertificateOwner,
        validation: Validation,
        budget: RetryBudget,
    ) -> Result<(CustomHostname, bool), CertificateError> {
        let mut body = json!({ "custom_metadata": owner.metadata() });
        let switched = switches(&custom, validation);
        if switched {
            body["ssl"] = Self::ssl_settings(validation.method());
        }
        let adopted = self
            .patch(
                &custom.id,
                &body,
                budget,
                "record the owner of a custom hostname",
            )
            .await?;
        tracing::info!(host = %custom.hostname, id = %custom.id, domain = %owner.domain_id, "legacy Cloudflare custom hostname adopted");
        Ok((adopted, switched))
    }

    /// Deletes `owner`'s custom hostnames named `host` (and their
    /// certificates); another domain's, or a legacy one, stays.
    pub async fn remove(
        &self,
        host: &Hostname,
        owner: &CertificateOwner,
        budget: RetryBudget,
    ) -> Result<(), CertificateError> {
        for custom in self.find_all(host, budget).await? {
            if custom.is_held_by(owner) {
                self.delete(&custom.id, budget).await?;
                tracing::info!(host = %host, id = %custom.id, domain = %owner.domain_id, "Cloudflare custom hostname deleted");
            }
        }
        Ok(())
    }

    /// Rewrites the metadata of `from`'s (or a legacy) custom hostname for
    /// `host` to name `to`. Only `custom_metadata` is sent: an `ssl` object
    /// would ask for validation again, and the certificate must stay as it is.
    /// Call it once `from`'s domain is released, so no `ensure` for `from`
    /// races it.
    pub async fn hand_over(
        &self,
        host: &Hostname,
        from: &CertificateOwner,
        to: &CertificateOwner,
        budget: RetryBudget,
    ) -> Result<HandOver, CertificateError> {
        let live = self.find_live(host, budget).await?;
        if let Some(custom) = live.iter().find(|c| c.is_held_by(to)) {
            return Ok(HandOver::AlreadyThere {
                id: custom.id.clone(),
            });
        }
        let movable = live
            .iter()
            .find(|c| c.is_held_by(from) || c.holder() == Holder::Legacy);
        match (movable, live.first()) {
            (Some(custom), _) => {
                let body = json!({ "custom_metadata": to.metadata() });
                self.patch(&custom.id, &body, budget, "hand over a custom hostname")
                    .await?;
                tracing::info!(host = %host, id = %custom.id, from = %from.domain_id, to = %to.domain_id, "Cloudflare custom hostname handed over");
                Ok(HandOver::Moved {
                    id: custom.id.clone(),
                })
            }
            (None, Some(other)) => Ok(HandOver::HeldElsewhere {
                holder: match other.holder() {
                    Holder::Domain(holder) => Some(holder),
                    Holder::Legacy | Holder::Unknown => None,
                },
            }),
            (None, None) => Ok(HandOver::NoneExists),
        }
    }

    /// Deletes one custom hostname by id; already gone is fine.
    pub async fn delete(&self, id: &str, budget: RetryBudget) -> Result<(), CertificateError> {
        let what = "delete custom hostname";
        let answer = self
            .api
            .call(Method::DELETE, self.api.one(id), None, budget, what)
            .await?;
        // Cloudflare answers a bare `{id}` (API reference, "Delete Custom
        // Hostname"), not the envelope; already gone is what we wanted.
        if !(answer.status.is_success() || answer.status == StatusCode::NOT_FOUND) {
            self.api.envelope::<Value>(&answer, what)?;
        }
        self.refreshed.lock().unwrap().remove(id);
        if let Some(view) = &self.view {
            view.forget(id);
        }
        Ok(())
    }

    /// Every custom hostname of the zone, page by page.
    pub async fn list_zone(
        &self,
        budget: RetryBudget,
    ) -> Result<Vec<CustomHostname>, CertificateError> {
        self.list(None, u32::MAX, budget).await
    }

    /// The custom hostnames whose name is exactly `host` (the API's
    /// `hostname` filter is a match, so compare names here), from every page.
    async fn find_all(
        &self,
        host: &Hostname,
        budget: RetryBudget,
    ) -> Result<Vec<CustomHostname>, CertificateError> {
        let listed = self.list(Some(host.as_str()), MAX_PAGES, budget).await?;
        Ok(listed
            .into_iter()
            .filter(|custom| custom.hostname.eq_ignore_ascii_case(host.as_str()))
            .collect())
    }

    /// [`Self::find_all`] but for those Cloudflare is deleting.
    async fn find_live(
        &self,
        host: &Hostname,
        budget: RetryBudget,
    ) -> Result<Vec<CustomHostname>, CertificateError> {
        let mut all = self.find_all(host, budget).await?;
        all.retain(|custom| !custom.is_deleted());
        Ok(all)
    }

    /// `GET …/custom_hostnames[?hostname=…]`, up to `max_pages` pages.
    async fn list(
        &self,
        hostname: Option<&str>,
        max_pages: u32,
        budget: RetryBudget,
    ) -> Result<Vec<CustomHostname>, CertificateError> {
        let mut found = Vec::new();
        for page in 1..=max_pages {
            let (listed, last) = list_page(&self.api, hostname, page, budget).await?;
            found.extend(listed);
            if last {
                break;
            }
        }
        Ok(found)
    }

    /// `POST`s `host` for `owner`; `None` when Cloudflare has it already.
    async fn create(
        &self,
        host: &Hostname,
        owner: &CertificateOwner,
        validation: Validation,
        budget: RetryBudget,
    ) -> Result<Option<CustomHostname>, CertificateError> {
        let body = json!({
            "hostname": host.as_str(),
            "ssl": Self::ssl_settings(validation.method()),
            "custom_metadata": owner.metadata(),
        });
        let what = "create custom hostname";
        let answer = self
            .api
            .call(
                Method::POST,
                self.api.base_url.clone(),
                Some(&body),
                budget,
                what,
            )
            .await?;
        if is_duplicate(&answer) {
            return Ok(None);
        }
        let custom: CustomHostname = self.api.decode(&answer, what)?;
        self.remember(&custom);
        tracing::info!(host = %host, id = %custom.id, domain = %owner.domain_id, method = validation.method(), "Cloudflare custom hostname created");
        Ok(Some(custom))
    }

    /// `PATCH`es one custom hostname; its state after the edit.
    async fn patch(
        &self,
        id: &str,
        body: &Value,
        budget: RetryBudget,
        what: &str,
    ) -> Result<CustomHostname, CertificateError> {
        let answer = self
            .api
            .call(Method::PATCH, self.api.one(id), Some(body), budget, what)
            .await?;
        let custom: CustomHostname = self.api.decode(&answer, what)?;
        self.remember(&custom);
        Ok(custom)
    }

    fn refresh_due(&self, id: &str) -> bool {
        let now = Instant::now();
        let mut refreshed = self.refreshed.lock().unwrap();
        refreshed.retain(|_, at| now.duration_since(*at) < self.refresh_interval);
        if refreshed.contains_key(id) {
            return false;
        }
        refreshed.insert(id.to_string(), now);
        true
    }

    /// Asks for validation again: the `ssl` the hostname has, unchanged
    /// ("send a PATCH request … with the same values as your initial POST").
    async fn refresh(
        &self,
        custom: &CustomHostname,
        budget: RetryBudget,
    ) -> Result<(), CertificateError> {
        let body = json!({ "ssl": Self::ssl_settings(custom.ssl_method()) });
        self.patch(&custom.id, &body, budget, "refresh custom hostname")
            .await?;
        if let Some(view) = &self.view {
            view.mark_stale(&custom.hostname.to_ascii_lowercase());
        }
        Ok(())
    }
}

/// The first of `live` that is `wanted`, taken out.
fn take(
    live: &mut Vec<CustomHostname>,
    wanted: impl Fn(&CustomHostname) -> bool,
) -> Option<CustomHostname> {
    let at = live.iter().position(wanted)?;
    Some(live.swap_remove(at))
}

/// Whether `custom` should move to `validation`: only while its certificate
/// is not active, since the method matters only for the next validation and
/// a changed `ssl` restarts it. (A TXT-validated certificate renews over
/// HTTP anyway once the CNAME points at the zone: "Cloudflare always
/// attempts to complete DCV through HTTP validation after the hostname
/// points to your SaaS target", Cloudflare for SaaS, "TXT".)
fn switches(custom: &CustomHostname, validation: Validation) -> bool {
    custom.ssl_method() != validation.method() && !custom.certificate_live()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_at_most_once_per_interval() {
        let client = CloudflareCertificates::new("http://127.0.0.1:9", "zone", "t").unwrap();
        assert!(client.refresh_due("a"));
        assert!(!client.refresh_due("a"));
        assert!(client.refresh_due("b"));
        let client = client.with_refresh_interval(Duration::ZERO);
        assert!(client.refresh_due("a") && client.refresh_due("a"));
    }

    #[test]
    fn switches_the_method_only_while_the_certificate_is_not_active() {
        let custom = |method: &str, ssl: &str| -> CustomHostname {
            serde_json::from_value(json!({
                "id": "x", "hostname": "a.example.com",
                "ssl": { "method": method, "status": ssl }
            }))
            .unwrap()
        };
        assert!(switches(
            &custom("http", "pending_validation"),
            Validation::Txt
        ));
        assert!(switches(&custom("txt", "initializing"), Validation::Http));
        assert!(!switches(
            &custom("txt", "pending_validation"),
            Validation::Txt
        ));
        assert!(!switches(&custom("http", "active"), Validation::Txt));
        assert!(switches(&custom("http", "expired"), Validation::Txt));
    }
}
