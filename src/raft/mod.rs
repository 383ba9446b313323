//! Replicated cluster state: openraft with RocksDB for the log and the state machine, transported over gRPC.
//!
//! - [`types`]: the openraft type configuration (`Command` in, `CommandResponse` out, `u64` ids);
//! - [`db`], [`log_store`]: the Raft log, vote and committed index in RocksDB (`data_dir/raft`);
//! - [`state_machine`], [`snapshot`]: the in-memory `ClusterState` and its durable snapshots;
//! - [`network`], [`service`], [`pb`]: peer RPC over tonic (`proto/raft.proto`);
//! - [`node`]: [`RaftNode`], the facade the rest of Drover uses; [`config`] and [`error`].

pub mod background;
pub mod batcher;
pub mod config;
pub mod db;
pub mod entry_cache;
pub mod error;
pub mod log_store;
pub mod network;
pub mod node;
pub mod pb;
pub mod service;
pub mod snapshot;
pub mod snapshot_timer;
pub mod state_machine;
pub mod types;

pub use config::RaftConfig;
pub use error::{ProposeError, RaftError};
pub use node::RaftNode;
pub use types::TypeConfig;
