//! The pure core: the job model, cluster state and its deterministic apply, and the scheduler.
//!
//! Nothing below this module performs IO, reads a clock or draws unseeded randomness:
//! ids, timestamps and seeds arrive as arguments. `tests/tidy.rs` enforces that it imports
//! no tokio, tonic, rocksdb, openraft, libcontainer, `std::net` or `std::fs`.

pub mod alloc;
pub mod command;
pub mod cron;
pub mod deployment;
pub mod deployment_watch;
pub mod dispatch;
pub mod drain;
pub mod eval;
pub mod gc;
pub mod job;
pub mod job_defaults;
pub mod job_diff;
pub mod job_plan;
pub mod job_rules;
pub mod job_summary;
pub mod node;
pub mod periodic;
pub mod reschedule;
pub mod resources;
pub mod rng;
pub mod scheduler;
pub mod scheduler_config;
pub mod service_reg;
pub mod shared;
pub mod state;
pub mod text;
pub mod var;
pub mod vec_map;
