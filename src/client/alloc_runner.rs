//! One allocation on this node: builds its directory, runs a task runner per task, and derives the
//! allocation's client status from its tasks' states.

use crate::core::vec_map::VecMap;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::core::alloc::{Allocation, ClientAllocUpdate, ClientStatus, TaskState, TaskStateKind};
use crate::core::job::Job;
use crate::core::node::Node;

use super::alloc_dir::AllocDir;
use super::config::ClientConfig;
use super::control::ClientControl;
use super::reporter::Reporter;
use super::task_runner::{self, TaskContext};

/// The client status Nomad derives from task states.
pub fn client_status(states: &VecMap<String, TaskState>, tasks: usize) -> (ClientStatus, &'static str) {
    let dead = states.values().filter(|s| s.state == TaskStateKind::Dead).count();
    let failed = states.values().any(|s| s.state == TaskStateKind::Dead && s.failed);
    let running = states.values().filter(|s| s.state == TaskStateKind::Running).count();
    if failed && dead == tasks {
        (ClientStatus::Failed, "Failed tasks")
    } else if dead == tasks && tasks > 0 {
        (ClientStatus::Complete, "All tasks have completed")
    } else if running > 0 {
        (ClientStatus::Running, "Tasks are running")
    } else {
        (ClientStatus::Pending, "No tasks have started")
    }
}

pub async fn run(
    alloc: Allocation,
    job: Job,
    node: Node,
    cfg: Arc<ClientConfig>,
    kill: watch::Receiver<bool>,
    reporter: Reporter,
    control: ClientControl,
) {
    let alloc_id = alloc.id.clone();
    let Some(group) = job.group(&alloc.task_group).cloned() else {
        warn!(alloc_id = %alloc_id, group = %alloc.task_group, "allocation's group is missing from its job");
        reporter.push(ClientAllocUpdate {
            id: alloc_id,
            client_status: ClientStatus::Failed,
            client_description: "task group missing from job".into(),
            task_states: VecMap::new(),
        });
        return;
    };
    let dir = AllocDir::new(&cfg.alloc_root(), &alloc.id);
    let names: Vec<&str> = group.tasks.iter().map(|t| t.name.as_str()).collect();
    if let Err(e) = dir.build(&names) {
        warn!(alloc_id = %alloc_id, error = %e, "could not build allocation directory");
        reporter.push(ClientAllocUpdate {
            id: alloc_id,
            client_status: ClientStatus::Failed,
            client_description: format!("failed to build allocation directory {}: {e}", dir.root.display()),
            task_states: VecMap::new(),
        });
        return;
    }
    info!(alloc_id = %alloc_id, job_id = %job.id, tasks = names.len(), "running allocation");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tasks = group.tasks.len();
    let mut states: VecMap<String, TaskState> = VecMap::new();
    let mut handles = Vec::with_capacity(tasks);
    for task in &group.tasks {
        let ctx = TaskContext {
            alloc: alloc.clone(),
            job: job.clone(),
            group: group.clone(),
            task: task.clone(),
            node: node.clone(),
            cfg: cfg.clone(),
        };
        let previous = alloc.task_states.get(&task.name).cloned();
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        handles.push((task.name.clone(), cmd_tx));
        tokio::spawn(task_runner::run(ctx, kill.clone(), tx.clone(), previous, cmd_rx));
    }
    drop(tx);
    control.register(&alloc_id, handles);
    let mut last = None;
    while let Some((task, state)) = rx.recv().await {
        states.insert(task, state);
        let (status, description) = client_status(&states, tasks);
        // once stopped by the servers, a finished allocation is complete, not failed
        let status = if *kill.borrow() && status == ClientStatus::Failed { ClientStatus::Complete } else { status };
        if last != Some(status) {
            info!(alloc_id = %alloc_id, status = status.as_str(), "allocation status");
            last = Some(status);
        }
        reporter.push(ClientAllocUpdate {
            id: alloc_id.clone(),
            client_status: status,
            client_description: description.into(),
            task_states: states.clone(),
        });
    }
    control.unregister(&alloc_id);
}
