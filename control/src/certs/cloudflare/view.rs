//! The zone's custom hostnames as this replica last read them, page by
//! page through the list endpoint (`GET …/custom_hostnames?page=&per_page=50`,
//! API reference "List Custom Hostnames": `per_page` 5–50, `result_info`
//! `{page, per_page, count, total_count, total_pages}`): one request reads
//! fifty hostnames' states, where a lookup by name reads one. A check takes
//! a hostname's state from here while it is still current, which is until
//! Cloudflare's next validation attempt on it ([`Schedule::stale`]); a
//! stale one makes the next read of the zone due, never a read of its own.
//! Zone reads are spaced so that they spend at most [`READ_SHARE`] of the
//! API budget ([`min_read_interval`]), and never come closer than one of
//! Cloudflare's shortest gaps ([`backoff::gap_s`]`(0)`).
//!
//! A name a complete read did not list had no custom hostname: a create
//! is tried, and one another replica made meanwhile answers it with a
//! duplicate, then is looked up by name. Whatever this replica creates or
//! edits is remembered from Cloudflare's answer. Until a replica's first
//! read is done, its checks ask nothing and say so
//! ([`crate::certs::CertificateError::Reading`]). Reads run in the
//! background (a zone of 10,000 hostnames is 200 requests, longer than a
//! check may take), one at a time, waiting for the budget between pages.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::certs::backoff::{self, Schedule};
use crate::certs::custom_hostname::CustomHostname;

/// The part of the API budget zone reads may take.
pub const READ_SHARE: f64 = 0.5;
/// A settled hostname (active) is read again at least this often, in the
/// schedule's units: a certificate can still expire or the hostname move.
const SETTLED_MAX_AGE_UNITS: u32 = 3600;

/// Where a name stands in the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// Read since Cloudflare last attempted validation: as good as asking.
    Current(Vec<CustomHostname>),
    /// Cloudflare may have moved on since this was read.
    Stale(Vec<CustomHostname>),
    /// The zone was never read.
    Unknown,
}

#[derive(Debug, Default)]
struct Entry {
    hostnames: Vec<CustomHostname>,
    read_ms: i64,
}

#[derive(Debug, Default)]
struct Inner {
    /// When the last complete zone read started (ms); `None`: never.
    read_at_ms: Option<i64>,
    /// Pages the last complete read took.
    pages: u32,
    by_name: HashMap<String, Entry>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct ZoneView {
    schedule: Schedule,
    inner: Mutex<Inner>,
    /// A zone read is under way (one at a time per replica).
    pub(super) reading: std::sync::atomic::AtomicBool,
}

/// The shortest time between zone reads for a zone of `pages` pages, so
/// that they take at most [`READ_SHARE`] of `limit` requests per `window`
/// (`None`: no budget), and never less than `floor`.
pub fn min_read_interval(pages: u32, budget: Option<(u32, Duration)>, floor: Duration) -> Duration {
    let Some((limit, window)) = budget else {
        return floor;
    };
    let share = (f64::from(limit) * READ_SHARE).max(1.0);
    window.mul_f64(f64::from(pages.max(1)) / share).max(floor)
}

impl ZoneView {
    pub fn new(schedule: Schedule) -> ZoneView {
        ZoneView {
            schedule,
            inner: Mutex::default(),
            reading: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// Cloudflare's shortest gap between attempts, in this schedule's units.
    pub fn floor(&self) -> Duration {
        self.schedule.unit * backoff::gap_s(0) as u32
    }

    /// What the view knows of `host` (lower case) at `now_ms`.
    pub fn seen(&self, host: &str, now_ms: i64) -> Seen {
        let inner = self.inner.lock().unwrap();
        let Some(entry) = inner.by_name.get(host) else {
            // Not listed by a complete read: there was none. One created
            // since (by another replica) answers a create with a duplicate,
            // and is then looked up by name.
            return match inner.read_at_ms {
                Some(_) => Seen::Current(Vec::new()),
                None => Seen::Unknown,
            };
        };
        let settled_max_ms = (self.schedule.unit * SETTLED_MAX_AGE_UNITS).as_millis() as i64;
        let stale = entry.hostnames.iter().any(|custom| {
            if custom.settled() {
                now_ms.saturating_sub(entry.read_ms) > settled_max_ms
            } else {
                self.schedule
                    .stale(custom.created_ms(), entry.read_ms, now_ms)
            }
        });
        if stale {
            Seen::Stale(entry.hostnames.clone())
        } else {
            Seen::Current(entry.hostnames.clone())
        }
    }

    /// Whether a zone read is due at `now_ms` given the budget's limit and window.
    pub fn read_due(&self, now_ms: i64, budget: Option<(u32, Duration)>) -> bool {
        let inner = self.inner.lock().unwrap();
        let Some(read_at) = inner.read_at_ms else {
            return true;
        };
        let interval = min_read_interval(inner.pages, budget, self.floor());
        now_ms - read_at >= interval.as_millis() as i64
    }

    /// When the last complete zone read started.
    pub fn read_at_ms(&self) -> Option<i64> {
        self.inner.lock().unwrap().read_at_ms
    }

    /// Takes a complete zone read that started at `started_ms` and took
    /// `pages` pages: every name it lists, and none for names it does not
    /// (unless remembered after it started).
    pub fn replace(&self, listed: Vec<CustomHostname>, started_ms: i64, pages: u32) {
        let mut by_name: HashMap<String, Entry> = HashMap::new();
        for custom in listed {
            by_name
                .entry(custom.hostname.to_ascii_lowercase())
                .or_insert_with(|| Entry {
                    hostnames: Vec::new(),
                    read_ms: started_ms,
                })
                .hostnames
                .push(custom);
        }
        let mut inner = self.inner.lock().unwrap();
        for (name, entry) in inner.by_name.drain() {
            if entry.read_ms > started_ms {
                by_name.insert(name, entry);
            }
        }
        inner.by_name = by_name;
        inner.read_at_ms = Some(started_ms);
        inner.pages = pages;
    }

    /// Everything named `host` (lower case), as just read by name.
    pub fn remember_all(&self, host: &str, hostnames: Vec<CustomHostname>, now_ms: i64) {
        self.inner.lock().unwrap().by_name.insert(
            host.to_string(),
            Entry {
                hostnames,
                read_ms: now_ms,
            },
        );
    }

    /// One hostname as Cloudflare just answered it (created or edited).
    pub fn remember(&self, custom: &CustomHostname, now_ms: i64) {
        let name = custom.hostname.to_ascii_lowercase();
        let mut inner = self.inner.lock().unwrap();
        let entry = inner.by_name.entry(name).or_default();
        entry.hostnames.retain(|c| c.id != custom.id);
        entry.hostnames.push(custom.clone());
        entry.read_ms = now_ms;
    }

    /// `host` (lower case) asked to validate again: the answer shows the
    /// state before that validation, so it is stale from now on and the
    /// next zone read (when due) sees the outcome.
    pub fn mark_stale(&self, host: &str) {
        if let Some(entry) = self.inner.lock().unwrap().by_name.get_mut(host) {
            entry.read_ms = i64::MIN;
        }
    }

    /// A hostname deleted by id.
    pub fn forget(&self, id: &str) {
        let mut inner = self.inner.lock().unwrap();
        for entry in inner.by_name.values_mut() {
            entry.hostnames.retain(|c| c.id != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn custom(id: &str, name: &str, ssl: &str, created_ms: i64) -> CustomHostname {
        let created =
            time::OffsetDateTime::from_unix_timestamp_nanos(created_ms as i128 * 1_000_000)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
        serde_json::from_value(json!({
            "id": id, "hostname": name, "status": if ssl == "active" { "active" } else { "pending" },
            "ssl": { "status": ssl, "method": "http" }, "created_at": created,
        }))
        .unwrap()
    }

    #[test]
    fn a_pending_state_is_current_until_cloudflare_tries_again() {
        let view = ZoneView::new(Schedule::default());
        let created = 1_700_000_000_000;
        view.replace(
            vec![custom("a", "a.example.com", "pending_validation", created)],
            created + 1_000,
            1,
        );
        assert!(matches!(
            view.seen("a.example.com", created + 30_000),
            Seen::Current(_)
        ));
        // Cloudflare's second attempt is a minute after creation.
        assert!(matches!(
            view.seen("a.example.com", created + 61_000),
            Seen::Stale(_)
        ));
        assert_eq!(
            view.seen("b.example.com", created),
            Seen::Current(Vec::new())
        );
        assert_eq!(
            ZoneView::new(Schedule::default()).seen("b.example.com", 0),
            Seen::Unknown
        );
        // An active one is current for an hour.
        view.remember(
            &custom("a", "a.example.com", "active", created),
            created + 2_000,
        );
        assert!(matches!(
            view.seen("a.example.com", created + 3_000_000),
            Seen::Current(_)
        ));
        assert!(matches!(
            view.seen("a.example.com", created + 3_700_000),
            Seen::Stale(_)
        ));
    }

    #[test]
    fn a_zone_read_forgets_what_it_no_longer_lists_but_keeps_what_is_newer() {
        let view = ZoneView::new(Schedule::default());
        let t = 1_700_000_000_000;
        view.replace(vec![custom("a", "a.example.com", "active", t)], t, 1);
        view.remember(&custom("b", "b.example.com", "active", t), t + 10);
        view.replace(Vec::new(), t + 5, 1);
        assert_eq!(view.seen("a.example.com", t + 6), Seen::Current(Vec::new()));
        assert!(matches!(
            view.seen("b.example.com", t + 6),
            Seen::Current(_)
        ));
        view.mark_stale("b.example.com");
        assert!(matches!(view.seen("b.example.com", t + 6), Seen::Stale(_)));
        view.forget("b");
        assert!(matches!(view.seen("b.example.com", t + 6), Seen::Current(v) if v.is_empty()));
    }

    #[test]
    fn zone_reads_take_at_most_their_share_of_the_budget() {
        let floor = Duration::from_secs(60);
        let window = Duration::from_secs(300);
        // 10,000 hostnames: 200 pages; half of 1,000 per 5 min: one read per 2 min.
        assert_eq!(
            min_read_interval(200, Some((1000, window)), floor),
            Duration::from_secs(120)
        );
        assert_eq!(min_read_interval(2, Some((1000, window)), floor), floor);
        assert_eq!(min_read_interval(2000, None, floor), floor);
        let view = ZoneView::new(Schedule::default());
        assert!(view.read_due(0, Some((1000, window))));
        view.replace(Vec::new(), 0, 200);
        assert!(!view.read_due(119_000, Some((1000, window))));
        assert!(view.read_due(120_000, Some((1000, window))));
    }
}
