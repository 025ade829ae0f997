//! Requests parked while they wait on a promise (see `task.rs`), by id: the
//! bookkeeping of the executor, kept apart from the JS bindings so that it is
//! tested natively.
//!
//! A cancelled request's promise may never settle, and its future would then
//! be kept forever. So parked values are swept: a sweep drops whatever was
//! parked before the current epoch began, once that epoch is older than
//! [`ABANDONED_AFTER_MS`], and starts the next one. Sweeps happen only when
//! many values are parked (from [`SWEEP_FROM`], then twice as many as remain),
//! and the clock is read only then, never per park.
//!
//! An id names a slot and the slot's generation, so that a swept request
//! whose promise settles after all can never take the value parked in its
//! slot since.

/// Parked values are dropped after at least this long: far above any KV or
/// Cache API read, and above the 100 s an origin gets to answer behind
/// Cloudflare.
pub const ABANDONED_AFTER_MS: f64 = 5.0 * 60.0 * 1000.0;

/// How many parked values call for the first sweep.
pub const SWEEP_FROM: usize = 256;

/// An id as JS holds it: a number (exact below 2^53), the slot in the low 32
/// bits and its generation above them.
pub type Id = f64;

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    /// The value and the epoch it was parked in.
    parked: Option<(T, u32)>,
}

#[derive(Debug)]
pub struct Parking<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
    sweep_at: usize,
    epoch: u32,
    /// When the current epoch began (ms); `None` before the first sweep.
    epoch_began: Option<f64>,
}

impl<T> Default for Parking<T> {
    fn default() -> Parking<T> {
        Parking {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            sweep_at: SWEEP_FROM,
            epoch: 0,
            epoch_began: None,
        }
    }
}

impl<T> Parking<T> {
    /// Parks `value`, its id back. `now` (the time in ms) is called only
    /// when a sweep is due.
    pub fn park(&mut self, value: T, now: impl FnOnce() -> f64) -> Id {
        if self.live >= self.sweep_at {
            self.sweep(now());
        }
        self.live += 1;
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    parked: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.parked = Some((value, self.epoch));
        f64::from(slot.generation) * 4_294_967_296.0 + f64::from(index)
    }

    /// The value parked as `id`, unless it was swept (or `id` is no id).
    pub fn unpark(&mut self, id: Id) -> Option<T> {
        if !(0.0..9_007_199_254_740_992.0).contains(&id) || id.fract() != 0.0 {
            return None;
        }
        let (index, generation) = ((id % 4_294_967_296.0) as u32, (id / 4_294_967_296.0) as u32);
        let slot = self.slots.get_mut(index as usize)?;
        if slot.generation != generation {
            return None;
        }
        let (value, _) = slot.parked.take()?;
        self.release(index);
        Some(value)
    }

    /// How many values are parked.
    #[cfg(test)]
    fn live(&self) -> usize {
        self.live
    }

    fn release(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        // Past 2^21 generations an id would no longer be exact in JS: the
        // slot starts over (a request parked 2 million times ago is long gone).
        slot.generation = (slot.generation + 1) % (1 << 21);
        self.live -= 1;
        self.free.push(index);
    }

    fn sweep(&mut self, now: f64) {
        match self.epoch_began {
            // Whatever was parked before this epoch began has waited at
            // least as long as the epoch is old.
            Some(began) if now - began >= ABANDONED_AFTER_MS => {
                let current = self.epoch;
                for index in 0..self.slots.len() {
                    let slot = &mut self.slots[index];
                    if slot
                        .parked
                        .as_ref()
                        .is_some_and(|(_, epoch)| *epoch < current)
                    {
                        slot.parked = None;
                        self.release(index as u32);
                    }
                }
                self.next_epoch(now);
            }
            Some(_) => {}
            None => self.next_epoch(now),
        }
        self.sweep_at = (self.live * 2).max(SWEEP_FROM);
    }

    fn next_epoch(&mut self, now: f64) {
        self.epoch += 1;
        self.epoch_began = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    const MINUTE: f64 = 60.0 * 1000.0;

    fn no_clock() -> f64 {
        panic!("the clock was read without a sweep due")
    }

    #[test]
    fn parked_values_come_back_once() {
        let mut parking = Parking::default();
        let a = parking.park("a", no_clock);
        let b = parking.park("b", no_clock);
        assert_ne!(a, b);
        assert_eq!(parking.live(), 2);
        assert_eq!(parking.unpark(b), Some("b"));
        assert_eq!(parking.unpark(b), None, "taken already");
        assert_eq!(parking.unpark(a), Some("a"));
        assert_eq!(parking.live(), 0);
    }

    #[test]
    fn a_stale_id_never_takes_the_value_parked_in_its_slot_since() {
        let mut parking = Parking::default();
        let old = parking.park("old", no_clock);
        assert_eq!(parking.unpark(old), Some("old"));
        let new = parking.park("new", no_clock);
        assert_ne!(old, new, "the slot is reused under a new generation");
        assert_eq!(parking.unpark(old), None);
        assert_eq!(parking.unpark(new), Some("new"));
    }

    #[test]
    fn ids_that_were_never_given_are_refused() {
        let mut parking = Parking::default();
        parking.park("a", no_clock);
        for id in [1.0, -1.0, 0.5, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(parking.unpark(id), None, "{id}");
        }
        assert_eq!(parking.live(), 1);
    }

    #[test]
    fn the_clock_is_read_only_when_a_sweep_is_due() {
        let mut parking = Parking::default();
        for n in 0..SWEEP_FROM {
            parking.park(n, no_clock);
        }
        let mut reads = 0;
        parking.park(SWEEP_FROM, || {
            reads += 1;
            0.0
        });
        assert_eq!(reads, 1);
        // The first sweep only starts an epoch: nothing is dropped.
        assert_eq!(parking.live(), SWEEP_FROM + 1);
        // The next sweep is due at twice as many as were parked then.
        while parking.live() < 2 * SWEEP_FROM {
            parking.park(0, no_clock);
        }
        parking.park(0, || {
            reads += 1;
            0.0
        });
        assert_eq!(reads, 2);
    }

    /// A clock for the tests: the time is set by hand, reads are counted.
    #[derive(Default)]
    struct Clock {
        now: Cell<f64>,
        reads: Cell<usize>,
    }

    impl Clock {
        fn read(&self) -> f64 {
            self.reads.set(self.reads.get() + 1);
            self.now.get()
        }
    }

    /// Requests parked and abandoned (their promises never settle): enough
    /// that the next park calls for the first sweep.
    fn park_abandoned(parking: &mut Parking<usize>, clock: &Clock) -> Vec<Id> {
        (0..SWEEP_FROM)
            .map(|n| parking.park(n, || clock.read()))
            .collect()
    }

    #[test]
    fn a_sweep_drops_what_waited_too_long_and_keeps_the_rest() {
        let mut parking = Parking::default();
        let clock = Clock::default();
        // Parked at 0 min, and abandoned.
        let abandoned = park_abandoned(&mut parking, &clock);
        assert_eq!(clock.reads.get(), 0);
        // 1 min: the first sweep starts an epoch, and drops nothing.
        clock.now.set(MINUTE);
        let recent = parking.park(1000, || clock.read());
        assert_eq!((clock.reads.get(), parking.live()), (1, SWEEP_FROM + 1));
        // 4 min: the next sweep comes at twice as many parked, but the epoch
        // is only 3 min old.
        clock.now.set(4.0 * MINUTE);
        while clock.reads.get() < 2 {
            parking.park(2000, || clock.read());
        }
        assert_eq!(parking.live(), 2 * SWEEP_FROM + 1, "nothing dropped");
        assert_eq!(
            parking.unpark(abandoned[0]),
            Some(0),
            "still there at 4 min"
        );
        // 7 min, at the sweep after that: the epoch is 6 min old, so what was
        // parked before it began has waited that long at least, and goes.
        clock.now.set(7.0 * MINUTE);
        let mut live = parking.live();
        while clock.reads.get() < 3 {
            live = parking.live();
            parking.park(3000, || clock.read());
        }
        assert_eq!(parking.live(), live + 1 - (SWEEP_FROM - 1));
        for id in &abandoned[1..] {
            assert_eq!(parking.unpark(*id), None, "swept");
        }
        assert_eq!(
            parking.unpark(recent),
            Some(1000),
            "parked in the epoch: kept"
        );
    }

    #[test]
    fn swept_slots_are_reused_without_handing_out_the_new_values() {
        let mut parking = Parking::default();
        let clock = Clock::default();
        let abandoned = park_abandoned(&mut parking, &clock);
        parking.park(0, || clock.read()); // the first sweep starts the epoch at 0
        clock.now.set(ABANDONED_AFTER_MS);
        while clock.reads.get() < 2 {
            parking.park(1, || clock.read()); // the second sweeps the abandoned
        }
        // Into the swept slots, short of the next sweep.
        let fresh: Vec<Id> = (1..SWEEP_FROM)
            .map(|_| parking.park(3, || clock.read()))
            .collect();
        assert_eq!(clock.reads.get(), 2);
        for id in abandoned {
            assert_eq!(parking.unpark(id), None, "a late settle of a swept request");
        }
        for id in fresh {
            assert_eq!(parking.unpark(id), Some(3));
        }
    }
}
