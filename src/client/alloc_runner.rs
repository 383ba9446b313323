//! One allocation on this node: builds its directory and its network (`client::network`), runs a
//! task runner per task, derives the allocation's client status from its tasks' states, registers
//! its native services once it runs (and again, with their checks, when the servers update it in
//! place to a new job version), stops it in Nomad's order: deregister the services, wait
//! `shutdown_delay`, kill the tasks; and removes its network once they have all ended.

use crate::core::text::Text;
use crate::core::vec_map::VecMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use crate::core::alloc::{AllocDeploymentStatus, Allocation, ClientAllocUpdate, ClientStatus, TaskState, TaskStateKind};
use crate::core::job::Job;
use crate::core::node::Node;
use crate::core::service_reg::registrations_for;

use super::alloc_dir::AllocDir;
use super::alloc_health::{self, HealthPolicy};
use super::checks;
use super::config::ClientConfig;
use super::control::ClientControl;
use super::network::{self, AllocNetwork};
use super::reporter::Reporter;
use super::services::ServiceRegistrar;
use super::task_runner::{self, TaskContext};

/// The client status Nomad derives from task states.
pub fn client_status(states: &VecMap<Text, TaskState>, tasks: usize) -> (ClientStatus, &'static str) {
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

/// What an allocation runner reports to and through.
#[derive(Clone)]
pub struct Outlets {
    pub reporter: Reporter,
    pub control: ClientControl,
    pub services: ServiceRegistrar,
}

/// The wait between deregistering an allocation's services and killing its tasks: the longest
/// `shutdown_delay` of its group and tasks.
pub fn shutdown_delay(group: &crate::core::job::TaskGroup) -> Duration {
    let ns = group.tasks.iter().map(|t| t.shutdown_delay).chain(group.shutdown_delay).max().unwrap_or(0);
    Duration::from_nanos(ns.max(0) as u64)
}

/// What the client tells a running allocation: stop (true), or take a newer version of itself and
/// its job (an in-place update).
pub struct Signals {
    pub kill: watch::Receiver<bool>,
    pub update: watch::Receiver<Option<(Allocation, Job)>>,
}

/// Registers the allocation's services and starts their checks, which run until the returned
/// sender says stop (or is dropped).
fn start_services(
    alloc: &Allocation,
    job: &Job,
    node: &Node,
    registrations: &[crate::core::service_reg::ServiceRegistration],
    control: &ClientControl,
    services: &ServiceRegistrar,
) -> watch::Sender<bool> {
    let (stop_tx, stop_rx) = watch::channel(false);
    services.register(registrations.to_vec());
    checks::spawn(alloc, job, node, control, &stop_rx);
    tokio::spawn(checks::publish_health(alloc.id.to_string(), registrations.to_vec(), control.clone(), services.clone(), stop_rx));
    stop_tx
}

pub async fn run(alloc: Allocation, job: Job, node: Node, cfg: Arc<ClientConfig>, signals: Signals, out: Outlets) {
    let Outlets { reporter, control, services } = out;
    let Signals { mut kill, mut update } = signals;
    let alloc_id = alloc.id.to_string();
    let Some(group) = job.group(&alloc.task_group).cloned() else {
        warn!(alloc_id = %alloc_id, group = %alloc.task_group, "allocation's group is missing from its job");
        reporter.push(ClientAllocUpdate {
            id: alloc_id,
            client_status: ClientStatus::Failed,
            client_description: "task group missing from job".into(),
            task_states: VecMap::new(),
            deployment_status: None,
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
            deployment_status: None,
        });
        return;
    }
    info!(alloc_id = %alloc_id, job_id = %job.id, tasks = names.len(), "running allocation");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tasks = group.tasks.len();
    let mut states: VecMap<Text, TaskState> = VecMap::new();
    let mut handles = Vec::with_capacity(tasks);
    // The tasks are killed only after the services are gone and the shutdown delay passed.
    // An allocation stopped while this agent was down starts stopped: its tasks are only re-attached
    // to be killed. The sender lives as long as this runner, so the tasks never see it closed.
    let stopped = *kill.borrow_and_update();
    // The allocation's network namespace exists before its tasks start (a restarted agent finds it).
    let network = if stopped { Ok(None) } else { setup_network(&cfg, &alloc).await };
    let network = match network {
        Ok(n) => n,
        Err(e) if super::watcher::has_executors(&cfg, &alloc_id) => {
            // Its tasks outlived the previous agent, in their namespace: follow them (and stop them
            // when told) all the same; only a task started again would lack its network.
            warn!(alloc_id = %alloc_id, job_id = %job.id, error = %e, "could not set up a running allocation's network again");
            None
        }
        Err(e) => {
            warn!(alloc_id = %alloc_id, job_id = %job.id, error = %e, "could not set up the allocation's network");
            reporter.push(ClientAllocUpdate {
                id: alloc_id,
                client_status: ClientStatus::Failed,
                client_description: format!("failed to set up the allocation's network: {e}"),
                task_states: VecMap::new(),
                deployment_status: None,
            });
            return;
        }
    };
    let (task_kill, task_kill_rx) = watch::channel(stopped);
    let task_kill = Arc::new(task_kill);
    let mut stopping = stopped;
    for task in &group.tasks {
        let ctx = TaskContext {
            alloc: alloc.clone(),
            job: job.clone(),
            group: group.clone(),
            task: task.clone(),
            node: node.clone(),
            cfg: cfg.clone(),
            network: network.clone(),
        };
        let previous = alloc.task_states.get(task.name.as_str()).cloned();
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        handles.push((task.name.clone(), cmd_tx));
        tokio::spawn(task_runner::run(ctx, task_kill_rx.clone(), tx.clone(), previous, cmd_rx));
    }
    drop(tx);
    control.register(&alloc_id, handles);
    let mut last = None;
    let mut registrations = registrations_for(&alloc, &job, &node);
    let mut registered = false;
    // The checks of the registered services run until this says stop: when the allocation stops,
    // or an in-place update brings other services.
    let mut checks_stop: Option<watch::Sender<bool>> = None;
    let mut updating = true;
    let delay = shutdown_delay(&group);
    let mut watching = !stopped;
    // Health within a deployment: decided once by the tracker, then sent with every update.
    let (states_tx, states_rx) = watch::channel(VecMap::new());
    let mut health = alloc.deployment_status.clone().filter(|d| d.healthy.is_some());
    let (health_tx, mut health_rx) = oneshot::channel();
    let mut health_pending = false;
    // Within a deployment its update block says how health is judged; outside one, its migrate block.
    let policy = match alloc.deployment_id.is_empty() {
        false => group.update.as_ref().and_then(HealthPolicy::of),
        true => group.migrate.as_ref().map(HealthPolicy::of_migrate),
    };
    if health.is_none() && !stopped {
        if let Some(policy) = policy {
            let expected = checks::expected(&alloc, &job, &node);
            let main = alloc_health::main_tasks(&group);
            tokio::spawn(alloc_health::track(alloc_id.to_string(), policy, main, expected, states_rx, control.clone(), health_tx));
            health_pending = true;
        }
    }
    loop {
        let next = tokio::select! {
            next = rx.recv() => match next {
                Some(next) => Some(next),
                None => break,
            },
            decided = &mut health_rx, if health_pending => {
                health_pending = false;
                let Ok(healthy) = decided else { continue };
                health = Some(AllocDeploymentStatus {
                    healthy: Some(healthy),
                    timestamp: crate::server::clock::now_ns(),
                    canary: alloc.canary(),
                    modify_index: 0,
                });
                None
            }
            changed = update.changed(), if updating => {
                updating = changed.is_ok();
                let Some((new_alloc, new_job)) = update.borrow_and_update().clone() else { continue };
                let new = registrations_for(&new_alloc, &new_job, &node);
                if registered && !stopping {
                    // Nomad's in-place update of services: the new set registered, the dropped ones
                    // removed, the checks restarted for the new definitions.
                    info!(alloc_id = %alloc_id, job_version = new_alloc.job_version, count = new.len(), "updating services in place");
                    if let Some(s) = checks_stop.take() {
                        s.send_replace(true);
                    }
                    let kept: std::collections::BTreeSet<&str> = new.iter().map(|r| r.id.as_str()).collect();
                    let dropped = registrations.iter().filter(|r| !kept.contains(r.id.as_str())).map(|r| r.id.clone()).collect();
                    control.clear_checks(&alloc_id);
                    checks_stop = Some(start_services(&new_alloc, &new_job, &node, &new, &control, &services));
                    services.deregister_ids(dropped);
                    registered = !new.is_empty();
                }
                registrations = new;
                continue;
            }
            changed = kill.changed(), if watching => {
                watching = changed.is_ok();
                if *kill.borrow_and_update() {
                    watching = false;
                    if !stopping {
                        stopping = true;
                        // no check may re-register a service once its deregistration has begun
                        if let Some(s) = checks_stop.take() {
                            s.send_replace(true);
                        }
                        tokio::spawn(stop(alloc_id.to_string(), services.clone(), registered, delay, task_kill.clone()));
                    }
                }
                continue;
            }
        };
        if let Some((task, state)) = next {
            states.insert(Text::from(task), state);
            states_tx.send_replace(states.clone());
        }
        let (status, description) = client_status(&states, tasks);
        // once stopped by the servers, a finished allocation is complete, not failed
        let status = if *kill.borrow() && status == ClientStatus::Failed { ClientStatus::Complete } else { status };
        if last != Some(status) {
            info!(alloc_id = %alloc_id, status = status.as_str(), "allocation status");
            last = Some(status);
        }
        if status == ClientStatus::Running && !registered && !stopping && !registrations.is_empty() {
            info!(alloc_id = %alloc_id, count = registrations.len(), "registering services");
            let (a, j) = update.borrow().clone().unwrap_or_else(|| (alloc.clone(), job.clone()));
            checks_stop = Some(start_services(&a, &j, &node, &registrations, &control, &services));
            registered = true;
        }
        reporter.push(ClientAllocUpdate {
            id: alloc_id.to_string(),
            client_status: status,
            client_description: description.into(),
            task_states: states.clone(),
            deployment_status: health.clone(),
        });
    }
    if registered && !stopping {
        // the tasks ended on their own
        services.deregister_later(&alloc_id);
    }
    control.unregister(&alloc_id);
    // Every task has ended: nothing is left in the namespace.
    teardown_network(cfg, &alloc).await;
}

/// Sets up the allocation's network for its mode (`ip` and `nft` run off the async threads).
async fn setup_network(cfg: &Arc<ClientConfig>, alloc: &Allocation) -> Result<Option<AllocNetwork>, String> {
    let (cfg, alloc) = (cfg.clone(), alloc.clone());
    match tokio::task::spawn_blocking(move || network::setup(&cfg.bridge, &alloc)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Removes whatever network the allocation has on this node (a `host` mode one without leftovers:
/// nothing happens).
pub async fn teardown_network(cfg: Arc<ClientConfig>, alloc: &Allocation) {
    let (alloc_id, id) = (alloc.id.clone(), alloc.id.clone());
    let own = network::has_namespace(&alloc.resources.network_mode);
    let done = tokio::task::spawn_blocking(move || (own || network::exists(&id)).then(|| network::teardown(&cfg.bridge, &id))).await;
    match done {
        Ok(Some(Ok(()))) => info!(alloc_id = %alloc_id, "allocation network removed"),
        Ok(None) => {}
        Ok(Some(Err(e))) => warn!(alloc_id = %alloc_id, error = %e, "could not remove the allocation's network"),
        Err(e) => warn!(alloc_id = %alloc_id, error = %e, "network teardown did not finish"),
    }
}

/// Stops an allocation as Nomad does: its services are deregistered first, then the shutdown
/// delay lets clients notice before the tasks are killed.
async fn stop(alloc_id: String, services: ServiceRegistrar, registered: bool, delay: Duration, task_kill: Arc<watch::Sender<bool>>) {
    if registered {
        const DEREGISTER_WAIT: Duration = Duration::from_secs(5);
        if tokio::time::timeout(DEREGISTER_WAIT, services.deregister(&alloc_id)).await.is_err() {
            warn!(alloc_id = %alloc_id, "services not deregistered in time; stopping anyway");
        }
    }
    if !delay.is_zero() {
        info!(alloc_id = %alloc_id, delay_ms = delay.as_millis() as u64, "waiting shutdown_delay before killing tasks");
        tokio::time::sleep(delay).await;
    }
    task_kill.send_replace(true);
}
