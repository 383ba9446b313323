//! Server operations: validate, stamp ids and times, propose typed commands, and read state.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tracing::{debug, info};

use crate::core::alloc::{ClientAllocUpdate, ClientStatus};
use crate::core::command::Command;
use crate::core::eval::{EvalStatus, Evaluation};
use crate::core::job::{Job, JobKey, JobType};
use crate::core::node::{Node, NodeStatus};
use crate::core::scheduler::reschedule;
use crate::core::state::{same_spec, ClusterState};
use crate::raft::node::RaftNode;

use super::changes::Changes;
use super::clock::{new_id, now_ns};
use super::cluster::ServerIdentity;
use super::error::ServerError;
use super::heartbeat::Heartbeats;
use crate::rpc::peer_client::PeerClient;

#[derive(Clone)]
pub struct Server {
    pub raft: Arc<RaftNode>,
    pub heartbeats: Arc<Heartbeats>,
    /// Shared: a server handle is cloned for every request and task.
    pub identity: Arc<ServerIdentity>,
    /// Calls to other servers (forwarded writes, read indexes, joins).
    pub peers: PeerClient,
    /// Table indexes and events published after each applied batch (`changes::publish`).
    pub changes: Arc<Changes>,
    /// The single plan applier: workers plan in parallel on snapshots, but verify a plan against the
    /// newest state and commit it one at a time, so no plan is verified against a state that lacks
    /// another plan already on its way into the log (which would over-commit a node).
    pub plan_applier: Arc<tokio::sync::Mutex<()>>,
}

impl Server {
    pub fn new(raft: Arc<RaftNode>, identity: ServerIdentity) -> Self {
        Self {
            raft,
            heartbeats: Arc::new(Heartbeats::default()),
            identity: Arc::new(identity),
            peers: PeerClient::default(),
            changes: Arc::default(),
            plan_applier: Arc::default(),
        }
    }

    pub fn state(&self) -> Arc<RwLock<ClusterState>> {
        self.raft.state()
    }

    /// Runs `f` on the current state under the read lock.
    pub fn read<R>(&self, f: impl FnOnce(&ClusterState) -> R) -> R {
        let state = self.raft.state();
        let guard = state.read().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Registers a job and creates its evaluation. Returns (eval id, index). A periodic or
    /// parameterized job gets no evaluation (its children do), as in Nomad: the eval id is empty.
    pub async fn register_job(&self, job: Job) -> Result<(String, u64), ServerError> {
        self.register_job_checked(job, None).await
    }

    /// Registers a job as `register_job` does; with `enforce_index`, only if the stored job's
    /// `job_modify_index` is that index (0: only if the job does not exist), as Nomad's `EnforceIndex`.
    pub async fn register_job_checked(&self, job: Job, enforce_index: Option<u64>) -> Result<(String, u64), ServerError> {
        let job = self.prepare_job(job)?;
        let eval = (!job.is_parent()).then(|| self.eval_for(&job, "job-register"));
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        info!(job_id = %job.id, eval_id = %eval_id, ?enforce_index, "registering job");
        let now = now_ns();
        let cmd = match enforce_index {
            Some(job_modify_index) => Command::RegisterJobIfIndex { job, eval, now, job_modify_index },
            None => Command::RegisterJob { job, eval, now },
        };
        let resp = self.propose(cmd).await?;
        Ok((eval_id, resp.index))
    }

    /// Stops (or purges) a job and creates the evaluation that stops its allocations.
    pub async fn deregister_job(&self, namespace: &str, job_id: &str, purge: bool) -> Result<(String, u64), ServerError> {
        let job = self
            .read(|s| s.jobs.get(&JobKey::new(namespace, job_id)).cloned())
            .ok_or_else(|| ServerError::NotFound(format!("job \"{job_id}\" not found")))?;
        let eval = self.eval_for(&job, "job-deregister");
        let eval_id = eval.id.clone();
        info!(job_id, eval_id = %eval_id, purge, "deregistering job");
        let cmd = Command::DeregisterJob { namespace: namespace.into(), job_id: job_id.into(), purge, eval: Some(eval), now: now_ns() };
        let resp = self.propose(cmd).await?;
        Ok((eval_id, resp.index))
    }

    /// Canonicalizes and validates a submitted job (registration and plan).
    pub(crate) fn prepare_job(&self, mut job: Job) -> Result<Job, ServerError> {
        job.canonicalize();
        job.validate().map_err(|errs| ServerError::Invalid(errs.join("; ")))?;
        self.check_drivers(&job)?;
        Ok(job)
    }

    fn check_drivers(&self, job: &Job) -> Result<(), ServerError> {
        match self.driver_problems(job).into_iter().next() {
            Some(p) => Err(ServerError::Invalid(p)),
            None => Ok(()),
        }
    }

    /// Tasks whose driver Drover does not have, one sentence each.
    pub fn driver_problems(&self, job: &Job) -> Vec<String> {
        const KNOWN: [&str; 5] = ["container", "docker", "exec", "raw_exec", "mock"];
        let mut out = Vec::new();
        for g in &job.task_groups {
            for t in g.tasks.iter().filter(|t| !KNOWN.contains(&t.driver.as_str())) {
                out.push(format!(
                    "group \"{}\" > task \"{}\": unknown driver \"{}\" (drivers: container, docker, exec, raw_exec)",
                    g.name, t.name, t.driver
                ));
            }
        }
        out
    }

    pub(crate) fn eval_for(&self, job: &Job, triggered_by: &str) -> Evaluation {
        Evaluation {
            id: new_id(),
            namespace: job.namespace.clone(),
            priority: job.priority,
            job_type: job.job_type.as_str().into(),
            triggered_by: triggered_by.into(),
            job_id: job.id.clone(),
            status: EvalStatus::Pending,
            ..Default::default()
        }
    }

    /// Evaluations to create when capacity appears: system jobs, and blocked evaluations unblocked.
    pub(crate) fn capacity_evals(&self, state: &ClusterState, node_id: &str) -> Vec<Evaluation> {
        let mut evals = self.system_job_evals(state, node_id);
        evals.extend(Self::unblocked_evals(state));
        evals
    }

    /// One `node-update` evaluation per live system or sysbatch job, for `node_id`.
    pub(crate) fn system_job_evals(&self, state: &ClusterState, node_id: &str) -> Vec<Evaluation> {
        state
            .jobs
            .values()
            .filter(|j| !j.stop && !j.is_parent() && matches!(j.job_type, JobType::System | JobType::Sysbatch))
            .map(|j| Evaluation { node_id: node_id.into(), ..self.eval_for(j, "node-update") })
            .collect()
    }

    /// Every blocked evaluation, made pending again: capacity appeared, so they are worth another try.
    pub(crate) fn unblocked_evals(state: &ClusterState) -> Vec<Evaluation> {
        state
            .blocked_evals()
            .map(|b| Evaluation { status: EvalStatus::Pending, status_description: "unblocked: capacity changed".into(), ..b.clone() })
            .collect()
    }

    /// Registers a node (status ready). Writes to Raft only when something changed.
    /// Registers (or re-registers) a node and starts its heartbeat timer on the leader; returns the
    /// state's index and the TTL to tell the node.
    pub async fn register_node(&self, mut node: Node) -> Result<(u64, Duration), ServerError> {
        node.status = NodeStatus::Ready;
        if node.node_pool.is_empty() {
            node.node_pool = "default".into();
        }
        let (unchanged, evals) = self.read(|s| {
            let unchanged = s.nodes.get(&node.id).is_some_and(|old| {
                let mut a = old.clone();
                a.create_index = 0;
                a.modify_index = 0;
                a.status_updated_at = 0;
                a.status_description.clear();
                let mut b = node.clone();
                b.keep_server_fields(old);
                a == b
            });
            (unchanged, self.capacity_evals(s, &node.id))
        });
        let node_id = node.id.clone();
        let index = if unchanged {
            self.read(|s| s.index)
        } else {
            info!(node_id = %node.id, name = %node.name, "registering node");
            self.propose(Command::RegisterNode { node, evals, now: now_ns() }).await?.index
        };
        // The registration counts as the node's first beat, recorded by the leader's timers
        // (through the leader when this server is a follower): a timer that never saw it would run
        // from the leadership's start and mark a node joining a long-lived cluster down at once.
        let ttl = self.heartbeat(&node_id).await?;
        Ok((index, ttl))
    }

    /// A heartbeat: refreshes the node's TTL; writes to Raft only if the node was not ready.
    /// Returns the TTL the leader's timer gave the node, which is the TTL to tell it: a TTL
    /// computed apart from the timer's (by another server, or from another count of nodes) could
    /// be longer, and the node would beat after its timer ran out.
    pub async fn heartbeat(&self, node_id: &str) -> Result<Duration, ServerError> {
        if !self.raft.is_leader() {
            // Heartbeat timers live on the leader: pass the beat on.
            let leader = self.raft.leader().map(|(_, a)| a).ok_or(ServerError::NoLeader)?;
            let ttl = self.peers.heartbeat(&leader, node_id, Duration::from_secs(5)).await.map_err(|e| {
                if e.is_unavailable() {
                    ServerError::NoLeader
                } else {
                    ServerError::Rejected(e.message())
                }
            })?;
            // A leader that does not say: this server's count of nodes lags the leader's, so its
            // TTL is no longer than the one the leader's timer runs.
            return Ok(ttl.unwrap_or_else(|| self.read(|s| self.heartbeats.ttl(s.nodes.len(), node_id))));
        }
        let (status, nodes) = self.read(|s| (s.nodes.get(node_id).map(|n| n.status), s.nodes.len()));
        let status = status.ok_or_else(|| ServerError::NotFound(format!("node {node_id} not registered")))?;
        let ttl = self.heartbeats.beat(node_id, nodes);
        if status != NodeStatus::Ready {
            let evals = self.read(|s| self.capacity_evals(s, node_id));
            info!(node_id, "node is ready again");
            let cmd = Command::UpdateNodeStatus {
                node_id: node_id.into(),
                status: NodeStatus::Ready,
                description: "node heartbeat received".into(),
                evals,
                now: now_ns(),
            };
            self.propose(cmd).await?;
        }
        Ok(ttl)
    }

    /// One `node-update` evaluation per job with a non-terminal allocation on the node (a node that
    /// went down or was purged: the scheduler replaces what ran there).
    pub(crate) fn node_update_evals(&self, state: &ClusterState, node_id: &str) -> Vec<Evaluation> {
        let jobs: std::collections::BTreeSet<JobKey> =
            state.allocs_on_node(node_id).filter(|a| !a.terminal()).map(|a| JobKey::new(&a.namespace, &a.job_id)).collect();
        jobs.iter()
            .filter_map(|k| state.jobs.get(k))
            .map(|j| Evaluation { node_id: node_id.into(), ..self.eval_for(j, "node-update") })
            .collect()
    }

    /// Marks a node down and creates evaluations for every job with allocations on it.
    pub async fn mark_node_down(&self, node_id: &str) -> Result<(), ServerError> {
        let evals = self.read(|s| self.node_update_evals(s, node_id));
        info!(node_id, "node missed its heartbeat: marking it down");
        let cmd = Command::UpdateNodeStatus {
            node_id: node_id.into(),
            status: NodeStatus::Down,
            description: "node heartbeat missed".into(),
            evals,
            now: now_ns(),
        };
        self.propose(cmd).await.map(|_| ())
    }

    /// Task states and client statuses reported by a client.
    pub async fn update_allocs(&self, node_id: &str, updates: Vec<ClientAllocUpdate>) -> Result<u64, ServerError> {
        if updates.is_empty() {
            return Ok(self.read(|s| s.index));
        }
        let failed = updates.iter().filter(|u| u.client_status == ClientStatus::Failed).count();
        debug!(node_id, count = updates.len(), failed, "alloc updates");
        // An allocation that ends frees its resources on the node: blocked work gets another try
        // (Nomad unblocks its blocked evaluations on capacity changes the same way).
        let now = now_ns();
        let evals = self.read(|s| {
            let frees =
                updates.iter().any(|u| u.client_status.terminal() && s.allocs.get(u.id.as_str()).is_some_and(|a| a.holds_resources()));
            let mut evals = if frees { Self::unblocked_evals(s) } else { Vec::new() };
            evals.extend(self.alloc_failure_evals(s, &updates, now));
            evals
        });
        let cmd = Command::UpdateAllocsFromClient { node_id: node_id.into(), updates, evals, now };
        Ok(self.propose(cmd).await?.index)
    }

    /// One `alloc-failure` evaluation per job with an allocation these updates report newly failed
    /// that its reschedule policy allows to replace (Nomad creates them with the client update).
    fn alloc_failure_evals(&self, state: &ClusterState, updates: &[ClientAllocUpdate], now: i64) -> Vec<Evaluation> {
        let jobs: std::collections::BTreeSet<JobKey> = updates
            .iter()
            .filter(|u| u.client_status == ClientStatus::Failed)
            .filter_map(|u| state.allocs.get(u.id.as_str()))
            .filter(|a| reschedule::failure_needs_eval(state, a, now))
            .map(|a| JobKey::new(&a.namespace, &a.job_id))
            .collect();
        jobs.iter()
            .filter_map(|k| state.jobs.get(k))
            .map(|j| {
                debug!(job_id = %j.id, "allocation failed: evaluating its job to reschedule it");
                self.eval_for(j, reschedule::TRIGGER_ALLOC_FAILURE)
            })
            .collect()
    }

    /// Whether a job's spec equals the stored one (used by `job plan`/idempotent registration).
    pub fn unchanged(&self, job: &Job) -> bool {
        self.read(|s| s.jobs.get(&job.key()).is_some_and(|old| same_spec(old, job)))
    }
}
