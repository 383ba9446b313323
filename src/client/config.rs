//! Client configuration: identity, servers, directories and the drivers it offers.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub data_dir: PathBuf,
    pub node_name: String,
    pub datacenter: String,
    pub node_class: String,
    pub node_pool: String,
    pub meta: BTreeMap<String, String>,
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
    pub reserved_cpu: u64,
    pub reserved_memory_mb: u64,
    /// The `drover` binary that is started as `drover executor`.
    pub executor_bin: PathBuf,
}

impl ClientConfig {
    pub fn alloc_root(&self) -> PathBuf {
        self.data_dir.join("alloc")
    }

    pub fn executor_root(&self) -> PathBuf {
        self.data_dir.join("executors")
    }
}
