//! Shared test helpers: building cluster states through real commands, and locating the built binary.
#![allow(dead_code)]

use drover::core::command::Command;
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::job::{Job, JobType, Task, TaskGroup};
use drover::core::node::{DriverInfo, Node, NodeResources, NodeStatus};
use drover::core::resources::{NetworkResource, Port, Resources};
use drover::core::state::ClusterState;

pub fn node(id: &str, cpu: u64, mem: u64) -> Node {
    let mut n = Node {
        id: id.into(),
        name: format!("node-{id}"),
        datacenter: "dc1".into(),
        node_pool: "default".into(),
        status: NodeStatus::Ready,
        eligible: true,
        resources: NodeResources { cpu_mhz: cpu, memory_mb: mem, disk_mb: 100_000, ..Default::default() },
        ..Default::default()
    };
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.drivers.insert("container".into(), DriverInfo { detected: true, healthy: true, health_description: String::new() });
    n
}

pub fn job(id: &str, count: u32, cpu: u64, mem: u64) -> Job {
    let mut j = Job {
        id: id.into(),
        job_type: JobType::Service,
        task_groups: vec![TaskGroup {
            name: "web".into(),
            count,
            networks: vec![NetworkResource {
                dynamic_ports: vec![Port { label: "http".into(), ..Default::default() }],
                ..Default::default()
            }],
            tasks: vec![Task {
                name: "srv".into(),
                driver: "container".into(),
                resources: Resources { cpu, memory_mb: mem, ..Default::default() },
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    j.canonicalize();
    j
}

/// A pending service evaluation of `job_id`, as a registration creates.
pub fn pending_eval(id: &str, job_id: &str) -> Evaluation {
    Evaluation {
        id: id.into(),
        namespace: "default".into(),
        priority: 50,
        job_type: "service".into(),
        job_id: job_id.into(),
        triggered_by: "job-register".into(),
        status: EvalStatus::Pending,
        ..Default::default()
    }
}

/// Applies commands in order, as Raft would, starting at index 1.
pub fn apply_all(state: &mut ClusterState, cmds: &[Command]) {
    for c in cmds {
        let idx = state.index + 1;
        let r = state.apply(idx, c);
        assert!(r.error.is_none(), "command {} rejected: {:?}", c.name(), r.error);
    }
}
pub mod agent;
pub mod cluster;
