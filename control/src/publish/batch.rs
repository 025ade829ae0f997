//! A batch planned without I/O: how many of the oldest rows it takes (count
//! and bytes), the last write of each key, and the bulk requests that carry
//! them, content before the routing records that may name it.

use std::collections::BTreeMap;

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
    /// The last write of each key wins (by id); content goes first, and
    /// within a namespace puts, then deletes.
    pub fn new(mut pending: Vec<Pending>) -> Plan {
        pending.sort_by_key(|p| p.id);
        let mut last: BTreeMap<(Namespace, String), Write> = BTreeMap::new();
        for p in pending {
            let entry = last
                .entry((p.namespace, p.key.clone()))
                .or_insert_with(|| Write {
                    namespace: p.namespace,
                    key: p.key,
                    value: None,
                    id: p.id,
                    row_ids: Vec::new(),
                });
            entry.value = p.value;
            entry.id = p.id;
            if p.in_outbox {
                entry.row_ids.push(p.id);
            }
        }
        let mut writes: Vec<Write> = last.into_values().collect();
        let rank = |w: &Write| {
            let namespace = match w.namespace {
                Namespace::Content => 0,
                Namespace::Routes => 1,
            };
            (namespace, w.op())
        };
        // Stable: keys stay sorted within a request.
        writes.sort_by_key(rank);
        Plan { writes }
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// One bulk request per namespace and op, in sending order.
    pub fn requests(&self) -> Vec<&[Write]> {
        let mut requests = Vec::new();
        let mut start = 0;
        for i in 1..=self.writes.len() {
            let boundary = i == self.writes.len()
                || (self.writes[i].namespace, self.writes[i].op())
                    != (self.writes[start].namespace, self.writes[start].op());
            if boundary {
                requests.push(&self.writes[start..i]);
                start = i;
            }
        }
        requests
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
                (Namespace::Routes, Op::Put, "v1/h/b", 5, &[3, 5][..]),
                (Namespace::Routes, Op::Delete, "v1/h/a", 4, &[1, 4][..]),
            ]
        );
        let requests: Vec<usize> = plan.requests().iter().map(|r| r.len()).collect();
        assert_eq!(requests, vec![1, 1, 1]);
        assert_eq!(plan.writes()[1].value.as_deref(), Some("b2"));
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

    #[test]
    fn requests_group_by_namespace_and_op() {
        let plan = Plan::new(vec![
            row(1, Namespace::Routes, "r1", Some("v")),
            row(2, Namespace::Routes, "r2", Some("v")),
            row(3, Namespace::Routes, "r3", None),
            row(4, Namespace::Content, "c1", Some("v")),
        ]);
        let requests: Vec<Vec<&str>> = plan
            .requests()
            .iter()
            .map(|r| r.iter().map(|w| w.key.as_str()).collect())
            .collect();
        assert_eq!(requests, vec![vec!["c1"], vec!["r1", "r2"], vec!["r3"]]);
        assert!(Plan::new(Vec::new()).requests().is_empty());
    }
}
