//! Service registrations of Nomad's native service discovery (`provider = "nomad"`): one per service
//! of a running allocation, registered by its client and removed when the allocation stops.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ServiceRegistration {
    /// Unique per allocation and service (`_nomad-task-<alloc>-<group or task>-<service>-<port label>`).
    pub id: String,
    pub service_name: String,
    pub namespace: String,
    pub node_id: String,
    pub datacenter: String,
    pub job_id: String,
    pub alloc_id: String,
    pub tags: Vec<String>,
    pub address: String,
    pub port: u16,
    pub create_index: u64,
    pub modify_index: u64,
}

impl ServiceRegistration {
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (field, v) in [("ID", &self.id), ("ServiceName", &self.service_name), ("AllocID", &self.alloc_id), ("NodeID", &self.node_id)] {
            if v.is_empty() {
                out.push(format!("service registration: missing {field}"));
            }
        }
        out
    }
}
