//! The one openraft type configuration of Drover and short aliases for the types it parameterizes.

use std::io::Cursor;

use openraft::BasicNode;

use crate::core::command::{Command, CommandResponse};

openraft::declare_raft_types!(
    /// Drover's Raft: typed [`Command`]s in the log, [`CommandResponse`]s from applying them,
    /// `u64` server ids and [`BasicNode`]s whose `addr` is the server's gRPC address ("ip:port").
    pub TypeConfig:
        D = Command,
        R = CommandResponse,
        NodeId = u64,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type NodeId = u64;
pub type Raft = openraft::Raft<TypeConfig>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, BasicNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, BasicNode>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type LogState = openraft::storage::LogState<TypeConfig>;
