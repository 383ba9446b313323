//! Garbage collection of finished work, as Nomad's core scheduler does it: which terminal
//! evaluations and allocations, dead jobs, long-down nodes and finished deployments are old enough to
//! forget. Pure: the time and the thresholds are passed in; the leader proposes the result as one
//! `Command::Gc`, and apply removes only what is still collectable then.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::alloc::Allocation;
use super::job::JobStatus;
use super::job::{JobKey, JobType, SECOND};
use super::node::NodeStatus;
use super::state::ClusterState;

/// How long finished objects are kept (Nomad's `*_gc_threshold` server settings), in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcThresholds {
    pub eval: i64,
    pub job: i64,
    pub node: i64,
    pub deployment: i64,
}

impl GcThresholds {
    /// Nomad's defaults: evaluations and deployments 1 hour, jobs 4 hours, nodes 24 hours.
    pub const NOMAD: Self = Self { eval: 3600 * SECOND, job: 4 * 3600 * SECOND, node: 24 * 3600 * SECOND, deployment: 3600 * SECOND };
    /// `/v1/system/gc`: everything finished, whatever its age.
    pub const FORCE: Self = Self { eval: 0, job: 0, node: 0, deployment: 0 };
}

/// What one collection removes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GcRequest {
    /// The time the candidates were chosen at (apply re-checks ages against it).
    pub now: i64,
    pub thresholds_ns: [i64; 4],
    pub evals: Vec<String>,
    pub allocs: Vec<String>,
    pub jobs: Vec<JobKey>,
    pub nodes: Vec<String>,
    pub deployments: Vec<String>,
}

impl GcRequest {
    pub fn is_empty(&self) -> bool {
        self.evals.is_empty() && self.allocs.is_empty() && self.jobs.is_empty() && self.nodes.is_empty() && self.deployments.is_empty()
    }

    pub fn thresholds(&self) -> GcThresholds {
        let [eval, job, node, deployment] = self.thresholds_ns;
        GcThresholds { eval, job, node, deployment }
    }
}

fn old(time: i64, now: i64, threshold: i64) -> bool {
    time <= now.saturating_sub(threshold)
}

/// Whether the allocation has ended on both sides long enough ago, and nothing needs it any more:
/// a completed batch allocation of a live job keeps the job from running it again, and a failed
/// service allocation not yet replaced still counts for rescheduling.
pub fn alloc_collectable(s: &ClusterState, a: &Allocation, now: i64, t: &GcThresholds) -> bool {
    if !a.terminal() || !a.client_status.terminal() || !old(a.modify_time, now, t.eval) {
        return false;
    }
    let Some(job) = s.jobs.get(&JobKey::new(&a.namespace, &a.job_id)) else { return true };
    if job.stop {
        return true;
    }
    match job.job_type {
        JobType::Batch | JobType::Sysbatch => false,
        JobType::Service | JobType::System => {
            // Stopped by the servers, or its place taken by a live allocation: the same group and
            // index (service), or the same group on the same node (system). Only the rare ended-but-
            // wanted allocation needs the scan of its job's allocations.
            if a.desired_status != super::alloc::DesiredStatus::Run {
                return true;
            }
            let system = job.job_type == JobType::System;
            s.allocs_of_job(&job.key()).any(|b| {
                let same_place = b.task_group == a.task_group && if system { b.node_id == a.node_id } else { b.index() == a.index() };
                b.previous_allocation == a.id || (!b.terminal() && same_place)
            })
        }
    }
}

/// Whether the job is dead (stopped, or a finished batch job), has no live allocation or open
/// evaluation, and nothing of it changed within the threshold.
pub fn job_collectable(s: &ClusterState, key: &JobKey, now: i64, t: &GcThresholds) -> bool {
    let Some(job) = s.jobs.get(key) else { return false };
    // As Nomad: parents only once stopped; services and system jobs only once stopped; batch and
    // sysbatch jobs once dead.
    let eligible = if job.is_parent() {
        job.stop
    } else {
        s.job_status(job) == JobStatus::Dead && (job.stop || matches!(job.job_type, JobType::Batch | JobType::Sysbatch))
    };
    if !eligible {
        return false;
    }
    let allocs_done = s.allocs_of_job(key).all(|a| a.terminal() && a.client_status.terminal() && old(a.modify_time, now, t.job));
    let evals_done = s.evals_of_job(key).all(|e| e.status.terminal() && old(e.modify_time, now, t.job));
    allocs_done && evals_done && old(job.submit_time, now, t.job)
}

/// Whether the evaluation is finished, old enough, and every allocation it made can go too.
pub fn eval_collectable(s: &ClusterState, id: &str, now: i64, t: &GcThresholds) -> bool {
    let Some(e) = s.evals.get(id) else { return false };
    if !e.status.terminal() || !old(e.modify_time, now, t.eval) {
        return false;
    }
    s.allocs_of_job(&JobKey::new(&e.namespace, &e.job_id)).filter(|a| a.eval_id == id).all(|a| alloc_collectable(s, a, now, t))
}

/// Whether the node has been down longer than the threshold with nothing left on it.
pub fn node_collectable(s: &ClusterState, id: &str, now: i64, t: &GcThresholds) -> bool {
    let Some(n) = s.nodes.get(id) else { return false };
    n.status == NodeStatus::Down && old(n.status_updated_at, now, t.node) && s.allocs_on_node(id).all(|a| a.client_status.terminal())
}

/// Everything collectable at `now`: dead jobs with their evaluations and allocations, then
/// finished evaluations and allocations of live jobs, long-down nodes and finished deployments.
pub fn candidates(s: &ClusterState, now: i64, t: &GcThresholds) -> GcRequest {
    let mut req = GcRequest { now, thresholds_ns: [t.eval, t.job, t.node, t.deployment], ..Default::default() };
    let mut allocs: BTreeSet<String> = BTreeSet::new();
    let mut evals: BTreeSet<String> = BTreeSet::new();
    for key in s.jobs.keys() {
        if job_collectable(s, key, now, t) {
            req.jobs.push(key.clone());
            allocs.extend(s.allocs_of_job(key).map(|a| a.id.to_string()));
            evals.extend(s.evals_of_job(key).map(|e| e.id.clone()));
        }
    }
    for id in s.evals.keys() {
        if !evals.contains(id) && eval_collectable(s, id, now, t) {
            evals.insert(id.clone());
            let e = &s.evals[id];
            allocs.extend(s.allocs_of_job(&JobKey::new(&e.namespace, &e.job_id)).filter(|a| &a.eval_id == id).map(|a| a.id.to_string()));
        }
    }
    for a in s.allocs.values() {
        if !allocs.contains(a.id.as_str())
            && alloc_collectable(s, a, now, t)
            && s.evals.get(a.eval_id.as_str()).is_none_or(|e| evals.contains(e.id.as_str()))
        {
            allocs.insert(a.id.to_string());
        }
    }
    req.evals = evals.into_iter().collect();
    req.allocs = allocs.into_iter().collect();
    req.nodes = s.nodes.keys().filter(|id| node_collectable(s, id, now, t)).cloned().collect();
    req.deployments =
        s.deployments.values().filter(|d| !d.active() && old(d.modify_time, now, t.deployment)).map(|d| d.id.clone()).collect();
    req
}
