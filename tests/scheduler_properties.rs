//! Scheduler properties over seeded random clusters and histories: whatever sequence of
//! evaluations is planned — several at once from one stale snapshot, then verified by the plan
//! applier (`verify`) against the newest state and applied in turn — no node is ever over-committed
//! on cpu, memory, disk or ports; the same input with the same seed gives the same plan; and judging
//! feasibility once per computed node class gives the same plan as judging every node.

mod common;

use std::collections::BTreeSet;

use drover::core::command::Command;
use drover::core::eval::Evaluation;
use drover::core::job::{Constraint, Job, JobType, Task, TaskGroup};
use drover::core::node::{DriverInfo, Node, NodeReserved, NodeResources, NodeStatus};
use drover::core::resources::{NetworkResource, Port, Resources};
use drover::core::rng::SeededRng;
use drover::core::scheduler::{schedule, schedule_with, verify::verify, Options, Plan};
use drover::core::scheduler_config::SchedulerConfig;
use drover::core::state::ClusterState;

fn pick<'a>(rng: &mut SeededRng, xs: &[&'a str]) -> &'a str {
    xs[rng.below(xs.len() as u64) as usize]
}

fn random_node(rng: &mut SeededRng, i: usize) -> Node {
    let lo = 20000 + rng.below(100) as u16;
    let mut n = Node {
        id: format!("node-{i:02}"),
        name: format!("node-{i:02}"),
        datacenter: pick(rng, &["dc1", "dc2"]).into(),
        node_class: pick(rng, &["", "small", "large"]).into(),
        node_pool: "default".into(),
        status: NodeStatus::Ready,
        eligible: rng.below(10) > 0,
        resources: NodeResources {
            cpu_mhz: 500 + rng.below(4000),
            memory_mb: 256 + rng.below(4096),
            disk_mb: 1000 + rng.below(5000),
            // a small dynamic range, so ports run out too
            min_dynamic_port: lo,
            max_dynamic_port: lo + rng.below(4) as u16,
            ..Default::default()
        },
        reserved: NodeReserved { cpu_mhz: rng.below(200), memory_mb: rng.below(128), disk_mb: 0, ports: vec![22] },
        ..Default::default()
    };
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.attributes.insert("unique.hostname".into(), format!("host-{i}"));
    n.meta.insert("rack".into(), pick(rng, &["r1", "r2", "r3"]).into());
    n.drivers.insert("docker".into(), DriverInfo { detected: true, healthy: true, health_description: String::new() });
    n
}

fn random_job(rng: &mut SeededRng, i: usize) -> Job {
    let job_type = [JobType::Service, JobType::Service, JobType::Batch, JobType::System][rng.below(4) as usize];
    let mut network = NetworkResource::default();
    for p in 0..rng.below(3) {
        network.dynamic_ports.push(Port { label: format!("d{p}"), ..Default::default() });
    }
    if rng.below(4) == 0 {
        network.reserved_ports.push(Port { label: "s".into(), value: [8080, 9090, 22][rng.below(3) as usize], ..Default::default() });
    }
    let mut group = TaskGroup {
        name: "g".into(),
        count: 1 + rng.below(8) as u32,
        networks: vec![network],
        tasks: vec![Task {
            name: "t".into(),
            driver: "docker".into(),
            resources: Resources { cpu: 50 + rng.below(1500), memory_mb: 32 + rng.below(1500), ..Default::default() },
            ..Default::default()
        }],
        ..Default::default()
    };
    group.ephemeral_disk.size_mb = rng.below(1500);
    match rng.below(6) {
        0 => group.constraints.push(Constraint { operand: "distinct_hosts".into(), rtarget: "true".into(), ltarget: String::new() }),
        1 => {
            group.constraints.push(Constraint { operand: "distinct_property".into(), ltarget: "${meta.rack}".into(), rtarget: "2".into() })
        }
        2 => {
            group.constraints.push(Constraint { operand: "!=".into(), ltarget: "${attr.unique.hostname}".into(), rtarget: "host-1".into() })
        }
        3 => group.constraints.push(Constraint { operand: "regexp".into(), ltarget: "${node.class}".into(), rtarget: "^(small|)$".into() }),
        _ => {}
    }
    let mut j = Job {
        id: format!("job-{i}"),
        job_type,
        datacenters: vec![pick(rng, &["dc1", "dc*", "*"]).into()],
        task_groups: vec![group],
        ..Default::default()
    };
    j.canonicalize();
    j
}

fn eval_of(job: &Job, n: usize) -> Evaluation {
    let mut e = common::pending_eval(&format!("eval-{}-{n}", job.id), &job.id);
    e.job_type = job.job_type.as_str().into();
    e
}

fn apply(state: &mut ClusterState, cmd: Command) {
    let idx = state.index + 1;
    let r = state.apply(idx, &cmd);
    assert!(r.error.is_none(), "{} rejected: {:?}", cmd.name(), r.error);
}

/// Every node's running allocations fit its capacity, and no port is used twice or reserved.
fn assert_not_overcommitted(state: &ClusterState, context: &str) {
    for node in state.nodes.values() {
        let (mut cpu, mut mem, mut disk) = (0, 0, 0);
        let mut ports = BTreeSet::new();
        for a in state.allocs_on_node(&node.id).filter(|a| !a.terminal()) {
            cpu += a.resources.cpu();
            mem += a.resources.memory_mb();
            disk += a.resources.disk_mb;
            for p in &a.resources.ports {
                assert!(ports.insert(p.value), "{context}: port {} used twice on {}", p.value, node.id);
                assert!(!node.reserved.ports.contains(&p.value), "{context}: reserved port {} used on {}", p.value, node.id);
            }
        }
        let r = &node.resources;
        let v = &node.reserved;
        assert!(cpu <= r.cpu_mhz - v.cpu_mhz, "{context}: cpu {cpu} over {} on {}", r.cpu_mhz - v.cpu_mhz, node.id);
        assert!(mem <= r.memory_mb - v.memory_mb, "{context}: memory {mem} over {} on {}", r.memory_mb - v.memory_mb, node.id);
        assert!(disk <= r.disk_mb - v.disk_mb, "{context}: disk {disk} over {} on {}", r.disk_mb - v.disk_mb, node.id);
    }
}

/// Verifies `plan` against the newest state and applies what passes; the ids of rejected nodes.
fn commit(state: &mut ClusterState, plan: &Plan) -> Vec<String> {
    let (result, rejected) = verify(state, plan);
    apply(state, Command::ApplyPlan { result, now: 10 });
    rejected
}

fn run_history(seed: u64) -> usize {
    let mut rng = SeededRng::new(seed);
    let mut state = ClusterState::default();
    if rng.below(2) == 0 {
        let config = SchedulerConfig { scheduler_algorithm: "spread".into(), ..Default::default() };
        apply(&mut state, Command::SetSchedulerConfig { config, cas: None });
    }
    for i in 0..3 + rng.below(10) as usize {
        apply(&mut state, Command::RegisterNode { node: random_node(&mut rng, i), evals: vec![], now: 1 });
    }
    let mut jobs: Vec<Job> = (0..2 + rng.below(6) as usize).map(|i| random_job(&mut rng, i)).collect();
    for j in &jobs {
        apply(&mut state, Command::RegisterJob { job: j.clone(), eval: None, now: 2 });
    }
    let mut placed = 0;
    for round in 0..8 {
        // some jobs change count or stop between rounds
        if round > 0 && rng.below(2) == 0 {
            let k = rng.below(jobs.len() as u64) as usize;
            match rng.below(3) {
                0 => jobs[k].stop = true,
                _ => jobs[k].task_groups[0].count = rng.below(10) as u32,
            }
            apply(&mut state, Command::RegisterJob { job: jobs[k].clone(), eval: None, now: 3 });
        }
        // several plans from one stale snapshot, committed in turn
        let snapshot = state.clone();
        let mut plans = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let job = &jobs[rng.below(jobs.len() as u64) as usize];
            let eval = eval_of(job, round);
            let plan_seed = rng.next_u64();
            let plan = schedule(&snapshot, &eval, plan_seed);
            assert_eq!(plan, schedule(&snapshot, &eval, plan_seed), "seed {seed}: same input and seed, another plan");
            let per_node = schedule_with(&snapshot, &eval, plan_seed, eval.modify_time, Options { class_cache: false });
            assert_eq!(plan, per_node, "seed {seed}: feasibility per computed class and per node disagree");
            plans.push((eval, plan));
        }
        for (eval, plan) in plans {
            placed += plan.placements.len();
            let rejected = commit(&mut state, &plan);
            assert_not_overcommitted(&state, &format!("seed {seed} round {round} after {}", eval.id));
            if !rejected.is_empty() {
                // the worker re-plans on the newest state
                let again = schedule(&state, &eval, rng.next_u64());
                commit(&mut state, &again);
                assert_not_overcommitted(&state, &format!("seed {seed} round {round} after re-planning {}", eval.id));
            }
        }
    }
    placed
}

#[test]
fn no_history_over_commits_a_node_and_plans_are_deterministic() {
    let mut placed = 0;
    for seed in 0..150 {
        placed += run_history(seed);
    }
    // the generator must actually exercise placement
    assert!(placed > 1000, "only {placed} placements over all histories");
}

#[test]
fn stale_plans_collide_and_the_verifier_rejects_them() {
    // two plans for two jobs from one snapshot of a one-node cluster with room for one allocation
    let mut state = ClusterState::default();
    let n = common::node("only", 1000, 1000);
    apply(&mut state, Command::RegisterNode { node: n, evals: vec![], now: 1 });
    let (a, b) = (common::job("a", 1, 800, 100), common::job("b", 1, 800, 100));
    for j in [&a, &b] {
        apply(&mut state, Command::RegisterJob { job: j.clone(), eval: None, now: 2 });
    }
    let snapshot = state.clone();
    let pa = schedule(&snapshot, &eval_of(&a, 0), 1);
    let pb = schedule(&snapshot, &eval_of(&b, 0), 2);
    assert_eq!((pa.placements.len(), pb.placements.len()), (1, 1));
    assert!(commit(&mut state, &pa).is_empty());
    assert_eq!(commit(&mut state, &pb), vec!["only".to_string()]);
    assert_not_overcommitted(&state, "two stale plans");
}
