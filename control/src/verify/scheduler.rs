//! Runs the checks on a schedule and moves domains through their lifecycle.
//! Each pass claims the domains that are due (a lease per row, so replicas
//! never check one domain at once), verifies them with bounded concurrency,
//! asks `portico_shared::lifecycle::decide` what follows, carries it out and
//! schedules the next check. Time comes in as an argument: the 24 h revert
//! and the grace period are tested without waiting.

use std::sync::Arc;
use std::time::Duration;

use portico_shared::lifecycle::{self, Action, DomainFacts, Status};
use portico_shared::{Hostname, Integration, IntegrationKind, PlatformDomain, Username};
use tokio::sync::{watch, Notify, Semaphore};

use super::report::Report;
use super::{Subject, Verifier};
use crate::certs::CertificateOwner;
use crate::lifecycle::{self as transitions, LifecycleError};
use crate::store::domains::{self, DomainRow, DomainStatus};
use crate::store::{accounts, checks, new_id, now_ms, Store};

/// How long a claim lasts: longer than any one check can take.
pub const CLAIM_LEASE: Duration = Duration::from_secs(120);

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
    pub status: Option<DomainStatus>,
    pub next_check_at: i64,
}

/// The verifier's driver.
pub struct Scheduler {
    store: Store,
    platform: PlatformDomain,
    publish_wake: Arc<Notify>,
    pub verifier: Arc<Verifier>,
    holder: String,
}

impl Scheduler {
    pub fn new(
        store: Store,
        platform: PlatformDomain,
        publish_wake: Arc<Notify>,
        verifier: Arc<Verifier>,
    ) -> Scheduler {
        Scheduler {
            store,
            platform,
            publish_wake,
            verifier,
            holder: new_id("ver"),
        }
    }

    /// Checks every due domain once (at most a few batches); returns how many.
    pub async fn tick(self: &Arc<Self>, now: i64) -> Result<usize, ScheduleError> {
        let concurrency = self.verifier.settings.concurrency;
        let due = checks::claim_due(
            self.store.pool(),
            self.store.backend(),
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
                let _permit = permit;
                if let Err(err) = this.check_claimed(&domain_id, now).await {
                    tracing::warn!(domain = %domain_id, error = %err, "verification failed; retrying soon");
                    let _ = checks::release(
                        this.store.pool(),
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
    pub async fn check_now(
        &self,
        domain_id: &str,
        now: i64,
    ) -> Result<Option<Outcome>, ScheduleError> {
        if !checks::claim_one(
            self.store.pool(),
            domain_id,
            &self.holder,
            now,
            CLAIM_LEASE.as_millis() as i64,
        )
        .await?
        {
            return Err(ScheduleError::Busy);
        }
        match self.check_claimed(domain_id, now).await {
            Ok(outcome) => Ok(outcome),
            Err(err) => {
                let _ = checks::release(self.store.pool(), domain_id, &self.holder, now).await;
                Err(err)
            }
        }
    }

    /// Verifies a claimed domain and carries out what follows.
    async fn check_claimed(
        &self,
        domain_id: &str,
        now: i64,
    ) -> Result<Option<Outcome>, ScheduleError> {
        let pool = self.store.pool();
        let row = {
            let mut conn = pool.acquire().await?;
            domains::get_any(&mut conn, domain_id).await?
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let account = accounts::get(pool, &row.account_id).await?;
        let username = account.and_then(|a| Username::parse(&a.username).ok());
        let Some(subject) = subject(&row, username) else {
            tracing::error!(domain = %row.id, "a stored domain no longer parses; not checked");
            return Ok(None);
        };
        let report = self.verifier.verify(&subject, true, now).await;
        let policy = self.verifier.settings.policy;
        let facts = DomainFacts {
            status: match row.status() {
                DomainStatus::Processing => Status::Processing,
                DomainStatus::Connected => Status::Connected,
                DomainStatus::Disconnected => Status::Disconnected,
            },
            added_at: row.added_at,
            connect_deadline: row.connect_deadline,
            published: row.published_at.is_some(),
            disconnected_at: row.disconnected_at,
        };
        let decision = lifecycle::decide(&facts, report.dns, report.certificate, now, &policy);
        let mut next = decision.next_check_at;
        let mut status = Some(row.status());
        match decision.action {
            Action::Nothing => {}
            Action::Connect => {
                if self.connect(&row, now).await? {
                    status = Some(DomainStatus::Connected);
                    next = now + policy.recheck_interval_ms;
                } else {
                    next = now + policy.first_interval_ms;
                }
            }
            Action::Disconnect => {
                let reason = report
                    .check("cname")
                    .and_then(|c| c.cause.clone())
                    .unwrap_or_else(|| "its DNS no longer points at the platform".into());
                transitions::mark_disconnected_at(
                    &self.store,
                    &self.platform,
                    &self.publish_wake,
                    &row.id,
                    &reason,
                    now,
                )
                .await?;
                status = Some(DomainStatus::Disconnected);
            }
            Action::Unpublish => {
                transitions::unpublish_at(
                    &self.store,
                    &self.platform,
                    &self.publish_wake,
                    &row.id,
                    now,
                )
                .await?;
            }
            Action::Revert => {
                transitions::expire_at(
                    &self.store,
                    &self.platform,
                    &self.publish_wake,
                    &row.id,
                    now,
                )
                .await?;
                if let Ok(host) = Hostname::parse(&row.served_host) {
                    let owner = CertificateOwner::new(&row.account_id, &row.id);
                    self.verifier.certificates.remove_in_background(host, owner);
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
        let json = serde_json::to_string(&report).unwrap_or_default();
        checks::finish(pool, &row.id, &self.holder, now, outcome, &json, next).await?;
        Ok(Some(Outcome {
            report,
            action: decision.action,
            status,
            next_check_at: next,
        }))
    }

    /// Publishes the domain, waits (bounded) for its routing records to
    /// reach KV, then reports it connected. False: still waiting for KV; the
    /// domain stays as it is and is checked again soon.
    async fn connect(&self, row: &DomainRow, now: i64) -> Result<bool, ScheduleError> {
        transitions::publish_at(
            &self.store,
            &self.platform,
            &self.publish_wake,
            &row.id,
            now,
        )
        .await?;
        let (keys, prefixes) = routing_keys(row);
        let deadline = tokio::time::Instant::now() + self.verifier.settings.publish_wait;
        loop {
            let pending = checks::pending_routes(self.store.pool(), &keys, &prefixes).await?;
            if pending == 0 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::info!(domain = %row.id, pending, "routing records not in KV yet; connecting on the next check");
                return Ok(false);
            }
            self.publish_wake.notify_one();
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        match transitions::mark_connected_at(
            &self.store,
            &self.platform,
            &self.publish_wake,
            &row.id,
            now,
        )
        .await
        {
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
            match self.tick(now_ms()).await {
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

/// The routing keys of a domain whose delivery a connect waits for.
fn routing_keys(row: &DomainRow) -> (Vec<String>, Vec<String>) {
    let mut keys = Vec::new();
    let mut prefixes = Vec::new();
    for host in [
        Some(&row.served_host),
        (row.kind == "root").then_some(&row.root),
    ]
    .into_iter()
    .flatten()
    {
        if let Ok(host) = Hostname::parse(host) {
            keys.push(portico_shared::record::host_key(&host));
            prefixes.push(portico_shared::record::path_key_prefix(&host));
        }
    }
    (keys, prefixes)
}

/// The subject a stored domain is verified as.
pub fn subject(row: &DomainRow, username: Option<Username>) -> Option<Subject> {
    Some(Subject {
        integration: Integration {
            kind: if row.kind == "root" {
                IntegrationKind::Root
            } else {
                IntegrationKind::Subdomain
            },
            root: Hostname::parse(&row.root).ok()?,
            served_host: Hostname::parse(&row.served_host).ok()?,
        },
        username,
        owner: Some(CertificateOwner::new(&row.account_id, &row.id)),
    })
}
