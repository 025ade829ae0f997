//! Domain status changes driven by the platform rather than the customer:
//! published, connected, disconnected, unpublished, expired, released. The
//! scheduler (`lifecycle::scheduler`) decides which with
//! `portico_shared::lifecycle` and passes its clock in (`now`).
//! Each is one unit of work (`unit::Units::run_at`): the status change and
//! the publishing (or unpublishing) it causes commit together, so they can
//! never disagree after a crash. The KV write lands a moment after the
//! commit: DESIGN.md wants the record published before the customer is told
//! `connected`, so the verifier waits for the outbox to drain first.

use portico_shared::lifecycle::{CertificateFinding, Status};

use crate::store::domains::{self, Domain};
use crate::store::events::EventKind;
use crate::store::is_unique_violation;
use crate::unit::{Unit, Units};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("no such domain")]
    NotFound,
    #[error("`{0}` is held by another account")]
    Taken(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Runs `apply` on the domain in a unit of work over its account; returns
/// the domain as it is after (`None`: it is gone).
async fn change(
    units: &Units,
    domain_id: &str,
    now: i64,
    apply: impl AsyncFnOnce(&mut Unit, &Domain) -> Result<(), LifecycleError>,
) -> Result<Option<Domain>, LifecycleError> {
    let account_id = {
        let mut conn = units.store.pool().acquire().await?;
        domains::get_any(&mut conn, domain_id)
            .await?
            .ok_or(LifecycleError::NotFound)?
            .account_id
    };
    units
        .run_at(now, &[&account_id], async |unit: &mut Unit| {
            let domain = domains::get_in(unit.conn(), &account_id, domain_id)
                .await?
                .ok_or(LifecycleError::NotFound)?;
            apply(unit, &domain).await?;
            Ok(domains::get_in(unit.conn(), &account_id, domain_id).await?)
        })
        .await
}

/// Marks a domain connected and publishes it (host record; for roots the
/// bare root's redirect too; its links; its Index/404 content).
pub async fn mark_connected(
    units: &Units,
    domain_id: &str,
    now: i64,
) -> Result<Domain, LifecycleError> {
    change(units, domain_id, now, async |unit, domain| {
        if domain.status == Status::Connected {
            return Ok(());
        }
        let now = unit.now;
        if domain.published_at.is_none() {
            domains::set_published(unit.conn(), &domain.id, Some(now)).await?;
        }
        domains::set_disconnected_at(unit.conn(), &domain.id, None).await?;
        if let Err(err) =
            domains::set_status(unit.conn(), &domain.id, Status::Connected, Some(now), now).await
        {
            return Err(if is_unique_violation(&err) {
                LifecycleError::Taken(domain.served_host().to_string())
            } else {
                err.into()
            });
        }
        let message = format!(
            "{} is connected: visitors now get your pages there",
            domain.served_host()
        );
        unit.event(domain, EventKind::DomainConnected, &message)
            .await?;
        Ok(())
    })
    .await?
    .ok_or(LifecycleError::NotFound)
}

/// Marks a connected domain disconnected (its DNS no longer points at the
/// platform). It stays published, and keeps its host, through the grace
/// period: [`unpublish`] takes it off the edge once that has passed.
pub async fn mark_disconnected(
    units: &Units,
    domain_id: &str,
    reason: &str,
    now: i64,
) -> Result<Domain, LifecycleError> {
    change(units, domain_id, now, async |unit, domain| {
        if domain.status == Status::Disconnected {
            return Ok(());
        }
        let now = unit.now;
        domains::set_disconnected_at(unit.conn(), &domain.id, Some(now)).await?;
        domains::set_status(
            unit.conn(),
            &domain.id,
            Status::Disconnected,
            domain.connected_at,
            now,
        )
        .await?;
        let message = format!("{} is disconnected: {reason}", domain.served_host());
        unit.event(domain, EventKind::DomainDisconnected, &message)
            .await?;
        Ok(())
    })
    .await?
    .ok_or(LifecycleError::NotFound)
}

/// Reverts a domain not connected by its deadline: removed, nothing
/// published, and an event says why.
pub async fn expire(units: &Units, domain_id: &str, now: i64) -> Result<(), LifecycleError> {
    change(units, domain_id, now, async |unit, domain| {
        domains::delete(unit.conn(), &domain.id).await?;
        let message = format!(
            "{} was not connected within 24 hours of being added, so it was removed: add it again to retry",
            domain.served_host()
        );
        unit.event(domain, EventKind::DomainExpired, &message).await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Queues a domain's routing records for KV while it is still `processing`:
/// the verifier then waits for the KV write before [`mark_connected`], so
/// the first visitor never meets a cached "not connected" answer.
pub async fn publish(units: &Units, domain_id: &str, now: i64) -> Result<Domain, LifecycleError> {
    change(units, domain_id, now, async |unit, domain| {
        if domain.published_at.is_none() {
            let now = unit.now;
            if let Err(err) = domains::set_published(unit.conn(), &domain.id, Some(now)).await {
                return Err(if is_unique_violation(&err) {
                    LifecycleError::Taken(domain.served_host().to_string())
                } else {
                    err.into()
                });
            }
        }
        Ok(())
    })
    .await?
    .ok_or(LifecycleError::NotFound)
}

/// Takes a domain off the edge without changing its status: a disconnected
/// domain whose grace period has passed (it then no longer holds its host),
/// or a processing one whose DNS stopped pointing at the platform before it
/// was reported connected.
pub async fn unpublish(units: &Units, domain_id: &str, now: i64) -> Result<Domain, LifecycleError> {
    change(units, domain_id, now, async |unit, domain| {
        if domain.published_at.is_some() && domain.status != Status::Connected {
            domains::set_published(unit.conn(), &domain.id, None).await?;
        }
        Ok(())
    })
    .await?
    .ok_or(LifecycleError::NotFound)
}

/// Releases `holder` (in a unit that has its account locked): another
/// account proved control of the host's DNS. The domain is removed, its
/// records unpublished by its account's resync, and its account told why —
/// never by whom.
pub async fn release(unit: &mut Unit, holder: &Domain) -> Result<(), sqlx::Error> {
    domains::delete(unit.conn(), &holder.id).await?;
    let message = format!(
        "{} was released from this account: whoever controls its DNS proved it for another account. \
         If that was not you, check who can change the DNS of {}.",
        holder.served_host(),
        holder.integration.root
    );
    unit.event(holder, EventKind::DomainReleased, &message)
        .await?;
    Ok(())
}

/// The event a check's certificate finding calls for, given the previous
/// check's: active once it becomes ready, failed once it fails (not again
/// at every check while it stays so). Nothing where no certificate is
/// managed (`ready` then only means "not ours to issue").
pub fn certificate_event(
    before: Option<CertificateFinding>,
    after: CertificateFinding,
    managed: bool,
) -> Option<EventKind> {
    if !managed || before == Some(after) {
        return None;
    }
    match after {
        CertificateFinding::Ready => Some(EventKind::CertificateActive),
        CertificateFinding::Failed => Some(EventKind::CertificateFailed),
        CertificateFinding::Pending | CertificateFinding::Unknown => None,
    }
}

#[cfg(test)]
mod certificate_events {
    use super::*;
    use CertificateFinding::*;

    #[test]
    fn once_per_change_and_only_when_managed() {
        let cases = [
            (None, Ready, true, Some(EventKind::CertificateActive)),
            (
                Some(Pending),
                Ready,
                true,
                Some(EventKind::CertificateActive),
            ),
            (Some(Ready), Ready, true, None),
            (
                Some(Pending),
                Failed,
                true,
                Some(EventKind::CertificateFailed),
            ),
            (Some(Failed), Failed, true, None),
            (
                Some(Failed),
                Ready,
                true,
                Some(EventKind::CertificateActive),
            ),
            (Some(Ready), Pending, true, None),
            (Some(Ready), Unknown, true, None),
            (None, Ready, false, None),
            (Some(Pending), Failed, false, None),
        ];
        for (before, after, managed, event) in cases {
            assert_eq!(
                certificate_event(before, after, managed),
                event,
                "{before:?} → {after:?}, managed: {managed}"
            );
        }
    }
}
