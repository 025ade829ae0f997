//! A bounded map of immutable values by byte size, first in first out: the
//! edge keeps page HTML in an isolate's memory with it. Content keys name a
//! digest of what they hold, so an entry never goes stale and is never
//! invalidated; the only question is what to forget when the budget is spent,
//! and the oldest entry is as good an answer as any for a hot set that fits.
//!
//! The map only counts bytes: a value is anything cheap to clone (the edge
//! keeps the runtime's own `ArrayBuffer`s, so that a response is made from
//! one without copying it into wasm memory and back), its size given with it.

use std::collections::{HashMap, VecDeque};

/// Values by key, at most `budget` bytes of them in all.
#[derive(Debug)]
pub struct Memo<V> {
    entries: HashMap<String, (V, usize)>,
    order: VecDeque<String>,
    bytes: usize,
    budget: usize,
}

impl<V: Clone> Memo<V> {
    pub fn new(budget: usize) -> Memo<V> {
        Memo {
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        self.entries.get(key).map(|(value, _)| value.clone())
    }

    /// Keeps `value`, `size` bytes, unless it alone is over the budget (or
    /// `key` is already kept: values never change), forgetting the oldest
    /// entries to make room.
    pub fn insert(&mut self, key: &str, value: V, size: usize) {
        if size > self.budget || self.entries.contains_key(key) {
            return;
        }
        while self.bytes + size > self.budget {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, forgotten)) = self.entries.remove(&oldest) {
                self.bytes -= forgotten;
            }
        }
        self.bytes += size;
        self.order.push_back(key.to_string());
        self.entries.insert(key.to_string(), (value, size));
    }

    /// Bytes held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    fn value(n: usize) -> Rc<[u8]> {
        vec![b'x'; n].into()
    }

    #[test]
    fn keeps_within_budget_oldest_first_out() {
        let mut memo: Memo<Rc<[u8]>> = Memo::new(100);
        memo.insert("a", value(50), 50);
        memo.insert("b", value(50), 50);
        assert!(memo.get("a").is_some() && memo.get("b").is_some());
        assert_eq!(memo.bytes(), 100);
        memo.insert("c", value(1), 1);
        assert!(memo.get("a").is_none(), "the oldest goes first");
        assert!(memo.get("b").is_some() && memo.get("c").is_some());
        assert_eq!(memo.bytes(), 51);
    }

    #[test]
    fn never_holds_a_value_over_the_budget() {
        let mut memo: Memo<Rc<[u8]>> = Memo::new(100);
        memo.insert("small", value(10), 10);
        memo.insert("huge", value(101), 101);
        assert!(memo.get("huge").is_none());
        assert!(memo.get("small").is_some(), "nothing forgotten for it");
    }

    #[test]
    fn a_key_is_kept_once() {
        let mut memo: Memo<Rc<[u8]>> = Memo::new(100);
        memo.insert("a", value(40), 40);
        memo.insert("a", value(40), 40);
        assert_eq!(memo.bytes(), 40);
        memo.insert("b", value(60), 60);
        assert!(memo.get("a").is_some() && memo.get("b").is_some());
    }
}
