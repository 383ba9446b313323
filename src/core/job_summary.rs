//! A job's summary: per task group, how many allocations are queued, starting, running, complete,
//! failed and lost, and for a periodic or parameterized job how many of its children are pending,
//! running and dead — derived from the state, as Nomad's `JobSummary`.

use std::collections::BTreeMap;

use super::alloc::ClientStatus;
use super::eval::EvalStatus;
use super::job::{JobKey, JobStatus};
use super::periodic::children;
use super::state::ClusterState;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSummary {
    pub queued: u64,
    pub starting: u64,
    pub running: u64,
    pub complete: u64,
    pub failed: u64,
    pub lost: u64,
}

/// Counts of the job's allocations by client status, per group; `queued` comes from the newest
/// evaluation that is still blocked (what could not be placed yet).
pub fn job_summary(state: &ClusterState, key: &JobKey) -> BTreeMap<String, GroupSummary> {
    let mut out: BTreeMap<String, GroupSummary> = BTreeMap::new();
    if let Some(job) = state.jobs.get(key) {
        for g in &job.task_groups {
            out.entry(g.name.clone()).or_default();
        }
    }
    for a in state.allocs_of_job(key) {
        let s = out.entry(a.task_group.to_string()).or_default();
        match a.client_status {
            ClientStatus::Pending => s.starting += 1,
            ClientStatus::Running => s.running += 1,
            ClientStatus::Complete => s.complete += 1,
            ClientStatus::Failed => s.failed += 1,
            ClientStatus::Lost => s.lost += 1,
        }
    }
    let blocked = state.evals_of_job(key).filter(|e| e.status == EvalStatus::Blocked).max_by_key(|e| e.create_index);
    if let Some(e) = blocked {
        for (group, n) in &e.queued_allocations {
            out.entry(group.clone()).or_default().queued = *n;
        }
    }
    out
}

/// A parent job's children by status (Nomad's `JobChildrenSummary`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChildrenSummary {
    pub pending: u64,
    pub running: u64,
    pub dead: u64,
}

pub fn children_summary(state: &ClusterState, key: &JobKey) -> ChildrenSummary {
    let mut out = ChildrenSummary::default();
    for c in children(state, key) {
        match state.job_status(c) {
            JobStatus::Pending => out.pending += 1,
            JobStatus::Running => out.running += 1,
            JobStatus::Dead => out.dead += 1,
        }
    }
    out
}
