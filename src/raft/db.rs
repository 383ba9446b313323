//! The one RocksDB database under `data_dir/raft`: its column families, key encoding and write helpers.
//!
//! - `logs`: Raft log entries as serde_json, keyed by the big-endian log index, so byte order is log order;
//! - `meta`: the vote, the committed log id and the last purged log id, as serde_json;
//! - `snapshot`: the latest state machine snapshot's meta (its bytes are a file, `raft::snapshot`;
//!   data directories from before such files hold the bytes here too).

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use rocksdb::{BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Options, WriteBatch, WriteOptions, DB};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

use super::error::StoreError;

pub const CF_LOGS: &str = "logs";
pub const CF_META: &str = "meta";
pub const CF_SNAPSHOT: &str = "snapshot";

/// The open database. Dropping the last handle closes it; [`RaftDb::closed`] tells when that finished.
pub struct RaftDb {
    db: DB,
    /// Dropped after `db` (fields drop in order), which wakes [`RaftDb::closed`] receivers.
    closed: watch::Sender<()>,
}

impl RaftDb {
    /// A receiver whose `changed()` fails once the database is closed and its lock released.
    pub fn closed(&self) -> watch::Receiver<()> {
        self.closed.subscribe()
    }
}

impl Deref for RaftDb {
    type Target = DB;

    fn deref(&self) -> &DB {
        &self.db
    }
}

/// Opens (creating if missing) the database and its column families.
pub fn open(path: &Path) -> Result<Arc<RaftDb>, StoreError> {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_compression_type(DBCompressionType::Lz4);
    // Memtables bound how much of the log sits in memory between flushes (RocksDB's default is 64 MB
    // per column family); the log is read back mostly by lagging followers, from table files.
    // One small block cache for all: log entries are read back once per follower that lags.
    let cache = Cache::new_lru_cache(8 << 20);
    let mut tables = BlockBasedOptions::default();
    tables.set_block_cache(&cache);
    let cfs = [(CF_LOGS, 16 << 20), (CF_META, 1 << 20), (CF_SNAPSHOT, 1 << 20)].map(|(name, memtable)| {
        let mut cf_opts = Options::default();
        cf_opts.set_block_based_table_factory(&tables);
        cf_opts.set_compression_type(DBCompressionType::Lz4);
        cf_opts.set_write_buffer_size(memtable);
        ColumnFamilyDescriptor::new(name, cf_opts)
    });
    let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
    let (closed, _) = watch::channel(());
    Ok(Arc::new(RaftDb { db, closed }))
}

/// The handle of a column family created by [`open`].
pub fn cf<'a>(db: &'a DB, name: &'static str) -> Result<&'a ColumnFamily, StoreError> {
    db.cf_handle(name).ok_or(StoreError::MissingColumnFamily(name))
}

pub fn log_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

pub fn decode_log_key(key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| StoreError::BadLogKey(key.len()))?;
    Ok(u64::from_be_bytes(bytes))
}

pub fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Encode { what, source })
}

pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode { what, source })
}

/// Reads a serde_json value from a column family.
pub fn get_json<T: DeserializeOwned>(db: &DB, cf_name: &'static str, key: &str) -> Result<Option<T>, StoreError> {
    match db.get_cf(cf(db, cf_name)?, key)? {
        Some(bytes) => decode(cf_name, &bytes).map(Some),
        None => Ok(None),
    }
}

/// Writes a batch on a blocking thread; with `sync` the write-ahead log is fsynced before returning,
/// which also makes every earlier write durable. Unsynced writes too: a write waits for the group
/// fsync it joins, and for RocksDB's write stalls under load, neither of which may hold up an async
/// worker (Raft's heartbeats run on them).
pub async fn write(db: Arc<RaftDb>, batch: WriteBatch, sync: bool) -> Result<(), StoreError> {
    tokio::task::spawn_blocking(move || {
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        db.write_opt(batch, &opts)
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?
    .map_err(StoreError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_sort_like_indexes() {
        let mut keys: Vec<[u8; 8]> = [300u64, 2, 1 << 40, 0, 255, 256].iter().map(|i| log_key(*i)).collect();
        keys.sort();
        let indexes: Vec<u64> = keys.iter().map(|k| decode_log_key(k).unwrap_or(u64::MAX)).collect();
        assert_eq!(indexes, vec![0, 2, 255, 256, 300, 1 << 40]);
        assert!(decode_log_key(&[1, 2, 3]).is_err());
    }
}
