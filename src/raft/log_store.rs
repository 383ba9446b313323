//! The Raft log on RocksDB: openraft's `RaftLogStorage` and `RaftLogReader` over the `logs` and `meta` column families.
//!
//! Appended entries and votes are fsynced (synced RocksDB write) before openraft is told they are
//! durable; the committed log id is written without sync since openraft can recover it.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, StorageIOError};
use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};
use serde::{Deserialize, Serialize};

use super::db::{self, RaftDb, CF_LOGS, CF_META};
use super::error::StoreError;
use super::types::{Entry, LogId, LogState, StorageError, TypeConfig, Vote};

const KEY_VOTE: &str = "vote";
const KEY_COMMITTED: &str = "committed";
const KEY_LAST_PURGED: &str = "last_purged";

/// The log id of a stored entry, read without decoding its payload.
#[derive(Deserialize)]
struct EntryLogId {
    log_id: LogId,
}

/// Log entries are read once per follower that needs them (large plans among them): they are read
/// around the block cache instead of pushing everything else out of it.
fn uncached() -> ReadOptions {
    let mut opts = ReadOptions::default();
    opts.fill_cache(false);
    opts
}

/// Handle on the Raft log; clones share the database (openraft uses clones as log readers).
#[derive(Clone)]
pub struct LogStore {
    db: Arc<RaftDb>,
}

impl LogStore {
    pub fn new(db: Arc<RaftDb>) -> Self {
        Self { db }
    }

    /// Entries whose index is in `range`, in log order.
    fn read_entries<RB: RangeBounds<u64>>(&self, range: RB) -> Result<Vec<Entry>, StoreError> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => match i.checked_add(1) {
                Some(i) => i,
                None => return Ok(Vec::new()),
            },
            Bound::Unbounded => 0,
        };
        let cf = db::cf(&self.db, CF_LOGS)?;
        let mut entries = Vec::new();
        for item in self.db.iterator_cf_opt(cf, uncached(), IteratorMode::From(&db::log_key(start), Direction::Forward)) {
            let (key, value) = item?;
            if !range.contains(&db::decode_log_key(&key)?) {
                break;
            }
            entries.push(db::decode("log entry", &value)?);
        }
        Ok(entries)
    }

    fn last_log_id(&self) -> Result<Option<LogId>, StoreError> {
        let cf = db::cf(&self.db, CF_LOGS)?;
        match self.db.iterator_cf_opt(cf, uncached(), IteratorMode::End).next() {
            Some(item) => {
                let (_, value) = item?;
                let entry: EntryLogId = db::decode("log entry", &value)?;
                Ok(Some(entry.log_id))
            }
            None => Ok(None),
        }
    }

    fn log_state(&self) -> Result<LogState, StoreError> {
        let last_purged_log_id: Option<LogId> = db::get_json(&self.db, CF_META, KEY_LAST_PURGED)?;
        let last_log_id = self.last_log_id()?.or(last_purged_log_id);
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn put_meta<T: Serialize>(&self, key: &str, value: &T, sync: bool) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(db::cf(&self.db, CF_META)?, key, db::encode(CF_META, value)?);
        db::write(self.db.clone(), batch, sync).await
    }

    fn append_batch<I: IntoIterator<Item = Entry>>(&self, entries: I) -> Result<WriteBatch, StoreError> {
        let cf = db::cf(&self.db, CF_LOGS)?;
        let mut batch = WriteBatch::default();
        for entry in entries {
            batch.put_cf(cf, db::log_key(entry.log_id.index), db::encode("log entry", &entry)?);
        }
        Ok(batch)
    }

    /// Deletes every entry from `index` on.
    fn truncate_batch(&self, index: u64) -> Result<WriteBatch, StoreError> {
        let cf = db::cf(&self.db, CF_LOGS)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, db::log_key(index), db::log_key(u64::MAX));
        batch.delete_cf(cf, db::log_key(u64::MAX));
        Ok(batch)
    }

    /// Records `log_id` as purged and deletes every entry up to and including it.
    fn purge_batch(&self, log_id: &LogId) -> Result<WriteBatch, StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(db::cf(&self.db, CF_META)?, KEY_LAST_PURGED, db::encode(CF_META, log_id)?);
        let logs = db::cf(&self.db, CF_LOGS)?;
        match log_id.index.checked_add(1) {
            Some(end) => batch.delete_range_cf(logs, db::log_key(0), db::log_key(end)),
            None => {
                batch.delete_range_cf(logs, db::log_key(0), db::log_key(u64::MAX));
                batch.delete_cf(logs, db::log_key(u64::MAX));
            }
        }
        Ok(batch)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        self.read_entries(range).map_err(|e| StorageIOError::read_logs(&e).into())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState, StorageError> {
        self.log_state().map_err(|e| StorageIOError::read_logs(&e).into())
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.put_meta(KEY_VOTE, vote, true).await.map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        db::get_json(&self.db, CF_META, KEY_VOTE).map_err(|e| StorageIOError::read_vote(&e).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.put_meta(KEY_COMMITTED, &committed, false).await.map_err(|e| StorageIOError::write(&e).into())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        let committed: Option<Option<LogId>> = db::get_json(&self.db, CF_META, KEY_COMMITTED).map_err(|e| StorageIOError::read(&e))?;
        Ok(committed.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let batch = self.append_batch(entries).map_err(|e| StorageIOError::write_logs(&e))?;
        // One synced write per append. Writing without sync and fsyncing the WAL from a separate
        // thread (group commit, replication overlapping the leader's fsync) measured slower for a
        // single writer on this disk, where the three servers' fsyncs then contend.
        db::write(self.db.clone(), batch, true).await.map_err(|e| StorageIOError::write_logs(&e))?;
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(%log_id, "truncating raft log");
        let batch = self.truncate_batch(log_id.index).map_err(|e| StorageIOError::write_logs(&e))?;
        db::write(self.db.clone(), batch, true).await.map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(%log_id, "purging raft log");
        let batch = self.purge_batch(&log_id).map_err(|e| StorageIOError::write_logs(&e))?;
        db::write(self.db.clone(), batch, false).await.map_err(|e| StorageIOError::write_logs(&e).into())
    }
}
