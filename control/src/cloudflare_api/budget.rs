//! One client-side budget of Cloudflare API requests for every replica:
//! Cloudflare allows about 1,200 requests per five minutes per user, across
//! all of that user's calls, and answers 429 for five minutes once they are
//! spent. Two budgets share that limit, each kept apart so that neither can
//! starve the other: custom hostname calls take from `cloudflare` and wait
//! (or report `Throttled`) when it is spent; every Workers KV call
//! (publishing's bulk writes and deletes, listings) takes from
//! `cloudflare-kv` (`publish::budgeted`), and the publisher waits for it
//! before taking a batch, so that the writes queued meanwhile share one
//! request.
//!
//! The rule is the generic cell rate algorithm (a token bucket kept as one
//! number, the theoretical arrival time, in the database so that replicas
//! share it; `store::budget` takes a request in one atomic statement). A
//! bucket of `burst` requests refilled at `rate` lets `burst + rate·window`
//! requests into any window; with `burst` a tenth of the limit and the
//! rest spread evenly, no five-minute window, sliding or not, sees more
//! than the limit. (In-memory limiters such as `governor` implement the
//! same rule, but per process; this one is shared through the store.)

use std::time::Duration;

use crate::store::{budget, Store};

/// Cloudflare's window.
pub const WINDOW: Duration = Duration::from_secs(5 * 60);
/// The custom hostname calls' budget, by its name in the store.
const HOSTNAMES: &str = "cloudflare";
/// The Workers KV calls' budget.
const KV: &str = "cloudflare-kv";

/// Requests per window, spread out: the pure part of the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Between two requests once the burst is spent.
    pub interval_us: i64,
    /// How far ahead of now the theoretical arrival time may run: the burst.
    pub tolerance_us: i64,
}

impl Rate {
    /// At most `limit` requests in any `window`; `None` for no limit (0).
    pub fn per_window(limit: u32, window: Duration) -> Option<Rate> {
        if limit == 0 {
            return None;
        }
        let burst = (limit / 10).max(1);
        let spread = i64::from((limit - burst).max(1));
        let window_us = window.as_micros() as i64;
        // Rounded up: never faster than the limit.
        let interval_us = (window_us + spread - 1) / spread;
        Some(Rate {
            interval_us,
            tolerance_us: interval_us * i64::from(burst),
        })
    }

    /// How long until a request fits, in µs (0: now), given the stored
    /// theoretical arrival time `tat_us` (`None`: no request taken yet).
    pub fn wait_us(&self, tat_us: Option<i64>, now_us: i64) -> i64 {
        let Some(tat) = tat_us else { return 0 };
        (tat.max(now_us) + self.interval_us - now_us - self.tolerance_us).max(0)
    }
}

/// Why a request was not made.
#[derive(Debug, thiserror::Error)]
pub enum Spent {
    /// The budget allows the next request in this long.
    #[error("the Cloudflare API budget is spent for now; the next request fits in {} s", .0.as_secs().max(1))]
    Wait(Duration),
    #[error("the Cloudflare API budget could not be read: {0}")]
    Store(#[from] sqlx::Error),
}

/// The shared budget (cheap to clone).
#[derive(Debug, Clone)]
pub struct CallBudget {
    store: Store,
    name: &'static str,
    rate: Rate,
    limit: u32,
    window: Duration,
}

/// What the budget granted and deferred in the current fixed window, for
/// every replica together (a gauge of "Cloudflare budget used").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// Requests made since the window started.
    pub used: u64,
    /// Requests that gave up waiting (their work deferred to a later check).
    pub deferred: u64,
    /// Requests allowed per window.
    pub limit: u32,
    pub window_s: u64,
    /// When the window started (ms since the Unix epoch); windows are
    /// fixed, at multiples of their length.
    pub window_start_ms: i64,
}

impl CallBudget {
    /// Custom hostname calls: `limit` requests per five minutes, shared
    /// through `store`; `None` for no client-side budget (`limit` 0).
    pub fn new(store: Store, limit: u32) -> Option<CallBudget> {
        CallBudget::per_window(store, limit, WINDOW)
    }

    /// Workers KV calls: as [`CallBudget::new`], a budget of their own.
    pub fn kv(store: Store, limit: u32) -> Option<CallBudget> {
        CallBudget::named(store, KV, limit, WINDOW)
    }

    /// [`CallBudget::new`] over another window (tests).
    pub fn per_window(store: Store, limit: u32, window: Duration) -> Option<CallBudget> {
        CallBudget::named(store, HOSTNAMES, limit, window)
    }

    /// Budget `name` over `window`.
    pub fn named(
        store: Store,
        name: &'static str,
        limit: u32,
        window: Duration,
    ) -> Option<CallBudget> {
        Some(CallBudget {
            rate: Rate::per_window(limit, window)?,
            store,
            name,
            limit,
            window,
        })
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// The fixed window `now_us` falls in, by its start.
    fn window_start(&self, now_us: i64) -> i64 {
        let window_us = (self.window.as_micros() as i64).max(1);
        now_us - now_us.rem_euclid(window_us)
    }

    /// Used and deferred requests in the current window.
    pub async fn usage(&self) -> Result<Usage, sqlx::Error> {
        let start = self.window_start(now_us());
        let (used, deferred) = budget::usage(self.store.pool(), self.name, start).await?;
        Ok(Usage {
            used: used.max(0) as u64,
            deferred: deferred.max(0) as u64,
            limit: self.limit,
            window_s: self.window.as_secs(),
            window_start_ms: start / 1_000,
        })
    }

    /// Takes one request, waiting up to `patience` for it to fit.
    pub async fn take(&self, patience: Duration) -> Result<(), Spent> {
        loop {
            let now = now_us();
            let refused = budget::take(
                self.store.pool(),
                self.name,
                now,
                self.rate.interval_us,
                self.rate.tolerance_us,
                self.window_start(now),
            )
            .await?;
            let Some(wait_us) = refused else {
                return Ok(());
            };
            let wait = Duration::from_micros(wait_us as u64);
            if wait > patience {
                budget::refused(self.store.pool(), self.name, self.window_start(now)).await?;
                return Err(Spent::Wait(wait));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Waits until a request would be granted, without taking it; returns
    /// how long it waited. One read of the row: another caller may still
    /// take the room first, so [`CallBudget::take`] follows as usual.
    pub async fn wait_ready(&self) -> Result<Duration, sqlx::Error> {
        let tat = budget::arrival(self.store.pool(), self.name).await?;
        let wait_us = self.rate.wait_us(tat, now_us());
        if wait_us == 0 {
            return Ok(Duration::ZERO);
        }
        let wait = Duration::from_micros(wait_us as u64);
        tokio::time::sleep(wait).await;
        Ok(wait)
    }
}

fn now_us() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the rule lets through when asked at `asks` (µs), in order.
    fn granted(rate: Rate, asks: impl IntoIterator<Item = i64>) -> Vec<i64> {
        let mut tat = 0i64;
        asks.into_iter()
            .filter(|&now| {
                let next = tat.max(now) + rate.interval_us;
                let ok = next <= now + rate.tolerance_us;
                if ok {
                    tat = next;
                }
                ok
            })
            .collect()
    }

    #[test]
    fn no_window_sees_more_than_the_limit() {
        let window = Duration::from_secs(300);
        let window_us = window.as_micros() as i64;
        for limit in [1, 2, 10, 1000, 1200] {
            let rate = Rate::per_window(limit, window).unwrap();
            // Asked every 10 ms for three windows: far more than allowed.
            let times = granted(rate, (0..3 * window_us).step_by(10_000));
            for (i, start) in times.iter().enumerate() {
                let within = times[i..]
                    .iter()
                    .take_while(|&&t| t < start + window_us)
                    .count();
                assert!(
                    within <= limit as usize,
                    "limit {limit}: {within} from {start}"
                );
            }
            // And not much less: the limit over the first window.
            let first = times.iter().filter(|&&t| t < window_us).count();
            assert!(first + 1 >= limit as usize, "limit {limit}: only {first}");
        }
    }

    #[test]
    fn a_tenth_at_once_then_evenly() {
        let rate = Rate::per_window(1000, Duration::from_secs(300)).unwrap();
        assert_eq!(granted(rate, std::iter::repeat_n(0, 500)).len(), 100);
        assert_eq!(rate.interval_us, 333_334);
        assert_eq!(Rate::per_window(0, WINDOW), None);
    }

    #[test]
    fn the_wait_is_what_the_rule_would_refuse_for() {
        let rate = Rate::per_window(150, Duration::from_secs(300)).unwrap();
        assert_eq!(rate.wait_us(None, 5), 0);
        // The burst (15) spent at once: the next fits one interval later.
        let tat = 15 * rate.interval_us;
        assert_eq!(rate.wait_us(Some(tat), 0), rate.interval_us);
        assert_eq!(rate.wait_us(Some(tat), rate.interval_us), 0);
        assert_eq!(granted(rate, [0; 16]).len(), 15);
        assert_eq!(
            granted(rate, (0..16).map(|_| 0).chain([rate.interval_us])).len(),
            16
        );
        // Long idle: no wait.
        assert_eq!(rate.wait_us(Some(tat), 10 * tat), 0);
    }
}
