//! Configuration of a Raft node and its translation into openraft's `Config`.

use std::path::PathBuf;
use std::time::Duration;

use openraft::SnapshotPolicy;

use super::error::RaftError;

/// What a server needs to run its Raft node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftConfig {
    /// This server's Raft id, unique in the cluster.
    pub node_id: u64,
    /// This server's gRPC address ("ip:port") as peers reach it.
    pub rpc_addr: String,
    /// The agent's data directory; Raft keeps its database in `data_dir/raft`.
    pub data_dir: PathBuf,
    pub heartbeat_interval_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// A snapshot is built once this many entries were applied since the last one (checked every
    /// `snapshot_interval`).
    pub snapshot_logs_since_last: u64,
    /// How often the snapshot threshold is checked (Nomad's `raft_snapshot_interval`).
    pub snapshot_interval: Duration,
    /// Entries kept in the log below the latest snapshot, so lagging followers catch up without a snapshot.
    pub logs_to_keep_after_snapshot: u64,
}

impl Default for RaftConfig {
    fn default() -> Self {
        Self {
            node_id: 1,
            rpc_addr: "127.0.0.1:4647".into(),
            data_dir: PathBuf::from("data"),
            // openraft bounds every AppendEntries by the heartbeat interval: 100 ms leaves a follower
            // time to write a large batch under load. A follower that knew a leader stands only after
            // openraft's leader lease (the longest election timeout) plus its own election timeout:
            // 200-400 ms puts that at 600-800 ms of silence (6-8 missed heartbeats), so a new leader
            // is elected within a second. Loaded clusters slow it all down with `raft_multiplier`.
            heartbeat_interval_ms: 100,
            election_timeout_min_ms: 200,
            election_timeout_max_ms: 400,
            // Nomad's defaults: 8192 entries, checked every 120 s.
            snapshot_logs_since_last: 8192,
            snapshot_interval: Duration::from_secs(120),
            logs_to_keep_after_snapshot: 1000,
        }
    }
}

impl RaftConfig {
    /// Raft timing (heartbeats, elections) scaled by Nomad's `raft_multiplier` (1 = fastest).
    pub fn scaled(self, multiplier: u32) -> Self {
        let m = u64::from(multiplier.max(1));
        Self {
            heartbeat_interval_ms: self.heartbeat_interval_ms * m,
            election_timeout_min_ms: self.election_timeout_min_ms * m,
            election_timeout_max_ms: self.election_timeout_max_ms * m,
            ..self
        }
    }

    /// Where the Raft database lives.
    pub fn raft_dir(&self) -> PathBuf {
        self.data_dir.join("raft")
    }

    /// How long sending one snapshot chunk may take; also the longest any Raft request may take.
    pub fn install_snapshot_timeout(&self) -> Duration {
        Duration::from_millis(self.election_timeout_max_ms.saturating_mul(10))
    }

    /// How long connecting to a peer may take before it counts as unreachable.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.election_timeout_min_ms)
    }

    /// The validated openraft configuration.
    pub fn openraft_config(&self) -> Result<openraft::Config, RaftError> {
        if self.snapshot_logs_since_last == 0 {
            return Err(RaftError::Config("snapshot_logs_since_last must be positive".into()));
        }
        let config = openraft::Config {
            cluster_name: "drover".into(),
            heartbeat_interval: self.heartbeat_interval_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            install_snapshot_timeout: self.install_snapshot_timeout().as_millis() as u64,
            // Snapshots are built by `snapshot_timer`.
            snapshot_policy: SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: self.logs_to_keep_after_snapshot,
            snapshot_max_chunk_size: 4 << 20,
            // Smaller batches per AppendEntries, so each fits in the heartbeat interval.
            max_payload_entries: 64,
            ..Default::default()
        };
        config.validate().map_err(|e| RaftError::Config(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_timeouts_are_rejected() {
        assert!(RaftConfig::default().openraft_config().is_ok());
        let bad = RaftConfig { election_timeout_min_ms: 100, heartbeat_interval_ms: 150, ..Default::default() };
        assert!(matches!(bad.openraft_config(), Err(RaftError::Config(_))));
        let bad = RaftConfig { election_timeout_min_ms: 1000, election_timeout_max_ms: 1000, ..Default::default() };
        assert!(matches!(bad.openraft_config(), Err(RaftError::Config(_))));
        let bad = RaftConfig { snapshot_logs_since_last: 0, ..Default::default() };
        assert!(matches!(bad.openraft_config(), Err(RaftError::Config(_))));
    }
}
