//! Errors of the Raft layer: opening and bootstrapping a node, proposing, storage and transport.

use std::path::PathBuf;

/// Opening, bootstrapping or running a Raft node failed.
#[derive(Debug, thiserror::Error)]
pub enum RaftError {
    #[error("invalid raft configuration: {0}")]
    Config(String),
    #[error("create raft data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("raft storage: {0}")]
    Store(#[from] StoreError),
    #[error("bootstrap: {0}")]
    Bootstrap(String),
    #[error("raft stopped: {0}")]
    Fatal(String),
}

/// A proposal, a membership change or a linearizable read could not be served here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// This node is not the leader; send the request to the leader if one is known.
    #[error("not the leader; leader is {leader_id:?} at {leader_addr:?}")]
    ForwardToLeader { leader_id: Option<u64>, leader_addr: Option<String> },
    /// The leader could not reach a quorum to confirm its leadership.
    #[error("no quorum: {0}")]
    NoQuorum(String),
    /// A membership change was refused (another change in progress, unknown learner, …).
    #[error("membership change refused: {0}")]
    Membership(String),
    /// Raft is shutting down or was shut down.
    #[error("raft is shut down")]
    Stopped,
    /// Raft stopped because of an unrecoverable error (storage failure, panic).
    #[error("raft failed: {0}")]
    Fatal(String),
}

/// Reading or writing the RocksDB database behind the log and the snapshots failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("open database at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rocksdb::Error,
    },
    #[error("column family {0} is missing")]
    MissingColumnFamily(&'static str),
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("decode {what}: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("snapshot file {path}: {source}")]
    SnapshotFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("snapshot {0} has meta but no data")]
    MissingSnapshotData(String),
    #[error("log key has {0} bytes, expected 8")]
    BadLogKey(usize),
    #[error("{0} lock is poisoned")]
    Poisoned(&'static str),
    #[error("storage task failed: {0}")]
    Task(String),
}

/// Sending a Raft RPC to a peer failed before a reply from its Raft was decoded.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("invalid peer address {addr}: {reason}")]
    InvalidAddress { addr: String, reason: String },
    #[error("peer {target}: {status}")]
    Transport { target: u64, status: tonic::Status },
    #[error("encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("decode {what}: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

type OpenRaftError<E> = openraft::error::RaftError<u64, E>;
type ClientWriteError = openraft::error::ClientWriteError<u64, openraft::BasicNode>;
type CheckIsLeaderError = openraft::error::CheckIsLeaderError<u64, openraft::BasicNode>;
type ForwardToLeader = openraft::error::ForwardToLeader<u64, openraft::BasicNode>;

impl From<openraft::error::Fatal<u64>> for ProposeError {
    fn from(e: openraft::error::Fatal<u64>) -> Self {
        match e {
            openraft::error::Fatal::Stopped => ProposeError::Stopped,
            e => ProposeError::Fatal(e.to_string()),
        }
    }
}

impl From<ForwardToLeader> for ProposeError {
    fn from(e: ForwardToLeader) -> Self {
        ProposeError::ForwardToLeader { leader_id: e.leader_id, leader_addr: e.leader_node.map(|n| n.addr) }
    }
}

impl From<OpenRaftError<ClientWriteError>> for ProposeError {
    fn from(e: OpenRaftError<ClientWriteError>) -> Self {
        match e {
            OpenRaftError::APIError(ClientWriteError::ForwardToLeader(f)) => f.into(),
            OpenRaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => ProposeError::Membership(e.to_string()),
            OpenRaftError::Fatal(f) => f.into(),
        }
    }
}

impl From<OpenRaftError<CheckIsLeaderError>> for ProposeError {
    fn from(e: OpenRaftError<CheckIsLeaderError>) -> Self {
        match e {
            OpenRaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)) => f.into(),
            OpenRaftError::APIError(CheckIsLeaderError::QuorumNotEnough(q)) => ProposeError::NoQuorum(q.to_string()),
            OpenRaftError::Fatal(f) => f.into(),
        }
    }
}
