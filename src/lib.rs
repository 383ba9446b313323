//! Drover: a single-binary cluster scheduler and container orchestrator that speaks Nomad's job files and HTTP API.
//!
//! Layers, innermost first (see ARCHITECTURE.md):
//! - [`core`]: pure job model, cluster state machine and scheduler;
//! - [`jobspec`]: Nomad HCL job files into the job model (pure);
//! - [`api`]: Nomad's JSON wire types, converted at the edge;
//! - IO adapters: [`raft`] (openraft on RocksDB), [`rpc`] (gRPC between agents), [`http`] (Nomad's HTTP API),
//!   [`driver`] / [`executor`] / [`image`] (running tasks);
//! - roles: [`server`] (leader machinery) and [`client`] (node agent);
//! - the composition root [`agent`], its configuration files [`agent_config`], and the [`cli`].

pub mod agent;
pub mod agent_config;
pub mod api;
pub mod cli;
pub mod client;
pub mod core;
pub mod driver;
pub mod executor;
pub mod http;
pub mod image;
pub mod jobspec;
pub mod memory;
pub mod raft;
pub mod rpc;
pub mod server;
