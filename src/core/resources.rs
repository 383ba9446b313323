//! Resource quantities shared by jobs, nodes and allocations: cpu, memory, disk and ports.

use serde::{Deserialize, Serialize};

/// What a task asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// CPU in MHz.
    pub cpu: u64,
    /// Dedicated cores (0 = none).
    pub cores: u32,
    pub memory_mb: u64,
    /// Hard memory limit (0 = same as `memory_mb`).
    pub memory_max_mb: u64,
    pub disk_mb: u64,
    /// Legacy task-level networks (HCL1-era jobs).
    pub networks: Vec<NetworkResource>,
}

impl Default for Resources {
    fn default() -> Self {
        Self { cpu: 100, cores: 0, memory_mb: 300, memory_max_mb: 0, disk_mb: 0, networks: Vec::new() }
    }
}

/// A port asked for by label; `value` is 0 for a dynamic port until the scheduler assigns one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Port {
    pub label: String,
    pub value: u16,
    /// Port inside the task's network namespace (bridge mode); 0 = same as `value`.
    pub to: i32,
    pub host_network: String,
}

/// A group (or legacy task) network block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkResource {
    /// `host`, `bridge` or `none`.
    pub mode: String,
    pub mbits: u32,
    pub hostname: String,
    pub reserved_ports: Vec<Port>,
    pub dynamic_ports: Vec<Port>,
    pub dns: Option<DnsConfig>,
}

impl Default for NetworkResource {
    fn default() -> Self {
        Self {
            mode: "host".into(),
            mbits: 0,
            hostname: String::new(),
            reserved_ports: Vec::new(),
            dynamic_ports: Vec::new(),
            dns: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DnsConfig {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

/// A port the scheduler assigned to an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocatedPort {
    pub label: String,
    pub value: u16,
    pub to: i32,
    pub host_ip: String,
}

/// Resources the scheduler reserved for one task of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskResources {
    pub cpu: u64,
    pub cores: u32,
    pub memory_mb: u64,
    pub memory_max_mb: u64,
}

/// Everything an allocation holds on its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocatedResources {
    pub tasks: std::collections::BTreeMap<String, TaskResources>,
    pub disk_mb: u64,
    pub ports: Vec<AllocatedPort>,
    pub network_mode: String,
}

impl AllocatedResources {
    pub fn cpu(&self) -> u64 {
        self.tasks.values().map(|t| t.cpu).sum()
    }
    pub fn memory_mb(&self) -> u64 {
        self.tasks.values().map(|t| t.memory_mb).sum()
    }
}
