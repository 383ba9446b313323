//! Plan verification on the leader: re-checks every node of a plan against the newest state.
//!
//! Nodes whose placements no longer fit (another plan took the room, or the node went away) are
//! rejected as a whole (with the evictions planned there); the rest of the plan is committed and the
//! worker retries the remainder (a deployment the plan creates is committed only with one of its
//! allocations).

use std::collections::BTreeSet;

use crate::core::command::PlanResult;
use crate::core::shared::Shared;
use crate::core::state::ClusterState;

use super::fit::{self, Usage};
use super::plan::Plan;

/// The committable part of `plan` and the ids of the nodes that were rejected.
pub fn verify(state: &ClusterState, plan: &Plan) -> (PlanResult, Vec<String>) {
    let mut result = PlanResult {
        stops: plan.stops.clone(),
        deployment: plan.deployment.clone(),
        deployment_updates: plan.deployment_updates.clone(),
        followup_evals: plan.followup_evals.clone(),
        followups: plan.followups.clone(),
        ..Default::default()
    };
    let mut rejected = Vec::new();
    let stopped: BTreeSet<&str> = plan.stops.iter().chain(&plan.preemptions).map(|s| s.alloc_id.as_str()).collect();
    // Nodes the plan stops something on: their usage is counted without it, the others' is memoised.
    let stopping_on: BTreeSet<&str> = stopped.iter().filter_map(|id| state.allocs.get(*id)).map(|a| a.node_id.as_str()).collect();
    for (node_id, allocs) in plan.by_node() {
        let on_node = |id: &str| state.allocs.get(id).is_some_and(|a| a.node_id == node_id);
        let ok = match state.nodes.get(node_id) {
            Some(node) => {
                let placing_new = allocs.iter().any(|a| !state.allocs.contains_key(a.id.as_str()));
                let used = if stopping_on.contains(node_id) || allocs.iter().any(|a| on_node(&a.id)) {
                    let mut exclude = stopped.clone();
                    exclude.extend(allocs.iter().map(|a| a.id.as_str()));
                    Usage::of_node(state, node_id, &exclude)
                } else {
                    state.node_usage(node_id)
                };
                (!placing_new || (node.ready() && node.eligible)) && fit::still_fits(node, &used, &allocs)
            }
            None => false,
        };
        if ok {
            result.allocs.extend(allocs.into_iter().map(|a| Shared::new(a.clone())));
            // evictions for this node's placements commit with them
            result.stops.extend(plan.preemptions.iter().filter(|p| on_node(&p.alloc_id)).cloned());
        } else {
            rejected.push(node_id.to_string());
        }
    }
    // A new deployment none of whose allocations committed waits for the retry, which plans it again.
    let orphaned = result.deployment.as_ref().is_some_and(|d| !result.allocs.iter().any(|a| a.deployment_id == d.id));
    if orphaned && !rejected.is_empty() {
        result.deployment = None;
    }
    (result, rejected)
}
