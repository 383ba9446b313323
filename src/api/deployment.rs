//! Nomad's JSON for deployments (`Deployment`, `DeploymentState`) and the replies and requests of the
//! deployment endpoints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::deployment::{Deployment, DeploymentGroupState};

use super::alloc::rfc3339;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDeploymentState {
    pub auto_revert: bool,
    pub auto_promote: bool,
    /// Nanoseconds, as Go's time.Duration.
    pub progress_deadline: i64,
    /// RFC 3339; Go's zero time when not set.
    pub require_progress_by: String,
    pub promoted: bool,
    pub placed_canaries: Vec<String>,
    pub desired_canaries: u32,
    pub desired_total: u32,
    pub placed_allocs: u32,
    pub healthy_allocs: u32,
    pub unhealthy_allocs: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDeployment {
    #[serde(rename = "ID")]
    pub id: String,
    pub namespace: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    pub job_version: u64,
    pub job_modify_index: u64,
    pub job_spec_modify_index: u64,
    pub job_create_index: u64,
    pub is_multiregion: bool,
    pub task_groups: BTreeMap<String, ApiDeploymentState>,
    pub status: String,
    pub status_description: String,
    pub create_index: u64,
    pub modify_index: u64,
    /// Unix nanoseconds.
    pub create_time: i64,
    pub modify_time: i64,
}

const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn state_out(g: &DeploymentGroupState) -> ApiDeploymentState {
    ApiDeploymentState {
        auto_revert: g.auto_revert,
        auto_promote: g.auto_promote,
        progress_deadline: g.progress_deadline,
        require_progress_by: rfc3339(g.require_progress_by).unwrap_or_else(|| GO_ZERO_TIME.into()),
        promoted: g.promoted,
        placed_canaries: g.placed_canaries.clone(),
        desired_canaries: g.desired_canaries,
        desired_total: g.desired_total,
        placed_allocs: g.placed_allocs,
        healthy_allocs: g.healthy_allocs,
        unhealthy_allocs: g.unhealthy_allocs,
    }
}

pub fn deployment_out(d: &Deployment) -> ApiDeployment {
    ApiDeployment {
        id: d.id.clone(),
        namespace: d.namespace.clone(),
        job_id: d.job_id.clone(),
        job_version: d.job_version,
        job_modify_index: d.job_modify_index,
        job_spec_modify_index: d.job_modify_index,
        job_create_index: d.job_create_index,
        is_multiregion: false,
        task_groups: d.task_groups.iter().map(|(k, g)| (k.clone(), state_out(g))).collect(),
        status: d.status.clone(),
        status_description: d.status_description.clone(),
        create_index: d.create_index,
        modify_index: d.modify_index,
        create_time: d.create_time,
        modify_time: d.modify_time,
    }
}

/// Nomad's `DeploymentUpdateResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeploymentUpdateResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub eval_create_index: u64,
    pub deployment_modify_index: u64,
    pub reverted_job_version: Option<u64>,
    pub index: u64,
}

/// `POST /v1/deployment/promote/:id` (`All` or `Groups`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PromoteRequest {
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    pub all: bool,
    pub groups: Option<Vec<String>>,
}

/// `POST /v1/deployment/pause/:id`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PauseRequest {
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    pub pause: bool,
}

/// `POST /v1/deployment/allocation-health/:id`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocHealthRequest {
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    #[serde(rename = "HealthyAllocationIDs")]
    pub healthy_allocation_ids: Option<Vec<String>>,
    #[serde(rename = "UnhealthyAllocationIDs")]
    pub unhealthy_allocation_ids: Option<Vec<String>>,
}
