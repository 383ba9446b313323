//! The service and batch scheduler: reconciles a job's desired count with its allocations and places the difference.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::alloc::{Allocation, ClientStatus, DesiredStatus};
use crate::core::command::AllocStop;
use crate::core::deployment::Deployment;
use crate::core::eval::{AllocMetric, Evaluation};
use crate::core::job::{Job, JobKey, JobType, TaskGroup};
use crate::core::node::NodeStatus;
use crate::core::rng::SeededRng;
use crate::core::state::ClusterState;
use crate::core::text::Text;

use super::plan::Plan;
use super::preempt;
use super::reschedule::{self, Rescheduler};
use super::rollout;
use super::select::{self, Context, Options};
pub use super::update::needs_replacement;

pub const STOP_JOB: &str = "alloc not needed due to job being stopped";
pub const STOP_GROUP_REMOVED: &str = "alloc not needed as task group was removed";
pub const STOP_COUNT: &str = "alloc not needed due to count decrease";
pub const STOP_UPDATE: &str = "alloc is being updated due to job update";
pub const STOP_LOST: &str = "alloc is lost since its node is down";
pub const STOP_MIGRATE: &str = "alloc is being migrated";

/// Whether an allocation is to leave its node now: marked for migration by a drain of its node.
pub fn migrating(state: &ClusterState, a: &Allocation) -> bool {
    a.desired_transition.migrate && state.nodes.get(a.node_id.as_str()).is_some_and(|n| n.drain)
}

/// `now` (unix nanoseconds) is when failed allocations are judged against their reschedule policy.
pub fn schedule(state: &ClusterState, eval: &Evaluation, key: &JobKey, rng: &mut SeededRng, now: i64, options: Options) -> Plan {
    let mut plan = Plan { eval_id: eval.id.clone(), priority: eval.priority, ..Default::default() };
    let live: Vec<&Allocation> = state.allocs_of_job(key).filter(|a| !a.terminal()).collect();
    // A periodic or parameterized job only launches children: it runs nothing itself.
    let Some(job) = state.jobs.get(key).filter(|j| !j.stop && !j.is_parent()) else {
        for a in live {
            plan.stops.push(stop(a, STOP_JOB, None));
        }
        plan.deployment_updates = rollout::cancel_stale(state, key, state.jobs.get(key));
        return plan;
    };
    plan.deployment_updates = rollout::cancel_stale(state, key, Some(job));
    let mut ctx = Context::new(state, job, options);
    let nodes = select::candidate_nodes(state, job, rng);
    let limit = select::limit_for(job, nodes.len());
    // A version rolls out under one deployment: the active one, or a new one if it never had any.
    let latest = rollout::latest(state, job);
    let mut deployment: Option<Deployment> = latest.filter(|d| d.active()).cloned();
    let mut created = false;
    let mut rescheduler = Rescheduler::new(eval, now);

    for group in &job.task_groups {
        let strategy = rollout::strategy(job, group);
        let promoted = deployment.as_ref().and_then(|d| d.task_groups.get(&group.name)).is_some_and(|g| g.promoted);
        let mut keep: BTreeMap<u32, &Allocation> = BTreeMap::new();
        let mut place: Vec<(u32, Option<&Allocation>)> = Vec::new();
        // Canaries of the active deployment wait beside the allocations they will replace.
        let mut canaries: Vec<&Allocation> = Vec::new();
        let mut mine: Vec<&Allocation> = state.allocs_of_job(key).filter(|a| a.task_group == group.name).collect();
        // The current version first: of two allocations with one index, the older version's goes.
        mine.sort_by_key(|a| (a.job_version != job.version, a.create_index, a.id.clone()));
        let mut failed = Vec::new();
        for a in mine {
            let done =
                job.job_type == JobType::Batch && a.client_status == ClientStatus::Complete && a.desired_status == DesiredStatus::Run;
            if done {
                keep.insert(a.index(), a);
                continue;
            }
            if reschedule::failed(a) {
                failed.push(a);
                continue;
            }
            if a.terminal() {
                continue;
            }
            let node_down = state.nodes.get(a.node_id.as_str()).is_none_or(|n| n.status == NodeStatus::Down);
            let waiting_canary = a.canary() && !promoted && deployment.as_ref().is_some_and(|d| d.id == a.deployment_id);
            if node_down {
                plan.stops.push(stop(a, STOP_LOST, Some(ClientStatus::Lost)));
                ctx.free(a);
                if !waiting_canary {
                    place.push((a.index(), Some(a)));
                }
                continue;
            }
            if waiting_canary {
                canaries.push(a);
                continue;
            }
            if keep.contains_key(&a.index()) || a.index() >= group.count {
                // beside a newer allocation of its index (a promoted canary), an old one is replaced
                let why = if a.index() < group.count && a.job_version != job.version { STOP_UPDATE } else { STOP_COUNT };
                plan.stops.push(stop(a, why, None));
                ctx.free(a);
                continue;
            }
            if migrating(state, a) {
                plan.stops.push(stop(a, STOP_MIGRATE, None));
                ctx.free(a);
                place.push((a.index(), Some(a)));
                continue;
            }
            keep.insert(a.index(), a);
        }
        rescheduler.reconcile_group(state, job, group, failed, &mut keep, &mut place);
        // Allocations of an older version: unchanged group → in place, otherwise replaced.
        let mut in_place: Vec<Allocation> = Vec::new();
        let mut destructive: Vec<&Allocation> = Vec::new();
        for a in
            keep.values().filter(|a| a.job_version != job.version && a.desired_status == DesiredStatus::Run && !a.client_status.terminal())
        {
            if state.job_version(key, a.job_version).is_some_and(|old| !needs_replacement(old, job, &group.name)) {
                let mut updated = (*a).clone();
                updated.job_version = job.version;
                in_place.push(updated);
            } else {
                destructive.push(a);
            }
        }
        let replaced: BTreeSet<u32> = place.iter().map(|(i, _)| *i).chain(destructive.iter().map(|a| a.index())).collect();
        for i in 0..group.count {
            if !keep.contains_key(&i) && !replaced.contains(&i) {
                place.push((i, None));
            }
        }
        // With an update strategy the group rolls out through the deployment.
        let mut canary_slots: Vec<(u32, Option<&Allocation>)> = Vec::new();
        let changes = !place.is_empty() || !destructive.is_empty() || !in_place.is_empty();
        if let Some(u) = strategy {
            if deployment.is_none() && latest.is_none() && changes {
                deployment = Some(rollout::new_deployment(job, eval, rng));
                created = true;
            }
            match deployment.as_mut() {
                Some(d) => {
                    let updating = !destructive.is_empty() || !canaries.is_empty();
                    if created && !d.task_groups.contains_key(&group.name) {
                        d.task_groups.insert(group.name.clone(), rollout::group_state(u, group, updating));
                    }
                    let desired_canaries = d.task_groups.get(&group.name).map_or(0, |g| g.desired_canaries) as usize;
                    if desired_canaries > 0 && !promoted && !destructive.is_empty() {
                        // Canaries first, beside the old version; nothing is replaced before promotion.
                        if d.status == crate::core::deployment::STATUS_RUNNING {
                            let taken: BTreeSet<u32> = canaries.iter().map(|a| a.index()).collect();
                            let free = destructive.iter().map(|a| a.index()).filter(|i| !taken.contains(i));
                            canary_slots = free.take(desired_canaries.saturating_sub(canaries.len())).map(|i| (i, None)).collect();
                        }
                        destructive.clear();
                    } else {
                        let budget = rollout::update_budget(state, d, group, u);
                        destructive.truncate(budget);
                    }
                }
                // This version's deployment ended (failed or cancelled): no more replacements.
                None if latest.is_some() => destructive.clear(),
                None => {}
            }
        }
        for a in &destructive {
            plan.stops.push(stop(a, STOP_UPDATE, None));
            ctx.free(a);
            place.push((a.index(), Some(*a)));
        }
        let deployment_id = deployment.as_ref().filter(|_| strategy.is_some()).map(|d| d.id.clone());
        for mut updated in in_place {
            if let Some(id) = &deployment_id {
                rollout::attach_in_place(&mut updated, id, eval.modify_time);
            }
            plan.updates.push(updated);
        }
        place.sort_by_key(|(i, _)| *i);
        place.dedup_by_key(|(i, _)| *i);
        let before = plan.placements.len();
        place_all(&mut plan, &mut ctx, eval, job, group, &nodes, limit, &place, rng);
        let regular = plan.placements.len();
        place_all(&mut plan, &mut ctx, eval, job, group, &nodes, limit, &canary_slots, rng);
        if let Some(id) = &deployment_id {
            rollout::attach(&mut plan.placements[before..regular], id, false);
            rollout::attach(&mut plan.placements[regular..], id, true);
        }
    }
    if let Some(mut d) = deployment.filter(|_| created) {
        rollout::describe(&mut d);
        plan.deployment = Some(d);
    }
    // Groups that no longer exist.
    let groups: BTreeSet<&str> = job.task_groups.iter().map(|g| g.name.as_str()).collect();
    for a in live.iter().filter(|a| !groups.contains(a.task_group.as_str())) {
        plan.stops.push(stop(a, STOP_GROUP_REMOVED, None));
    }
    rescheduler.finish(&mut plan, job, rng);
    let preempted = preempt::evals_for_preempted(state, &plan, eval, rng);
    plan.followup_evals.extend(preempted);
    plan
}

#[allow(clippy::too_many_arguments)]
pub(super) fn place_all<'a>(
    plan: &mut Plan,
    ctx: &mut Context<'a>,
    eval: &Evaluation,
    job: &'a Job,
    group: &'a TaskGroup,
    nodes: &[&'a crate::core::node::Node],
    limit: usize,
    place: &[(u32, Option<&Allocation>)],
    rng: &mut SeededRng,
) {
    let mut failed: Option<AllocMetric> = None;
    for (index, previous) in place {
        if let Some(m) = failed.as_mut() {
            m.coalesced_failures += 1;
            *plan.queued.entry(group.name.clone()).or_default() += 1;
            continue;
        }
        let mut metric = AllocMetric::default();
        ctx.penalty_nodes = reschedule::penalty_nodes(*previous);
        match select::select(ctx, job, group, nodes, limit, &mut metric, rng) {
            Some(selected) => {
                let node_name = ctx.state.nodes.get(&selected.node_id).map(|n| n.name.clone()).unwrap_or_default();
                let id = super::new_id(rng);
                for evicted in &selected.preempted {
                    plan.preemptions.push(AllocStop {
                        alloc_id: evicted.clone(),
                        desired_status: DesiredStatus::Evict,
                        description: preempt::description(&id),
                        client_status: None,
                    });
                }
                plan.placements.push(Allocation {
                    id: Text::unique(&id),
                    namespace: Text::from(&job.namespace),
                    eval_id: Text::from(&eval.id),
                    name: Text::unique(&format!("{}.{}[{}]", job.id, group.name, index)),
                    node_id: Text::from(selected.node_id),
                    node_name: Text::from(node_name),
                    job_id: Text::from(&job.id),
                    job_version: job.version,
                    task_group: Text::from(&group.name),
                    resources: selected.resources,
                    previous_allocation: previous.map(|p| p.id.clone()).unwrap_or_default(),
                    ..Default::default()
                });
            }
            None => {
                *plan.queued.entry(group.name.clone()).or_default() += 1;
                failed = Some(metric);
            }
        }
    }
    if let Some(m) = failed {
        plan.failed_tg_allocs.insert(group.name.clone(), m);
    }
}

pub(super) fn stop(a: &Allocation, why: &str, client_status: Option<ClientStatus>) -> AllocStop {
    AllocStop { alloc_id: a.id.to_string(), desired_status: DesiredStatus::Stop, description: why.to_string(), client_status }
}
