//! Server role: the operations behind the HTTP API and client RPC, and the leader-only machinery
//! (eval broker, scheduler workers, plan applier, heartbeat timers, deployment watcher, node drainer, periodic launcher,
//! garbage collector) rebuilt on every leadership gain.

pub mod alloc_actions;
pub mod broker;
pub mod changes;
pub mod clock;
pub mod cluster;
pub mod deployments;
pub mod drainer;
pub mod error;
pub mod events;
pub mod gc;
pub mod heartbeat;
pub mod job_actions;
pub mod job_launch;
pub mod job_plan;
pub mod leader;
pub mod metrics;
pub mod node_drain;
pub mod ops;
pub mod periodic;
pub mod services;
pub mod snapshot;
pub mod snapshot_file;
pub mod transfer;
pub mod vars;
pub mod worker;

pub use error::ServerError;
pub use ops::Server;
