//! [`CloudflareCertificates`] with paged reads ([`super::view`]): where a
//! check's state comes from, and when asking for validation pays.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use portico_shared::Hostname;

use super::listing::read_zone;
use super::view::{Seen, ZoneView};
use super::{CloudflareCertificates, RetryBudget};
use crate::certs::custom_hostname::CustomHostname;
use crate::certs::CertificateError;
use crate::store::now_ms;

impl CloudflareCertificates {
    /// The live custom hostnames named `host`: from the view while it is
    /// current (a stale entry starts a zone read and serves meanwhile),
    /// else (or `by_name`) looked up by name and remembered.
    pub(super) async fn live(
        &self,
        host: &Hostname,
        budget: RetryBudget,
        by_name: bool,
    ) -> Result<Vec<CustomHostname>, CertificateError> {
        let Some(view) = &self.view else {
            return self.find_live(host, budget).await;
        };
        let name = host.as_str().to_ascii_lowercase();
        let now = now_ms();
        let seen = view.seen(&name, now);
        if !matches!(seen, Seen::Current(_)) {
            self.start_zone_read(view, now);
        }
        if seen == Seen::Unknown && !by_name && view.reading.load(Ordering::Acquire) {
            // Until the first read: a lookup each would spend the budget
            // that read needs (10,000 checks against its 200 pages).
            return Err(CertificateError::Reading);
        }
        let listed = match seen {
            Seen::Current(listed) | Seen::Stale(listed) if !by_name => listed,
            _ => {
                let listed = self.find_all(host, budget).await?;
                view.remember_all(&name, listed.clone(), now);
                listed
            }
        };
        Ok(listed.into_iter().filter(|c| !c.is_deleted()).collect())
    }

    /// Starts a read of the whole zone in the background, when one is due
    /// and none is under way.
    fn start_zone_read(&self, view: &Arc<ZoneView>, now: i64) {
        let shape = self.api.budget.as_ref().map(|b| (b.limit(), b.window()));
        if !view.read_due(now, shape)
            || view
                .reading
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return;
        }
        let api = self.api.clone();
        let view = view.clone();
        tokio::spawn(async move {
            let started = now_ms();
            match read_zone(&api).await {
                Ok((listed, pages)) => {
                    tracing::debug!(
                        hostnames = listed.len(),
                        pages,
                        "read the zone's custom hostnames"
                    );
                    view.replace(listed, started, pages);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not read the zone's custom hostnames; checks use what was read before")
                }
            }
            view.reading.store(false, Ordering::Release);
        });
    }

    /// Whether asking for validation now gains anything: with paged reads,
    /// only where Cloudflare's own next attempt is further off than the
    /// refresh interval ([`Schedule::worth_asking`]).
    pub(super) fn refresh_pays(&self, custom: &CustomHostname) -> bool {
        self.view.as_ref().is_none_or(|view| {
            view.schedule()
                .worth_asking(custom.created_ms(), now_ms(), self.refresh_interval)
        })
    }

    pub(super) fn remember(&self, custom: &CustomHostname) {
        if let Some(view) = &self.view {
            view.remember(custom, now_ms());
        }
    }
}
