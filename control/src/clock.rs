//! The clock the lifecycle reads (domains added, deadlines, grace periods,
//! events): a value in the application state, never a process-global, so
//! development can shift it (`dev_clock_offset_secs`) for one process and
//! tests can pass their own times. Infrastructure timing (leases, outbox
//! ages) reads the wall clock, `store::now_ms`.

use crate::store::now_ms;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    offset_ms: i64,
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Clock {
        Clock { offset_ms: 0 }
    }

    /// The wall clock shifted by `offset_ms` (development only: config.rs
    /// refuses the setting outside development), so the 24 h deadline can
    /// be reached without waiting a day.
    pub fn shifted(offset_ms: i64) -> Clock {
        Clock { offset_ms }
    }

    /// Milliseconds since the Unix epoch, as this clock tells it.
    pub fn now_ms(&self) -> i64 {
        now_ms().saturating_add(self.offset_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_is_ahead_by_its_offset() {
        let day = 86_400_000;
        let system = Clock::system().now_ms();
        let shifted = Clock::shifted(day).now_ms();
        assert!((shifted - system - day).abs() < 1_000);
    }
}
