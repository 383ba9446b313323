//! Client nodes as the servers know them: identity, attributes, capacity and status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    #[default]
    Initializing,
    Ready,
    Down,
    Disconnected,
}

impl NodeStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            NodeStatus::Initializing => "initializing",
            NodeStatus::Ready => "ready",
            NodeStatus::Down => "down",
            NodeStatus::Disconnected => "disconnected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DriverInfo {
    pub detected: bool,
    pub healthy: bool,
    pub health_description: String,
}

/// A node's total capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeResources {
    pub cpu_mhz: u64,
    pub cpu_cores: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub min_dynamic_port: u16,
    pub max_dynamic_port: u16,
    /// The address tasks' host ports are bound on.
    pub ip: String,
}

impl Default for NodeResources {
    fn default() -> Self {
        Self {
            cpu_mhz: 0,
            cpu_cores: 0,
            memory_mb: 0,
            disk_mb: 0,
            min_dynamic_port: 20000,
            max_dynamic_port: 32000,
            ip: "127.0.0.1".into(),
        }
    }
}

/// Capacity held back for the operating system and other software.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeReserved {
    pub cpu_mhz: u64,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub ports: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub datacenter: String,
    pub node_class: String,
    pub node_pool: String,
    pub status: NodeStatus,
    pub status_description: String,
    pub eligible: bool,
    pub drain: bool,
    pub attributes: BTreeMap<String, String>,
    pub meta: BTreeMap<String, String>,
    pub resources: NodeResources,
    pub reserved: NodeReserved,
    pub drivers: BTreeMap<String, DriverInfo>,
    /// The client's own HTTP address, for log streaming and other client endpoints.
    pub http_addr: String,
    pub status_updated_at: i64,
    pub create_index: u64,
    pub modify_index: u64,
}

impl Node {
    pub fn ready(&self) -> bool {
        self.status == NodeStatus::Ready
    }

    pub fn driver_healthy(&self, driver: &str) -> bool {
        self.drivers.get(driver).is_some_and(|d| d.detected && d.healthy)
    }
}
