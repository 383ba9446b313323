//! The client agent: registers its node, heartbeats, watches its allocations and runs their tasks through executors.

pub mod alloc_dir;
pub mod alloc_health;
pub mod alloc_runner;
pub mod cgroup_warm;
pub mod checks;
pub mod config;
pub mod control;
pub mod env;
pub mod exec;
pub mod fingerprint;
pub mod gc;
pub mod host_stats;
pub mod image_pull;
pub mod interface;
pub mod interpolate;
pub mod launcher;
pub mod network;
pub mod reporter;
pub mod restart;
pub mod services;
pub mod stats;
pub mod task_runner;
pub mod watcher;

pub use config::ClientConfig;
pub use control::ClientControl;
pub use watcher::run;
