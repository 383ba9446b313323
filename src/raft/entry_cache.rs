//! The newest Raft log entries kept decoded, so that replication and apply, which read an entry
//! back within milliseconds of its append, clone it instead of decoding it from RocksDB again.
//!
//! A plan's entry carries every allocation it places; decoding it from JSON is the largest part of
//! applying it. A leader reads each appended entry once per follower and once to apply it, a
//! follower once to apply it. The cache holds a contiguous run of the newest entries, bounded by
//! their encoded size; a read it does not cover entirely goes to the database. It follows every
//! change of the log: appends extend it (an append that does not continue it replaces it),
//! truncation and purges cut it.

use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};

use super::types::Entry;

/// Encoded bytes of entries the cache keeps at most (a few large plans).
pub const DEFAULT_MAX_BYTES: usize = 8 << 20;

#[derive(Debug)]
pub struct EntryCache {
    /// Consecutive entries, oldest first, each with its encoded size.
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
    max_bytes: usize,
}

impl EntryCache {
    pub fn new(max_bytes: usize) -> Self {
        Self { entries: VecDeque::new(), bytes: 0, max_bytes }
    }

    fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index)
    }

    /// Index after the newest cached entry.
    fn end_index(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.log_id.index + 1)
    }

    /// Adds an appended entry: it follows the cached ones, or replaces what it overlaps, or (a gap)
    /// starts the cache anew. The oldest entries go while the cache is over its size.
    pub fn push(&mut self, entry: Entry, encoded_len: usize) {
        let index = entry.log_id.index;
        match (self.first_index(), self.end_index()) {
            (Some(_), Some(end)) if index == end => {}
            (Some(first), Some(end)) if index >= first && index < end => self.truncate(index),
            _ => self.clear(),
        }
        if encoded_len > self.max_bytes {
            self.clear();
            return;
        }
        self.bytes += encoded_len;
        self.entries.push_back((entry, encoded_len));
        while self.bytes > self.max_bytes {
            match self.entries.pop_front() {
                Some((_, len)) => self.bytes -= len,
                None => break,
            }
        }
    }

    /// Copies of the entries in `range` when the cache holds every one of them; `None` otherwise.
    pub fn get<RB: RangeBounds<u64>>(&self, range: &RB) -> Option<Vec<Entry>> {
        let (first, end) = (self.first_index()?, self.end_index()?);
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.checked_add(1)?,
            Bound::Unbounded => return None,
        };
        let stop = match range.end_bound() {
            Bound::Included(i) => i.checked_add(1)?,
            Bound::Excluded(i) => *i,
            Bound::Unbounded => return None,
        };
        if stop <= start {
            return Some(Vec::new());
        }
        if start < first || stop > end {
            return None;
        }
        let (from, to) = ((start - first) as usize, (stop - first) as usize);
        Some(self.entries.range(from..to).map(|(e, _)| e.clone()).collect())
    }

    /// Drops every entry from `index` on (the log was truncated there).
    pub fn truncate(&mut self, index: u64) {
        while self.entries.back().is_some_and(|(e, _)| e.log_id.index >= index) {
            if let Some((_, len)) = self.entries.pop_back() {
                self.bytes -= len;
            }
        }
    }

    /// Drops every entry up to and including `index` (the log was purged up to it).
    pub fn purge(&mut self, index: u64) {
        while self.entries.front().is_some_and(|(e, _)| e.log_id.index <= index) {
            if let Some((_, len)) = self.entries.pop_front() {
                self.bytes -= len;
            }
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::LogId;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(term: u64, index: u64) -> Entry {
        Entry { log_id: LogId::new(CommittedLeaderId::new(term, 1), index), payload: EntryPayload::Blank }
    }

    fn indexes(entries: Option<Vec<Entry>>) -> Option<Vec<(u64, u64)>> {
        entries.map(|es| es.iter().map(|e| (e.log_id.leader_id.term, e.log_id.index)).collect())
    }

    #[test]
    fn serves_only_ranges_it_holds_entirely() {
        let mut c = EntryCache::new(100);
        for i in 5..10 {
            c.push(entry(1, i), 10);
        }
        assert_eq!(indexes(c.get(&(6..9))), Some(vec![(1, 6), (1, 7), (1, 8)]));
        assert_eq!(indexes(c.get(&(5..=9))).map(|v| v.len()), Some(5));
        assert_eq!(c.get(&(4..7)), None, "starts before the cache");
        assert_eq!(c.get(&(8..11)), None, "ends after the cache");
        assert_eq!(c.get(&(5..)), None, "unbounded");
        assert_eq!(indexes(c.get(&(7..7))), Some(vec![]));
    }

    #[test]
    fn keeps_the_newest_entries_within_its_size() {
        let mut c = EntryCache::new(30);
        for i in 1..=5 {
            c.push(entry(1, i), 10);
        }
        assert_eq!(c.get(&(2..4)), None);
        assert_eq!(indexes(c.get(&(3..6))).map(|v| v.len()), Some(3));
        c.push(entry(1, 6), 31);
        assert_eq!(c.get(&(6..7)), None, "an entry larger than the cache is not kept");
        assert_eq!(c.bytes, 0);
    }

    #[test]
    fn follows_truncation_purge_overwrite_and_gaps() {
        let mut c = EntryCache::new(1000);
        for i in 1..=6 {
            c.push(entry(1, i), 10);
        }
        // A new leader's entry at 4 replaces 4.. (openraft truncates first; the cache does not rely on it).
        c.push(entry(2, 4), 10);
        assert_eq!(indexes(c.get(&(3..5))), Some(vec![(1, 3), (2, 4)]));
        assert_eq!(c.get(&(5..6)), None);
        c.truncate(3);
        assert_eq!(c.get(&(3..4)), None);
        assert_eq!(indexes(c.get(&(1..3))).map(|v| v.len()), Some(2));
        c.purge(1);
        assert_eq!(c.get(&(1..3)), None);
        assert_eq!(indexes(c.get(&(2..3))), Some(vec![(1, 2)]));
        // A gap (a snapshot was installed, the log continues after it) restarts the cache.
        c.push(entry(3, 50), 10);
        assert_eq!(c.get(&(2..3)), None);
        assert_eq!(indexes(c.get(&(50..51))), Some(vec![(3, 50)]));
        assert_eq!(c.bytes, 10);
    }
}
