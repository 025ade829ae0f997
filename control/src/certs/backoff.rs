//! When Cloudflare itself tries to validate a custom hostname again, so
//! that Portico reads a pending hostname's state (and asks for validation)
//! on Cloudflare's schedule rather than on its own check interval: a state
//! read between two of Cloudflare's attempts can only repeat the last one.
//!
//! Cloudflare for SaaS, "Backoff schedule"
//! (<https://developers.cloudflare.com/cloudflare-for-platforms/cloudflare-for-saas/domain-support/hostname-validation/backoff-schedule/>):
//! "Attempts to validate a Custom Hostname are distributed over seven days
//! (a total of 75 retries). At the end of this schedule, if the validation
//! is unsuccessful, the custom hostname will be deleted." The next check is
//! `now() + min(floor(60 * pow(1.05, retry_attempt)) s, 4 hours)` for the
//! first 10 attempts and `now() + min(floor(60 * pow(1.15, retry_attempt))
//! s, 4 hours)` for the remaining 65 ("the first 10 checks complete within
//! 20 minutes").
//!
//! Times are in `unit`s (one second in production: the formula's
//! `INTERVAL '1 second'`), so a benchmark can run the schedule faster.

use std::time::Duration;

/// Cloudflare's attempts in all.
pub const ATTEMPTS: u32 = 75;
/// The first attempts, on the gentler curve.
const GENTLE: u32 = 10;
/// The longest gap, in seconds.
const CAP_S: u64 = 4 * 3600;

/// The gap after attempt `n` (0-based), in seconds.
pub fn gap_s(n: u32) -> u64 {
    let base: f64 = if n < GENTLE { 1.05 } else { 1.15 };
    ((60.0 * base.powi(n as i32)).floor() as u64).min(CAP_S)
}

/// Cloudflare's schedule with its time unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// One of the formula's seconds.
    pub unit: Duration,
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            unit: Duration::from_secs(1),
        }
    }
}

impl Schedule {
    fn unit_ms(&self) -> f64 {
        self.unit.as_secs_f64() * 1_000.0
    }

    /// When (ms since the epoch) Cloudflare's attempt `n` on a hostname
    /// created at `created_ms` happens; `None` past the last.
    pub fn attempt_at(&self, created_ms: i64, n: u32) -> Option<i64> {
        if n >= ATTEMPTS {
            return None;
        }
        let seconds: u64 = (0..n).map(gap_s).sum();
        Some(created_ms + (seconds as f64 * self.unit_ms()) as i64)
    }

    /// The latest attempt at or before `now_ms` (`None`: none yet).
    pub fn last_attempt(&self, created_ms: i64, now_ms: i64) -> Option<i64> {
        let mut last = None;
        for n in 0..ATTEMPTS {
            match self.attempt_at(created_ms, n) {
                Some(at) if at <= now_ms => last = Some(at),
                _ => break,
            }
        }
        last
    }

    /// The first attempt after `now_ms` (`None`: the schedule is over).
    pub fn next_attempt(&self, created_ms: i64, now_ms: i64) -> Option<i64> {
        (0..ATTEMPTS)
            .filter_map(|n| self.attempt_at(created_ms, n))
            .find(|&at| at > now_ms)
    }

    /// Whether a state read at `read_ms` can be out of date at `now_ms`:
    /// Cloudflare attempted validation since (or the schedule is unknown).
    pub fn stale(&self, created_ms: Option<i64>, read_ms: i64, now_ms: i64) -> bool {
        let Some(created_ms) = created_ms else {
            return true;
        };
        match self.last_attempt(created_ms, now_ms) {
            Some(last) => last > read_ms,
            // Not even the first attempt yet: nothing new to see.
            None => false,
        }
    }

    /// Whether asking Cloudflare to validate now (a `PATCH` with the same
    /// `ssl`) gains anything: only when its own next attempt is further off
    /// than `patience`. Early in the schedule Cloudflare retries every one to
    /// five minutes by itself; an extra request there only spends budget.
    pub fn worth_asking(&self, created_ms: Option<i64>, now_ms: i64, patience: Duration) -> bool {
        let Some(created_ms) = created_ms else {
            return true;
        };
        match self.next_attempt(created_ms, now_ms) {
            Some(next) => (next - now_ms) as u128 > patience.as_millis(),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_cloudflares_table() {
        // "Backoff schedule" table: attempts 0..=16 in seconds.
        let table = [
            60, 63, 66, 69, 72, 76, 80, 84, 88, 93, 242, 279, 321, 369, 424, 488, 561,
        ];
        for (n, want) in table.iter().enumerate() {
            assert_eq!(gap_s(n as u32), *want, "attempt {n}");
        }
        assert_eq!(gap_s(74), CAP_S);
        // "The first 10 checks complete within 20 minutes".
        assert!((0..10).map(gap_s).sum::<u64>() < 20 * 60);
        // "distributed over seven days".
        let all: u64 = (0..ATTEMPTS).map(gap_s).sum();
        assert!(all > 6 * 86_400 && all < 8 * 86_400, "{all}");
    }

    #[test]
    fn a_read_is_stale_once_cloudflare_tried_again() {
        let s = Schedule::default();
        let created = 1_000_000;
        // Attempt 0 at creation, attempt 1 a minute later.
        assert_eq!(s.attempt_at(created, 1), Some(created + 60_000));
        assert!(!s.stale(Some(created), created + 1, created + 59_000));
        assert!(s.stale(Some(created), created + 1, created + 60_000));
        assert!(s.stale(None, created, created));
        assert_eq!(s.next_attempt(created, created + 1), Some(created + 60_000));
    }

    #[test]
    fn asking_pays_only_late_in_the_schedule() {
        let s = Schedule::default();
        let five = Duration::from_secs(300);
        assert!(!s.worth_asking(Some(0), 10_000, five));
        // After attempt 13 Cloudflare waits over five minutes.
        let late = s.attempt_at(0, 14).unwrap();
        assert!(s.worth_asking(Some(0), late + 1, five));
        let faster = Schedule {
            unit: Duration::from_millis(10),
        };
        assert_eq!(faster.attempt_at(0, 1), Some(600));
    }
}
