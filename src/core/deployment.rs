//! Deployments: the rollout of one job version, with per-group progress (placed, healthy, canaries).
//! Stored in the replicated state; the deployment watcher that drives them comes with rolling updates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Nomad's deployment statuses.
pub const DEPLOYMENT_STATUSES: &[&str] =
    &["initializing", "running", "pending", "blocked", "paused", "failed", "successful", "cancelled", "unblocking"];

/// Progress of one task group within a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeploymentGroupState {
    pub auto_revert: bool,
    pub auto_promote: bool,
    pub promoted: bool,
    pub placed_canaries: Vec<String>,
    pub desired_canaries: u32,
    pub desired_total: u32,
    pub placed_allocs: u32,
    pub healthy_allocs: u32,
    pub unhealthy_allocs: u32,
    /// Nanoseconds.
    pub progress_deadline: i64,
    /// Unix nanoseconds; 0 = not set.
    pub require_progress_by: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Deployment {
    pub id: String,
    pub namespace: String,
    pub job_id: String,
    pub job_version: u64,
    pub job_modify_index: u64,
    pub job_create_index: u64,
    /// One of [`DEPLOYMENT_STATUSES`].
    pub status: String,
    pub status_description: String,
    pub task_groups: BTreeMap<String, DeploymentGroupState>,
    pub create_index: u64,
    pub modify_index: u64,
    pub create_time: i64,
    pub modify_time: i64,
}

impl Deployment {
    /// Whether the deployment still moves (not failed, successful or cancelled).
    pub fn active(&self) -> bool {
        !matches!(self.status.as_str(), "failed" | "successful" | "cancelled")
    }

    /// Problems that make a deployment unfit to store, as sentences.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.id.is_empty() || self.job_id.is_empty() {
            out.push("a deployment needs an id and a job id".to_string());
        }
        if !DEPLOYMENT_STATUSES.contains(&self.status.as_str()) {
            out.push(format!("unknown deployment status \"{}\"", self.status));
        }
        out
    }
}
