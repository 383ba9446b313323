//! The replicated state machine: openraft's `RaftStateMachine` and `RaftSnapshotBuilder` over the shared in-memory `ClusterState`.
//!
//! The state lives in memory behind `Arc<RwLock<ClusterState>>` (read by the HTTP API and the
//! scheduler) and is made durable only through snapshots: at start the latest snapshot is loaded
//! and openraft re-applies the log after it. Each applied batch publishes the last applied log
//! index on a `watch` channel.

use std::io::Cursor;
use std::sync::{Arc, RwLock};

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use tokio::sync::watch;

use super::db::RaftDb;
use super::error::StoreError;
use super::snapshot::{snapshot_id, SnapshotPayload, SnapshotStore};
use super::types::{Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership, TypeConfig};
use crate::core::command::CommandResponse;
use crate::core::state::ClusterState;

pub struct StateMachine {
    state: Arc<RwLock<ClusterState>>,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    applied_tx: watch::Sender<u64>,
    snapshots: SnapshotStore,
}

impl StateMachine {
    /// Opens the state machine at the latest durable snapshot, or empty if there is none.
    pub fn open(db: Arc<RaftDb>) -> Result<Self, StoreError> {
        let snapshots = SnapshotStore::new(db);
        snapshots.remove_stale()?;
        let (state, last_applied, last_membership) = match snapshots.load()? {
            Some((meta, data)) => {
                let payload = SnapshotPayload::decode(&data)?;
                tracing::info!(snapshot = %meta.snapshot_id, bytes = data.len(), "loaded raft snapshot");
                (payload.state, meta.last_log_id, meta.last_membership)
            }
            None => (ClusterState::default(), None, StoredMembership::default()),
        };
        // The snapshot's bytes and the decoder's temporaries are gone; give their pages back.
        crate::memory::release_free_memory();
        let (applied_tx, _) = watch::channel(last_applied.as_ref().map_or(0, |l| l.index));
        Ok(Self { state: Arc::new(RwLock::new(state)), last_applied, last_membership, applied_tx, snapshots })
    }

    pub fn state(&self) -> Arc<RwLock<ClusterState>> {
        self.state.clone()
    }

    /// The index of the last applied log entry (0 before any), updated after each applied batch.
    pub fn applied_index(&self) -> watch::Receiver<u64> {
        self.applied_tx.subscribe()
    }

    /// Applies a batch under one write lock, so readers see whole batches.
    fn apply_entries<I: IntoIterator<Item = Entry>>(&mut self, entries: I) -> Result<Vec<CommandResponse>, StoreError> {
        let mut state = self.state.write().map_err(|_| StoreError::Poisoned("cluster state"))?;
        let mut responses = Vec::new();
        for entry in entries {
            let index = entry.log_id.index;
            let response = match &entry.payload {
                EntryPayload::Normal(cmd) => {
                    let response = state.apply(index, cmd);
                    if let Some(error) = &response.error {
                        tracing::debug!(index, command = cmd.name(), %error, "command rejected by the state machine");
                    }
                    response
                }
                EntryPayload::Membership(membership) => {
                    self.last_membership = StoredMembership::new(Some(entry.log_id), membership.clone());
                    CommandResponse { index, ..Default::default() }
                }
                EntryPayload::Blank => CommandResponse { index, ..Default::default() },
            };
            self.last_applied = Some(entry.log_id);
            responses.push(response);
        }
        Ok(responses)
    }

    fn publish_applied(&self) {
        if let Some(last) = &self.last_applied {
            self.applied_tx.send_replace(last.index);
        }
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.last_applied, self.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResponse>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let responses = self.apply_entries(entries).map_err(|e| StorageIOError::write_state_machine(&e))?;
        self.publish_applied();
        Ok(responses)
    }

    /// Clones the state under the read lock; the builder serializes the clone elsewhere.
    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let state = match self.state.read() {
            Ok(state) => Some(state.clone()),
            Err(_) => None,
        };
        let payload =
            state.map(|state| SnapshotPayload { last_applied: self.last_applied, last_membership: self.last_membership.clone(), state });
        SnapshotBuilder { payload, snapshots: self.snapshots.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: Box<Cursor<Vec<u8>>>) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let snapshots = self.snapshots.clone();
        let stored_meta = meta.clone();
        let signature = Some(meta.signature());
        let payload = tokio::task::spawn_blocking(move || -> Result<SnapshotPayload, StoreError> {
            let payload = SnapshotPayload::decode(&data)?;
            snapshots.save(&stored_meta, &data)?;
            Ok(payload)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
        .and_then(|r| r)
        .map_err(|e| StorageIOError::write_snapshot(signature, &e))?;

        let mut state = self.state.write().map_err(|_| StorageIOError::write_state_machine(&StoreError::Poisoned("cluster state")))?;
        *state = payload.state;
        drop(state);
        self.last_applied = meta.last_log_id;
        self.last_membership = meta.last_membership.clone();
        self.publish_applied();
        crate::memory::release_free_memory();
        tracing::info!(snapshot = %meta.snapshot_id, "installed raft snapshot from the leader");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let stored = self.snapshots.load().map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        Ok(stored.map(|(meta, data)| Snapshot { meta, snapshot: Box::new(Cursor::new(data)) }))
    }
}

/// Builds one snapshot from a state cloned when the builder was made.
pub struct SnapshotBuilder {
    /// `None` when the state could not be read (its lock was poisoned).
    payload: Option<SnapshotPayload>,
    snapshots: SnapshotStore,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let payload = self.payload.take().ok_or_else(|| StorageIOError::read_state_machine(&StoreError::Poisoned("cluster state")))?;
        let snapshots = self.snapshots.clone();
        let (meta, saved) = super::background::run("raft-snapshot", move || -> Result<(SnapshotMeta, bool), StoreError> {
            let meta = SnapshotMeta {
                snapshot_id: snapshot_id(payload.last_applied.as_ref()),
                last_log_id: payload.last_applied,
                last_membership: payload.last_membership.clone(),
            };
            let saved = snapshots.save_with(&meta, |out| payload.encode_to(out))?;
            Ok((meta, saved))
        })
        .await
        .unwrap_or_else(|| Err(StoreError::Task("the snapshot thread ended without a result".into())))
        .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        tracing::info!(snapshot = %meta.snapshot_id, saved, "built raft snapshot");
        // openraft 0.9 keeps only the meta of a snapshot it had built (`sm::worker`); the bytes
        // are read from their file when a follower needs them (`get_current_snapshot`), so they
        // are not read back into memory here.
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(Vec::new())) })
    }
}
