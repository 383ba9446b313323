//! State machine snapshots: what their bytes hold and their durable copy (a file named by the meta
//! in the `snapshot` column family).
//!
//! A snapshot's bytes are serde_json of [`SnapshotPayload`]: the whole [`ClusterState`] plus the last
//! applied log id and membership. Only the latest snapshot is kept; its file is durable before the
//! meta naming it is written, so a restart finds either the old or the new snapshot, whole.

use std::io::{BufWriter, ErrorKind, Write};
use std::path::PathBuf;
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
    /// Writes the payload's bytes to `out` as they are encoded.
    pub fn encode_to(&self, out: &mut dyn Write) -> Result<(), StoreError> {
        serde_json::to_writer(out, self).map_err(|source| StoreError::Encode { what: "snapshot", source })
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

/// The latest snapshot on disk: its meta in the `snapshot` column family, its bytes in a file of
/// their own, `raft-snapshots/<snapshot id>.json` beside the database. Clones share the database
/// and serialize their writes.
///
/// The bytes are streamed to the file as they are encoded: a 1 GB state (a million allocations) is
/// never held encoded in memory, nor copied through a memtable and compressed into a table file, as
/// it was when the bytes were one RocksDB value (a C1M server peaked at ~4 GiB while snapshotting).
/// Data directories from before keep their bytes in the column family; they are read from there
/// until the next snapshot replaces them.
#[derive(Clone)]
pub struct SnapshotStore {
    db: Arc<RaftDb>,
    dir: PathBuf,
    write_lock: Arc<Mutex<()>>,
}

impl SnapshotStore {
    pub fn new(db: Arc<RaftDb>) -> Self {
        let dir = db.path().with_file_name("raft-snapshots");
        Self { db, dir, write_lock: Arc::new(Mutex::new(())) }
    }

    fn file(&self, snapshot_id: &str) -> PathBuf {
        self.dir.join(format!("{snapshot_id}.json"))
    }

    fn stored_meta(&self) -> Result<Option<SnapshotMeta>, StoreError> {
        db::get_json(&self.db, CF_SNAPSHOT, KEY_META)
    }

    /// The latest snapshot's meta and bytes, if one was ever saved.
    pub fn load(&self) -> Result<Option<(SnapshotMeta, Vec<u8>)>, StoreError> {
        let Some(mut meta) = self.stored_meta()? else { return Ok(None) };
        loop {
            let path = self.file(&meta.snapshot_id);
            match std::fs::read(&path) {
                Ok(data) => return Ok(Some((meta, data))),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::SnapshotFile { path, source }),
            }
            // A newer snapshot may have replaced this one (and removed its file) since its meta
            // was read: read the newer one.
            match self.stored_meta()? {
                Some(now) if now.snapshot_id != meta.snapshot_id => meta = now,
                _ => break,
            }
        }
        // A snapshot saved before snapshot files: its bytes are in the column family. Read around
        // RocksDB's block cache: the value is one block as large as the state, and a cached copy
        // would stay resident beside the decoded state.
        let mut opts = ReadOptions::default();
        opts.fill_cache(false);
        match self.db.get_cf_opt(db::cf(&self.db, CF_SNAPSHOT)?, KEY_DATA, &opts)? {
            Some(data) => Ok(Some((meta, data))),
            None => Err(StoreError::MissingSnapshotData(meta.snapshot_id)),
        }
    }

    /// Durably replaces the stored snapshot with `data`; see [`SnapshotStore::save_with`].
    pub fn save(&self, meta: &SnapshotMeta, data: &[u8]) -> Result<bool, StoreError> {
        self.save_with(meta, |w| {
            w.write_all(data).map_err(|source| StoreError::SnapshotFile { path: self.file(&meta.snapshot_id), source })
        })
    }

    /// Durably replaces the stored snapshot with the bytes `write` writes, unless the stored one
    /// covers more of the log (a snapshot installed from the leader while this one was being
    /// built). Blocking: writes and fsyncs the file. Returns whether the snapshot was saved.
    ///
    /// The file is written under a temporary name, fsynced, renamed into place and its directory
    /// fsynced before the meta naming it is written (synced); only then are older files removed.
    /// A crash at any point leaves the previous snapshot whole and named by the meta.
    pub fn save_with(&self, meta: &SnapshotMeta, write: impl FnOnce(&mut dyn Write) -> Result<(), StoreError>) -> Result<bool, StoreError> {
        let _guard = self.write_lock.lock().map_err(|_| StoreError::Poisoned("snapshot store"))?;
        if let Some(current) = self.stored_meta()? {
            if current.last_log_id > meta.last_log_id {
                tracing::info!(
                    stored = %current.snapshot_id,
                    skipped = %meta.snapshot_id,
                    "not replacing a newer stored snapshot"
                );
                return Ok(false);
            }
        }
        let path = self.file(&meta.snapshot_id);
        let io = |source| StoreError::SnapshotFile { path: path.clone(), source };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let tmp = path.with_extension("json.tmp");
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(io)?;
        std::fs::File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io)?;

        let cf = db::cf(&self.db, CF_SNAPSHOT)?;
        let mut batch = WriteBatch::default();
        batch.put_cf(cf, KEY_META, db::encode("snapshot meta", meta)?);
        // The bytes of a snapshot saved before snapshot files, if any: replaced by the file.
        batch.delete_cf(cf, KEY_DATA);
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts)?;
        self.remove_others(&meta.snapshot_id);
        Ok(true)
    }

    /// Removes the snapshot files the stored meta does not name (older snapshots, and files left
    /// half-written by a crash). Call at start, before any snapshot is being saved.
    pub fn remove_stale(&self) -> Result<(), StoreError> {
        let _guard = self.write_lock.lock().map_err(|_| StoreError::Poisoned("snapshot store"))?;
        let keep = self.stored_meta()?.map(|m| m.snapshot_id).unwrap_or_default();
        self.remove_others(&keep);
        Ok(())
    }

    /// Best effort: a file that cannot be removed now is removed at the next save or start.
    fn remove_others(&self, keep: &str) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        let keep = format!("{keep}.json");
        for entry in entries.flatten() {
            if entry.file_name().to_str() != Some(keep.as_str()) {
                if let Err(e) = std::fs::remove_file(entry.path()) {
                    tracing::warn!(path = %entry.path().display(), error = %e, "removing an old snapshot file");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::{LogId, StoredMembership};

    fn meta(index: u64) -> SnapshotMeta {
        SnapshotMeta {
            snapshot_id: snapshot_id(Some(&LogId::new(openraft::CommittedLeaderId::new(1, 1), index))),
            last_log_id: Some(LogId::new(openraft::CommittedLeaderId::new(1, 1), index)),
            last_membership: StoredMembership::default(),
        }
    }

    /// A directory removed when dropped.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn store() -> (Scratch, SnapshotStore) {
        let dir = Scratch(std::env::temp_dir().join(format!("drover-snapshot-test-{}", uuid::Uuid::new_v4())));
        let db = db::open(&dir.0.join("raft")).unwrap();
        (dir, SnapshotStore::new(db))
    }

    fn files(dir: &Scratch) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.0.join("raft-snapshots"))
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn a_saved_snapshot_is_one_file_named_by_its_meta() {
        let (dir, store) = store();
        assert!(store.load().unwrap().is_none());
        let first = meta(10);
        assert!(store.save(&first, b"first").unwrap());
        let (loaded, data) = store.load().unwrap().unwrap();
        assert_eq!((loaded.snapshot_id.as_str(), data.as_slice()), (first.snapshot_id.as_str(), &b"first"[..]));
        assert_eq!(files(&dir), vec![format!("{}.json", first.snapshot_id)]);

        let second = meta(20);
        assert!(store.save_with(&second, |w| w.write_all(b"second").map_err(|e| StoreError::Task(e.to_string()))).unwrap());
        let (loaded, data) = store.load().unwrap().unwrap();
        assert_eq!((loaded.snapshot_id.as_str(), data.as_slice()), (second.snapshot_id.as_str(), &b"second"[..]));
        assert_eq!(files(&dir), vec![format!("{}.json", second.snapshot_id)], "the older file is removed");

        // An older snapshot (built while a newer one was installed) does not replace it.
        assert!(!store.save(&meta(15), b"older").unwrap());
        assert_eq!(store.load().unwrap().unwrap().1, b"second");
        assert_eq!(files(&dir).len(), 1);
    }

    #[test]
    fn a_failed_write_leaves_the_previous_snapshot() {
        let (dir, store) = store();
        let first = meta(10);
        store.save(&first, b"first").unwrap();
        let failed = store.save_with(&meta(20), |w| {
            w.write_all(b"half").unwrap();
            Err(StoreError::Task("encoding failed".into()))
        });
        assert!(failed.is_err());
        assert_eq!(store.load().unwrap().unwrap().1, b"first");
        // The half-written file is removed at the next start.
        assert_eq!(files(&dir).len(), 2);
        store.remove_stale().unwrap();
        assert_eq!(files(&dir), vec![format!("{}.json", first.snapshot_id)]);
    }

    #[test]
    fn a_snapshot_stored_in_the_column_family_is_read_until_replaced() {
        let (dir, store) = store();
        // As snapshots were stored before snapshot files: meta and bytes in the column family.
        let old = meta(10);
        let cf = db::cf(&store.db, CF_SNAPSHOT).unwrap();
        let mut batch = WriteBatch::default();
        batch.put_cf(cf, KEY_META, db::encode("snapshot meta", &old).unwrap());
        batch.put_cf(cf, KEY_DATA, b"in the column family");
        store.db.write(batch).unwrap();
        store.remove_stale().unwrap();
        assert_eq!(store.load().unwrap().unwrap().1, b"in the column family");

        store.save(&meta(20), b"in a file").unwrap();
        assert_eq!(store.load().unwrap().unwrap().1, b"in a file");
        assert!(store.db.get_cf(cf, KEY_DATA).unwrap().is_none(), "the old bytes are deleted");
        assert_eq!(files(&dir).len(), 1);
    }
}
