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
    /// Whether the node is draining (`drain_strategy` is set).
    pub drain: bool,
    /// The drain under way, if any.
    pub drain_strategy: Option<DrainStrategy>,
    /// The most recent drain: when it started, its status, who asked and why.
    pub last_drain: Option<DrainMetadata>,
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

/// How a node drains: Nomad's `DrainStrategy` (times in unix nanoseconds, stamped by the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DrainStrategy {
    /// The deadline as asked: nanoseconds; -1 stops everything now, 0 means no deadline.
    pub deadline: i64,
    /// Leave system jobs' allocations running.
    pub ignore_system_jobs: bool,
    /// When everything left is stopped at once (0: never).
    pub force_deadline: i64,
    pub started_at: i64,
}

impl DrainStrategy {
    /// Whether the deadline has passed at `now`.
    pub fn deadline_reached(&self, now: i64) -> bool {
        self.deadline < 0 || (self.force_deadline > 0 && now >= self.force_deadline)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DrainStatus {
    #[default]
    Draining,
    Complete,
    Canceled,
}

impl DrainStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Draining => "draining",
            Self::Complete => "complete",
            Self::Canceled => "canceled",
        }
    }
}

/// Nomad's `DrainMetadata`: the node's most recent drain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DrainMetadata {
    pub started_at: i64,
    pub updated_at: i64,
    pub status: DrainStatus,
    pub accessor_id: String,
    pub meta: BTreeMap<String, String>,
}

impl Node {
    /// Carries the fields the servers own (eligibility and drain) over from the stored node, so a
    /// client registering again does not undo an operator's drain or eligibility change.
    pub fn keep_server_fields(&mut self, stored: &Node) {
        self.eligible = stored.eligible;
        self.drain = stored.drain;
        self.drain_strategy = stored.drain_strategy.clone();
        self.last_drain = stored.last_drain.clone();
    }

    pub fn ready(&self) -> bool {
        self.status == NodeStatus::Ready
    }

    pub fn driver_healthy(&self, driver: &str) -> bool {
        self.drivers.get(driver).is_some_and(|d| d.detected && d.healthy)
    }
}
