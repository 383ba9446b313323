//! Node selection for one placement: feasibility, fit, ranking and a candidate limit, recording why nodes were passed over.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::alloc::Allocation;
use crate::core::eval::AllocMetric;
use crate::core::job::{Job, TaskGroup};
use crate::core::node::Node;
use crate::core::resources::AllocatedResources;
use crate::core::rng::SeededRng;
use crate::core::state::ClusterState;

use super::feasible;
use super::fit::{self, Ask, Usage};
use super::rank;

/// Per-evaluation working memory: node usage including what the plan has placed so far.
pub struct Context<'a> {
    pub state: &'a ClusterState,
    /// Allocations the plan stops or replaces: their resources are free for the plan.
    pub freed: BTreeSet<String>,
    usage: BTreeMap<String, Usage>,
    /// Per node: allocations of the job being scheduled (existing live ones and planned ones), per group.
    job_allocs: BTreeMap<String, BTreeMap<String, u32>>,
    /// Nodes the next placement should avoid (Nomad's reschedule penalty): where the allocation it
    /// replaces failed.
    pub penalty_nodes: BTreeSet<String>,
}

impl<'a> Context<'a> {
    pub fn new(state: &'a ClusterState, job: &Job) -> Self {
        let mut job_allocs: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for a in state.allocs_of_job(&job.key()) {
            if !a.terminal() {
                *job_allocs.entry(a.node_id.clone()).or_default().entry(a.task_group.clone()).or_default() += 1;
            }
        }
        Self { state, freed: BTreeSet::new(), usage: BTreeMap::new(), job_allocs, penalty_nodes: BTreeSet::new() }
    }

    /// Marks an allocation as stopped or replaced by the plan.
    pub fn free(&mut self, a: &Allocation) {
        self.freed.insert(a.id.clone());
        self.usage.remove(&a.node_id);
        if let Some(g) = self.job_allocs.get_mut(&a.node_id).and_then(|m| m.get_mut(&a.task_group)) {
            *g = g.saturating_sub(1);
        }
    }

    fn usage(&mut self, node_id: &str) -> &mut Usage {
        if !self.usage.contains_key(node_id) {
            let exclude: BTreeSet<&str> = self.freed.iter().map(String::as_str).collect();
            let u = Usage::of_node(self.state, node_id, &exclude);
            self.usage.insert(node_id.to_string(), u);
        }
        self.usage.entry(node_id.to_string()).or_default()
    }

    /// Records a planned allocation's resources on its node.
    pub fn claim(&mut self, node_id: &str, group: &str, res: &AllocatedResources) {
        self.usage(node_id).add(res);
        *self.job_allocs.entry(node_id.to_string()).or_default().entry(group.to_string()).or_default() += 1;
    }

    fn collisions(&self, node_id: &str, group: &str) -> u32 {
        self.job_allocs.get(node_id).and_then(|m| m.get(group)).copied().unwrap_or(0)
    }

    fn job_on_node(&self, node_id: &str) -> bool {
        self.job_allocs.get(node_id).is_some_and(|m| m.values().any(|n| *n > 0))
    }
}

/// The nodes a job may use, in a seeded random order.
pub fn candidate_nodes<'s>(state: &'s ClusterState, job: &Job, rng: &mut SeededRng) -> Vec<&'s Node> {
    let mut nodes: Vec<&Node> = state.nodes.values().filter(|n| feasible::in_scope(job, n)).collect();
    rng.shuffle(&mut nodes);
    nodes
}

/// Nomad's candidate limit: log2 of the node count for service jobs (at least 2), 2 for batch.
pub fn limit_for(job: &Job, nodes: usize) -> usize {
    match job.job_type {
        crate::core::job::JobType::Batch => 2,
        _ => (usize::BITS - nodes.max(1).leading_zeros()) as usize,
    }
    .max(2)
}

/// Picks the best node among the first `limit` that fit; `None` when no node fits, with `metric` saying why.
pub fn select(
    ctx: &mut Context<'_>,
    job: &Job,
    group: &TaskGroup,
    nodes: &[&Node],
    limit: usize,
    metric: &mut AllocMetric,
    rng: &mut SeededRng,
) -> Option<(String, AllocatedResources)> {
    let ask = Ask::of_group(group);
    let distinct = feasible::distinct_hosts(job, group);
    let mut best: Option<(f64, &Node)> = None;
    let mut fitting = 0;
    metric.nodes_in_pool = nodes.len() as u64;
    for node in nodes {
        metric.nodes_evaluated += 1;
        *metric.nodes_available.entry(node.datacenter.clone()).or_default() += 1;
        if let Err(reason) = feasible::check(job, group, node) {
            metric.nodes_filtered += 1;
            *metric.constraint_filtered.entry(reason).or_default() += 1;
            continue;
        }
        if distinct && ctx.job_on_node(&node.id) {
            metric.nodes_filtered += 1;
            *metric.constraint_filtered.entry("distinct_hosts".into()).or_default() += 1;
            continue;
        }
        let used = ctx.usage(&node.id).clone();
        if let Err(dim) = fit::fits(node, &used, &ask) {
            metric.nodes_exhausted += 1;
            *metric.dimension_exhausted.entry(dim.to_string()).or_default() += 1;
            if !node.node_class.is_empty() {
                *metric.class_exhausted.entry(node.node_class.clone()).or_default() += 1;
            }
            continue;
        }
        let mut scores = vec![rank::binpack(node, &used, &ask)];
        scores.extend(rank::anti_affinity(ctx.collisions(&node.id, &group.name), group.count));
        scores.extend(rank::reschedule_penalty(ctx.penalty_nodes.contains(&node.id)));
        let score = rank::combine(&scores);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, node));
        }
        fitting += 1;
        if fitting >= limit {
            break;
        }
    }
    let (_, node) = best?;
    let used = ctx.usage(&node.id).clone();
    match fit::allocate(node, &used, group, rng) {
        Ok(res) => {
            ctx.claim(&node.id, &group.name, &res);
            Some((node.id.clone(), res))
        }
        Err(dim) => {
            *metric.dimension_exhausted.entry(dim.to_string()).or_default() += 1;
            None
        }
    }
}
