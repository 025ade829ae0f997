//! A batch planned without I/O: how many of the oldest rows it takes (count
//! and bytes), the last write of each key, and the bulk requests that carry
//! them, in an order where no moment mixes two owners' records:
//!
//! 1. content puts (and garbage-collected content deletes): a record may name
//!    the content only once it is there;
//! 2. host record deletes, including a host deleted and put again within the
//!    batch (a hostname that changed owner): the old owner's site stops
//!    before anything of the new owner's appears;
//! 3. path record deletes: no path of an old owner survives under a host
//!    record put later;
//! 4. path record puts;
//! 5. host record puts last: a host appears with its paths already there.
//!
//! A bulk request is not atomic (its keys land one by one), so each stage is
//! its own request.

use std::collections::BTreeMap;

use portico_shared::record::is_host_key;

use crate::store::outbox::{Namespace, Op};

/// A write waiting to be delivered: an outbox row, or a parked write an
/// admin asked to send again (its id is the one it had in the outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    pub namespace: Namespace,
    pub key: String,
    /// `None`: delete the key.
    pub value: Option<String>,
    /// True for an outbox row (deleted once done), false for a parked write.
    pub in_outbox: bool,
}

/// The newest write of one key in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub namespace: Namespace,
    pub key: String,
    pub value: Option<String>,
    /// The id of the newest row: what a parked copy of this write is ordered by.
    pub id: i64,
    /// The outbox rows this write settles (the newest and those it supersedes).
    pub row_ids: Vec<i64>,
    /// A delete sent before the key's final write (a host that changed
    /// owner): it settles, parks and retries nothing.
    pub interim: bool,
}

impl Write {
    pub fn op(&self) -> Op {
        match self.value {
            Some(_) => Op::Put,
            None => Op::Delete,
        }
    }
}

/// How many of the oldest rows (their key and value sizes, in id order) one
/// batch takes: as many as fit in `max_bytes`, and always the first, so a
/// row larger than the bound still goes (alone).
pub fn rows_that_fit(payload_bytes: impl IntoIterator<Item = i64>, max_bytes: usize) -> usize {
    let mut sizes = payload_bytes.into_iter();
    match sizes.next() {
        None => 0,
        Some(first) => 1 + more_that_fit(sizes, max_bytes.saturating_sub(first.max(0) as usize)),
    }
}

/// How many more rows fit in `room` bytes, none forced.
pub fn more_that_fit(payload_bytes: impl IntoIterator<Item = i64>, room: usize) -> usize {
    let mut total: u64 = 0;
    let mut count = 0;
    for bytes in payload_bytes {
        total = total.saturating_add(bytes.max(0) as u64);
        if total > room as u64 {
            break;
        }
        count += 1;
    }
    count
}

/// The writes of a batch, in the order they are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    writes: Vec<Write>,
}

impl Plan {
    /// The last write of each key wins (by id), sent in the stages of the
    /// module's documentation.
    pub fn new(mut pending: Vec<Pending>) -> Plan {
        pending.sort_by_key(|p| p.id);
        let mut last: BTreeMap<(Namespace, String), Write> = BTreeMap::new();
        // Host keys deleted at some point of the batch: the id of the delete.
        let mut host_deleted: BTreeMap<String, i64> = BTreeMap::new();
        for p in pending {
            if p.namespace == Namespace::Routes && p.value.is_none() && is_host_key(&p.key) {
                host_deleted.insert(p.key.clone(), p.id);
            }
            let entry = last
                .entry((p.namespace, p.key.clone()))
                .or_insert_with(|| Write {
                    namespace: p.namespace,
                    key: p.key,
                    value: None,
                    id: p.id,
                    row_ids: Vec::new(),
                    interim: false,
                });
            entry.value = p.value;
            entry.id = p.id;
            if p.in_outbox {
                entry.row_ids.push(p.id);
            }
        }
        let mut writes: Vec<Write> = last.into_values().collect();
        // A host deleted and then put again: its delete still goes first,
        // settling no row of its own (the put settles them all).
        let interim: Vec<Write> = writes
            .iter()
            .filter(|w| w.namespace == Namespace::Routes && w.value.is_some())
            .filter_map(|w| {
                host_deleted.get(&w.key).map(|&id| Write {
                    namespace: Namespace::Routes,
                    key: w.key.clone(),
                    value: None,
                    id,
                    row_ids: Vec::new(),
                    interim: true,
                })
            })
            .collect();
        writes.extend(interim);
        // Stable: keys stay sorted within a stage.
        writes.sort_by_key(stage);
        Plan { writes }
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// One bulk request per stage, in sending order.
    pub fn requests(&self) -> Vec<&[Write]> {
        self.writes.chunk_by(|a, b| stage(a) == stage(b)).collect()
    }
}

/// The stage a write is sent in (see the module's documentation).
fn stage(write: &Write) -> u8 {
    match (write.namespace, write.op(), is_host_key(&write.key)) {
        (Namespace::Content, Op::Put, _) => 0,
        (Namespace::Content, Op::Delete, _) => 1,
        (Namespace::Routes, Op::Delete, true) => 2,
        (Namespace::Routes, Op::Delete, false) => 3,
        (Namespace::Routes, Op::Put, false) => 4,
        (Namespace::Routes, Op::Put, true) => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, namespace: Namespace, key: &str, value: Option<&str>) -> Pending {
        Pending {
            id,
            namespace,
            key: key.into(),
            value: value.map(str::to_string),
            in_outbox: true,
        }
    }

    #[test]
    fn a_batch_is_bounded_in_bytes_but_takes_at_least_one_row() {
        let cases: &[(&[i64], usize, usize)] = &[
            (&[], 100, 0),
            (&[40, 40, 40], 100, 2),
            (&[50, 50], 100, 2),
            (&[500, 1], 100, 1),
            (&[1, 500], 100, 1),
            (&[10; 20], 1_000, 20),
        ];
        assert_eq!(more_that_fit([40, 40], 50), 1);
        assert_eq!(more_that_fit([60], 50), 0);
        for (sizes, max, expected) in cases {
            assert_eq!(
                rows_that_fit(sizes.iter().copied(), *max),
                *expected,
                "{sizes:?} within {max}"
            );
        }
    }

    #[test]
    fn the_last_write_of_a_key_wins_and_content_goes_first() {
        let plan = Plan::new(vec![
            row(1, Namespace::Routes, "v1/h/a", Some("a1")),
            row(2, Namespace::Content, "v1/c/x", Some("x")),
            row(3, Namespace::Routes, "v1/h/b", Some("b1")),
            row(4, Namespace::Routes, "v1/h/a", None),
            row(5, Namespace::Routes, "v1/h/b", Some("b2")),
        ]);
        let sent: Vec<(Namespace, Op, &str, i64, &[i64])> = plan
            .writes()
            .iter()
            .map(|w| (w.namespace, w.op(), w.key.as_str(), w.id, &w.row_ids[..]))
            .collect();
        assert_eq!(
            sent,
            vec![
                (Namespace::Content, Op::Put, "v1/c/x", 2, &[2][..]),
                (Namespace::Routes, Op::Delete, "v1/h/a", 4, &[1, 4][..]),
                (Namespace::Routes, Op::Put, "v1/h/b", 5, &[3, 5][..]),
            ]
        );
        let requests: Vec<usize> = plan.requests().iter().map(|r| r.len()).collect();
        assert_eq!(requests, vec![1, 1, 1]);
        assert_eq!(plan.writes()[2].value.as_deref(), Some("b2"));
    }

    #[test]
    fn a_parked_write_retried_never_overrides_a_newer_row() {
        let parked = Pending {
            in_outbox: false,
            ..row(3, Namespace::Routes, "v1/h/a", Some("old"))
        };
        let plan = Plan::new(vec![
            row(9, Namespace::Routes, "v1/h/a", Some("new")),
            parked.clone(),
        ]);
        assert_eq!(plan.writes()[0].value.as_deref(), Some("new"));
        assert_eq!(plan.writes()[0].row_ids, vec![9]);
        // Alone, it is sent, and settles no outbox row.
        let plan = Plan::new(vec![parked]);
        assert_eq!(plan.writes()[0].value.as_deref(), Some("old"));
        assert!(plan.writes()[0].row_ids.is_empty());
    }

    fn requests(plan: &Plan) -> Vec<Vec<(Op, &str)>> {
        plan.requests()
            .iter()
            .map(|r| r.iter().map(|w| (w.op(), w.key.as_str())).collect())
            .collect()
    }

    #[test]
    fn a_host_appears_after_its_paths_and_goes_before_them() {
        let plan = Plan::new(vec![
            row(1, Namespace::Routes, "v1/h/new.test", Some("site")),
            row(2, Namespace::Routes, "v1/p/new.test/a", Some("a")),
            row(3, Namespace::Routes, "v1/p/new.test/b", Some("b")),
            row(4, Namespace::Routes, "v1/p/old.test/a", None),
            row(5, Namespace::Routes, "v1/h/old.test", None),
            row(6, Namespace::Content, "v1/c/x", Some("x")),
            row(7, Namespace::Content, "v1/c/y", None),
        ]);
        assert_eq!(
            requests(&plan),
            vec![
                vec![(Op::Put, "v1/c/x")],
                vec![(Op::Delete, "v1/c/y")],
                vec![(Op::Delete, "v1/h/old.test")],
                vec![(Op::Delete, "v1/p/old.test/a")],
                vec![(Op::Put, "v1/p/new.test/a"), (Op::Put, "v1/p/new.test/b")],
                vec![(Op::Put, "v1/h/new.test")],
            ]
        );
        assert!(Plan::new(Vec::new()).requests().is_empty());
    }

    #[test]
    fn a_host_that_changed_owner_in_the_batch_is_deleted_before_any_new_path() {
        // Alice's site is unpublished, then bob's is published on the same
        // host, all while the publisher was away: alice's index must not be
        // served with bob's paths, nor alice's `/old` under bob's host.
        let plan = Plan::new(vec![
            row(1, Namespace::Routes, "v1/h/shop.test", None),
            row(2, Namespace::Routes, "v1/p/shop.test/old", None),
            row(3, Namespace::Routes, "v1/p/shop.test/offer", None),
            row(4, Namespace::Routes, "v1/p/shop.test/offer", Some("bob")),
            row(5, Namespace::Routes, "v1/h/shop.test", Some("bob")),
        ]);
        assert_eq!(
            requests(&plan),
            vec![
                vec![(Op::Delete, "v1/h/shop.test")],
                vec![(Op::Delete, "v1/p/shop.test/old")],
                vec![(Op::Put, "v1/p/shop.test/offer")],
                vec![(Op::Put, "v1/h/shop.test")],
            ]
        );
        let interim = &plan.requests()[0][0];
        assert!(interim.interim && interim.row_ids.is_empty(), "{interim:?}");
        let last = &plan.requests()[3][0];
        assert_eq!((last.interim, &last.row_ids[..]), (false, &[1, 5][..]));
        // Without a delete in the batch, no interim write.
        let plan = Plan::new(vec![row(9, Namespace::Routes, "v1/h/shop.test", Some("x"))]);
        assert_eq!(plan.writes().len(), 1);
    }
}
