//! Deployments: the rollout of one job version, with per-group progress (placed, healthy, canaries).
//! Created by the scheduler with the plan that starts a rollout; its counters are kept by apply (allocations
//! placed, their health from clients); the leader's deployment watcher (`core::deployment_watch`) decides
//! when it is promoted, fails (and rolls back) or succeeds.

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

pub const STATUS_RUNNING: &str = "running";
pub const STATUS_PAUSED: &str = "paused";
pub const STATUS_FAILED: &str = "failed";
pub const STATUS_SUCCESSFUL: &str = "successful";
pub const STATUS_CANCELLED: &str = "cancelled";

/// Nomad's status descriptions.
pub const DESC_RUNNING: &str = "Deployment is running";
pub const DESC_RUNNING_NEEDS_PROMOTION: &str = "Deployment is running but requires manual promotion";
pub const DESC_PAUSED: &str = "Deployment is paused";
pub const DESC_SUCCESSFUL: &str = "Deployment completed successfully";
pub const DESC_UNHEALTHY: &str = "Failed due to unhealthy allocations";
pub const DESC_PROGRESS_DEADLINE: &str = "Failed due to progress deadline";
pub const DESC_FAILED_BY_USER: &str = "Deployment marked as failed";
pub const DESC_NEWER_JOB: &str = "Cancelled due to newer version of job";
pub const DESC_STOPPED_JOB: &str = "Cancelled because job is stopped";

/// A change of a deployment's status (its counters are left alone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeploymentStatusUpdate {
    pub deployment_id: String,
    pub status: String,
    pub status_description: String,
}

impl Deployment {
    /// Whether every group reached its desired healthy total (and promoted its canaries).
    pub fn complete(&self) -> bool {
        self.task_groups.values().all(|g| g.complete())
    }

    /// Whether some group waits for its canaries to be promoted.
    pub fn needs_promotion(&self) -> bool {
        self.task_groups.values().any(|g| g.desired_canaries > 0 && !g.promoted)
    }
}

impl DeploymentGroupState {
    pub fn complete(&self) -> bool {
        (self.desired_canaries == 0 || self.promoted) && self.healthy_allocs >= self.desired_total
    }
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
