//! Preemption, as Nomad's: when a group does not fit on a node, the allocations of jobs at least
//! 10 priority levels lower may be evicted for it — lowest priority first, within a priority the
//! allocation closest in size to what is still missing, then only as many as are needed.

use std::collections::BTreeSet;

use crate::core::alloc::Allocation;
use crate::core::eval::{EvalStatus, Evaluation};
use crate::core::job::{JobKey, JobType};
use crate::core::node::Node;
use crate::core::rng::SeededRng;
use crate::core::scheduler_config::PreemptionConfig;
use crate::core::state::ClusterState;

use super::fit::{Ask, Usage};
use super::plan::Plan;

/// Nomad's minimum priority difference between a job and the allocations it may preempt.
pub const PRIORITY_DELTA: i32 = 10;
/// Nomad's penalty per allocation beyond its job's `migrate.max_parallel` already preempted.
const MAX_PARALLEL_PENALTY: f64 = 50.0;

/// Nomad's description of an evicted allocation.
pub fn description(by_alloc_id: &str) -> String {
    format!("Preempted by alloc ID {by_alloc_id}")
}

/// Whether the scheduler configuration lets jobs of `job_type` preempt.
pub fn enabled(config: &PreemptionConfig, job_type: JobType) -> bool {
    match job_type {
        JobType::System => config.system_scheduler_enabled,
        JobType::Sysbatch => config.sysbatch_scheduler_enabled,
        JobType::Batch => config.batch_scheduler_enabled,
        JobType::Service => config.service_scheduler_enabled,
    }
}

/// An allocation that might be preempted, with what Nomad weighs.
pub struct Candidate<'a> {
    pub alloc: &'a Allocation,
    pub priority: i32,
    /// Its job's `migrate.max_parallel` (0: none).
    pub max_parallel: i32,
    /// Allocations of its job this plan already preempts.
    pub already_preempted: i32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Amount {
    cpu: f64,
    memory: f64,
    disk: f64,
}

impl Amount {
    fn of(a: &Allocation) -> Self {
        Self { cpu: a.resources.cpu() as f64, memory: a.resources.memory_mb() as f64, disk: a.resources.disk_mb as f64 }
    }

    fn covers(&self, ask: &Ask) -> bool {
        self.cpu >= ask.cpu as f64 && self.memory >= ask.memory_mb as f64 && self.disk >= ask.disk_mb as f64
    }

    fn add(&mut self, o: Amount) {
        self.cpu += o.cpu;
        self.memory += o.memory;
        self.disk += o.disk;
    }
}

/// Nomad's distance between what is needed and what an allocation frees (lower is closer).
fn distance(needed: Amount, freed: Amount) -> f64 {
    let coord = |n: f64, f: f64| if n > 0.0 { (n - f) / n } else { 0.0 };
    (coord(needed.memory, freed.memory).powi(2) + coord(needed.cpu, freed.cpu).powi(2) + coord(needed.disk, freed.disk).powi(2)).sqrt()
}

/// The allocations to evict so that `ask` fits on `node` (whose usage is `used`), or `None` when
/// evicting every eligible one would not make room. Ports are not preempted for.
pub fn for_group<'a>(
    node: &Node,
    used: &Usage,
    ask: &Ask,
    job_priority: i32,
    candidates: Vec<Candidate<'a>>,
) -> Option<Vec<&'a Allocation>> {
    let r = &node.resources;
    let v = &node.reserved;
    let remaining = Amount {
        cpu: r.cpu_mhz.saturating_sub(v.cpu_mhz) as f64 - used.cpu as f64,
        memory: r.memory_mb.saturating_sub(v.memory_mb) as f64 - used.memory_mb as f64,
        disk: if r.disk_mb == 0 { f64::INFINITY } else { r.disk_mb.saturating_sub(v.disk_mb) as f64 - used.disk_mb as f64 },
    };
    let asked = Amount { cpu: ask.cpu as f64, memory: ask.memory_mb as f64, disk: ask.disk_mb as f64 };
    let mut eligible: Vec<Candidate<'a>> = candidates.into_iter().filter(|c| job_priority - c.priority >= PRIORITY_DELTA).collect();
    // by priority, lowest first (ids keep the order deterministic)
    eligible.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.alloc.id.cmp(&b.alloc.id)));
    let mut available = remaining;
    let mut needed = Amount { cpu: asked.cpu - remaining.cpu, memory: asked.memory - remaining.memory, disk: asked.disk - remaining.disk };
    let mut chosen: Vec<&'a Allocation> = Vec::new();
    let mut i = 0;
    while i < eligible.len() && !available.covers(ask) {
        let priority = eligible[i].priority;
        let end = eligible[i..].iter().position(|c| c.priority != priority).map_or(eligible.len(), |k| i + k);
        let mut group: Vec<&Candidate<'a>> = eligible[i..end].iter().collect();
        while !group.is_empty() && !available.covers(ask) {
            let score = |c: &Candidate<'_>| {
                let penalty = if c.max_parallel > 0 && c.already_preempted >= c.max_parallel {
                    f64::from(c.already_preempted + 1 - c.max_parallel) * MAX_PARALLEL_PENALTY
                } else {
                    0.0
                };
                distance(needed, Amount::of(c.alloc)) + penalty
            };
            let (best, _) = group.iter().enumerate().fold((0, f64::MAX), |(bi, bd), (k, c)| {
                let d = score(c);
                if d < bd {
                    (k, d)
                } else {
                    (bi, bd)
                }
            });
            let c = group.swap_remove(best);
            let freed = Amount::of(c.alloc);
            available.add(freed);
            needed = Amount { cpu: needed.cpu - freed.cpu, memory: needed.memory - freed.memory, disk: needed.disk - freed.disk };
            chosen.push(c.alloc);
        }
        i = end;
    }
    if !available.covers(ask) {
        return None;
    }
    // Nomad's second pass: farthest first, keep adding until the ask is covered.
    chosen.sort_by(|a, b| distance(asked, Amount::of(b)).total_cmp(&distance(asked, Amount::of(a))).then_with(|| a.id.cmp(&b.id)));
    let mut available = remaining;
    let mut minimal = Vec::new();
    for a in chosen {
        minimal.push(a);
        available.add(Amount::of(a));
        if available.covers(ask) {
            break;
        }
    }
    Some(minimal)
}

/// Nomad's preemption score in (0, 1): evicting lower net priority scores higher.
pub fn score(priorities: &[i32]) -> f64 {
    let max = priorities.iter().copied().max().unwrap_or(0).max(1) as f64;
    let sum: i32 = priorities.iter().sum();
    let net = max + f64::from(sum) / max;
    1.0 / (1.0 + (0.0048 * (net - 2048.0)).exp())
}

/// Nomad's trigger of the evaluation a preempted job gets.
pub const TRIGGER_PREEMPTION: &str = "preemption";

/// One pending evaluation per job that `plan` preempts allocations of, so it can place them again.
pub fn evals_for_preempted(state: &ClusterState, plan: &Plan, eval: &Evaluation, rng: &mut SeededRng) -> Vec<Evaluation> {
    let jobs: BTreeSet<JobKey> = plan
        .preemptions
        .iter()
        .filter_map(|p| state.allocs.get(p.alloc_id.as_str()))
        .map(|a| JobKey::new(&a.namespace, &a.job_id))
        .collect();
    jobs.iter()
        .filter_map(|key| state.jobs.get(key))
        .map(|job| Evaluation {
            id: super::new_id(rng),
            namespace: job.namespace.clone(),
            priority: job.priority,
            job_type: job.job_type.as_str().into(),
            triggered_by: TRIGGER_PREEMPTION.into(),
            job_id: job.id.clone(),
            job_modify_index: job.modify_index,
            status: EvalStatus::Pending,
            previous_eval: eval.id.clone(),
            ..Default::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::node::NodeResources;
    use crate::core::resources::{AllocatedResources, TaskResources};

    fn alloc(id: &str, cpu: u64) -> Allocation {
        let mut resources = AllocatedResources::default();
        resources.tasks.insert("t".into(), TaskResources { cpu, memory_mb: 10, ..Default::default() });
        Allocation { id: id.into(), resources, ..Default::default() }
    }

    #[test]
    fn lowest_priority_first_and_only_what_is_needed() {
        let node = Node { resources: NodeResources { cpu_mhz: 1000, memory_mb: 1000, ..Default::default() }, ..Default::default() };
        let (a, b, c) = (alloc("a", 300), alloc("b", 300), alloc("c", 300));
        let used = Usage { cpu: 900, memory_mb: 30, ..Default::default() };
        let ask = Ask { cpu: 300, memory_mb: 10, ..Default::default() };
        let cands = |pa: i32, pb: i32, pc: i32| {
            vec![
                Candidate { alloc: &a, priority: pa, max_parallel: 0, already_preempted: 0 },
                Candidate { alloc: &b, priority: pb, max_parallel: 0, already_preempted: 0 },
                Candidate { alloc: &c, priority: pc, max_parallel: 0, already_preempted: 0 },
            ]
        };
        let ids = |v: Option<Vec<&Allocation>>| v.map(|v| v.iter().map(|a| a.id.to_string()).collect::<Vec<_>>());
        assert_eq!(ids(for_group(&node, &used, &ask, 50, cands(30, 20, 40))), Some(vec!["b".to_string()]));
        // within 10 of the job's priority nothing may go
        assert_eq!(ids(for_group(&node, &used, &ask, 50, cands(45, 41, 50))), None);
        let big = Ask { cpu: 650, memory_mb: 10, ..Default::default() };
        // 100 free: the priority-20 allocation, then one of priority 30 make room; priority 40 stays
        assert_eq!(ids(for_group(&node, &used, &big, 50, cands(30, 20, 40))), Some(vec!["a".to_string(), "b".to_string()]));
        assert!(score(&[20]) > score(&[20, 40, 40]));
        assert_eq!(description("x"), "Preempted by alloc ID x");
    }
}
