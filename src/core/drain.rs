//! Node drains decided purely: which allocations on draining nodes to mark for migration next, and
//! which drains are done. The leader's drainer (`server::drainer`) proposes what this decides.
//!
//! As Nomad: a service group gives up at most `migrate { max_parallel }` allocations at a time and
//! the next ones only once their replacements are healthy (as their clients judge it by the group's
//! `migrate { health_check, min_healthy_time, healthy_deadline }`);
//! batch and sysbatch allocations wait until they end or the deadline; system allocations go last
//! (unless the drain ignores them); at the deadline everything left is marked at once. A drain is done when
//! nothing that must leave the node is left on it.

use std::collections::{BTreeMap, BTreeSet};

use super::alloc::{Allocation, ClientStatus, DesiredStatus, TaskStateKind};
use super::job::{JobKey, JobType, TaskGroup};
use super::node::DrainStrategy;
use super::state::ClusterState;

/// What the drainer should do now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DrainDecision {
    /// Allocations to mark for migration, in a deterministic order.
    pub migrate: Vec<String>,
    /// The jobs of those allocations: one evaluation each.
    pub jobs: BTreeSet<JobKey>,
    /// Draining nodes with nothing left to migrate: their drains are complete.
    pub done: Vec<String>,
}

impl DrainDecision {
    pub fn is_empty(&self) -> bool {
        self.migrate.is_empty() && self.done.is_empty()
    }
}

/// Decides, at `now` (unix nanoseconds), the next step of every drain in `state`.
pub fn decide(state: &ClusterState, now: i64) -> DrainDecision {
    let mut d = DrainDecision::default();
    // (job, group) → allocations on draining nodes that wait for their turn
    let mut waiting: BTreeMap<(JobKey, String), Vec<&Allocation>> = BTreeMap::new();
    for node in state.nodes.values() {
        let Some(strategy) = node.drain_strategy.as_ref() else { continue };
        let must_leave: Vec<&Allocation> =
            state.allocs_on_node(&node.id).filter(|a| !a.terminal() && must_leave(state, strategy, a)).collect();
        if must_leave.is_empty() {
            d.done.push(node.id.clone());
            continue;
        }
        let unmarked = must_leave.iter().copied().filter(|a| !a.desired_transition.migrate);
        if strategy.deadline_reached(now) {
            d.migrate.extend(unmarked.map(|a| a.id.to_string()));
            continue;
        }
        if must_leave.iter().all(|a| is_system(state, a)) {
            // everything else has left: now the system allocations
            d.migrate.extend(unmarked.map(|a| a.id.to_string()));
            continue;
        }
        for a in unmarked {
            match job_type(state, a) {
                Some(JobType::Service) => waiting.entry((key(a), a.task_group.to_string())).or_default().push(a),
                Some(_) => {} // batch and sysbatch: until they end or the deadline; system: last
                None => d.migrate.push(a.id.to_string()),
            }
        }
    }
    for ((job_key, group), mut allocs) in waiting {
        let Some(tg) = state.jobs.get(&job_key).and_then(|j| j.group(&group)) else {
            d.migrate.extend(allocs.iter().map(|a| a.id.to_string()));
            continue;
        };
        let (max_parallel, min_healthy) = tg.migrate.as_ref().map_or((1, 0), |m| (m.max_parallel.max(1) as usize, m.min_healthy_time));
        let checks_first = waits_for_checks(tg);
        let healthy = state
            .allocs_of_job(&job_key)
            .filter(|a| a.task_group == group && a.desired_status == DesiredStatus::Run && !a.desired_transition.migrate)
            .filter(|a| healthy(a, checks_first, now, min_healthy))
            .count();
        let may_go = healthy.saturating_sub((tg.count as usize).saturating_sub(max_parallel));
        allocs.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        d.migrate.extend(allocs.iter().take(may_go).map(|a| a.id.to_string()));
    }
    let marked: BTreeSet<&str> = d.migrate.iter().map(String::as_str).collect();
    d.jobs = marked.iter().filter_map(|id| state.allocs.get(*id)).map(|a| key(a)).collect();
    d
}

fn key(a: &Allocation) -> JobKey {
    JobKey::new(&a.namespace, &a.job_id)
}

fn job_type(state: &ClusterState, a: &Allocation) -> Option<JobType> {
    state.jobs.get(&key(a)).filter(|j| !j.stop).map(|j| j.job_type)
}

/// System jobs' allocations leave last (sysbatch ones, like batch, wait until they end or the deadline).
fn is_system(state: &ClusterState, a: &Allocation) -> bool {
    job_type(state, a) == Some(JobType::System)
}

/// Whether the allocation must leave its draining node before the drain is done.
fn must_leave(state: &ClusterState, strategy: &DrainStrategy, a: &Allocation) -> bool {
    !(strategy.ignore_system_jobs && is_system(state, a))
}

/// Whether the group's migrate block judges health by checks and the group has checks the client runs.
fn waits_for_checks(tg: &TaskGroup) -> bool {
    let by_checks = tg.migrate.as_ref().is_none_or(|m| m.health_check != "task_states");
    by_checks
        && tg
            .services
            .iter()
            .chain(tg.tasks.iter().flat_map(|t| &t.services))
            .any(|s| s.provider == "nomad" && s.checks.iter().any(super::service_reg::client_check))
}

/// Healthy as its client reported it (by the group's `migrate` block: task states, checks,
/// `min_healthy_time`, `healthy_deadline`). Until it reports, running with every running task up
/// for at least `min_healthy` nanoseconds — unless the group's checks must pass first.
fn healthy(a: &Allocation, checks_first: bool, now: i64, min_healthy: i64) -> bool {
    if let Some(h) = a.healthy() {
        return h;
    }
    if checks_first {
        return false;
    }
    a.client_status == ClientStatus::Running
        && a.task_states.values().all(|t| match t.state {
            TaskStateKind::Running => min_healthy <= 0 || (t.started_at > 0 && now - t.started_at >= min_healthy),
            TaskStateKind::Dead => !t.failed,
            TaskStateKind::Pending => false,
        })
}
