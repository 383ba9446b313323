//! Scheduler benchmark: one evaluation placing a service job's allocations on a cluster of 1k, 5k
//! and 10k nodes (50, 300 and 1,200 allocations per job), under the binpack and spread algorithms,
//! plus the same job with a `spread` block and an affinity. Prints µs per placement (median and best
//! of the rounds) against the target (≤ 50 µs per placement at 5k nodes, no affinity or spread); asserts nothing.
//!
//! `cargo bench --profile release --bench scheduler` (or `scripts/bench-scheduler`) measures (`-- --nodes 5000 --allocs 300 --rounds 5` narrows it);
//! under `cargo test` it runs one small case as a smoke check. `scripts/bench-scheduler` wraps it.

// shared with the benchmarks that start the drover binary, which this one does not
#[allow(dead_code)]
#[path = "common/bench_args.rs"]
mod bench_args;

use std::time::{Duration, Instant};

use bench_args::BenchArgs;
use drover::core::command::Command;
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::job::{Affinity, Job, JobType, Spread, Task, TaskGroup};
use drover::core::node::{DriverInfo, Node, NodeResources, NodeStatus};
use drover::core::resources::{NetworkResource, Port, Resources};
use drover::core::scheduler::schedule;
use drover::core::scheduler_config::SchedulerConfig;
use drover::core::state::ClusterState;

const TARGET_US: f64 = 50.0;

fn node(i: usize) -> Node {
    let mut n = Node {
        id: format!("{i:08x}-0000-4000-8000-000000000000"),
        name: format!("node-{i}"),
        datacenter: format!("dc{}", i % 3 + 1),
        node_class: ["small", "medium", "large"][i % 3].into(),
        node_pool: "default".into(),
        status: NodeStatus::Ready,
        eligible: true,
        resources: NodeResources { cpu_mhz: 4000 + (i % 4) as u64 * 1000, memory_mb: 8192, disk_mb: 100_000, ..Default::default() },
        ..Default::default()
    };
    for (k, v) in [("kernel.name", "linux"), ("os.name", "debian"), ("cpu.arch", "amd64"), ("driver.docker", "1")] {
        n.attributes.insert(k.into(), v.into());
    }
    n.attributes.insert("unique.hostname".into(), format!("host-{i}"));
    n.meta.insert("rack".into(), format!("r{}", i % 20));
    n.drivers.insert("docker".into(), DriverInfo { detected: true, healthy: true, health_description: String::new() });
    n
}

fn job(count: u32, placement_blocks: bool) -> Job {
    let mut group = TaskGroup {
        name: "web".into(),
        count,
        networks: vec![NetworkResource { dynamic_ports: vec![Port { label: "http".into(), ..Default::default() }], ..Default::default() }],
        tasks: vec![Task {
            name: "srv".into(),
            driver: "docker".into(),
            resources: Resources { cpu: 100, memory_mb: 128, ..Default::default() },
            ..Default::default()
        }],
        ..Default::default()
    };
    group.constraints.push(drover::core::job::Constraint {
        ltarget: "${attr.kernel.name}".into(),
        rtarget: "linux".into(),
        operand: "=".into(),
    });
    if placement_blocks {
        group.spreads.push(Spread { attribute: "${meta.rack}".into(), weight: 50, targets: vec![] });
        group.affinities.push(Affinity { ltarget: "${node.class}".into(), rtarget: "large".into(), operand: "=".into(), weight: 50 });
    }
    let mut j =
        Job { id: "web".into(), job_type: JobType::Service, datacenters: vec!["*".into()], task_groups: vec![group], ..Default::default() };
    j.canonicalize();
    j
}

fn cluster(nodes: usize, algorithm: &str, job: &Job) -> ClusterState {
    let mut s = ClusterState::default();
    let mut cmds = vec![Command::SetSchedulerConfig {
        config: SchedulerConfig { scheduler_algorithm: algorithm.into(), ..Default::default() },
        cas: None,
    }];
    cmds.extend((0..nodes).map(|i| Command::RegisterNode { node: node(i), evals: vec![], now: 1 }));
    cmds.push(Command::RegisterJob { job: job.clone(), eval: None, now: 2 });
    for c in &cmds {
        let idx = s.index + 1;
        let r = s.apply(idx, c);
        assert!(r.error.is_none(), "{} rejected: {:?}", c.name(), r.error);
    }
    s
}

fn eval() -> Evaluation {
    Evaluation {
        id: "eval-bench".into(),
        namespace: "default".into(),
        priority: 50,
        job_type: "service".into(),
        job_id: "web".into(),
        triggered_by: "job-register".into(),
        status: EvalStatus::Pending,
        ..Default::default()
    }
}

/// Median and best time of one evaluation, over `rounds`.
fn measure(state: &ClusterState, count: u32, rounds: usize) -> (Duration, Duration) {
    let e = eval();
    let mut times: Vec<Duration> = (0..rounds)
        .map(|r| {
            let t = Instant::now();
            let plan = schedule(state, &e, r as u64 + 1);
            let took = t.elapsed();
            assert_eq!(plan.placements.len(), count as usize, "every allocation placed");
            std::hint::black_box(plan);
            took
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[0])
}

fn main() {
    let args = BenchArgs::from_env();
    let measuring = args.measuring();
    let list = |name: &str, default: &[usize], smoke: usize| -> Vec<usize> {
        match args.value(name) {
            Some(v) => v.split(',').map(|n| n.parse().unwrap_or_else(|_| panic!("{name}: not a number: {n}"))).collect(),
            None if measuring => default.to_vec(),
            None => vec![smoke],
        }
    };
    let node_counts = list("--nodes", &[1000, 5000, 10_000], 200);
    let alloc_counts = list("--allocs", &[50, 300, 1200], 50);
    let rounds = args.number("--rounds", if measuring { 5 } else { 1 });
    println!("{:>7} {:>7} {:>8} {:>16} {:>12} {:>12} {:>12}", "nodes", "allocs", "algo", "blocks", "eval", "µs/place", "best µs/pl");
    for &nodes in &node_counts {
        for algorithm in ["binpack", "spread"] {
            for &allocs in &alloc_counts {
                for blocks in [false, true] {
                    let j = job(allocs as u32, blocks);
                    let state = cluster(nodes, algorithm, &j);
                    let (took, best) = measure(&state, allocs as u32, rounds);
                    let per = took.as_secs_f64() * 1e6 / allocs as f64;
                    let best = best.as_secs_f64() * 1e6 / allocs as f64;
                    let label = if blocks { "spread+affinity" } else { "none" };
                    let verdict = if nodes == 5000 && !blocks {
                        if per <= TARGET_US {
                            "  MET (≤ 50 µs)"
                        } else {
                            "  MISSED (≤ 50 µs)"
                        }
                    } else {
                        ""
                    };
                    println!("{nodes:>7} {allocs:>7} {algorithm:>8} {label:>16} {took:>12.2?} {per:>12.1} {best:>12.1}{verdict}");
                }
            }
        }
    }
}
