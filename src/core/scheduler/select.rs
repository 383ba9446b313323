//! Node selection for one placement, as Nomad's stack: feasibility (per computed class), distinct
//! hosts and properties, fit, ranking, and a candidate limit over a shuffled node list that carries
//! on where the previous placement stopped, recording why nodes were passed over.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::core::alloc::Allocation;
use crate::core::eval::AllocMetric;
use crate::core::job::{Affinity, Job, JobKey, JobType, TaskGroup};
use crate::core::node::Node;
use crate::core::resources::AllocatedResources;
use crate::core::rng::SeededRng;
use crate::core::state::ClusterState;

use super::class::{self, GroupFeasibility};
use super::feasible;
use super::fit::{self, Ask, Usage, DIM_CPU, DIM_DISK, DIM_MEMORY};
use super::preempt::{self, Candidate};
use super::property::{self, DistinctProperty, SpreadSet};
use super::rank::{self, Algorithm};

/// Nomad's `node_limit_for_feasibility_checks` default: the candidate limit of a group with
/// affinities or spreads (or its count, when larger).
pub const AFFINITY_SPREAD_LIMIT: usize = 100;
/// Nomad's limit iterator: up to this many candidates scoring at most 0 are set aside, used only
/// when no better ones remain.
const MAX_SKIP: usize = 3;

/// How the scheduler judges feasibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Judge class-wide constraints once per computed node class (Nomad's behaviour); off, every
    /// node is checked on its own (the same verdicts, slower).
    pub class_cache: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { class_cache: true }
    }
}

/// What a group needs judged for every candidate, built once per evaluation.
struct GroupState<'a> {
    ask: Ask,
    feasibility: GroupFeasibility<'a>,
    /// `distinct_hosts` at the job level (any of the job's allocations) and the group level (the group's).
    distinct_hosts_job: bool,
    distinct_hosts_group: bool,
    distinct: Vec<DistinctProperty>,
    spreads: Vec<SpreadSet>,
    affinities: Vec<&'a Affinity>,
}

impl<'a> GroupState<'a> {
    fn new(state: &ClusterState, job: &'a Job, group: &'a TaskGroup, allocs: &BTreeMap<String, BTreeMap<String, u32>>) -> Self {
        let distinct_hosts = |cs: &[crate::core::job::Constraint]| cs.iter().any(|c| c.operand == "distinct_hosts" && c.rtarget != "false");
        Self {
            ask: Ask::of_group(group),
            feasibility: GroupFeasibility::new(job, group),
            distinct_hosts_job: distinct_hosts(&job.constraints),
            distinct_hosts_group: distinct_hosts(&group.constraints),
            distinct: property::distinct_properties(state, job, group, allocs),
            spreads: property::spreads(state, job, group, allocs),
            affinities: job.affinities.iter().chain(&group.affinities).chain(group.tasks.iter().flat_map(|t| &t.affinities)).collect(),
        }
    }

    fn count(&mut self, node: &Node, group: &str, delta: i64) {
        for d in &mut self.distinct {
            d.set.add(node, group, delta);
        }
        for s in &mut self.spreads {
            s.set.add(node, group, delta);
        }
    }
}

/// Per-evaluation working memory: node usage including what the plan has placed so far.
pub struct Context<'a> {
    pub state: &'a ClusterState,
    /// The job being scheduled.
    job: JobKey,
    /// Allocations the plan stops or replaces: their resources are free for the plan.
    pub freed: BTreeSet<String>,
    /// The nodes of those allocations: the others' usage is the state's memoised one.
    freed_on: BTreeSet<String>,
    usage: HashMap<&'a str, Usage>,
    /// Per node: allocations of the job being scheduled (existing live ones and planned ones), per group.
    job_allocs: BTreeMap<String, BTreeMap<String, u32>>,
    /// Nodes the next placement should avoid (Nomad's reschedule penalty): where the allocation it
    /// replaces failed.
    pub penalty_nodes: BTreeSet<String>,
    algorithm: Algorithm,
    options: Options,
    classes: HashMap<&'a str, u64>,
    groups: HashMap<String, GroupState<'a>>,
    /// Where the next placement starts in the candidate list (Nomad's iterator keeps its offset).
    cursor: usize,
    /// Nomad's lowest spread boost so far, the score of a spread value wanted nowhere.
    lowest_spread_boost: f64,
    /// Whether the scheduler configuration lets this job preempt lower-priority allocations.
    preemption: bool,
    /// Allocations this plan preempts, per job.
    preempted: HashMap<JobKey, i32>,
}

/// Where one placement goes: the node, its resources, and the allocations evicted for it.
pub struct Selected {
    pub node_id: String,
    pub resources: AllocatedResources,
    pub preempted: Vec<String>,
}

/// A node that may take the placement (Nomad's ranked node): its score and what must be evicted first.
struct Ranked<'a> {
    score: f64,
    node: &'a Node,
    evict: Vec<&'a Allocation>,
}

impl<'a> Context<'a> {
    pub fn new(state: &'a ClusterState, job: &Job, options: Options) -> Self {
        let mut job_allocs: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for a in state.allocs_of_job(&job.key()) {
            if !a.terminal() {
                *job_allocs.entry(a.node_id.to_string()).or_default().entry(a.task_group.to_string()).or_default() += 1;
            }
        }
        Self {
            state,
            job: job.key(),
            freed: BTreeSet::new(),
            freed_on: BTreeSet::new(),
            usage: HashMap::new(),
            job_allocs,
            penalty_nodes: BTreeSet::new(),
            algorithm: Algorithm::parse(&state.scheduler_config.scheduler_algorithm),
            options,
            classes: HashMap::new(),
            groups: HashMap::new(),
            cursor: 0,
            lowest_spread_boost: -1.0,
            preemption: preempt::enabled(&state.scheduler_config.preemption, job.job_type),
            preempted: HashMap::new(),
        }
    }

    /// The allocations `job`'s placement of `ask` would evict on `node`, if evicting makes room.
    fn preemption_for(&self, job: &Job, node: &Node, ask: &Ask) -> Option<Vec<&'a Allocation>> {
        let state = self.state;
        let candidates: Vec<Candidate<'a>> = state
            .allocs_on_node(&node.id)
            .filter(|a| {
                a.holds_resources() && a.desired_status == crate::core::alloc::DesiredStatus::Run && !self.freed.contains(a.id.as_str())
            })
            .filter_map(|a| {
                let key = JobKey::new(&a.namespace, &a.job_id);
                let owner = state.jobs.get(&key)?;
                let migrate = owner.group(&a.task_group).and_then(|g| g.migrate.clone()).or_else(|| owner.migrate.as_deref().cloned());
                Some(Candidate {
                    alloc: a,
                    priority: i32::from(owner.priority),
                    max_parallel: migrate.map_or(0, |m| m.max_parallel),
                    already_preempted: self.preempted.get(&key).copied().unwrap_or(0),
                })
            })
            .collect();
        preempt::for_group(node, &self.usage[node.id.as_str()], ask, i32::from(job.priority), candidates)
    }

    /// Marks an allocation as stopped or replaced by the plan.
    pub fn free(&mut self, a: &Allocation) {
        self.freed.insert(a.id.to_string());
        self.freed_on.insert(a.node_id.to_string());
        self.usage.remove(a.node_id.as_str());
        if *a.namespace != *self.job.namespace || a.job_id != self.job.id {
            return;
        }
        if let Some(g) = self.job_allocs.get_mut(a.node_id.as_str()).and_then(|m| m.get_mut(a.task_group.as_str())) {
            if *g > 0 {
                *g -= 1;
                if let Some(node) = self.state.nodes.get(a.node_id.as_str()) {
                    for gs in self.groups.values_mut() {
                        gs.count(node, &a.task_group, -1);
                    }
                }
            }
        }
    }

    /// What is in use on the node: its allocations less those the plan frees, plus those it places.
    fn usage_of(&mut self, node_id: &'a str) -> &Usage {
        let (state, freed, freed_on) = (self.state, &self.freed, &self.freed_on);
        self.usage.entry(node_id).or_insert_with(|| {
            if !freed_on.contains(node_id) {
                return state.node_usage(node_id);
            }
            let mut u = Usage::default();
            for a in state.allocs_on_node(node_id) {
                if a.holds_resources() && !freed.contains(a.id.as_str()) {
                    u.add(&a.resources);
                }
            }
            u
        })
    }

    /// Records a planned allocation's resources on its node.
    fn claim(&mut self, node: &'a Node, group: &str, res: &AllocatedResources) {
        self.usage_of(&node.id);
        if let Some(u) = self.usage.get_mut(node.id.as_str()) {
            u.add(res);
        }
        *self.job_allocs.entry(node.id.clone()).or_default().entry(group.to_string()).or_default() += 1;
        for gs in self.groups.values_mut() {
            gs.count(node, group, 1);
        }
    }

    fn collisions(&self, node_id: &str, group: &str) -> u32 {
        self.job_allocs.get(node_id).and_then(|m| m.get(group)).copied().unwrap_or(0)
    }

    fn job_on_node(&self, node_id: &str) -> bool {
        self.job_allocs.get(node_id).is_some_and(|m| m.values().any(|n| *n > 0))
    }

    /// Whether `group` may run on `node` at all (drivers and constraints); the error is Nomad's filter reason.
    pub fn feasible(&mut self, job: &'a Job, group: &'a TaskGroup, node: &'a Node) -> Result<(), String> {
        if !self.options.class_cache {
            return feasible::check(job, group, node);
        }
        let state = self.state;
        let class = *self.classes.entry(node.id.as_str()).or_insert_with(|| state.node_class(node, class::computed_class));
        let allocs = &self.job_allocs;
        let gs = self.groups.entry(group.name.clone()).or_insert_with(|| GroupState::new(state, job, group, allocs));
        gs.feasibility.check(node, class)
    }
}

/// The nodes a job may use, in a seeded random order.
pub fn candidate_nodes<'s>(state: &'s ClusterState, job: &Job, rng: &mut SeededRng) -> Vec<&'s Node> {
    let mut nodes: Vec<&Node> = state.nodes.values().filter(|n| feasible::in_scope(job, n)).collect();
    rng.shuffle(&mut nodes);
    nodes
}

/// Nomad's candidate limit: the ceiling of log2 of the node count for service jobs (at least 2), 2 for batch.
pub fn limit_for(job: &Job, nodes: usize) -> usize {
    match job.job_type {
        JobType::Batch => 2,
        _ => (usize::BITS - nodes.saturating_sub(1).leading_zeros()) as usize,
    }
    .max(2)
}

/// Picks the best node among the first `limit` that fit; `None` when no node fits, with `metric` saying why.
pub fn select<'a>(
    ctx: &mut Context<'a>,
    job: &'a Job,
    group: &'a TaskGroup,
    nodes: &[&'a Node],
    limit: usize,
    metric: &mut AllocMetric,
    rng: &mut SeededRng,
) -> Option<Selected> {
    let mut gs = match ctx.groups.remove(&group.name) {
        Some(gs) => gs,
        None => GroupState::new(ctx.state, job, group, &ctx.job_allocs),
    };
    let chosen = pick(ctx, &mut gs, job, group, nodes, limit, metric);
    ctx.groups.insert(group.name.clone(), gs);
    let Ranked { node, evict, .. } = chosen?;
    for a in &evict {
        ctx.free(a);
        *ctx.preempted.entry(JobKey::new(&a.namespace, &a.job_id)).or_default() += 1;
    }
    match fit::allocate(node, ctx.usage_of(&node.id), group, rng) {
        Ok(resources) => {
            ctx.claim(node, &group.name, &resources);
            Some(Selected { node_id: node.id.clone(), resources, preempted: evict.iter().map(|a| a.id.to_string()).collect() })
        }
        Err(dim) => {
            *metric.dimension_exhausted.entry(dim.to_string()).or_default() += 1;
            None
        }
    }
}

/// Walks the candidates from the context's cursor: filters, scores, and returns the best of the
/// first `limit` that fit (Nomad's limit and max-score iterators).
fn pick<'a>(
    ctx: &mut Context<'a>,
    gs: &mut GroupState<'a>,
    job: &'a Job,
    group: &'a TaskGroup,
    nodes: &[&'a Node],
    limit: usize,
    metric: &mut AllocMetric,
) -> Option<Ranked<'a>> {
    let limit = if gs.affinities.is_empty() && gs.spreads.is_empty() { limit } else { AFFINITY_SPREAD_LIMIT.max(group.count as usize) };
    metric.nodes_in_pool = nodes.len() as u64;
    let n = nodes.len();
    if n == 0 {
        return None;
    }
    let mut best: Option<Ranked<'a>> = None;
    let mut consider = |o: Ranked<'a>| {
        if best.as_ref().is_none_or(|b| o.score > b.score) {
            best = Some(o);
        }
    };
    let mut skipped: Vec<Ranked<'a>> = Vec::new();
    let mut yielded = 0;
    let mut at = ctx.cursor % n;
    for _ in 0..n {
        let node = nodes[at];
        at = (at + 1) % n;
        metric.nodes_evaluated += 1;
        match metric.nodes_available.get_mut(&node.datacenter) {
            Some(n) => *n += 1,
            None => {
                metric.nodes_available.insert(node.datacenter.clone(), 1);
            }
        }
        let feasible = if ctx.options.class_cache {
            let state = ctx.state;
            let class = *ctx.classes.entry(node.id.as_str()).or_insert_with(|| state.node_class(node, class::computed_class));
            gs.feasibility.check(node, class)
        } else {
            feasible::check(job, group, node)
        };
        let distinct_hosts =
            if gs.distinct_hosts_job && ctx.job_on_node(&node.id) || gs.distinct_hosts_group && ctx.collisions(&node.id, &group.name) > 0 {
                Err("distinct_hosts".to_string())
            } else {
                Ok(())
            };
        let filtered = feasible.and(distinct_hosts).and_then(|()| gs.distinct.iter().try_for_each(|d| d.check(node)));
        if let Err(reason) = filtered {
            metric.nodes_filtered += 1;
            *metric.constraint_filtered.entry(reason).or_default() += 1;
            if !node.node_class.is_empty() {
                *metric.class_filtered.entry(node.node_class.clone()).or_default() += 1;
            }
            continue;
        }
        let mut evict = Vec::new();
        let mut after_eviction = None;
        let fits = fit::fits(node, ctx.usage_of(&node.id), &gs.ask);
        if let Err(dim) = fits {
            let preempted = if ctx.preemption && [DIM_CPU, DIM_MEMORY, DIM_DISK].contains(&dim) {
                ctx.preemption_for(job, node, &gs.ask).and_then(|e| {
                    let mut u = ctx.usage[node.id.as_str()].clone();
                    for a in &e {
                        u.remove(&a.resources);
                    }
                    fit::fits(node, &u, &gs.ask).ok().map(|()| (e, u))
                })
            } else {
                None
            };
            let Some((e, u)) = preempted else {
                metric.nodes_exhausted += 1;
                *metric.dimension_exhausted.entry(dim.to_string()).or_default() += 1;
                if !node.node_class.is_empty() {
                    *metric.class_exhausted.entry(node.node_class.clone()).or_default() += 1;
                }
                continue;
            };
            evict = e;
            after_eviction = Some(u);
        }
        let used = after_eviction.as_ref().unwrap_or_else(|| &ctx.usage[node.id.as_str()]);
        // at most six scores apply; an array spares an allocation per node
        let mut scores = [0.0; 6];
        let mut count = 0;
        let mut push = |v: f64| {
            scores[count] = v;
            count += 1;
        };
        push(ctx.algorithm.fit(node, used, &gs.ask));
        let optional = [
            rank::anti_affinity(ctx.collisions(&node.id, &group.name), group.count),
            rank::reschedule_penalty(ctx.penalty_nodes.contains(&node.id)),
            rank::node_affinity(&gs.affinities, node),
        ];
        optional.into_iter().flatten().for_each(&mut push);
        if !gs.spreads.is_empty() {
            let spread = property::spread_score(&gs.spreads, node, &mut ctx.lowest_spread_boost);
            if spread != 0.0 {
                push(spread);
            }
        }
        if !evict.is_empty() {
            let priorities: Vec<i32> = evict
                .iter()
                .map(|a| ctx.state.jobs.get(&JobKey::new(&a.namespace, &a.job_id)).map_or(0, |j| i32::from(j.priority)))
                .collect();
            push(preempt::score(&priorities));
        }
        let option = Ranked { score: rank::combine(&scores[..count]), node, evict };
        if option.score <= 0.0 && skipped.len() < MAX_SKIP {
            skipped.push(option);
            continue;
        }
        consider(option);
        yielded += 1;
        if yielded >= limit {
            break;
        }
    }
    ctx.cursor = at;
    for option in skipped.into_iter().take(limit.saturating_sub(yielded)) {
        consider(option);
    }
    best
}
