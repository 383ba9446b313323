//! The Raft log on RocksDB: openraft's `RaftLogStorage` and `RaftLogReader` over the `logs` and `meta` column families.
//!
//! Appended entries and votes are fsynced (synced RocksDB write) before openraft is told they are
//! durable; the committed log id is written later, without sync and without openraft waiting, since
//! it is only a hint for a restart. The newest entries are also kept decoded ([`EntryCache`]) for the
//! reads that follow an append.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, StorageIOError};
use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};
use serde::{Deserialize, Serialize};

use super::db::{self, RaftDb, CF_LOGS, CF_META};
use super::entry_cache::{EntryCache, DEFAULT_MAX_BYTES};
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

/// A write of `value` under `key` in the `meta` column family.
fn meta_batch<T: Serialize>(db: &RaftDb, key: &str, value: &T) -> Result<WriteBatch, StoreError> {
    let mut batch = WriteBatch::default();
    batch.put_cf(db::cf(db, CF_META)?, key, db::encode(CF_META, value)?);
    Ok(batch)
}

/// Handle on the Raft log; clones share the database and the cache of the newest entries (openraft
/// uses clones as log readers).
#[derive(Clone)]
pub struct LogStore {
    db: Arc<RaftDb>,
    cache: Arc<Mutex<EntryCache>>,
    committed: Arc<Mutex<CommittedWrites>>,
}

/// The newest committed log id saved by this process, and its writing to the database.
#[derive(Default)]
struct CommittedWrites {
    /// What `read_committed` answers once anything was saved (written or still to be).
    latest: Option<Option<LogId>>,
    /// Bumped by every save; the writer stops when what it wrote is still the newest.
    saves: u64,
    writing: bool,
}

impl LogStore {
    pub fn new(db: Arc<RaftDb>) -> Self {
        Self {
            db,
            cache: Arc::new(Mutex::new(EntryCache::new(DEFAULT_MAX_BYTES))),
            committed: Arc::new(Mutex::new(CommittedWrites::default())),
        }
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

    async fn put_meta_synced<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        db::write(self.db.clone(), meta_batch(&self.db, key, value)?, true).await
    }

    /// The write of `entries`, and the entries with their encoded sizes for the cache.
    fn append_batch<I: IntoIterator<Item = Entry>>(&self, entries: I) -> Result<(WriteBatch, Vec<(Entry, usize)>), StoreError> {
        let cf = db::cf(&self.db, CF_LOGS)?;
        let mut batch = WriteBatch::default();
        let mut appended = Vec::new();
        for entry in entries {
            let bytes = db::encode("log entry", &entry)?;
            batch.put_cf(cf, db::log_key(entry.log_id.index), &bytes);
            appended.push((entry, bytes.len()));
        }
        Ok((batch, appended))
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

    fn cache(&self) -> MutexGuard<'_, EntryCache> {
        // Each of the cache's methods leaves it consistent before anything in it can panic.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the committed log id without making openraft wait: openraft saves it just before
    /// every apply, and it is only a hint for a restart (which applies up to it at once; a value
    /// older than the truth merely leaves the rest to be committed again). One writer at a time
    /// writes the newest id (never an older one after a newer), on a blocking thread.
    fn save_committed_later(&self, committed: Option<LogId>) {
        let mut state = self.committed.lock().unwrap_or_else(|e| e.into_inner());
        state.latest = Some(committed);
        state.saves += 1;
        if state.writing {
            return;
        }
        state.writing = true;
        drop(state);
        let (db, writes) = (self.db.clone(), self.committed.clone());
        tokio::task::spawn_blocking(move || loop {
            let (value, saves) = {
                let state = writes.lock().unwrap_or_else(|e| e.into_inner());
                (state.latest.flatten(), state.saves)
            };
            let written = meta_batch(&db, KEY_COMMITTED, &value)
                .and_then(|batch| db.write_opt(batch, &rocksdb::WriteOptions::default()).map_err(StoreError::from));
            if let Err(e) = written {
                tracing::warn!(error = %e, "saving the committed log id");
            }
            let mut state = writes.lock().unwrap_or_else(|e| e.into_inner());
            if state.saves == saves {
                state.writing = false;
                return;
            }
        });
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        if let Some(entries) = self.cache().get(&range) {
            return Ok(entries);
        }
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
        self.put_meta_synced(KEY_VOTE, vote).await.map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        db::get_json(&self.db, CF_META, KEY_VOTE).map_err(|e| StorageIOError::read_vote(&e).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.save_committed_later(committed);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        if let Some(latest) = self.committed.lock().unwrap_or_else(|e| e.into_inner()).latest {
            return Ok(latest);
        }
        let committed: Option<Option<LogId>> = db::get_json(&self.db, CF_META, KEY_COMMITTED).map_err(|e| StorageIOError::read(&e))?;
        Ok(committed.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let (batch, appended) = self.append_batch(entries).map_err(|e| StorageIOError::write_logs(&e))?;
        // One synced write per append. Writing without sync and fsyncing the WAL from a separate
        // thread (group commit, replication overlapping the leader's fsync) measured slower for a
        // single writer on this disk, where the three servers' fsyncs then contend.
        db::write(self.db.clone(), batch, true).await.map_err(|e| StorageIOError::write_logs(&e))?;
        // Cached once stored: a read never finds in the cache what the database does not hold.
        let mut cache = self.cache();
        for (entry, len) in appended {
            cache.push(entry, len);
        }
        drop(cache);
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(%log_id, "truncating raft log");
        let batch = self.truncate_batch(log_id.index).map_err(|e| StorageIOError::write_logs(&e))?;
        // Cut before the write: the entries are gone from the cache even if the write fails.
        self.cache().truncate(log_id.index);
        db::write(self.db.clone(), batch, true).await.map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(%log_id, "purging raft log");
        let batch = self.purge_batch(&log_id).map_err(|e| StorageIOError::write_logs(&e))?;
        self.cache().purge(log_id.index);
        db::write(self.db.clone(), batch, false).await.map_err(|e| StorageIOError::write_logs(&e).into())
    }
}
