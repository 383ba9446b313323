//! What changed in the allocation table lately, for those who follow it: per node, the index of
//! the servers' last change to its allocations (what its client's watch waits on), and a bounded
//! log of the allocations changed at recent indexes (what the event stream derives from).
//!
//! Without them every change to any allocation woke every client's watch, which rebuilt its whole
//! list, and the event stream scanned every allocation after every applied batch — both grew with
//! the size of the cluster, not with the change (the C1M benchmark's leader). Derived and local:
//! not serialized, not compared; rebuilt empty, from the restored index on, when a snapshot is
//! restored.

use std::collections::{HashMap, VecDeque};

use crate::core::text::Text;

/// Entries the log keeps; older ones are dropped, and a reader that needs them scans the table.
const LOG_CAP: usize = 65_536;

#[derive(Default)]
pub struct AllocChanges {
    /// Node id → index of the servers' last change to an allocation on it (a placement, an update,
    /// a stop, a migration mark, a collection). A client's own reports do not move it.
    by_node: HashMap<Text, u64>,
    /// Node id → index of the last removal (collection) of an allocation on it.
    removed: HashMap<Text, u64>,
    /// The index for nodes not in `by_node`: the index the state was restored at (a change before
    /// it is unknown), or 0.
    floor: u64,
    /// Allocation ids changed, by the servers or their clients.
    log: ChangeLog,
    /// Node ids of the servers' changes, for waking the nodes' watches.
    node_log: ChangeLog,
}

/// (index, id) in index order, the oldest dropped beyond `LOG_CAP`.
#[derive(Default)]
struct ChangeLog {
    entries: VecDeque<(u64, Text)>,
    /// Entries at indexes up to this one may have been dropped.
    dropped_through: u64,
}

impl ChangeLog {
    fn push(&mut self, index: u64, id: &Text) {
        // The same id many times in a row at one index (a plan's allocations on one node): once.
        if self.entries.back().is_some_and(|(i, last)| *i == index && last == id) {
            return;
        }
        if self.entries.len() == LOG_CAP {
            if let Some((i, _)) = self.entries.pop_front() {
                self.dropped_through = self.dropped_through.max(i);
            }
        }
        self.entries.push_back((index, id.clone()));
    }

    /// The ids logged after `after`, each once, or `None` when the log no longer reaches back that far.
    fn since(&self, after: u64) -> Option<Vec<Text>> {
        if after < self.dropped_through {
            return None;
        }
        let mut ids: Vec<Text> = self.entries.iter().rev().take_while(|(i, _)| *i > after).map(|(_, id)| id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        Some(ids)
    }

    /// Empty, answering from `index` on.
    fn reset(&mut self, index: u64) {
        self.entries.clear();
        self.dropped_through = index;
    }

    /// An empty log that answers nothing (a copy of the state: readers scan instead).
    fn detached() -> Self {
        Self { entries: VecDeque::new(), dropped_through: u64::MAX }
    }
}

impl AllocChanges {
    /// The servers changed an allocation on `node` at `index`.
    pub fn node_changed(&mut self, node: &Text, index: u64) {
        self.node_log.push(index, node);
        match self.by_node.get_mut(node.as_str()) {
            Some(i) => *i = index,
            None => {
                self.by_node.insert(node.clone(), index);
            }
        }
    }

    /// An allocation on `node` was removed from the state at `index`.
    pub fn alloc_removed(&mut self, node: &Text, index: u64) {
        self.node_changed(node, index);
        self.removed.insert(node.clone(), index);
    }

    /// `node` left the state (collected).
    pub fn node_removed(&mut self, node: &str) {
        self.by_node.remove(node);
        self.removed.remove(node);
    }

    /// Allocation `id` changed at `index` (by the servers or its client).
    pub fn changed(&mut self, id: &Text, index: u64) {
        self.log.push(index, id);
    }

    /// The index of the servers' last change to an allocation on `node`.
    pub fn node_index(&self, node: &str) -> u64 {
        self.by_node.get(node).copied().unwrap_or(self.floor)
    }

    /// The index of the last removal of an allocation on `node`.
    pub fn node_removal_index(&self, node: &str) -> u64 {
        self.removed.get(node).copied().unwrap_or(self.floor)
    }

    /// The allocations changed after `after`, each once, or `None` when the log no longer reaches
    /// back that far (the reader scans the table instead).
    pub fn since(&self, after: u64) -> Option<Vec<Text>> {
        self.log.since(after)
    }

    /// The nodes whose allocations the servers changed after `after`, each once, or `None` when the
    /// log no longer reaches back that far (every node's watch is to be woken).
    pub fn nodes_since(&self, after: u64) -> Option<Vec<Text>> {
        self.node_log.since(after)
    }

    /// Starts over from a restored state at `index`.
    pub fn restored(&mut self, index: u64) {
        self.by_node.clear();
        self.removed.clear();
        self.floor = index;
        self.log.reset(index);
        self.node_log.reset(index);
    }
}

impl Clone for AllocChanges {
    /// A copy keeps the per-node indexes; its log starts empty and sends readers to the table.
    fn clone(&self) -> Self {
        Self {
            by_node: self.by_node.clone(),
            removed: self.removed.clone(),
            floor: self.floor,
            log: ChangeLog::detached(),
            node_log: ChangeLog::detached(),
        }
    }
}

impl PartialEq for AllocChanges {
    /// Derived data: two states are equal whatever each has recorded.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for AllocChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AllocChanges")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_answers_only_as_far_back_as_it_reaches() {
        let mut c = AllocChanges::default();
        let a = Text::from("a");
        let b = Text::from("b");
        c.changed(&a, 5);
        c.changed(&b, 6);
        c.changed(&a, 7);
        assert_eq!(c.since(4), Some(vec![a.clone(), b.clone()]));
        assert_eq!(c.since(6), Some(vec![a.clone()]));
        assert_eq!(c.since(7), Some(vec![]));
        for i in 0..LOG_CAP as u64 {
            c.changed(&b, 8 + i);
        }
        assert_eq!(c.since(6), None, "entries at 5..=7 were dropped");
        assert_eq!(c.since(7), Some(vec![b.clone()]));
        assert_eq!(c.clone().since(100_000), None, "a copy's log is empty");
        c.restored(50);
        assert_eq!(c.since(49), None);
        assert_eq!(c.since(50), Some(vec![]));
    }

    #[test]
    fn nodes_without_a_recorded_change_answer_the_floor() {
        let mut c = AllocChanges::default();
        let n = Text::from("node-1");
        assert_eq!(c.node_index("node-1"), 0);
        c.node_changed(&n, 9);
        assert_eq!((c.node_index("node-1"), c.node_removal_index("node-1")), (9, 0));
        c.alloc_removed(&n, 12);
        assert_eq!((c.node_index("node-1"), c.node_removal_index("node-1")), (12, 12));
        c.node_changed(&Text::from("node-2"), 13);
        c.node_changed(&n, 13);
        c.node_changed(&n, 13);
        assert_eq!(c.nodes_since(8), Some(vec![n.clone(), Text::from("node-2")]));
        assert_eq!(c.nodes_since(12), Some(vec![n.clone(), Text::from("node-2")]));
        assert_eq!(c.nodes_since(13), Some(vec![]));
        assert_eq!(c.clone().nodes_since(13), None, "a copy's log is empty");
        c.restored(20);
        assert_eq!((c.node_index("node-1"), c.node_removal_index("node-1")), (20, 20));
        assert_eq!(c.node_index("node-2"), 20);
    }
}
