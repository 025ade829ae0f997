//! One unit of work per account change: lock the accounts, change, record
//! the events, resync what the accounts publish, commit, wake the publisher.
//! Written once here and called by every handler and lifecycle step, so
//! none can forget a step or publish from a stale view.

use std::sync::Arc;

use portico_shared::ownership::ChallengeLabel;
use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::publish::sync::{sync_account, RecordSettings};
use crate::store::accounts::is_deleted;
use crate::store::domains::Domain;
use crate::store::events::{self, EventKind};
use crate::store::{lock_account, Store};
use crate::webhooks::{self, Views};

/// What a unit of work needs: the store, what records are built from, the
/// publisher to wake and the clock.
#[derive(Clone)]
pub struct Units {
    pub store: Store,
    pub records: RecordSettings,
    pub wake: Arc<Notify>,
    pub clock: Clock,
    /// Where TXT ownership proofs live (a domain's view shows it).
    pub challenge_label: ChallengeLabel,
    /// Wakes the webhook deliverer after a commit that queued messages.
    pub webhooks_wake: Arc<Notify>,
}

/// The caller's account was deleted while its request was on the way.
#[derive(Debug)]
pub struct AccountDeleted;

/// The caller's account, for a unit that must refuse it once deleted, and
/// how to say so in the caller's error type.
type Live<'a, E> = Option<(&'a str, fn() -> E)>;

/// One transaction over some accounts, locked.
pub struct Unit {
    tx: Transaction<'static, Any>,
    /// The time of the change (the unit's clock, read once).
    pub now: i64,
    views: Views,
    /// Webhook messages queued by this unit.
    messages: usize,
}

impl Unit {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Records an event about `domain` in its account's activity, and
    /// queues it for the account's webhook endpoints.
    pub async fn event(
        &mut self,
        domain: &Domain,
        kind: EventKind,
        message: &str,
    ) -> Result<(), sqlx::Error> {
        let now = self.now;
        events::record(
            &mut self.tx,
            &domain.account_id,
            kind,
            Some(&domain.id),
            Some(domain.served_host().as_str()),
            message,
            now,
        )
        .await?;
        self.messages +=
            webhooks::enqueue(&mut self.tx, &self.views, domain, kind, message, now).await?;
        Ok(())
    }
}

impl Units {
    /// Runs `work` in one transaction with `accounts` locked (in id order,
    /// so two units never wait on each other), then recomputes what each
    /// account publishes, in the order given — on a move, the old owner's
    /// deletes are queued before the new owner's writes — commits, and
    /// wakes the publisher when anything was queued. An error rolls back
    /// everything.
    pub async fn run<T, E>(
        &self,
        accounts: &[&str],
        work: impl AsyncFnOnce(&mut Unit) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        self.unit(self.clock.now_ms(), accounts, None, work).await
    }

    /// [`Units::run`] for a change a caller asked for: refused with
    /// [`AccountDeleted`] when the caller's account (`me`) was deleted after
    /// the request was authenticated, checked once `me` is locked, so the
    /// deletion and this change never interleave (a domain added in that
    /// window would hold its hostname for an account that no longer is).
    pub async fn run_as<T, E>(
        &self,
        me: &str,
        accounts: &[&str],
        work: impl AsyncFnOnce(&mut Unit) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<sqlx::Error> + From<AccountDeleted>,
    {
        let refuse: fn() -> E = || E::from(AccountDeleted);
        self.unit(self.clock.now_ms(), accounts, Some((me, refuse)), work)
            .await
    }

    /// [`Units::run`] at a given time (the verifier's clock).
    pub async fn run_at<T, E>(
        &self,
        now: i64,
        accounts: &[&str],
        work: impl AsyncFnOnce(&mut Unit) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        self.unit(now, accounts, None, work).await
    }

    async fn unit<T, E>(
        &self,
        now: i64,
        accounts: &[&str],
        live: Live<'_, E>,
        work: impl AsyncFnOnce(&mut Unit) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        let tx = self.store.pool().begin().await?;
        let mut unit = Unit {
            tx,
            now,
            views: Views {
                platform: self.records.platform.clone(),
                challenge_label: self.challenge_label.clone(),
                apex_addresses: self.records.apex_addresses.clone(),
            },
            messages: 0,
        };
        let mut order: Vec<&str> = accounts.to_vec();
        order.sort_unstable();
        order.dedup();
        if let Some((me, _)) = &live {
            if !order.contains(me) {
                order.push(me);
                order.sort_unstable();
            }
        }
        for account_id in order {
            lock_account(&mut unit.tx, account_id).await?;
        }
        if let Some((me, refuse)) = live {
            if is_deleted(&mut unit.tx, me).await? {
                return Err(refuse());
            }
        }
        let value = work(&mut unit).await?;
        let mut written = 0;
        let mut synced: Vec<&str> = Vec::new();
        for account_id in accounts {
            if synced.contains(account_id) {
                continue;
            }
            synced.push(account_id);
            written += sync_account(&mut unit.tx, &self.records, account_id).await?;
        }
        let messages = unit.messages;
        unit.tx.commit().await?;
        if written > 0 {
            self.wake.notify_one();
        }
        if messages > 0 {
            self.webhooks_wake.notify_one();
        }
        Ok(value)
    }
}
