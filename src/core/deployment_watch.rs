//! What the leader's deployment watcher does next with an active deployment: promote its canaries
//! (`auto_promote`), fail it (unhealthy allocations, progress deadline) and roll back (`auto_revert`
//! to the newest stable version), or mark it successful and its job version stable. Pure: the
//! state, the deployment and the time in; a decision out.

use super::deployment::{
    Deployment, DeploymentGroupState, DeploymentStatusUpdate, DESC_PROGRESS_DEADLINE, DESC_SUCCESSFUL, DESC_UNHEALTHY, STATUS_FAILED,
    STATUS_RUNNING, STATUS_SUCCESSFUL,
};
use super::job::{Job, JobKey};
use super::state::ClusterState;

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// All canaries of the auto-promoting groups are healthy.
    Promote,
    /// The deployment failed; `revert` is the job to register when it rolls back.
    Fail { update: DeploymentStatusUpdate, revert: Option<Box<Job>> },
    /// Every group is healthy: the deployment succeeded and its version is stable.
    Succeed { update: DeploymentStatusUpdate, version: u64 },
}

/// The decision for `d` at `now` (Unix nanoseconds), if any.
pub fn decide(state: &ClusterState, d: &Deployment, now: i64) -> Option<Decision> {
    if d.status != STATUS_RUNNING {
        return None;
    }
    let unhealthy = d.task_groups.values().any(|g| g.unhealthy_allocs > 0);
    let healthy_canaries = |g: &DeploymentGroupState| {
        let healthy = g.placed_canaries.iter().filter(|id| state.allocs.get(id.as_str()).is_some_and(|a| a.healthy() == Some(true)));
        healthy.count() >= g.desired_canaries as usize
    };
    // Healthy canaries waiting for an operator's promotion are not late.
    let waiting = |g: &DeploymentGroupState| g.desired_canaries > 0 && !g.promoted && healthy_canaries(g);
    let late = d.task_groups.values().any(|g| !g.complete() && !waiting(g) && g.require_progress_by > 0 && now > g.require_progress_by);
    if unhealthy || late {
        let why = if unhealthy { DESC_UNHEALTHY } else { DESC_PROGRESS_DEADLINE };
        return Some(fail(state, d, why));
    }
    if d.complete() {
        let update = DeploymentStatusUpdate {
            deployment_id: d.id.clone(),
            status: STATUS_SUCCESSFUL.into(),
            status_description: DESC_SUCCESSFUL.into(),
        };
        return Some(Decision::Succeed { update, version: d.job_version });
    }
    let unpromoted: Vec<&DeploymentGroupState> = d.task_groups.values().filter(|g| g.desired_canaries > 0 && !g.promoted).collect();
    if !unpromoted.is_empty() && unpromoted.iter().all(|g| g.auto_promote && healthy_canaries(g)) {
        return Some(Decision::Promote);
    }
    None
}

/// A failed deployment, rolled back to the newest stable version older than it when a group asks.
pub fn fail(state: &ClusterState, d: &Deployment, why: &str) -> Decision {
    let mut description = why.to_string();
    let mut revert = None;
    if d.task_groups.values().any(|g| g.auto_revert) {
        let key = JobKey::new(&d.namespace, &d.job_id);
        match stable_before(state, &key, d.job_version) {
            Some(job) => {
                description = format!("{why} - rolling back to job version {}", job.version);
                revert = Some(Box::new(job));
            }
            None => description = format!("{why} - no stable job version to auto revert to"),
        }
    }
    let update = DeploymentStatusUpdate { deployment_id: d.id.clone(), status: STATUS_FAILED.into(), status_description: description };
    Decision::Fail { update, revert }
}

/// The newest stable version of a job older than `version`, as a job to register again (only if the
/// job's current version is still the failed one: a newer submission is never overridden).
pub fn stable_before(state: &ClusterState, key: &JobKey, version: u64) -> Option<Job> {
    let current = state.jobs.get(key)?;
    if current.version != version || current.stop {
        return None;
    }
    let stable = state.job_versions.range((key.clone(), 0)..(key.clone(), version)).rev().map(|(_, j)| j).find(|j| j.stable)?;
    let mut job = stable.clone();
    job.stop = false;
    job.stable = false;
    Some(job)
}
