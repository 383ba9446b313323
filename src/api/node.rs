//! Nomad's node JSON: `NodeListStub` for `GET /v1/nodes` and the full `Node`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::node::{DrainMetadata, DrainStrategy, Node};

use super::alloc::rfc3339;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDriverInfo {
    pub detected: bool,
    pub healthy: bool,
    pub health_description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiNode {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub datacenter: String,
    pub node_class: String,
    pub node_pool: String,
    pub address: String,
    #[serde(rename = "HTTPAddr")]
    pub http_addr: String,
    pub drain: bool,
    pub drain_strategy: Option<ApiDrainStrategy>,
    pub last_drain: Option<ApiDrainMetadata>,
    pub scheduling_eligibility: String,
    pub status: String,
    pub status_description: String,
    pub attributes: BTreeMap<String, String>,
    pub meta: BTreeMap<String, String>,
    pub drivers: BTreeMap<String, ApiDriverInfo>,
    pub node_resources: serde_json::Value,
    pub reserved_resources: serde_json::Value,
    pub status_updated_at: i64,
    pub create_index: u64,
    pub modify_index: u64,
}

pub fn node_out(n: &Node) -> ApiNode {
    ApiNode {
        id: n.id.clone(),
        name: n.name.clone(),
        datacenter: n.datacenter.clone(),
        node_class: n.node_class.clone(),
        node_pool: n.node_pool.clone(),
        address: n.resources.ip.clone(),
        http_addr: n.http_addr.clone(),
        drain: n.drain,
        drain_strategy: n.drain_strategy.as_ref().map(drain_strategy_out),
        last_drain: n.last_drain.as_ref().map(drain_metadata_out),
        scheduling_eligibility: if n.eligible { "eligible".into() } else { "ineligible".into() },
        status: n.status.as_str().into(),
        status_description: n.status_description.clone(),
        attributes: n.attributes.clone(),
        meta: n.meta.clone(),
        drivers: n
            .drivers
            .iter()
            .map(|(k, d)| {
                (k.clone(), ApiDriverInfo { detected: d.detected, healthy: d.healthy, health_description: d.health_description.clone() })
            })
            .collect(),
        node_resources: serde_json::json!({
            "Cpu": { "CpuShares": n.resources.cpu_mhz, "TotalCpuCores": n.resources.cpu_cores },
            "Memory": { "MemoryMB": n.resources.memory_mb },
            "Disk": { "DiskMB": n.resources.disk_mb },
            "MinDynamicPort": n.resources.min_dynamic_port,
            "MaxDynamicPort": n.resources.max_dynamic_port,
        }),
        reserved_resources: serde_json::json!({
            "Cpu": { "CpuShares": n.reserved.cpu_mhz },
            "Memory": { "MemoryMB": n.reserved.memory_mb },
            "Disk": { "DiskMB": n.reserved.disk_mb },
            "Networks": { "ReservedHostPorts": n.reserved.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",") },
        }),
        status_updated_at: n.status_updated_at / 1_000_000_000,
        create_index: n.create_index,
        modify_index: n.modify_index,
    }
}

/// `GET /v1/nodes` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeListStub {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub address: String,
    pub datacenter: String,
    pub node_class: String,
    pub node_pool: String,
    pub version: String,
    pub drain: bool,
    pub last_drain: Option<ApiDrainMetadata>,
    pub scheduling_eligibility: String,
    pub status: String,
    pub status_description: String,
    pub drivers: BTreeMap<String, ApiDriverInfo>,
    pub create_index: u64,
    pub modify_index: u64,
}

pub fn node_stub(n: &Node) -> NodeListStub {
    let full = node_out(n);
    NodeListStub {
        id: full.id,
        name: full.name,
        address: full.address,
        datacenter: full.datacenter,
        node_class: full.node_class,
        node_pool: full.node_pool,
        version: env!("CARGO_PKG_VERSION").into(),
        drain: full.drain,
        last_drain: full.last_drain,
        scheduling_eligibility: full.scheduling_eligibility,
        status: full.status,
        status_description: full.status_description,
        drivers: full.drivers,
        create_index: full.create_index,
        modify_index: full.modify_index,
    }
}

/// Nomad's `DrainSpec`: the deadline in nanoseconds (-1: force, 0: none) and whether system jobs stay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDrainSpec {
    pub deadline: i64,
    pub ignore_system_jobs: bool,
}

/// Nomad's `DrainStrategy`. Go embeds the `DrainSpec`, so its fields are also given at the top level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDrainStrategy {
    pub drain_spec: ApiDrainSpec,
    pub deadline: i64,
    pub ignore_system_jobs: bool,
    /// RFC 3339; Go's zero time when the drain has no deadline.
    pub force_deadline: String,
    pub started_at: String,
}

/// Nomad's `DrainMetadata`: a node's most recent drain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDrainMetadata {
    pub started_at: String,
    pub updated_at: String,
    pub status: String,
    #[serde(rename = "AccessorID")]
    pub accessor_id: String,
    pub meta: Option<BTreeMap<String, String>>,
}

/// Go's zero `time.Time`, as Nomad marshals an unset time.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn time_out(ns: i64) -> String {
    rfc3339(ns).unwrap_or_else(|| ZERO_TIME.into())
}

pub fn drain_strategy_out(d: &DrainStrategy) -> ApiDrainStrategy {
    let spec = ApiDrainSpec { deadline: d.deadline, ignore_system_jobs: d.ignore_system_jobs };
    ApiDrainStrategy {
        drain_spec: spec,
        deadline: spec.deadline,
        ignore_system_jobs: spec.ignore_system_jobs,
        force_deadline: time_out(d.force_deadline),
        started_at: time_out(d.started_at),
    }
}

pub fn drain_metadata_out(m: &DrainMetadata) -> ApiDrainMetadata {
    ApiDrainMetadata {
        started_at: time_out(m.started_at),
        updated_at: time_out(m.updated_at),
        status: m.status.as_str().into(),
        accessor_id: m.accessor_id.clone(),
        meta: (!m.meta.is_empty()).then(|| m.meta.clone()),
    }
}

/// `PUT /v1/node/:id/drain`: `DrainSpec` null disables the drain.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeDrainRequest {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub drain_spec: Option<ApiDrainSpec>,
    pub mark_eligible: bool,
    pub meta: Option<BTreeMap<String, String>>,
}

/// The answer to a drain or eligibility update.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeUpdateResponse {
    #[serde(rename = "EvalIDs")]
    pub eval_ids: Vec<String>,
    pub eval_create_index: u64,
    pub node_modify_index: u64,
    pub index: u64,
}
