//! Runs the checks on a schedule and moves domains through their lifecycle.
//! Each pass claims the domains that are due (a lease per row, so replicas
//! never check one domain at once), verifies them with bounded concurrency,
//! asks `portico_shared::lifecycle::decide` what follows, carries it out and
//! schedules the next check. Time comes in as an argument: the 24 h revert
//! and the grace period are tested without waiting.

use std::sync::Arc;
use std::time::Duration;

use portico_shared::lifecycle::{self, Action, Status};
use portico_shared::{RoutingKeys, Username};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::transitions::{self, LifecycleError};
use crate::certs::{CertificateOwner, Certificates};
use crate::metrics::{metrics, CheckOutcome};
use crate::publish::watermark::Watermark;
use crate::store::domains::{self, Domain};
use crate::store::events::EventKind;
use crate::store::{accounts, checks, new_id, outbox};
use crate::unit::Units;
use crate::verify::report::{CheckName, Report};
use crate::verify::{Subject, Verifier};

/// How long a claim lasts: longer than any one check can take.
pub const CLAIM_LEASE: Duration = Duration::from_secs(120);
/// The longest pause between two looks at whether a connect's records
/// reached KV (the look itself is shared: `publish::watermark`).
const MAX_PUBLISH_POLL: Duration = Duration::from_millis(100);

/// A pass's concurrency permit, held while a check works (`None`: a check
/// asked for outside a pass).
type Slot = Option<OwnedSemaphorePermit>;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("another check of this domain is under way")]
    Busy,
}

/// What one check of one domain did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub report: Report,
    pub action: Action,
    /// The status after the action (`None`: the domain was reverted).
    pub status: Option<Status>,
    pub next_check_at: i64,
}

/// The verifier's driver.
pub struct Scheduler {
    units: Units,
    pub verifier: Arc<Verifier>,
    holder: String,
    /// How far the outbox has drained, shared by the connects waiting.
    drained: Watermark,
}

impl Scheduler {
    pub fn new(units: Units, verifier: Arc<Verifier>) -> Scheduler {
        Scheduler {
            units,
            verifier,
            holder: new_id("ver"),
            drained: Watermark::default(),
        }
    }

    /// Checks every due domain once (at most a few batches); returns how many.
    pub async fn tick(self: &Arc<Self>, now: i64) -> Result<usize, ScheduleError> {
        let concurrency = self.verifier.settings.concurrency;
        let due = checks::claim_due(
            self.units.store.pool(),
            self.units.store.backend(),
            &self.holder,
            now,
            CLAIM_LEASE.as_millis() as i64,
            concurrency * 4,
        )
        .await?;
        let count = due.len();
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for domain_id in due {
            let permit = permits.clone().acquire_owned().await.expect("never closed");
            let this = self.clone();
            tasks.spawn(async move {
                let slot = Some(permit);
                if let Err(err) = this.check_claimed(&domain_id, &this.holder, now, slot).await {
                    tracing::warn!(domain = %domain_id, error = %err, "verification failed; retrying soon");
                    let _ = checks::release(
                        this.units.store.pool(),
                        &domain_id,
                        &this.holder,
                        now + this.verifier.settings.policy.first_interval_ms,
                    )
                    .await;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        Ok(count)
    }

    /// Checks one domain now, whatever its schedule (`POST …/verify`).
    /// Each call claims under a holder of its own, so a second call while
    /// one runs is refused (`Busy`) on this replica as on any other; a
    /// crashed replica's claim expires after [`CLAIM_LEASE`].
    pub async fn check_now(
        &self,
        domain_id: &str,
        now: i64,
    ) -> Result<Option<Outcome>, ScheduleError> {
        let holder = new_id("chk");
        if !checks::claim_one(
            self.units.store.pool(),
            domain_id,
            &holder,
            now,
            CLAIM_LEASE.as_millis() as i64,
        )
        .await?
        {
            return Err(ScheduleError::Busy);
        }
        match self.check_claimed(domain_id, &holder, now, None).await {
            Ok(outcome) => Ok(outcome),
            Err(err) => {
                let _ = checks::release(self.units.store.pool(), domain_id, &holder, now).await;
                Err(err)
            }
        }
    }

    /// Verifies a claimed domain and carries out what follows; counted.
    /// `slot`: the pass's concurrency permit, given back while the check
    /// only waits for its records to reach KV.
    async fn check_claimed(
        &self,
        domain_id: &str,
        holder: &str,
        now: i64,
        slot: Slot,
    ) -> Result<Option<Outcome>, ScheduleError> {
        let started = std::time::Instant::now();
        let checked = self
            .check_claimed_uncounted(domain_id, holder, now, slot)
            .await;
        let outcome = match &checked {
            Ok(Some(outcome)) => Some(match (outcome.report.dns, outcome.report.ready) {
                (_, true) => CheckOutcome::ready,
                (lifecycle::Finding::Inconclusive, _) => CheckOutcome::inconclusive,
                _ => CheckOutcome::not_ready,
            }),
            Ok(None) => None,
            Err(_) => Some(CheckOutcome::error),
        };
        if let Some(outcome) = outcome {
            metrics().check_finished(outcome, started.elapsed().as_secs_f64());
        }
        if let Ok(Some(outcome)) = &checked {
            metrics().certificate_found(outcome.report.certificate);
        }
        checked
    }

    async fn check_claimed_uncounted(
        &self,
        domain_id: &str,
        holder: &str,
        now: i64,
        slot: Slot,
    ) -> Result<Option<Outcome>, ScheduleError> {
        let pool = self.units.store.pool();
        let row = {
            let mut conn = pool.acquire().await?;
            domains::get_any(&mut conn, domain_id).await?
        };
        let Some(row) = row else {
            return Ok(None);
        };
        self.hand_over_certificate(&row).await?;
        let account = accounts::get(pool, &row.account_id).await?;
        let subject = Subject {
            integration: row.integration.clone(),
            username: account.and_then(|a| Username::parse(&a.username).ok()),
            ownership_token: row.ownership_token.clone(),
            owner: Some(CertificateOwner::new(&row.account_id, &row.id)),
        };
        let report = self.verifier.verify(&subject, true, now).await;
        let policy = self.verifier.settings.policy;
        let decision =
            lifecycle::decide(&row.facts(), report.dns, report.certificate, now, &policy);
        let mut next = decision.next_check_at;
        let mut status = Some(row.status);
        match decision.action {
            Action::Nothing => {}
            Action::Connect => {
                if self.connect(&row, now, slot).await? {
                    status = Some(Status::Connected);
                    next = now + policy.recheck_interval_ms;
                } else {
                    next = now + policy.first_interval_ms;
                }
            }
            Action::Disconnect => {
                // The CNAME's cause, or (served at the apex) the apex's.
                let cause = |name| report.check(name).and_then(|c| c.cause.clone());
                let reason = cause(CheckName::Cname)
                    .or_else(|| cause(CheckName::ApexAddresses))
                    .unwrap_or_else(|| "its DNS no longer points at the platform".into());
                transitions::mark_disconnected(&self.units, &row.id, &reason, now).await?;
                status = Some(Status::Disconnected);
            }
            Action::Unpublish => {
                transitions::unpublish(&self.units, &row.id, now).await?;
            }
            Action::Revert => {
                transitions::expire(&self.units, &row.id, now).await?;
                for host in row.integration.certificate_hosts() {
                    let owner = CertificateOwner::new(&row.account_id, &row.id);
                    self.verifier
                        .certificates
                        .remove_in_background(host.clone(), owner);
                }
                return Ok(Some(Outcome {
                    report,
                    action: Action::Revert,
                    status: None,
                    next_check_at: now,
                }));
            }
        }
        let outcome = match (report.dns, report.ready) {
            (_, true) => "ready",
            (lifecycle::Finding::Inconclusive, _) => "inconclusive",
            _ => "not_ready",
        };
        self.certificate_event(&row, &report, now).await?;
        let json = serde_json::to_string(&report).unwrap_or_default();
        checks::finish(pool, &row.id, holder, now, outcome, &json, next).await?;
        Ok(Some(Outcome {
            report,
            action: decision.action,
            status,
            next_check_at: next,
        }))
    }

    /// Records `certificate_active` or `certificate_failed` when this
    /// check's certificate finding differs from the previous check's.
    async fn certificate_event(
        &self,
        row: &Domain,
        report: &Report,
        now: i64,
    ) -> Result<(), ScheduleError> {
        let managed = !matches!(self.verifier.certificates, Certificates::None);
        let before = checks::get(self.units.store.pool(), &row.id)
            .await?
            .and_then(|check| check.report)
            .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
            .and_then(|report| serde_json::from_value(report["certificate"].clone()).ok());
        let Some(kind) = transitions::certificate_event(before, report.certificate, managed) else {
            return Ok(());
        };
        let host = row.served_host();
        let message = match kind {
            EventKind::CertificateActive => {
                format!("the certificate for {host} is active: visitors get HTTPS")
            }
            _ => {
                let cause = report
                    .check(CheckName::Certificate)
                    .and_then(|check| check.cause.clone())
                    .unwrap_or_else(|| "the certificate provider gave no reason".into());
                format!("the certificate for {host} could not be issued: {cause}")
            }
        };
        let (account, id) = (row.account_id.as_str(), row.id.as_str());
        self.units
            .run_at(now, &[account], async |unit| {
                if let Some(domain) = domains::get_in(unit.conn(), account, id).await? {
                    unit.event(&domain, kind, &message).await?;
                }
                Ok::<_, sqlx::Error>(())
            })
            .await?;
        Ok(())
    }

    /// A domain that took its host from another account first takes over
    /// that domain's custom hostname, certificate and all (never deleted and
    /// created again: no moment without a valid certificate). Retried on
    /// every check until the provider confirms.
    async fn hand_over_certificate(&self, row: &Domain) -> Result<(), ScheduleError> {
        let pool = self.units.store.pool();
        let Some((from_account, from_domain)) = domains::pending_handover(pool, &row.id).await?
        else {
            return Ok(());
        };
        let from = CertificateOwner::new(&from_account, &from_domain);
        let to = CertificateOwner::new(&row.account_id, &row.id);
        // The bare root's too, when it points at the platform's addresses
        // (an old owner's that nobody needs is left to the sweep).
        for host in row.integration.certificate_hosts() {
            match self.verifier.certificates.hand_over(host, &from, &to).await {
                Ok(outcome) => {
                    tracing::info!(domain = %row.id, host = %host, ?outcome, "certificate handed over");
                }
                Err(err) => {
                    tracing::warn!(domain = %row.id, host = %host, error = %err, "could not hand the certificate over yet; retrying at the next check");
                    return Ok(());
                }
            }
        }
        domains::handover_done(pool, &row.id).await?;
        Ok(())
    }

    /// Publishes the domain, waits (bounded) for its routing records to
    /// reach KV, then reports it connected. False: still waiting for KV; the
    /// domain stays as it is and is checked again soon. The wait gives the
    /// pass's `slot` back: the publisher paces its requests to the API
    /// budget (`publish::budgeted`), and a check waiting for the next
    /// request should not hold up the checks behind it.
    async fn connect(&self, row: &Domain, now: i64, slot: Slot) -> Result<bool, ScheduleError> {
        match transitions::publish(&self.units, &row.id, now).await {
            Ok(_) => {}
            Err(LifecycleError::Taken(host)) => {
                tracing::warn!(domain = %row.id, host, "another account holds this hostname now; not published");
                return Ok(false);
            }
            Err(err) => return Err(err.into()),
        }
        drop(slot);
        let pool = self.units.store.pool();
        let keys = RoutingKeys::of(&row.integration);
        // Every row the publishing queued is at or below this.
        let mark = outbox::newest_id(pool).await?;
        let deadline = tokio::time::Instant::now() + self.verifier.settings.publish_wait;
        let mut pause = Duration::from_millis(25);
        loop {
            // Its own keys asked for once the shared watermark says its rows
            // left the outbox (or when its wait ends: parked rows stay).
            let ended = tokio::time::Instant::now() >= deadline;
            if ended || self.drained.passed(pool, mark).await? {
                let pending =
                    checks::pending_routes(pool, &keys.hosts, &keys.path_prefixes).await?;
                if pending == 0 {
                    break;
                }
                if ended {
                    tracing::info!(domain = %row.id, pending, "routing records not in KV yet; connecting on the next check");
                    return Ok(false);
                }
            }
            self.units.wake.notify_one();
            tokio::time::sleep(
                pause.min(deadline.saturating_duration_since(tokio::time::Instant::now())),
            )
            .await;
            pause = (pause * 2).min(MAX_PUBLISH_POLL);
        }
        match transitions::mark_connected(&self.units, &row.id, now).await {
            Ok(_) => Ok(true),
            Err(LifecycleError::Taken(host)) => {
                tracing::warn!(domain = %row.id, host, "another account holds this hostname now; not connected");
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Runs [`Scheduler::tick`] every `poll_interval` until `shutdown`.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let interval = self.verifier.settings.poll_interval;
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.tick(self.units.clock.now_ms()).await {
                Ok(checked) if checked > 0 => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "verifier pass failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("verifier stopped");
    }
}
