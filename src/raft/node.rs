//! `RaftNode`: the facade the rest of Drover uses to run, bootstrap and propose to the replicated cluster state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use openraft::error::{InitializeError, RaftError as OpenRaftError};
use openraft::BasicNode;
use tokio::sync::watch;

use super::batcher::Batcher;
use super::config::RaftConfig;
use super::db;
use super::error::{ProposeError, RaftError};
use super::log_store::LogStore;
use super::network::Network;
use super::pb::raft_rpc_server::RaftRpcServer;
use super::service::RaftRpcService;
use super::snapshot_timer::{self, SnapshotTimer};
use super::state_machine::StateMachine;
use super::types::{NodeId, Raft, TypeConfig};
use crate::core::command::{Command, CommandResponse};
use crate::core::state::ClusterState;

/// How long [`RaftNode::shutdown`] waits for openraft's tasks to release the database.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Commands that are small, frequent and arrive from many callers at once: variable writes, job
/// registrations, client allocation updates and service registrations. Plans, membership and state restores go alone.
fn batchable(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::UpsertVar { .. }
            | Command::DeleteVar { .. }
            | Command::RegisterJob { .. }
            | Command::RegisterJobIfIndex { .. }
            | Command::DeregisterJob { .. }
            | Command::UpdateAllocsFromClient { .. }
            | Command::UpsertServiceRegistrations { .. }
            | Command::DeleteServiceRegistrations { .. }
    )
}

/// A running Raft server. Clones share the same node.
#[derive(Clone)]
pub struct RaftNode {
    id: NodeId,
    raft: Raft,
    state: Arc<RwLock<ClusterState>>,
    applied: watch::Receiver<u64>,
    leadership: watch::Receiver<bool>,
    /// Fails `changed()` once openraft's storage tasks dropped the database and it is closed.
    db_closed: watch::Receiver<()>,
    /// Bundles small client writes proposed at the same time into one log entry.
    batcher: Batcher,
    /// Builds snapshots (openraft's own policy is off).
    _snapshot_timer: Arc<SnapshotTimer>,
}

impl RaftNode {
    /// Opens (or creates) the node's storage under `cfg.data_dir/raft` and starts Raft. The state
    /// is restored from the latest snapshot plus the committed log after it. Peers are reached
    /// lazily; serve [`RaftNode::grpc_service`] so they can reach this node.
    pub async fn open(cfg: RaftConfig) -> Result<RaftNode, RaftError> {
        let config = cfg.openraft_config()?;
        let dir = cfg.raft_dir();
        let (db, state_machine) = tokio::task::spawn_blocking(move || -> Result<_, RaftError> {
            std::fs::create_dir_all(&dir).map_err(|source| RaftError::DataDir { path: dir.clone(), source })?;
            let db = db::open(&dir)?;
            let state_machine = StateMachine::open(db.clone())?;
            Ok((db, state_machine))
        })
        .await
        .map_err(|e| RaftError::Fatal(format!("open raft storage: {e}")))??;

        let state = state_machine.state();
        let applied = state_machine.applied_index();
        let db_closed = db.closed();
        let network = Network::new(cfg.node_id, cfg.connect_timeout(), cfg.install_snapshot_timeout());
        let raft = openraft::Raft::new(cfg.node_id, Arc::new(config), network, LogStore::new(db), state_machine)
            .await
            .map_err(|e| RaftError::Fatal(e.to_string()))?;
        let leadership = watch_leadership(&raft);
        tracing::info!(node_id = cfg.node_id, rpc_addr = %cfg.rpc_addr, applied = *applied.borrow(), "raft node started");
        let batcher = Batcher::start(raft.clone());
        let _snapshot_timer = snapshot_timer::start(raft.clone(), cfg.snapshot_interval, cfg.snapshot_logs_since_last);
        Ok(RaftNode { id: cfg.node_id, raft, state, applied, leadership, db_closed, batcher, _snapshot_timer })
    }

    /// Initializes the cluster with `members` (id → gRPC address) unless this node already has
    /// Raft state (a log, a vote, or a membership received from a leader); calling it again, or
    /// after a restart, does nothing.
    pub async fn bootstrap(&self, members: BTreeMap<u64, String>) -> Result<(), RaftError> {
        if members.is_empty() {
            return Err(RaftError::Bootstrap("no members given".into()));
        }
        if self.raft.is_initialized().await.map_err(|e| RaftError::Fatal(e.to_string()))? {
            tracing::info!("raft already initialized; not bootstrapping");
            return Ok(());
        }
        let nodes: BTreeMap<u64, BasicNode> = members.into_iter().map(|(id, addr)| (id, BasicNode::new(addr))).collect();
        tracing::info!(members = ?nodes, "bootstrapping raft cluster");
        match self.raft.initialize(nodes).await {
            Ok(()) => Ok(()),
            Err(OpenRaftError::APIError(InitializeError::NotAllowed(e))) => {
                tracing::info!(reason = %e, "raft already initialized; not bootstrapping");
                Ok(())
            }
            Err(OpenRaftError::APIError(InitializeError::NotInMembers(e))) => Err(RaftError::Bootstrap(e.to_string())),
            Err(OpenRaftError::Fatal(e)) => Err(RaftError::Fatal(e.to_string())),
        }
    }

    /// Replicates and applies `cmd`; returns the state machine's response once it is applied here.
    /// Small client writes go through the batcher, so those proposed together share one log entry.
    pub async fn propose(&self, cmd: Command) -> Result<CommandResponse, ProposeError> {
        if batchable(&cmd) {
            return self.batcher.propose(cmd).await;
        }
        let response = self.raft.client_write(cmd).await?;
        Ok(response.data)
    }

    /// Returns once this node has confirmed with a quorum that it is the leader and has applied
    /// everything committed before the call; reads of [`RaftNode::state`] after it are linearizable.
    pub async fn ensure_linearizable(&self) -> Result<(), ProposeError> {
        self.raft.ensure_linearizable().await?;
        Ok(())
    }

    /// The replicated cluster state (read it, never write it).
    pub fn state(&self) -> Arc<RwLock<ClusterState>> {
        self.state.clone()
    }

    /// The index of the last applied log entry, updated after each applied batch. Its sender is
    /// dropped when Raft shuts down.
    pub fn applied_index(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state.is_leader()
    }

    /// Whether this node has Raft state: a log, a vote, or a membership (it belongs to a cluster).
    pub async fn is_initialized(&self) -> bool {
        self.raft.is_initialized().await.unwrap_or(true)
    }

    /// The voting members of the effective membership.
    pub fn voters(&self) -> BTreeSet<u64> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        metrics.membership_config.membership().voter_ids().collect()
    }

    /// On the leader: whether `id` has every entry of the leader's log.
    pub fn caught_up(&self, id: u64) -> bool {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        let matched = m.replication.as_ref().and_then(|r| r.get(&id).cloned().flatten()).map(|l| l.index);
        matched.is_some() && matched == m.last_log_index
    }

    /// Pauses (or resumes) this node's own election timer.
    pub fn set_elections(&self, enabled: bool) {
        self.raft.runtime_config().elect(enabled);
    }

    /// Pauses (or resumes) the leader's heartbeats; followers' leases run out without them.
    pub fn set_heartbeats(&self, enabled: bool) {
        self.raft.runtime_config().heartbeat(enabled);
    }

    /// Starts an election now.
    pub async fn campaign(&self) {
        if let Err(e) = self.raft.trigger().elect().await {
            tracing::warn!(error = %e, "could not start an election");
        }
    }

    /// The current leader's id and gRPC address, if one is known.
    pub fn leader(&self) -> Option<(u64, String)> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        let id = metrics.current_leader?;
        let node = metrics.membership_config.membership().get_node(&id)?;
        Some((id, node.addr.clone()))
    }

    /// Voters and learners of the effective membership: id → gRPC address.
    pub fn members(&self) -> BTreeMap<u64, String> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        metrics.membership_config.membership().nodes().map(|(id, node)| (*id, node.addr.clone())).collect()
    }

    /// True while this node is the leader; false after shutdown.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leadership.clone()
    }

    /// The underlying openraft handle, for what the facade does not cover.
    pub fn raft(&self) -> &openraft::Raft<TypeConfig> {
        &self.raft
    }

    /// The tonic service peers call; mount it on the agent's gRPC server.
    pub fn grpc_service(&self) -> RaftRpcServer<RaftRpcService> {
        RaftRpcService::new(self.raft.clone()).into_server()
    }

    /// Adds a non-voting member that receives the log; with `blocking`, returns once it caught up.
    pub async fn add_learner(&self, id: u64, addr: String, blocking: bool) -> Result<(), ProposeError> {
        self.raft.add_learner(id, BasicNode::new(addr), blocking).await?;
        Ok(())
    }

    /// Makes `voters` the voting members; other members stay learners when `retain_removed`
    /// is set and are removed otherwise. Voters must already be members (add them as learners first).
    pub async fn change_membership(&self, voters: BTreeSet<u64>, retain_removed: bool) -> Result<(), ProposeError> {
        self.raft.change_membership(voters, retain_removed).await?;
        Ok(())
    }

    /// Stops Raft and waits until its storage is closed, so the data directory can be reopened.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft core ended abnormally");
        }
        let mut closed = self.db_closed.clone();
        let released = async move { while closed.changed().await.is_ok() {} };
        if tokio::time::timeout(RELEASE_TIMEOUT, released).await.is_err() {
            tracing::warn!("raft storage still open after shutdown");
            return;
        }
        tracing::info!(node_id = self.id, "raft node stopped");
    }
}

/// Follows openraft's metrics and publishes whether this node is the leader.
fn watch_leadership(raft: &Raft) -> watch::Receiver<bool> {
    let mut metrics = raft.metrics();
    let (tx, rx) = watch::channel(metrics.borrow().state.is_leader());
    tokio::spawn(async move {
        loop {
            let leader = metrics.borrow_and_update().state.is_leader();
            tx.send_if_modified(|current| {
                let changed = *current != leader;
                *current = leader;
                changed
            });
            if metrics.changed().await.is_err() {
                break;
            }
        }
        tx.send_replace(false);
    });
    rx
}
