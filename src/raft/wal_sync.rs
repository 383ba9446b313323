//! Group commit of the Raft log: appended entries are written to RocksDB at once (without fsync) and
//! made durable by one thread that fsyncs the write-ahead log for every append waiting on it.
//!
//! openraft is told an append is durable (its `LogFlushed` callback) only after that fsync. Until
//! then the append does not count towards the commit quorum, but openraft goes on: the leader sends
//! the entries to its followers while its own disk syncs, instead of after, and appends that arrive
//! during one fsync share the next.

use std::sync::mpsc;
use std::sync::{Arc, Weak};

use openraft::storage::LogFlushed;

use super::db::RaftDb;
use super::types::TypeConfig;

/// Hands appends to the syncing thread. Clones share it; it ends when the last clone is dropped.
#[derive(Clone)]
pub struct WalSync {
    pending: mpsc::Sender<LogFlushed<TypeConfig>>,
}

impl WalSync {
    /// The thread holds the database weakly, so dropping the log store closes it at once.
    pub fn start(db: &Arc<RaftDb>) -> Self {
        let (pending, rx) = mpsc::channel::<LogFlushed<TypeConfig>>();
        let db = Arc::downgrade(db);
        let spawned = std::thread::Builder::new().name("raft-wal-sync".into()).spawn(move || run(&db, rx));
        if let Err(e) = spawned {
            // Without the thread every callback is dropped unanswered; openraft then reports the
            // append as failed, and the node stops rather than acknowledge what is not durable.
            tracing::error!(error = %e, "could not start the raft log sync thread");
        }
        Self { pending }
    }

    /// Reports `callback` once everything written to the database before this call is on disk.
    pub fn after_sync(&self, callback: LogFlushed<TypeConfig>) {
        if let Err(mpsc::SendError(callback)) = self.pending.send(callback) {
            callback.log_io_completed(Err(std::io::Error::other("raft log sync thread is gone")));
        }
    }
}

fn run(db: &Weak<RaftDb>, rx: mpsc::Receiver<LogFlushed<TypeConfig>>) {
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        waiting.extend(rx.try_iter());
        let synced = match db.upgrade() {
            Some(db) => db.flush_wal(true).map_err(|e| e.to_string()),
            None => Err("the raft database is closed".to_string()),
        };
        match synced {
            Ok(()) => waiting.into_iter().for_each(|cb| cb.log_io_completed(Ok(()))),
            Err(e) => {
                tracing::error!(error = %e, "fsync of the raft log failed");
                for cb in waiting {
                    cb.log_io_completed(Err(std::io::Error::other(e.clone())));
                }
            }
        }
    }
}
