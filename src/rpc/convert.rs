//! Conversions between protobuf messages and the domain model, at the RPC edge only.

use crate::core::text::Text;
use crate::core::vec_map::VecMap;

use crate::core::alloc::{Allocation, ClientAllocUpdate, ClientStatus, TaskState};
use crate::core::job::Job;
use crate::core::node::{DriverInfo, Node, NodeReserved, NodeResources};
use crate::core::service_reg::ServiceRegistration;

use super::pb;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("field {field}: {message}")]
    Field { field: &'static str, message: String },
}

fn field(field: &'static str, e: impl std::fmt::Display) -> ConvertError {
    ConvertError::Field { field, message: e.to_string() }
}

pub fn node_to_pb(n: &Node) -> pb::NodeRegistration {
    pb::NodeRegistration {
        id: n.id.clone(),
        name: n.name.clone(),
        datacenter: n.datacenter.clone(),
        node_class: n.node_class.clone(),
        node_pool: n.node_pool.clone(),
        attributes: n.attributes.clone().into_iter().collect(),
        meta: n.meta.clone().into_iter().collect(),
        capacity: Some(pb::NodeCapacity {
            cpu_mhz: n.resources.cpu_mhz,
            cpu_cores: n.resources.cpu_cores,
            memory_mb: n.resources.memory_mb,
            disk_mb: n.resources.disk_mb,
            min_dynamic_port: n.resources.min_dynamic_port.into(),
            max_dynamic_port: n.resources.max_dynamic_port.into(),
            ip: n.resources.ip.clone(),
        }),
        reserved: Some(pb::NodeReserved {
            cpu_mhz: n.reserved.cpu_mhz,
            memory_mb: n.reserved.memory_mb,
            disk_mb: n.reserved.disk_mb,
            ports: n.reserved.ports.iter().map(|p| u32::from(*p)).collect(),
        }),
        drivers: n
            .drivers
            .iter()
            .map(|(name, d)| pb::DriverStatus {
                name: name.clone(),
                detected: d.detected,
                healthy: d.healthy,
                description: d.health_description.clone(),
            })
            .collect(),
        http_addr: n.http_addr.clone(),
    }
}

fn port(v: u32, name: &'static str) -> Result<u16, ConvertError> {
    u16::try_from(v).map_err(|_| field(name, format!("{v} is not a port")))
}

pub fn node_from_pb(r: pb::NodeRegistration) -> Result<Node, ConvertError> {
    if r.id.is_empty() {
        return Err(field("id", "must not be empty"));
    }
    let cap = r.capacity.unwrap_or_default();
    let res = r.reserved.unwrap_or_default();
    Ok(Node {
        id: r.id,
        name: r.name,
        datacenter: r.datacenter,
        node_class: r.node_class,
        node_pool: r.node_pool,
        attributes: r.attributes.into_iter().collect(),
        meta: r.meta.into_iter().collect(),
        resources: NodeResources {
            cpu_mhz: cap.cpu_mhz,
            cpu_cores: cap.cpu_cores,
            memory_mb: cap.memory_mb,
            disk_mb: cap.disk_mb,
            min_dynamic_port: port(cap.min_dynamic_port, "capacity.min_dynamic_port")?,
            max_dynamic_port: port(cap.max_dynamic_port, "capacity.max_dynamic_port")?,
            ip: cap.ip,
        },
        reserved: NodeReserved {
            cpu_mhz: res.cpu_mhz,
            memory_mb: res.memory_mb,
            disk_mb: res.disk_mb,
            ports: res.ports.into_iter().map(|p| port(p, "reserved.ports")).collect::<Result<_, _>>()?,
        },
        drivers: r
            .drivers
            .into_iter()
            .map(|d| (d.name, DriverInfo { detected: d.detected, healthy: d.healthy, health_description: d.description }))
            .collect(),
        http_addr: r.http_addr,
        eligible: true,
        ..Default::default()
    })
}

/// An assigned allocation with the job version it runs, already encoded by `job_json` (empty when
/// the state no longer has that version).
pub fn assigned_to_pb(a: &Allocation, job_json: Vec<u8>) -> Result<pb::AssignedAllocation, ConvertError> {
    Ok(pb::AssignedAllocation {
        id: a.id.to_string(),
        alloc_modify_index: a.alloc_modify_index,
        desired_status: a.desired_status.as_str().into(),
        allocation_json: serde_json::to_vec(a).map_err(|e| field("allocation_json", e))?,
        job_json,
    })
}

/// A job version as `AssignedAllocation.job_json` carries it.
pub fn job_json(job: &Job) -> Result<Vec<u8>, ConvertError> {
    serde_json::to_vec(job).map_err(|e| field("job_json", e))
}

/// An assigned allocation and the job version it runs.
pub fn assigned_from_pb(a: &pb::AssignedAllocation) -> Result<(Allocation, Option<Job>), ConvertError> {
    let alloc = serde_json::from_slice(&a.allocation_json).map_err(|e| field("allocation_json", e))?;
    let job = if a.job_json.is_empty() { None } else { Some(serde_json::from_slice(&a.job_json).map_err(|e| field("job_json", e))?) };
    Ok((alloc, job))
}

pub fn update_to_pb(u: &ClientAllocUpdate) -> Result<pb::AllocStatus, ConvertError> {
    Ok(pb::AllocStatus {
        id: u.id.clone(),
        client_status: u.client_status.as_str().into(),
        client_description: u.client_description.clone(),
        task_states_json: serde_json::to_vec(&u.task_states).map_err(|e| field("task_states_json", e))?,
        deployment_status_json: match &u.deployment_status {
            Some(d) => serde_json::to_vec(d).map_err(|e| field("deployment_status_json", e))?,
            None => Vec::new(),
        },
    })
}

pub fn update_from_pb(s: pb::AllocStatus) -> Result<ClientAllocUpdate, ConvertError> {
    let client_status =
        ClientStatus::parse(&s.client_status).ok_or_else(|| field("client_status", format!("unknown status \"{}\"", s.client_status)))?;
    let task_states: VecMap<Text, TaskState> = if s.task_states_json.is_empty() {
        VecMap::new()
    } else {
        serde_json::from_slice(&s.task_states_json).map_err(|e| field("task_states_json", e))?
    };
    let deployment_status = if s.deployment_status_json.is_empty() {
        None
    } else {
        Some(serde_json::from_slice(&s.deployment_status_json).map_err(|e| field("deployment_status_json", e))?)
    };
    Ok(ClientAllocUpdate { id: s.id, client_status, client_description: s.client_description, task_states, deployment_status })
}

pub fn services_to_pb(node_id: &str, services: &[ServiceRegistration]) -> Result<pb::UpsertServicesRequest, ConvertError> {
    let services_json = serde_json::to_vec(services).map_err(|e| field("services_json", e))?;
    Ok(pb::UpsertServicesRequest { node_id: node_id.into(), services_json })
}

pub fn services_from_pb(r: &pb::UpsertServicesRequest) -> Result<Vec<ServiceRegistration>, ConvertError> {
    serde_json::from_slice(&r.services_json).map_err(|e| field("services_json", e))
}
