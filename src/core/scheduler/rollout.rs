//! Deployments inside the service scheduler: which deployment a job version rolls out under, how many
//! destructive updates a group may start now (`max_parallel` less the placements not yet healthy), and
//! where canaries go before promotion. The generic scheduler asks; this module only decides.

use crate::core::alloc::{AllocDeploymentStatus, Allocation, ClientStatus};
use crate::core::deployment::{
    Deployment, DeploymentGroupState, DeploymentStatusUpdate, DESC_NEWER_JOB, DESC_RUNNING, DESC_RUNNING_NEEDS_PROMOTION, DESC_STOPPED_JOB,
    STATUS_CANCELLED, STATUS_RUNNING,
};
use crate::core::eval::Evaluation;
use crate::core::job::{Job, JobKey, JobType, TaskGroup, UpdateStrategy};
use crate::core::rng::SeededRng;
use crate::core::state::ClusterState;
use crate::core::text::Text;

/// The newest deployment of the job's current version (of this incarnation of the job), in any status.
pub fn latest<'a>(state: &'a ClusterState, job: &Job) -> Option<&'a Deployment> {
    state
        .deployments
        .values()
        .filter(|d| {
            d.namespace == job.namespace && d.job_id == job.id && d.job_version == job.version && d.job_create_index == job.create_index
        })
        .max_by_key(|d| d.create_index)
}

/// Cancels the active deployments of other versions of the job (or of a stopped job).
pub fn cancel_stale(state: &ClusterState, key: &JobKey, job: Option<&Job>) -> Vec<DeploymentStatusUpdate> {
    state
        .deployments
        .values()
        .filter(|d| d.active() && d.namespace == key.namespace && d.job_id == key.id)
        .filter_map(|d| {
            let why = match job {
                None => DESC_STOPPED_JOB,
                Some(j) if j.stop => DESC_STOPPED_JOB,
                Some(j) if d.job_version != j.version || d.job_create_index != j.create_index => DESC_NEWER_JOB,
                Some(_) => return None,
            };
            Some(DeploymentStatusUpdate { deployment_id: d.id.clone(), status: STATUS_CANCELLED.into(), status_description: why.into() })
        })
        .collect()
}

/// The group's update strategy when it rolls out through deployments (service jobs, `max_parallel > 0`).
pub fn strategy<'a>(job: &Job, group: &'a TaskGroup) -> Option<&'a UpdateStrategy> {
    group.update.as_ref().filter(|u| job.job_type == JobType::Service && u.max_parallel > 0)
}

/// A new deployment of the job's current version (its groups are added as they are planned).
pub fn new_deployment(job: &Job, eval: &Evaluation, rng: &mut SeededRng) -> Deployment {
    Deployment {
        id: super::new_id(rng),
        namespace: job.namespace.clone(),
        job_id: job.id.clone(),
        job_version: job.version,
        job_modify_index: job.job_modify_index,
        job_create_index: job.create_index,
        status: STATUS_RUNNING.into(),
        status_description: DESC_RUNNING.into(),
        create_index: 0,
        modify_index: 0,
        create_time: 0,
        modify_time: eval.modify_time,
        ..Default::default()
    }
}

/// The group's entry in a new deployment: `updating` when older allocations are to be replaced
/// (canaries are only placed for updates, not for a job's first version).
pub fn group_state(u: &UpdateStrategy, group: &TaskGroup, updating: bool) -> DeploymentGroupState {
    DeploymentGroupState {
        auto_revert: u.auto_revert,
        auto_promote: u.auto_promote,
        desired_canaries: if updating { u.canary.max(0) as u32 } else { 0 },
        desired_total: group.count,
        progress_deadline: u.progress_deadline,
        ..Default::default()
    }
}

/// Sets the description a running deployment shows once its groups are known.
pub fn describe(d: &mut Deployment) {
    if d.status == STATUS_RUNNING {
        let wait = d.task_groups.values().any(|g| g.desired_canaries > 0 && !g.promoted && !g.auto_promote);
        d.status_description = if wait { DESC_RUNNING_NEEDS_PROMOTION } else { DESC_RUNNING }.into();
    }
}

/// How many destructive updates of `group` may start now under deployment `d`: `max_parallel` less
/// the allocations it placed that are not healthy yet; none while it is paused or failed.
pub fn update_budget(state: &ClusterState, d: &Deployment, group: &TaskGroup, u: &UpdateStrategy) -> usize {
    if d.status != STATUS_RUNNING {
        return 0;
    }
    let key = JobKey::new(&d.namespace, &d.job_id);
    let in_flight = state
        .allocs_of_job(&key)
        .filter(|a| a.deployment_id == d.id && a.task_group == group.name && !a.terminal() && a.healthy() != Some(true))
        .count();
    (u.max_parallel.max(0) as usize).saturating_sub(in_flight)
}

/// Marks new placements as part of deployment `d` (and as canaries).
pub fn attach(placements: &mut [Allocation], deployment_id: &str, canary: bool) {
    for a in placements {
        a.deployment_id = Text::from(deployment_id);
        if canary {
            a.deployment_status = Some(AllocDeploymentStatus { canary: true, ..Default::default() });
        }
    }
}

/// An allocation updated in place joins the deployment: it keeps running, so its health carries over
/// (a running allocation of a version deployed without health checks counts as healthy).
pub fn attach_in_place(updated: &mut Allocation, deployment_id: &str, now: i64) {
    let healthy = updated.healthy().or((updated.client_status == ClientStatus::Running).then_some(true));
    updated.deployment_id = Text::from(deployment_id);
    updated.deployment_status = Some(AllocDeploymentStatus { healthy, timestamp: now, canary: false, modify_index: 0 });
}
