//! Resource quantities shared by jobs, nodes and allocations: cpu, memory, disk and ports.

use serde::{Deserialize, Serialize};

use super::job::{Affinity, Constraint};
use super::text::Text;

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
    pub devices: Vec<RequestedDevice>,
}

impl Default for Resources {
    fn default() -> Self {
        Self { cpu: 100, cores: 0, memory_mb: 300, memory_max_mb: 0, disk_mb: 0, networks: Vec::new(), devices: Vec::new() }
    }
}

/// A device asked for by name: `vendor/type/model`, `vendor/type` or `type` (`device` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RequestedDevice {
    pub name: String,
    /// 0 = unset (1 after canonicalization).
    pub count: u64,
    pub constraints: Vec<Constraint>,
    pub affinities: Vec<Affinity>,
}

/// A volume a group asks for (`volume "name"` block): a host volume or a CSI volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct VolumeRequest {
    pub name: String,
    /// `host` or `csi`.
    #[serde(rename = "type")]
    pub kind: String,
    pub source: String,
    pub read_only: bool,
    pub sticky: bool,
    pub access_mode: String,
    pub attachment_mode: String,
    pub mount_options: Option<CsiMountOptions>,
    pub per_alloc: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CsiMountOptions {
    pub fs_type: String,
    pub mount_flags: Vec<String>,
}

/// Where a task mounts one of its group's volumes (`volume_mount` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct VolumeMount {
    pub volume: String,
    pub destination: String,
    pub read_only: bool,
    /// `private`, `host-to-task` or `bidirectional`; empty = `private`.
    pub propagation_mode: String,
    pub selinux_label: String,
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
        Self { mode: "host".into(), mbits: 0, hostname: String::new(), reserved_ports: Vec::new(), dynamic_ports: Vec::new(), dns: None }
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
    pub label: Text,
    pub value: u16,
    pub to: i32,
    pub host_ip: Text,
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
    pub tasks: super::vec_map::VecMap<Text, TaskResources>,
    pub disk_mb: u64,
    pub ports: Vec<AllocatedPort>,
    pub network_mode: Text,
}

impl AllocatedResources {
    pub fn cpu(&self) -> u64 {
        self.tasks.values().map(|t| t.cpu).sum()
    }
    pub fn memory_mb(&self) -> u64 {
        self.tasks.values().map(|t| t.memory_mb).sum()
    }
}

impl Resources {
    /// Nomad's rules for a task's resources, as lower-case sentences.
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.memory_max_mb != 0 && self.memory_max_mb < self.memory_mb {
            errs.push(format!("memory_max ({}) is lower than memory ({})", self.memory_max_mb, self.memory_mb));
        }
        if self.networks.len() > 1 {
            errs.push("only one network block is allowed".into());
        }
        for d in &self.devices {
            if d.name.is_empty() {
                errs.push("a device needs a name".into());
            }
        }
        errs
    }
}

/// Port labels must be set and unique (ignoring case) across a group's networks and its tasks' networks.
pub fn port_label_problems(networks: &[&NetworkResource]) -> Vec<String> {
    let mut errs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in networks.iter().flat_map(|n| n.reserved_ports.iter().chain(&n.dynamic_ports)) {
        if p.label.is_empty() {
            errs.push("port label must not be empty".to_string());
        } else if !seen.insert(p.label.to_lowercase()) {
            errs.push(format!("port label \"{}\" already in use", p.label));
        }
    }
    errs
}
