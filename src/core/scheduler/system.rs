//! The system and sysbatch scheduler: one allocation of each group on every feasible node.

use std::collections::BTreeMap;

use crate::core::alloc::{Allocation, ClientStatus, DesiredStatus};
use crate::core::eval::Evaluation;
use crate::core::job::{JobKey, JobType};
use crate::core::node::NodeStatus;
use crate::core::rng::SeededRng;
use crate::core::state::ClusterState;

use super::feasible;
use super::generic::{migrating, needs_replacement, place_all, stop, STOP_GROUP_REMOVED, STOP_JOB, STOP_LOST, STOP_MIGRATE, STOP_UPDATE};
use super::plan::Plan;
use super::select::{Context, Options};

pub fn schedule(state: &ClusterState, eval: &Evaluation, key: &JobKey, rng: &mut SeededRng, options: Options) -> Plan {
    let mut plan = Plan { eval_id: eval.id.clone(), priority: eval.priority, ..Default::default() };
    // A periodic or parameterized job only launches children: it runs nothing itself.
    let Some(job) = state.jobs.get(key).filter(|j| !j.stop && !j.is_parent()) else {
        for a in state.allocs_of_job(key).filter(|a| !a.terminal()) {
            plan.stops.push(stop(a, STOP_JOB, None));
        }
        return plan;
    };
    let mut ctx = Context::new(state, job, options);
    let nodes = super::select::candidate_nodes(state, job, rng);
    for group in &job.task_groups {
        // existing allocation of this group per node (live, or complete for sysbatch)
        let mut on_node: BTreeMap<&str, &Allocation> = BTreeMap::new();
        for a in state.allocs_of_job(key).filter(|a| a.task_group == group.name) {
            let done =
                job.job_type == JobType::Sysbatch && a.client_status == ClientStatus::Complete && a.desired_status == DesiredStatus::Run;
            if a.terminal() && !done {
                continue;
            }
            let node_down = state.nodes.get(a.node_id.as_str()).is_none_or(|n| n.status == NodeStatus::Down);
            if node_down {
                plan.stops.push(stop(a, STOP_LOST, Some(ClientStatus::Lost)));
                ctx.free(a);
                continue;
            }
            if migrating(state, a) && !a.terminal() {
                // a draining node gives its system allocations up last; they are not replaced there
                plan.stops.push(stop(a, STOP_MIGRATE, None));
                ctx.free(a);
                continue;
            }
            if a.job_version != job.version && !done {
                if state.job_version(key, a.job_version).is_some_and(|old| !needs_replacement(old, job, &group.name)) {
                    let mut u = a.clone();
                    u.job_version = job.version;
                    plan.updates.push(u);
                } else {
                    plan.stops.push(stop(a, STOP_UPDATE, None));
                    ctx.free(a);
                    continue;
                }
            }
            on_node.insert(a.node_id.as_str(), a);
        }
        for node in &nodes {
            if on_node.contains_key(node.id.as_str()) {
                continue;
            }
            if ctx.feasible(job, group, node).is_err() {
                continue;
            }
            let one = [*node];
            place_all(&mut plan, &mut ctx, eval, job, group, &one, 1, &[(0, None)], rng);
        }
        // A node that no longer fits the job's constraints gives its allocation up (an ineligible or
        // draining node keeps it: the drain decides when it leaves).
        for (node_id, a) in &on_node {
            let fits = state.nodes.get(*node_id).is_some_and(|n| feasible::in_job_scope(job, n) && feasible::check(job, group, n).is_ok());
            if !fits && !a.terminal() {
                plan.stops.push(stop(a, "alloc not needed as node is no longer eligible", None));
            }
        }
    }
    let groups: Vec<&str> = job.task_groups.iter().map(|g| g.name.as_str()).collect();
    for a in state.allocs_of_job(key).filter(|a| !a.terminal() && !groups.contains(&a.task_group.as_str())) {
        plan.stops.push(stop(a, STOP_GROUP_REMOVED, None));
    }
    let preempted = super::preempt::evals_for_preempted(state, &plan, eval, rng);
    plan.followup_evals.extend(preempted);
    plan
}
