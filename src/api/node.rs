//! Nomad's node JSON: `NodeListStub` for `GET /v1/nodes` and the full `Node`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::node::Node;

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
        scheduling_eligibility: full.scheduling_eligibility,
        status: full.status,
        status_description: full.status_description,
        drivers: full.drivers,
        create_index: full.create_index,
        modify_index: full.modify_index,
    }
}
