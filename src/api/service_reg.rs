//! Nomad's native service discovery JSON: `ServiceRegistration` and the `GET /v1/services` list
//! (`ServiceRegistrationListStub`: per namespace, each service's name and tags), and the client's
//! check results (`GET /v1/client/allocation/:id/checks`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::client::checks::CheckResult;
use crate::core::service_reg::ServiceRegistration;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiServiceRegistration {
    #[serde(rename = "ID")]
    pub id: String,
    pub service_name: String,
    pub namespace: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub datacenter: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "AllocID")]
    pub alloc_id: String,
    #[serde(deserialize_with = "super::null_default")]
    pub tags: Vec<String>,
    pub address: String,
    pub port: u16,
    /// Drover's addition: `passing` or `critical` from the client's checks; empty without checks.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub health: String,
    pub create_index: u64,
    pub modify_index: u64,
}

/// One namespace's services in `GET /v1/services`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiServiceListStub {
    pub namespace: String,
    #[serde(deserialize_with = "super::null_default")]
    pub services: Vec<ApiServiceStub>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiServiceStub {
    pub service_name: String,
    #[serde(deserialize_with = "super::null_default")]
    pub tags: Vec<String>,
}

pub fn service_to_api(s: &ServiceRegistration) -> ApiServiceRegistration {
    ApiServiceRegistration {
        id: s.id.clone(),
        service_name: s.service_name.clone(),
        namespace: s.namespace.clone(),
        node_id: s.node_id.clone(),
        datacenter: s.datacenter.clone(),
        job_id: s.job_id.clone(),
        alloc_id: s.alloc_id.clone(),
        tags: s.tags.clone(),
        address: s.address.clone(),
        port: s.port,
        health: s.health.clone(),
        create_index: s.create_index,
        modify_index: s.modify_index,
    }
}

/// Registrations grouped as Nomad lists them: by namespace, then service name, with the union of
/// their tags (sorted, without repeats).
pub fn service_list<'a>(regs: impl Iterator<Item = &'a ServiceRegistration>) -> Vec<ApiServiceListStub> {
    let mut by_ns: BTreeMap<&str, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for r in regs {
        by_ns.entry(&r.namespace).or_default().entry(&r.service_name).or_default().extend(r.tags.iter().map(String::as_str));
    }
    by_ns
        .into_iter()
        .map(|(ns, services)| ApiServiceListStub {
            namespace: ns.into(),
            services: services
                .into_iter()
                .map(|(name, tags)| ApiServiceStub { service_name: name.into(), tags: tags.into_iter().map(String::from).collect() })
                .collect(),
        })
        .collect()
}

/// One check's latest result, as `GET /v1/client/allocation/:id/checks` returns it (keyed by ID).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiCheckResult {
    #[serde(rename = "ID")]
    pub id: String,
    pub check: String,
    pub group: String,
    pub task: String,
    pub service: String,
    pub mode: String,
    pub status: String,
    pub status_code: u16,
    pub output: String,
    pub timestamp: i64,
}

pub fn check_to_api(r: &CheckResult) -> ApiCheckResult {
    ApiCheckResult {
        id: r.id.clone(),
        check: r.check.clone(),
        group: r.group.clone(),
        task: r.task.clone(),
        service: r.service.clone(),
        mode: r.mode.clone(),
        status: r.status.into(),
        status_code: r.status_code,
        output: r.output.clone(),
        timestamp: r.timestamp,
    }
}
