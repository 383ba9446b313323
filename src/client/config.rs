//! Client configuration: identity, servers, directories, the drivers it offers, and the capacity it
//! reports (overridden totals, reserved resources), the bridge of its `bridge` mode allocations.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::core::node::NodeReserved;

use super::gc::GcConfig;
use super::network::bridge::Bridge;

/// A host directory offered to jobs as a volume (`client { host_volume "name" { path, read_only } }`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostVolume {
    pub path: PathBuf,
    pub read_only: bool,
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub data_dir: PathBuf,
    pub node_name: String,
    pub datacenter: String,
    pub node_class: String,
    pub node_pool: String,
    pub meta: BTreeMap<String, String>,
    /// `client { options { … } }`, Nomad's `namespace.option = value` settings.
    pub options: BTreeMap<String, String>,
    /// gRPC addresses of servers (`ip:port`).
    pub servers: Vec<String>,
    /// This agent's HTTP address, advertised for log reads.
    pub http_addr: String,
    /// The address tasks' ports are published on.
    pub network_ip: String,
    /// Where OCI image layouts are found.
    pub image_dir: PathBuf,
    pub raw_exec_enabled: bool,
    pub min_dynamic_port: u16,
    pub max_dynamic_port: u16,
    /// Capacity held back from scheduling.
    pub reserved: NodeReserved,
    /// Total CPU in MHz, instead of the fingerprinted value.
    pub cpu_total_compute: Option<u64>,
    /// Total memory in MB, instead of the fingerprinted value.
    pub memory_total_mb: Option<u64>,
    /// Host volumes by name (not yet registered with the node: the node model has no volumes).
    pub host_volumes: BTreeMap<String, HostVolume>,
    /// The bridge of `bridge` mode allocations (`bridge_network_name`, `bridge_network_subnet`).
    pub bridge: Bridge,
    /// The `drover` binary that is started as `drover executor`.
    pub executor_bin: PathBuf,
    /// When ended allocations' directories are collected.
    pub gc: GcConfig,
}

impl ClientConfig {
    pub fn alloc_root(&self) -> PathBuf {
        self.data_dir.join("alloc")
    }

    pub fn executor_root(&self) -> PathBuf {
        self.data_dir.join("executors")
    }
}
