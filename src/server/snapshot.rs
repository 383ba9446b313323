//! Operator snapshots: the whole cluster state saved as a snapshot file, and a file restored through Raft.
//!
//! A restore is one `Command::RestoreState` carrying the state, so every server replaces its state
//! at the same log index. The command is replicated as one Raft entry, which bounds the state's size.

use tracing::info;

use crate::core::command::Command;
use crate::raft::pb::MAX_MESSAGE_BYTES;

use super::error::ServerError;
use super::ops::Server;
use super::snapshot_file;

/// The largest state (as JSON) a restore accepts: it must fit in one Raft message with room to spare.
pub const MAX_RESTORE_STATE_BYTES: u64 = (MAX_MESSAGE_BYTES - (1 << 20)) as u64;

impl Server {
    /// The current state as a snapshot file, and the Raft index it was taken at.
    pub async fn save_snapshot(&self) -> Result<(u64, Vec<u8>), ServerError> {
        let state = self.read(|s| s.clone());
        let index = state.index;
        let bytes = tokio::task::spawn_blocking(move || snapshot_file::encode(&state))
            .await
            .map_err(|e| ServerError::Internal(format!("snapshot task: {e}")))?
            .map_err(|e| ServerError::Internal(e.to_string()))?;
        info!(index, bytes = bytes.len(), "saved operator snapshot");
        Ok((index, bytes))
    }

    /// Replaces the cluster state with a snapshot file's; returns the Raft index of the restore.
    pub async fn restore_snapshot(&self, bytes: Vec<u8>) -> Result<u64, ServerError> {
        let (header, state) = tokio::task::spawn_blocking(move || snapshot_file::decode(&bytes, MAX_RESTORE_STATE_BYTES))
            .await
            .map_err(|e| ServerError::Internal(format!("snapshot task: {e}")))?
            .map_err(|e| ServerError::Invalid(e.to_string()))?;
        info!(snapshot_index = header.index, jobs = state.jobs.len(), vars = state.vars.len(), "restoring operator snapshot");
        let resp = self.propose(Command::RestoreState { state: Box::new(state) }).await?;
        info!(index = resp.index, "restored operator snapshot");
        Ok(resp.index)
    }
}
