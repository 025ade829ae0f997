//! Domain status changes driven by the platform rather than the customer:
//! published, connected, disconnected, unpublished, expired. The verifier
//! (`verify::scheduler`) decides which with `portico_shared::lifecycle` and
//! passes its clock in (`*_at`).
//! Each queues the publishing (or unpublishing) in the same transaction as
//! the status change, so the two can never disagree after a crash. The KV
//! write lands a moment after the commit: DESIGN.md wants the record
//! published before the customer is told `connected`, so the verifier
//! should wait for the outbox to drain before announcing it.

use portico_shared::PlatformDomain;
use tokio::sync::Notify;

use crate::publish::sync::sync_account;
use crate::store::domains::{self, DomainRow, DomainStatus};
use crate::store::events::{self, EventKind};
use crate::store::{is_unique_violation, lock_account, now_ms, Store};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("no such domain")]
    NotFound,
    #[error("`{0}` is held by another account")]
    Taken(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

async fn change(
    store: &Store,
    platform: &PlatformDomain,
    wake: &Notify,
    domain_id: &str,
    now: i64,
    apply: impl AsyncFnOnce(&mut sqlx::AnyConnection, &DomainRow, i64) -> Result<(), LifecycleError>,
) -> Result<Option<DomainRow>, LifecycleError> {
    let pool = store.pool();
    let account_id = {
        let mut conn = pool.acquire().await?;
        domains::get_any(&mut conn, domain_id)
            .await?
            .ok_or(LifecycleError::NotFound)?
            .account_id
    };
    let mut tx = pool.begin().await?;
    lock_account(&mut tx, &account_id).await?;
    let row = domains::get_in(&mut tx, &account_id, domain_id)
        .await?
        .ok_or(LifecycleError::NotFound)?;
    apply(&mut tx, &row, now).await?;
    let written = sync_account(&mut tx, platform, &account_id).await?;
    let after = domains::get_in(&mut tx, &account_id, domain_id).await?;
    tx.commit().await?;
    if written > 0 {
        wake.notify_one();
    }
    Ok(after)
}

/// Marks a domain connected and publishes it (host record; for roots the
/// bare root's redirect too; its links; its Index/404 content).
pub async fn mark_connected(
    store: &Store,
    platform: &PlatformDomain,
    wake: &Notify,
    domain_id: &str,
) -> Result<DomainRow, LifecycleError> {
    mark_connected_at(store, platform, wake, domain_id, now_ms()).await
}

/// [`mark_connected`] at a given time (the verifier's clock).
pub async fn mark_connected_at(
    store: &Store,
    platform: &PlatformDomain,
    wake: &Notify,
    domain_id: &str,
    now: i64,
) -> Result<DomainRow, LifecycleError> {
    change(
        store,
        platform,
        wake,
        domain_id,
        now,
        async |tx, row, now| {
            if row.status() == DomainStatus::Connected {
                return Ok(());
            }
            if row.published_at.is_none() {
                domains::set_published(tx, &row.id, Some(now)).await?;
            }
            domains::set_disconnected_at(tx, &row.id, None).await?;
            if let Err(err) =
                domains::set_status(tx, &row.id, DomainStatus::Connected, Some(now), now).await
            {
                return Err(if is_unique_violation(&err) {
                    LifecycleError::Taken(row.served_host.clone())
                } else {
                    err.into()
                });
            }
            let message = format!(
                "{} is connected: visitors now get your pages there",
                row.served_host
            );
            events::record(
                tx,
                &row.account_id,
                EventKind::DomainConnected,
                Some(&row.id),
                Some(&row.served_host),
                &message,
                now,
            )
            .await?;
            Ok(())
        },
    )
    .await?
    .ok_or(LifecycleError::NotFound)
}

/// Marks a connected domain disconnected (its DNS no longer points at the
/// platform). It stays published through the grace period: [`unpublish`]
/// takes it off the edge once that has passed.
pub async fn mark_disconnected(
    store: &Store,
    platform: &PlatformDomain,
    wake: &Notify,
    domain_id: &str,
    reason: &str,
) -> Result<DomainRow, LifecycleError> {
    mark_disconnected_at(store, platform, wake, domain_id, reason, now_ms()).await
}

/// [`mark_disconnected`] at a given time (the verifier's clock).
pub async fn mark_disconnected_at(
    store: &Store,
    platform: &PlatformDomain,
    wake: &Notify,
    domain_id: &str,
    reason: &str,
    now: i64,
) -> Result<DomainRow, LifecycleError> {
    change(
        store,
        platform,
        wake,
        domain_id,
        now,
        async |tx, row, now| {
            if row.status() == DomainStatus::Disconnected {
                return Ok(());
            }
            domains::set_disconnected_at(tx, &row.id, Some(now)).await?;
            domains::set_status(
                tx,
                &row.id,
                DomainStatus::Disconnected,
                row.connected_at,
                now,
            )
            .await?;
            let message = format!("{} is disconnected: {reason}", row.served_host);
            events::record(
                tx,
                &row.account_id,
                EventKind::DomainDisconnected,
                Some(&row.id),
                Some(&row.served_host),
                &message,
                now,
            )
            .await?;
            Ok(())
        },
    )
    .await?
    .ok_or(LifecycleError::NotFound)
}

/// Reverts a domain not connected by its deadline: removed, nothing
/// published, and an event says why.
pub async fn expire(
    store: &Store,
    platform: &PlatformDomain,
    wake: &Notify,
    domain_id: &str,
) -> Result<(), LifecycleError> {
    expire_at(store, platform, wake, domain_id, now_ms()).await
}

/// [`expire`] at a given time (the verifier's clock).
pub async fn expire_at(
    store: &Store,
    platform: &PlatformDomain,
    wake: &Notify,
    domain_id: &str,
    now: i64,
) -> Result<(), LifecycleError> {
    change(store, platform, wake, domain_id, now, async |tx, row, now| {
        domains::delete(tx, &row.id).await?;
        let message = format!(
            "{} was not connected within 24 hours of being added, so it was removed: add it again to retry",
            row.served_host
        );
        events::record(tx, &row.account_id, EventKind::DomainExpired, Some(&row.id), Some(&row.served_host), &message, now).await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Queues a domain's routing records for KV while it is still `processing`:
/// the verifier then waits for the KV write before [`mark_connected_at`], so
/// the first visitor never meets a cached "not connected" answer.
pub async fn publish_at(
    store: &Store,
    platform: &PlatformDomain,
    wake: &Notify,
    domain_id: &str,
    now: i64,
) -> Result<DomainRow, LifecycleError> {
    change(
        store,
        platform,
        wake,
        domain_id,
        now,
        async |tx, row, now| {
            if row.published_at.is_none() {
                domains::set_published(tx, &row.id, Some(now)).await?;
            }
            Ok(())
        },
    )
    .await?
    .ok_or(LifecycleError::NotFound)
}

/// Takes a domain off the edge without changing its status: a disconnected
/// domain whose grace period has passed, or a processing one whose DNS
/// stopped pointing at the platform before it was reported connected.
pub async fn unpublish_at(
    store: &Store,
    platform: &PlatformDomain,
    wake: &Notify,
    domain_id: &str,
    now: i64,
) -> Result<DomainRow, LifecycleError> {
    change(
        store,
        platform,
        wake,
        domain_id,
        now,
        async |tx, row, _now| {
            if row.published_at.is_some() && row.status() != DomainStatus::Connected {
                domains::set_published(tx, &row.id, None).await?;
            }
            Ok(())
        },
    )
    .await?
    .ok_or(LifecycleError::NotFound)
}
