//! State machine snapshots: what their bytes hold and their durable copy in the `snapshot` column family.
//!
//! A snapshot's bytes are serde_json of [`SnapshotPayload`]: the whole [`ClusterState`] plus the last
//! applied log id and membership. Only the latest snapshot is kept; its meta and bytes are written
//! together in one synced batch, so a restart finds either the old or the new snapshot, whole.

use std::sync::{Arc, Mutex};

use rocksdb::{ReadOptions, WriteBatch, WriteOptions};
use serde::{Deserialize, Serialize};

use super::db::{self, RaftDb, CF_SNAPSHOT};
use super::error::StoreError;
use super::types::{LogId, SnapshotMeta, StoredMembership};
use crate::core::state::ClusterState;

const KEY_META: &str = "meta";
const KEY_DATA: &str = "data";

/// The content of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotPayload {
    pub last_applied: Option<LogId>,
    pub last_membership: StoredMembership,
    pub state: ClusterState,
}

impl SnapshotPayload {
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        db::encode("snapshot", self)
    }

    /// Decodes snapshot bytes and rebuilds the state's secondary indexes.
    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let mut payload: SnapshotPayload = db::decode("snapshot", bytes)?;
        payload.state.after_restore();
        Ok(payload)
    }
}

/// A unique id for a snapshot taken at `last_applied`.
pub fn snapshot_id(last_applied: Option<&LogId>) -> String {
    let index = last_applied.map_or(0, |l| l.index);
    format!("{index}-{}", uuid::Uuid::new_v4().simple())
}

/// The latest snapshot on disk. Clones share the database and serialize their writes.
#[derive(Clone)]
pub struct SnapshotStore {
    db: Arc<RaftDb>,
    write_lock: Arc<Mutex<()>>,
}

impl SnapshotStore {
    pub fn new(db: Arc<RaftDb>) -> Self {
        Self { db, write_lock: Arc::new(Mutex::new(())) }
    }

    /// The latest snapshot's meta and bytes, if one was ever saved.
    pub fn load(&self) -> Result<Option<(SnapshotMeta, Vec<u8>)>, StoreError> {
        let meta: Option<SnapshotMeta> = db::get_json(&self.db, CF_SNAPSHOT, KEY_META)?;
        let Some(meta) = meta else { return Ok(None) };
        // Read around RocksDB's block cache: the snapshot is one block as large as the state, and a
        // cached copy would stay resident beside the decoded state.
        let mut opts = ReadOptions::default();
        opts.fill_cache(false);
        match self.db.get_cf_opt(db::cf(&self.db, CF_SNAPSHOT)?, KEY_DATA, &opts)? {
            Some(data) => Ok(Some((meta, data))),
            None => Err(StoreError::MissingSnapshotData(meta.snapshot_id)),
        }
    }

    /// Durably replaces the stored snapshot, unless the stored one covers more of the log
    /// (a snapshot installed from the leader while this one was being built). Blocking: fsyncs.
    /// Returns whether the snapshot was saved.
    pub fn save(&self, meta: &SnapshotMeta, data: &[u8]) -> Result<bool, StoreError> {
        let _guard = self.write_lock.lock().map_err(|_| StoreError::Poisoned("snapshot store"))?;
        let current: Option<SnapshotMeta> = db::get_json(&self.db, CF_SNAPSHOT, KEY_META)?;
        if let Some(current) = current {
            if current.last_log_id > meta.last_log_id {
                tracing::info!(
                    stored = %current.snapshot_id,
                    skipped = %meta.snapshot_id,
                    "not replacing a newer stored snapshot"
                );
                return Ok(false);
            }
        }
        let cf = db::cf(&self.db, CF_SNAPSHOT)?;
        let mut batch = WriteBatch::default();
        batch.put_cf(cf, KEY_META, db::encode("snapshot meta", meta)?);
        batch.put_cf(cf, KEY_DATA, data);
        // Not through the write-ahead log, which the Raft log's synced appends share: a synced
        // write of a few hundred MB held every append behind it for seconds, long enough for the
        // followers to time out and elect another leader (C1M at ~500k allocations). The meta and
        // the data go into the memtable together and are made durable together by the flush below
        // (a crash before it leaves the previous snapshot as it was).
        let mut opts = WriteOptions::default();
        opts.disable_wal(true);
        self.db.write_opt(batch, &opts)?;
        // A snapshot is one large value: write it out to a table file now rather than keep it in
        // the memtable (memory); the flush waits until the table file is written.
        self.db.flush_cf(cf)?;
        Ok(true)
    }
}
