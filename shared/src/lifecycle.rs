//! What happens to a domain next, given what its checks found and the time:
//! the lifecycle rules as a pure function. The verifier (control) gathers
//! the facts, calls [`decide`], carries out the [`Action`] and sleeps until
//! `next_check_at`. Times are Unix milliseconds passed in, never read here.

use serde::{Deserialize, Serialize};

/// A domain not connected this long after it was added is reverted.
pub const CONNECT_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// When a domain added at `added_at` is reverted if not connected by then.
pub fn connect_deadline(added_at: i64) -> i64 {
    added_at.saturating_add(CONNECT_WINDOW_MS)
}

/// A domain's status, as the customer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Added; waiting for DNS and a certificate (until `connect_deadline`).
    Processing,
    /// Published: the edge serves it.
    Connected,
    /// Was connected; its DNS no longer points at the platform. Served
    /// through a grace period, then unpublished.
    Disconnected,
}

impl Status {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Processing => "processing",
            Status::Connected => "connected",
            Status::Disconnected => "disconnected",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [Status::Processing, Status::Connected, Status::Disconnected]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// What the DNS checks concluded about the served host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// Every nameserver that answered says it points at the account's host.
    Pointing,
    /// Every nameserver that answered says it does not (no record, another
    /// target, another account).
    NotPointing,
    /// Some nameservers say yes and some no (records added at a provider
    /// that is only partly authoritative, or a change half-propagated
    /// between them): not good enough to connect, not bad enough to
    /// disconnect.
    Mixed,
    /// Only timeouts or SERVFAIL: nothing can be concluded, so nothing changes.
    Inconclusive,
}

/// The certificate, reduced to what the lifecycle needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateFinding {
    /// Active, or not managed by this deployment.
    Ready,
    Pending,
    Failed,
    /// The provider could not be asked.
    Unknown,
}

/// The facts about one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainFacts {
    pub status: Status,
    pub added_at: i64,
    pub connect_deadline: i64,
    /// Its routing records are queued for (or in) KV.
    pub published: bool,
    /// When it was found disconnected (status `Disconnected`).
    pub disconnected_at: Option<i64>,
}

/// How often to look, and how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The first checks of a new domain come this often…
    pub first_interval_ms: i64,
    /// …backing off to at most this while it is processing.
    pub max_processing_interval_ms: i64,
    /// Connected and disconnected domains are rechecked this often.
    pub recheck_interval_ms: i64,
    /// After an inconclusive check of a connected domain, look again this soon.
    pub inconclusive_retry_ms: i64,
    /// A disconnected domain stays published this long.
    pub disconnect_grace_ms: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            first_interval_ms: 5_000,
            // DNS queries are cheap; a record created at any moment before
            // the deadline connects within about half a minute.
            max_processing_interval_ms: 30_000,
            recheck_interval_ms: 60 * 60_000,
            inconclusive_retry_ms: 5 * 60_000,
            disconnect_grace_ms: 24 * 60 * 60_000,
        }
    }
}

/// What the verifier must do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Nothing,
    /// Publish (if not yet), wait for the KV write, then report connected.
    Connect,
    /// Report disconnected (an event); it stays published for the grace period.
    Disconnect,
    /// Take it off the edge; the status stays.
    Unpublish,
    /// Not connected by the deadline: remove it, publish nothing, say why.
    Revert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub next_check_at: i64,
}

/// How long to wait before the next check of a processing domain: a tenth
/// of its age, at least `first_interval_ms` (5 s), at most
/// `max_processing_interval_ms` (30 s), and never past its deadline.
pub fn processing_interval(facts: &DomainFacts, now: i64, policy: &Policy) -> i64 {
    let age = (now - facts.added_at).max(0);
    (age / 10).clamp(policy.first_interval_ms, policy.max_processing_interval_ms)
}

/// The next step for a domain, given its facts, what its checks found and
/// the time.
pub fn decide(
    facts: &DomainFacts,
    finding: Finding,
    certificate: CertificateFinding,
    now: i64,
    policy: &Policy,
) -> Decision {
    let ready = finding == Finding::Pointing && certificate == CertificateFinding::Ready;
    let inconclusive =
        finding == Finding::Inconclusive || certificate == CertificateFinding::Unknown;
    match facts.status {
        Status::Processing => {
            if ready {
                return Decision {
                    action: Action::Connect,
                    next_check_at: now + policy.first_interval_ms,
                };
            }
            let next = now + processing_interval(facts, now, policy);
            if now >= facts.connect_deadline && !inconclusive {
                return Decision {
                    action: Action::Revert,
                    next_check_at: now,
                };
            }
            let action = if facts.published && finding == Finding::NotPointing {
                // Published on a previous pass, then the record went away
                // before the status could say connected.
                Action::Unpublish
            } else {
                Action::Nothing
            };
            let next = if now < facts.connect_deadline {
                next.min(facts.connect_deadline)
            } else {
                next
            };
            Decision {
                action,
                next_check_at: next,
            }
        }
        Status::Connected => match finding {
            Finding::NotPointing => Decision {
                action: Action::Disconnect,
                next_check_at: now
                    + policy
                        .disconnect_grace_ms
                        .min(policy.recheck_interval_ms)
                        .max(policy.first_interval_ms),
            },
            Finding::Inconclusive => Decision {
                action: Action::Nothing,
                next_check_at: now + policy.inconclusive_retry_ms,
            },
            Finding::Pointing | Finding::Mixed => Decision {
                action: Action::Nothing,
                next_check_at: now + policy.recheck_interval_ms,
            },
        },
        Status::Disconnected => {
            if ready {
                return Decision {
                    action: Action::Connect,
                    next_check_at: now + policy.first_interval_ms,
                };
            }
            let grace_ends = facts.disconnected_at.unwrap_or(now) + policy.disconnect_grace_ms;
            if facts.published {
                if finding == Finding::NotPointing && now >= grace_ends {
                    return Decision {
                        action: Action::Unpublish,
                        next_check_at: now + policy.recheck_interval_ms,
                    };
                }
                let retry = if inconclusive {
                    policy.inconclusive_retry_ms
                } else {
                    policy.recheck_interval_ms
                };
                let next = (now + retry).min(grace_ends.max(now + policy.first_interval_ms));
                return Decision {
                    action: Action::Nothing,
                    next_check_at: next,
                };
            }
            Decision {
                action: Action::Nothing,
                next_check_at: now + policy.recheck_interval_ms,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    fn processing(published: bool) -> DomainFacts {
        DomainFacts {
            status: Status::Processing,
            added_at: 0,
            connect_deadline: 24 * HOUR,
            published,
            disconnected_at: None,
        }
    }

    fn connected() -> DomainFacts {
        DomainFacts {
            status: Status::Connected,
            published: true,
            ..processing(true)
        }
    }

    fn disconnected(at: i64, published: bool) -> DomainFacts {
        DomainFacts {
            status: Status::Disconnected,
            published,
            disconnected_at: Some(at),
            ..processing(published)
        }
    }

    use CertificateFinding as C;
    use Finding as F;

    #[test]
    fn connects_only_when_dns_and_certificate_are_ready() {
        let p = Policy::default();
        let f = processing(false);
        assert_eq!(
            decide(&f, F::Pointing, C::Ready, 1000, &p).action,
            Action::Connect
        );
        for (finding, cert) in [
            (F::Pointing, C::Pending),
            (F::Pointing, C::Failed),
            (F::Pointing, C::Unknown),
            (F::NotPointing, C::Ready),
            (F::Mixed, C::Ready),
            (F::Inconclusive, C::Ready),
        ] {
            assert_eq!(
                decide(&f, finding, cert, 1000, &p).action,
                Action::Nothing,
                "{finding:?} {cert:?}"
            );
        }
    }

    #[test]
    fn checks_soon_then_backs_off_never_more_than_thirty_seconds() {
        let p = Policy::default();
        let f = processing(false);
        let wait = |now: i64| decide(&f, F::NotPointing, C::Pending, now, &p).next_check_at - now;
        assert_eq!(wait(0), 5_000);
        assert_eq!(wait(30_000), 5_000);
        assert_eq!(wait(2 * MIN), 12_000);
        assert_eq!(wait(10 * MIN), 30_000);
        assert_eq!(wait(2 * HOUR), 30_000);
        assert_eq!(wait(23 * HOUR), 30_000);
        // Never past the deadline: the revert happens on time.
        assert_eq!(wait(24 * HOUR - 1000), 1000);
        // Whenever the record is created, the next check is at most 30 s away.
        let mut now = 0;
        while now < 24 * HOUR {
            let next = decide(&f, F::NotPointing, C::Pending, now, &p).next_check_at;
            assert!(next > now && next - now <= 30_000, "at {now}");
            now = next;
        }
    }

    #[test]
    fn reverts_at_the_deadline_unless_only_inconclusive() {
        let p = Policy::default();
        let f = processing(false);
        let at = 24 * HOUR;
        assert_eq!(
            decide(&f, F::NotPointing, C::Pending, at - 1, &p).action,
            Action::Nothing
        );
        for (finding, cert) in [
            (F::NotPointing, C::Ready),
            (F::Mixed, C::Ready),
            (F::Pointing, C::Pending),
            (F::Pointing, C::Failed),
        ] {
            assert_eq!(
                decide(&f, finding, cert, at, &p).action,
                Action::Revert,
                "{finding:?} {cert:?}"
            );
        }
        // A timeout or SERVFAIL alone never changes a status…
        assert_eq!(
            decide(&f, F::Inconclusive, C::Ready, at, &p).action,
            Action::Nothing
        );
        assert_eq!(
            decide(&f, F::Pointing, C::Unknown, at, &p).action,
            Action::Nothing
        );
        // …and a domain ready at the deadline is connected, not reverted.
        assert_eq!(
            decide(&f, F::Pointing, C::Ready, at + 1, &p).action,
            Action::Connect
        );
    }

    #[test]
    fn unpublishes_a_processing_domain_whose_record_went_away() {
        let p = Policy::default();
        assert_eq!(
            decide(&processing(true), F::NotPointing, C::Ready, MIN, &p).action,
            Action::Unpublish
        );
        assert_eq!(
            decide(&processing(true), F::Inconclusive, C::Ready, MIN, &p).action,
            Action::Nothing
        );
    }

    #[test]
    fn connected_domains_disconnect_only_on_a_conclusive_no() {
        let p = Policy::default();
        let now = 48 * HOUR;
        let d = decide(&connected(), F::NotPointing, C::Ready, now, &p);
        assert_eq!(d.action, Action::Disconnect);
        for finding in [F::Pointing, F::Mixed, F::Inconclusive] {
            assert_eq!(
                decide(&connected(), finding, C::Ready, now, &p).action,
                Action::Nothing
            );
        }
        assert_eq!(
            decide(&connected(), F::Pointing, C::Ready, now, &p).next_check_at,
            now + HOUR
        );
        assert_eq!(
            decide(&connected(), F::Inconclusive, C::Ready, now, &p).next_check_at,
            now + 5 * MIN
        );
    }

    #[test]
    fn disconnected_domains_are_unpublished_after_the_grace_period() {
        let p = Policy {
            disconnect_grace_ms: 2 * HOUR,
            ..Policy::default()
        };
        let at = 48 * HOUR;
        let f = disconnected(at, true);
        let d = decide(&f, F::NotPointing, C::Ready, at + HOUR, &p);
        assert_eq!(d.action, Action::Nothing);
        assert_eq!(d.next_check_at, at + 2 * HOUR);
        assert_eq!(
            decide(&f, F::NotPointing, C::Ready, at + 2 * HOUR, &p).action,
            Action::Unpublish
        );
        // Inconclusive checks do not unpublish.
        assert_eq!(
            decide(&f, F::Inconclusive, C::Ready, at + 3 * HOUR, &p).action,
            Action::Nothing
        );
        // Fixed in time, or later: connected again.
        assert_eq!(
            decide(&f, F::Pointing, C::Ready, at + HOUR, &p).action,
            Action::Connect
        );
        assert_eq!(
            decide(
                &disconnected(at, false),
                F::Pointing,
                C::Ready,
                at + 9 * HOUR,
                &p
            )
            .action,
            Action::Connect
        );
        assert_eq!(
            decide(
                &disconnected(at, false),
                F::NotPointing,
                C::Ready,
                at + 9 * HOUR,
                &p
            )
            .action,
            Action::Nothing
        );
    }
}
