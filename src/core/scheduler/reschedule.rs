//! Rescheduling in the service and batch scheduler (Nomad's reschedule policy): which failed
//! allocations are replaced now, which later (a delayed follow-up evaluation), which stay failed;
//! what a replacement carries (the reschedule tracker) and which nodes it avoids.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::alloc::{Allocation, ClientStatus, DesiredStatus};
use crate::core::command::AllocFollowup;
use crate::core::eval::{EvalStatus, Evaluation};
use crate::core::job::{Job, JobKey, JobType, ReschedulePolicy, TaskGroup, SECOND};
use crate::core::reschedule;
use crate::core::rng::SeededRng;
use crate::core::state::ClusterState;

use super::generic::{needs_replacement, stop, STOP_UPDATE};
use super::plan::Plan;

/// Why a failed allocation was stopped: its replacement is placed (Nomad's wording).
pub const STOP_RESCHEDULED: &str = "alloc was rescheduled because it failed";
/// `TriggeredBy` of the evaluations that reschedule failed allocations.
pub const TRIGGER_ALLOC_FAILURE: &str = "alloc-failure";
/// `StatusDescription` of a delayed follow-up evaluation (Nomad's wording).
pub const FOLLOWUP_DESCRIPTION: &str = "created for delayed rescheduling";
/// A failed allocation due within this window is replaced now (Nomad's `rescheduleWindowSize`,
/// against small clock differences between servers).
pub const RESCHEDULE_WINDOW: i64 = SECOND;
/// Failed allocations due within this window of each other share one follow-up evaluation
/// (Nomad's `batchedFailedAllocWindowSize`).
pub const FOLLOWUP_BATCH_WINDOW: i64 = 5 * SECOND;

/// What the scheduler does with one failed allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Replace it in this plan.
    Now,
    /// Replace it at this time (unix nanoseconds): a delayed follow-up evaluation will.
    Later(i64),
    /// Leave it failed: the policy allows no more attempts, or a follow-up evaluation is already due.
    Keep,
}

/// Whether the scheduler must decide about `a`: the client says it failed, the servers want it running.
pub fn failed(a: &Allocation) -> bool {
    a.client_status == ClientStatus::Failed && a.desired_status == DesiredStatus::Run
}

/// The decision for a failed allocation under policy `p`, for evaluation `eval_id` at `now`
/// (Nomad's `updateByReschedulable`): replaced now when its follow-up evaluation is the one
/// running or its time is within the window, later when no follow-up exists yet.
pub fn decide(a: &Allocation, p: Option<&ReschedulePolicy>, eval_id: &str, now: i64) -> Decision {
    let Some((at, true)) = p.and_then(|p| reschedule::next_reschedule_time(a, p)) else {
        return Decision::Keep;
    };
    if a.followup_eval_id == eval_id || at - now <= RESCHEDULE_WINDOW {
        Decision::Now
    } else if a.followup_eval_id.is_empty() {
        Decision::Later(at)
    } else {
        Decision::Keep
    }
}

/// The policy governing `a`: its own job version's group's, else the current group's.
pub fn policy_of(state: &ClusterState, job: &Job, group: &TaskGroup, a: &Allocation) -> Option<ReschedulePolicy> {
    let own = state.job_version(&job.key(), a.job_version).and_then(|j| j.group(&group.name));
    own.unwrap_or(group).reschedule_policy.clone()
}

/// Nodes a replacement of `prev` should avoid (Nomad's reschedule penalty): the node it failed
/// on and the nodes of earlier attempts.
pub fn penalty_nodes(prev: Option<&Allocation>) -> BTreeSet<String> {
    let Some(prev) = prev else { return BTreeSet::new() };
    let mut nodes: BTreeSet<String> = prev.reschedule_tracker.iter().flat_map(|t| &t.events).map(|e| e.prev_node_id.clone()).collect();
    if prev.client_status == ClientStatus::Failed {
        nodes.insert(prev.node_id.to_string());
    }
    nodes
}

/// Whether a client update reporting `a` failed warrants an evaluation of its job at `now`: a
/// service or batch allocation the servers want running, newly failed, with no follow-up yet, and
/// a policy that still allows a reschedule (Nomad's check in `Node.UpdateAlloc`).
pub fn failure_needs_eval(state: &ClusterState, a: &Allocation, now: i64) -> bool {
    if a.desired_status != DesiredStatus::Run || a.client_status == ClientStatus::Failed || !a.followup_eval_id.is_empty() {
        return false;
    }
    let Some(job) = state.jobs.get(&JobKey::new(&a.namespace, &a.job_id)) else { return false };
    if !matches!(job.job_type, JobType::Service | JobType::Batch) {
        return false;
    }
    let policy = job.group(&a.task_group).and_then(|g| g.reschedule_policy.as_ref());
    policy.is_some_and(|p| reschedule::eligible(a, p, now))
}

/// One evaluation's rescheduling: collects the decisions group by group, then completes the plan.
pub struct Rescheduler<'s> {
    eval: &'s Evaluation,
    now: i64,
    /// Failed allocations replaced now, with the policy their replacement's tracker follows.
    replacing: BTreeMap<String, (&'s Allocation, ReschedulePolicy)>,
    /// Failed allocations of an older job version replaced by the new version (not a reschedule).
    updating: Vec<&'s Allocation>,
    /// Failed allocations to replace later, with their time.
    later: Vec<(&'s Allocation, i64)>,
}

impl<'s> Rescheduler<'s> {
    pub fn new(eval: &'s Evaluation, now: i64) -> Self {
        Self { eval, now, replacing: BTreeMap::new(), updating: Vec::new(), later: Vec::new() }
    }

    /// Decides about a group's failed allocations: those replaced now join `place` (with
    /// themselves as previous allocation); the others keep their index in `keep`, so nothing
    /// else is placed there. A failed allocation whose index a live one holds, whose index the
    /// count no longer has, or that was replaced already is left alone.
    pub fn reconcile_group(
        &mut self,
        state: &'s ClusterState,
        job: &Job,
        group: &TaskGroup,
        mut failed: Vec<&'s Allocation>,
        keep: &mut BTreeMap<u32, &'s Allocation>,
        place: &mut Vec<(u32, Option<&'s Allocation>)>,
    ) {
        // Newest first: of two failed allocations with one index, the newer one is the chain's end.
        failed.sort_by(|a, b| b.create_index.cmp(&a.create_index).then_with(|| a.id.cmp(&b.id)));
        for a in failed {
            let index = a.index();
            let taken = keep.contains_key(&index) || place.iter().any(|(i, _)| *i == index);
            if index >= group.count || taken || !a.next_allocation.is_empty() {
                continue;
            }
            let policy = policy_of(state, job, group, a);
            match decide(a, policy.as_ref(), &self.eval.id, self.now) {
                Decision::Now => {
                    place.push((index, Some(a)));
                    self.replacing.insert(a.id.to_string(), (a, policy.unwrap_or_default()));
                }
                Decision::Later(at) => {
                    keep.insert(index, a);
                    self.later.push((a, at));
                }
                Decision::Keep => {
                    // A new job version replaces a failed allocation it changes, as any other.
                    let old = state.job_version(&job.key(), a.job_version);
                    if a.job_version != job.version && old.is_some_and(|old| needs_replacement(old, job, &group.name)) {
                        place.push((index, Some(a)));
                        self.updating.push(a);
                    } else {
                        keep.insert(index, a);
                    }
                }
            }
        }
    }

    /// Completes the plan: replacements carry their tracker and the failed allocations they
    /// replace are stopped (a failed allocation whose replacement found no room stays as it is,
    /// to be rescheduled when room appears); delayed follow-up evaluations are created, one per
    /// batch of allocations due within five seconds of each other.
    pub fn finish(self, plan: &mut Plan, job: &Job, rng: &mut SeededRng) {
        let mut placed = Vec::new();
        for p in &mut plan.placements {
            if let Some((prev, policy)) = self.replacing.get(p.previous_allocation.as_str()) {
                p.reschedule_tracker = Some(Box::new(reschedule::tracker_for_replacement(prev, policy, self.now)));
                placed.push(*prev);
            }
        }
        for prev in placed {
            plan.stops.push(stop(prev, STOP_RESCHEDULED, None));
        }
        for a in self.updating {
            plan.stops.push(stop(a, STOP_UPDATE, None));
        }
        let mut later = self.later;
        later.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.id.cmp(&b.0.id)));
        let mut current: Option<Evaluation> = None;
        for (a, at) in later {
            let starts_batch = current.as_ref().is_none_or(|e| at - e.wait_until >= FOLLOWUP_BATCH_WINDOW);
            if starts_batch {
                plan.followup_evals.extend(current.take());
                current = Some(Evaluation {
                    id: super::new_id(rng),
                    namespace: job.namespace.clone(),
                    priority: self.eval.priority,
                    job_type: job.job_type.as_str().into(),
                    triggered_by: TRIGGER_ALLOC_FAILURE.into(),
                    job_id: job.id.clone(),
                    job_modify_index: job.modify_index,
                    status: EvalStatus::Pending,
                    status_description: FOLLOWUP_DESCRIPTION.into(),
                    previous_eval: self.eval.id.clone(),
                    wait_until: at,
                    ..Default::default()
                });
            }
            let eval_id = current.as_ref().map(|e| e.id.clone()).unwrap_or_default();
            plan.followups.push(AllocFollowup { alloc_id: a.id.to_string(), eval_id });
        }
        plan.followup_evals.extend(current);
    }
}
