//! A plan: what the scheduler wants changed for one evaluation, and why placements failed.

use std::collections::BTreeMap;

use crate::core::alloc::Allocation;
use crate::core::command::{AllocFollowup, AllocStop};
use crate::core::deployment::{Deployment, DeploymentStatusUpdate};
use crate::core::eval::{AllocMetric, Evaluation};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub eval_id: String,
    pub priority: u8,
    /// New allocations.
    pub placements: Vec<Allocation>,
    /// Existing allocations updated in place (same node, new job version).
    pub updates: Vec<Allocation>,
    pub stops: Vec<AllocStop>,
    /// Allocations evicted for placements of this plan (Nomad's `NodePreemptions`): desired status
    /// `evict`, "Preempted by alloc ID <id>".
    pub preemptions: Vec<AllocStop>,
    /// Per task group: why some allocations could not be placed.
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// Per task group: allocations still waiting for a place.
    pub queued: BTreeMap<String, u64>,
    /// The deployment this plan starts.
    pub deployment: Option<Deployment>,
    /// Status changes of other deployments (older versions cancelled).
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// Delayed evaluations that reschedule failed allocations later.
    pub followup_evals: Vec<Evaluation>,
    /// Failed allocations waiting for one of `followup_evals`.
    pub followups: Vec<AllocFollowup>,
}

impl Plan {
    pub fn is_noop(&self) -> bool {
        self.placements.is_empty()
            && self.updates.is_empty()
            && self.stops.is_empty()
            && self.preemptions.is_empty()
            && self.deployment.is_none()
            && self.deployment_updates.is_empty()
            && self.followups.is_empty()
    }

    /// Placements and updates grouped by node.
    pub fn by_node(&self) -> BTreeMap<&str, Vec<&Allocation>> {
        let mut m: BTreeMap<&str, Vec<&Allocation>> = BTreeMap::new();
        for a in self.placements.iter().chain(&self.updates) {
            m.entry(a.node_id.as_str()).or_default().push(a);
        }
        m
    }
}
