//! `job plan`: the scheduler's dry run of a submitted job against a copy of the state, and what it
//! would change per task group (Nomad's `DesiredTGUpdates`), with the diff from the stored job.
//!
//! The copy receives the very `RegisterJob` command a registration would propose, so the new version
//! follows the same versioning rules; nothing is written to the replicated state.

use std::collections::{BTreeMap, BTreeSet};

use super::alloc::{ClientStatus, DesiredStatus};
use super::command::Command;
use super::eval::{AllocMetric, Evaluation};
use super::job::{Job, JobType};
use super::job_diff::{job_diff, JobDiff};
use super::scheduler::generic::STOP_UPDATE;
use super::scheduler::{schedule_at, Plan};
use super::state::ClusterState;

/// What a plan would do to one task group's allocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DesiredUpdates {
    pub ignore: u64,
    pub place: u64,
    pub migrate: u64,
    pub stop: u64,
    pub in_place_update: u64,
    pub destructive_update: u64,
    pub canary: u64,
    pub preemptions: u64,
}

impl DesiredUpdates {
    /// Whether allocations would be created or destroyed (`job plan` exits 1 then).
    pub fn creates_or_destroys(&self) -> bool {
        self.place + self.stop + self.migrate + self.destructive_update + self.canary > 0
    }
}

/// The outcome of a dry run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobPlan {
    /// Per task group, of the new job and of the allocations it has.
    pub annotations: BTreeMap<String, DesiredUpdates>,
    /// Per task group: why some allocations could not be placed.
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    /// The stored job's `job_modify_index` (0 when the job is new): what `job run -check-index` checks.
    pub job_modify_index: u64,
    pub diff: JobDiff,
    /// A periodic job's next launch after `now` (unix seconds), if it would launch.
    pub next_periodic_launch: Option<i64>,
}

impl JobPlan {
    pub fn creates_or_destroys(&self) -> bool {
        self.annotations.values().any(DesiredUpdates::creates_or_destroys)
    }
}

/// Plans `job` (canonical and valid) on `scratch`, a copy of the state that is consumed: the job is
/// registered into it at the next index, then `eval` is scheduled with `seed`.
pub fn plan_job(mut scratch: ClusterState, job: &Job, eval: &Evaluation, now: i64, seed: u64) -> JobPlan {
    let key = job.key();
    let old = scratch.jobs.get(&key).cloned();
    let index = scratch.index + 1;
    scratch.apply(index, &Command::RegisterJob { job: job.clone(), eval: None, now });
    let plan = schedule_at(&scratch, eval, seed, now);
    JobPlan {
        annotations: annotate(&scratch, job, &plan),
        failed_tg_allocs: plan.failed_tg_allocs.clone(),
        job_modify_index: old.as_ref().map_or(0, |j| j.job_modify_index),
        diff: job_diff(old.as_ref(), Some(job)),
        next_periodic_launch: next_periodic_launch(job, now.div_euclid(1_000_000_000)),
    }
}

/// When an active periodic job launches next after `after_secs` (unix seconds).
pub fn next_periodic_launch(job: &Job, after_secs: i64) -> Option<i64> {
    job.periodic.as_deref().filter(|_| job.is_periodic_active()).and_then(|p| p.next_launch(after_secs))
}

/// Counts a plan's effect per task group. A stop for an update whose replacement is placed is one
/// destructive update; placements that failed still count as placements (as the reconciler's).
pub fn annotate(state: &ClusterState, job: &Job, plan: &Plan) -> BTreeMap<String, DesiredUpdates> {
    let mut out: BTreeMap<String, DesiredUpdates> = job.task_groups.iter().map(|g| (g.name.clone(), DesiredUpdates::default())).collect();
    let group_of = |id: &str| state.allocs.get(id).map(|a| a.task_group.to_string()).unwrap_or_default();
    let mut touched: BTreeSet<&str> = BTreeSet::new();
    let mut replaced: BTreeSet<&str> = BTreeSet::new();
    for s in &plan.stops {
        touched.insert(&s.alloc_id);
        let u = out.entry(group_of(&s.alloc_id)).or_default();
        if s.description == STOP_UPDATE {
            u.destructive_update += 1;
            replaced.insert(&s.alloc_id);
        } else {
            u.stop += 1;
        }
    }
    for a in &plan.updates {
        touched.insert(&a.id);
        out.entry(a.task_group.to_string()).or_default().in_place_update += 1;
    }
    let mut replacements_placed: BTreeMap<&str, u64> = BTreeMap::new();
    for a in &plan.placements {
        if replaced.contains(a.previous_allocation.as_str()) {
            *replacements_placed.entry(&a.task_group).or_default() += 1;
        } else {
            out.entry(a.task_group.to_string()).or_default().place += 1;
        }
    }
    // Nomad counts an eviction against the group whose placement needs it.
    for p in &plan.preemptions {
        let by = p.description.strip_prefix(crate::core::scheduler::preempt::description("").as_str()).unwrap_or_default();
        if let Some(a) = plan.placements.iter().find(|a| a.id == by) {
            out.entry(a.task_group.to_string()).or_default().preemptions += 1;
        }
    }
    for (group, queued) in &plan.queued {
        let u = out.entry(group.clone()).or_default();
        // Replacements that found no room are in the queue too, and already counted as destructive.
        let failed_replacements = u.destructive_update.saturating_sub(replacements_placed.get(group.as_str()).copied().unwrap_or(0));
        u.place += queued.saturating_sub(failed_replacements);
    }
    for a in state.allocs_of_job(&job.key()) {
        let done_batch =
            job.job_type == JobType::Batch && a.client_status == ClientStatus::Complete && a.desired_status == DesiredStatus::Run;
        if (!a.terminal() || done_batch) && !touched.contains(a.id.as_str()) {
            out.entry(a.task_group.to_string()).or_default().ignore += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::alloc::Allocation;
    use crate::core::job::{Task, TaskGroup};
    use crate::core::node::{DriverInfo, Node, NodeResources, NodeStatus};
    use crate::core::resources::Resources;
    use crate::core::scheduler::verify::verify;

    fn node() -> Node {
        let mut n = Node {
            id: "n1".into(),
            name: "n1".into(),
            datacenter: "dc1".into(),
            node_pool: "default".into(),
            status: NodeStatus::Ready,
            eligible: true,
            resources: NodeResources { cpu_mhz: 4000, memory_mb: 4096, disk_mb: 100_000, ..Default::default() },
            ..Default::default()
        };
        n.attributes.insert("kernel.name".into(), "linux".into());
        n.drivers.insert("raw_exec".into(), DriverInfo { detected: true, healthy: true, health_description: String::new() });
        n
    }

    fn job(count: u32, memory_mb: u64) -> Job {
        let t = Task {
            name: "t".into(),
            driver: "raw_exec".into(),
            resources: Resources { cpu: 100, memory_mb, ..Default::default() },
            ..Default::default()
        };
        let mut j = Job {
            id: "web".into(),
            namespace: "default".into(),
            task_groups: vec![TaskGroup { name: "g".into(), count, tasks: vec![t], ..Default::default() }],
            ..Default::default()
        };
        j.canonicalize();
        j.datacenters = vec!["dc1".into()];
        j
    }

    fn eval(j: &Job) -> Evaluation {
        Evaluation {
            id: "e1".into(),
            namespace: j.namespace.clone(),
            job_id: j.id.clone(),
            priority: j.priority,
            job_type: "service".into(),
            ..Default::default()
        }
    }

    /// A state with the node, and `running` of the job registered and placed (and running).
    fn state_with(running: Option<&Job>) -> ClusterState {
        let mut s = ClusterState::default();
        s.apply(1, &Command::RegisterNode { node: node(), evals: Vec::new(), now: 1 });
        if let Some(j) = running {
            s.apply(2, &Command::RegisterJob { job: j.clone(), eval: None, now: 2 });
            let plan = crate::core::scheduler::schedule(&s, &eval(j), 7);
            let (result, rejected) = verify(&s, &plan);
            assert!(rejected.is_empty());
            s.apply(3, &Command::ApplyPlan { result, now: 3 });
            let ids: Vec<Allocation> = s.allocs.values().map(|a| (**a).clone()).collect();
            let updates = ids
                .iter()
                .map(|a| crate::core::alloc::ClientAllocUpdate {
                    id: a.id.to_string(),
                    client_status: ClientStatus::Running,
                    ..Default::default()
                })
                .collect();
            s.apply(4, &Command::UpdateAllocsFromClient { node_id: "n1".into(), updates, evals: Vec::new(), now: 4 });
        }
        s
    }

    fn only(p: &JobPlan) -> DesiredUpdates {
        assert_eq!(p.annotations.len(), 1, "{:?}", p.annotations);
        p.annotations["g"]
    }

    #[test]
    fn a_new_job_places_its_count() {
        let j = job(2, 64);
        let p = plan_job(state_with(None), &j, &eval(&j), 10, 1);
        assert_eq!(only(&p), DesiredUpdates { place: 2, ..Default::default() });
        assert!(p.creates_or_destroys());
        assert_eq!(p.job_modify_index, 0);
        assert!(p.failed_tg_allocs.is_empty());
    }

    #[test]
    fn the_same_job_again_changes_nothing_and_the_state_is_untouched() {
        let j = job(2, 64);
        let s = state_with(Some(&j));
        let before = s.clone();
        let p = plan_job(s.clone(), &j, &eval(&j), 10, 1);
        assert_eq!(only(&p), DesiredUpdates { ignore: 2, ..Default::default() });
        assert!(!p.creates_or_destroys());
        assert_eq!(p.job_modify_index, 2);
        assert_eq!(s, before);
    }

    #[test]
    fn count_changes_place_or_stop_and_update_the_rest_in_place() {
        let j = job(2, 64);
        let s = state_with(Some(&j));
        let up = plan_job(s.clone(), &job(3, 64), &eval(&j), 10, 1);
        assert_eq!(only(&up), DesiredUpdates { place: 1, in_place_update: 2, ..Default::default() });
        let down = plan_job(s, &job(1, 64), &eval(&j), 10, 1);
        assert_eq!(only(&down), DesiredUpdates { stop: 1, in_place_update: 1, ..Default::default() });
        assert!(down.creates_or_destroys());
    }

    #[test]
    fn a_changed_task_is_a_destructive_update() {
        let j = job(2, 64);
        let p = plan_job(state_with(Some(&j)), &job(2, 128), &eval(&j), 10, 1);
        // the default update block (max_parallel 1): one replaced now, the other later
        assert_eq!(only(&p), DesiredUpdates { destructive_update: 1, ignore: 1, ..Default::default() });
        assert!(p.creates_or_destroys());
    }

    #[test]
    fn too_much_memory_fails_to_place_and_still_counts_the_placement() {
        let j = job(1, 1_000_000);
        let p = plan_job(state_with(None), &j, &eval(&j), 10, 1);
        assert_eq!(only(&p), DesiredUpdates { place: 1, ..Default::default() });
        assert!(p.failed_tg_allocs["g"].dimension_exhausted.contains_key("memory"), "{:?}", p.failed_tg_allocs);
    }

    #[test]
    fn a_periodic_job_places_nothing_and_says_when_it_launches() {
        let mut j = job(1, 64);
        j.periodic = Some(Box::new(crate::core::job::PeriodicConfig { enabled: true, spec: "*/15 * * * *".into(), ..Default::default() }));
        let now_secs = 1_800_000_000 + 60; // 15-minute aligned + 1 minute
        let p = plan_job(state_with(None), &j, &eval(&j), now_secs * 1_000_000_000, 1);
        assert_eq!(only(&p), DesiredUpdates::default());
        assert_eq!(p.next_periodic_launch, Some(1_800_000_000 + 15 * 60));
    }

    #[test]
    fn a_removed_group_stops_its_allocations() {
        let j = job(1, 64);
        let s = state_with(Some(&j));
        let mut renamed = job(1, 64);
        renamed.task_groups[0].name = "h".into();
        let p = plan_job(s, &renamed, &eval(&j), 10, 1);
        assert_eq!(p.annotations["g"], DesiredUpdates { stop: 1, ..Default::default() });
        assert_eq!(p.annotations["h"], DesiredUpdates { place: 1, ..Default::default() });
    }

    #[test]
    fn evictions_count_against_the_group_that_needs_them() {
        // the node (cpu per `node()`) runs a low-priority job; a service job of priority 90 may preempt
        let mut low = job(1, 64);
        low.id = "low".into();
        low.priority = 20;
        let mut s = state_with(Some(&low));
        let mut config = s.scheduler_config.clone();
        config.preemption.service_scheduler_enabled = true;
        s.apply(5, &Command::SetSchedulerConfig { config, cas: None });
        let cpu = s.nodes["n1"].resources.cpu_mhz;
        let mut high = job(1, 64);
        high.priority = 90;
        high.task_groups[0].tasks[0].resources.cpu = cpu - 50;
        let p = plan_job(s, &high, &eval(&high), 10, 1);
        assert_eq!(only(&p), DesiredUpdates { place: 1, preemptions: 1, ..Default::default() });
    }
}
