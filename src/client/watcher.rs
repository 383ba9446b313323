//! The client's main loop: register, heartbeat, watch assigned allocations and start or stop their runners.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::core::alloc::{Allocation, ClientAllocUpdate, ClientStatus, DesiredStatus};
use crate::core::job::Job;
use crate::core::node::Node;
use crate::rpc::client::{ServerClient, Unchanged};

use super::alloc_runner;
use super::config::ClientConfig;
use super::control::ClientControl;
use super::fingerprint;
use super::gc::{self, Collector};
use super::network;
use super::reporter::Reporter;
use super::services::ServiceRegistrar;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("client data dir {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
}

struct Running {
    kill: watch::Sender<bool>,
    join: JoinHandle<()>,
    /// The allocation at a newer job version, updated in place by the servers.
    update: watch::Sender<Option<(Allocation, Job)>>,
    /// The job version the runner has.
    version: u64,
}

impl Running {
    fn start(alloc: Allocation, job: Job, node: Node, cfg: Arc<ClientConfig>, stopped: bool, out: alloc_runner::Outlets) -> Self {
        let (kill, kill_rx) = watch::channel(stopped);
        let (update, update_rx) = watch::channel(None);
        let version = alloc.job_version;
        let join = tokio::spawn(alloc_runner::run(alloc, job, node, cfg, alloc_runner::Signals { kill: kill_rx, update: update_rx }, out));
        Self { kill, join, update, version }
    }
}

/// Runs the client until the process ends.
pub async fn run(cfg: ClientConfig, control: ClientControl) -> Result<(), ClientError> {
    for d in [cfg.alloc_root(), cfg.executor_root()] {
        std::fs::create_dir_all(&d).map_err(|source| ClientError::DataDir { path: d.display().to_string(), source })?;
    }
    let node_id =
        fingerprint::node_id(&cfg.data_dir).map_err(|source| ClientError::DataDir { path: cfg.data_dir.display().to_string(), source })?;
    let node = fingerprint::node(&cfg, &node_id);
    let cfg = Arc::new(cfg);
    let mut rpc = ServerClient::new(cfg.servers.clone());
    let ttl = register(&mut rpc, &node).await;
    info!(node_id = %node_id, "client registered");
    tokio::spawn(heartbeat(rpc.clone(), node.clone(), ttl));
    let reporter = Reporter::spawn(rpc.clone(), node_id.clone());
    let outlets =
        alloc_runner::Outlets { reporter: reporter.clone(), control, services: ServiceRegistrar::spawn(rpc.clone(), node_id.clone()) };
    let mut runners: BTreeMap<String, Running> = BTreeMap::new();
    let mut finished_stopped: BTreeSet<String> = BTreeSet::new();
    // The allocations the servers hold for this node, as of the last reply.
    let mut known: BTreeSet<String> = BTreeSet::new();
    let mut gc = Collector::new(cfg.clone());
    let mut index = 0;
    loop {
        let reply = match rpc.watch_allocations(&node_id, index, Duration::from_secs(30)).await {
            Ok(r) => r,
            Err(e) => {
                warn!(node_id = %node_id, error = %e, "watching allocations failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        index = reply.index;
        // Unchanged since the last reply: handled then.
        let mut seen: BTreeSet<String> = match reply.unchanged {
            Unchanged::Only(ids) => ids.into_iter().collect(),
            Unchanged::All => std::mem::take(&mut known),
        };
        for (alloc, job) in reply.changed {
            seen.insert(alloc.id.to_string());
            let live = runners.get(alloc.id.as_str()).is_some_and(|r| !r.join.is_finished());
            if alloc.desired_status != DesiredStatus::Run {
                if let Some(r) = runners.get(alloc.id.as_str()) {
                    let _ = r.kill.send(true);
                } else if let Some(job) = job.filter(|_| has_executors(&cfg, &alloc.id)) {
                    // stopped (or lost) while this agent was down, with executors still running: a
                    // runner re-attaches to them only to stop them
                    info!(alloc_id = %alloc.id, "stopping the executors of an allocation stopped while the agent was down");
                    runners
                        .insert(alloc.id.to_string(), Running::start(alloc.clone(), job, node.clone(), cfg.clone(), true, outlets.clone()));
                } else {
                    forget_network(&cfg, &alloc);
                    if !alloc.client_status.terminal() && finished_stopped.insert(alloc.id.to_string()) {
                        // stopped before it ever ran here
                        reporter.push(ClientAllocUpdate {
                            id: alloc.id.to_string(),
                            client_status: ClientStatus::Complete,
                            client_description: "stopped before it started".into(),
                            task_states: alloc.task_states.clone(),
                            deployment_status: None,
                        });
                    }
                }
                continue;
            }
            if let Some(r) = runners.get_mut(alloc.id.as_str()).filter(|r| live && r.version != alloc.job_version) {
                if let Some(job) = job {
                    // updated in place: the runner keeps its tasks and takes the new version
                    info!(alloc_id = %alloc.id, job_version = alloc.job_version, "allocation updated in place");
                    r.version = alloc.job_version;
                    r.update.send_replace(Some((alloc, job)));
                }
                continue;
            }
            if live || runners.contains_key(alloc.id.as_str()) {
                continue;
            }
            if alloc.client_status.terminal() {
                forget_network(&cfg, &alloc);
                continue;
            }
            let Some(job) = job else {
                warn!(alloc_id = %alloc.id, "allocation arrived without its job");
                continue;
            };
            runners.insert(alloc.id.to_string(), Running::start(alloc.clone(), job, node.clone(), cfg.clone(), false, outlets.clone()));
        }
        // allocations the servers forgot: stop them
        for (id, r) in &runners {
            if !seen.contains(id) {
                let _ = r.kill.send(true);
            }
        }
        runners.retain(|id, r| seen.contains(id) || !r.join.is_finished());
        finished_stopped.retain(|id| seen.contains(id));
        let running: BTreeSet<String> = runners.iter().filter(|(_, r)| !r.join.is_finished()).map(|(id, _)| id.clone()).collect();
        gc.collect(&seen, &running).await;
        known = seen;
    }
}

/// Removes the network an allocation without a runner left behind (its tasks ended while this agent
/// was down, or a teardown was interrupted).
fn forget_network(cfg: &Arc<ClientConfig>, alloc: &crate::core::alloc::Allocation) {
    if network::exists(&alloc.id) {
        info!(alloc_id = %alloc.id, "removing the network of an allocation that no longer runs");
        let (cfg, alloc) = (cfg.clone(), alloc.clone());
        tokio::spawn(async move { alloc_runner::teardown_network(cfg, &alloc).await });
    }
}

/// Whether an executor of the allocation still runs here (one outlived the previous agent).
pub(super) fn has_executors(cfg: &ClientConfig, alloc_id: &str) -> bool {
    !gc::live_executors(cfg, alloc_id).is_empty()
}

async fn register(rpc: &mut ServerClient, node: &Node) -> Duration {
    loop {
        match rpc.register(node).await {
            Ok(info) => return info.ttl,
            Err(e) => {
                warn!(node_id = %node.id, error = %e, "registration failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn heartbeat(mut rpc: ServerClient, node: Node, mut ttl: Duration) {
    loop {
        tokio::time::sleep(ttl / 2).await;
        match rpc.heartbeat(&node.id).await {
            Ok(info) => ttl = info.ttl,
            Err(e) => {
                warn!(node_id = %node.id, error = %e, "heartbeat failed; re-registering");
                ttl = register(&mut rpc, &node).await;
            }
        }
    }
}
