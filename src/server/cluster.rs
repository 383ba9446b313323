//! Servers as a cluster: this server's identity, cluster formation (`bootstrap_expect` + `retry_join`,
//! bootstrapping exactly once), joining and removing servers, forwarding writes to the leader, and
//! consistent reads through the leader's read index.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::{sleep, timeout, Instant};
use tracing::{debug, info, warn};

use crate::core::command::{Command, CommandResponse};
use crate::raft::error::ProposeError;

use super::error::ServerError;
use super::ops::Server;

/// How long a request waits for a leader (or for its write to commit) before it fails, as Nomad's
/// RPC hold timeout.
pub const LEADER_WAIT: Duration = Duration::from_secs(5);
/// Between attempts while there is no leader.
const RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Between rounds of `retry_join`.
const JOIN_INTERVAL: Duration = Duration::from_millis(500);
const PEER_TIMEOUT: Duration = Duration::from_secs(2);

/// Who this server is, as peers and clients see it.
#[derive(Debug, Clone, Default)]
pub struct ServerIdentity {
    /// The Raft node id (random, persisted in the data dir).
    pub node_id: u64,
    /// The address other servers and clients reach this server's RPC port at.
    pub rpc_addr: String,
    pub http_addr: String,
    pub name: String,
    pub region: String,
    pub datacenter: String,
    /// How many servers to wait for before bootstrapping (0 or 1 with no peers: bootstrap alone).
    pub bootstrap_expect: u32,
    /// Other servers' RPC addresses to find the cluster through.
    pub retry_join: Vec<String>,
}

/// What a peer reported about itself.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    pub node_id: u64,
    pub rpc_addr: String,
    pub initialized: bool,
    pub leader_addr: Option<String>,
}

fn unavailable(e: &ProposeError) -> bool {
    matches!(e, ProposeError::ForwardToLeader { .. } | ProposeError::NoQuorum(_))
}

impl Server {
    /// Proposes a command: here when this server leads, otherwise forwarded to the leader. While there
    /// is no leader (an election, a partition) it retries for up to [`LEADER_WAIT`], then fails with
    /// "no cluster leader".
    pub async fn propose(&self, cmd: Command) -> Result<CommandResponse, ServerError> {
        let name = cmd.name();
        let deadline = Instant::now() + LEADER_WAIT;
        let mut last: String;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.raft.propose(cmd.clone())).await {
                Ok(Ok(resp)) => return finish(name, resp),
                Ok(Err(ProposeError::ForwardToLeader { leader_addr: Some(addr), .. })) if addr != self.identity.rpc_addr => {
                    match self.peers.forward(&addr, &cmd, left.max(Duration::from_millis(100))).await {
                        Ok(resp) => return finish(name, resp),
                        Err(e) if e.is_unavailable() => {
                            debug!(leader = %addr, error = %e, "forwarding failed; retrying");
                            last = e.message();
                        }
                        Err(e) => return Err(ServerError::Rejected(e.message())),
                    }
                }
                Ok(Err(e)) if unavailable(&e) => last = e.to_string(),
                Ok(Err(e)) => return Err(ServerError::Raft(e.to_string())),
                Err(_) => return Err(ServerError::NoLeader),
            }
            if Instant::now() + RETRY_PAUSE >= deadline {
                debug!(command = name, reason = %last, "giving up: no leader");
                return Err(ServerError::NoLeader);
            }
            sleep(RETRY_PAUSE).await;
        }
    }

    /// Proposes here only (the target of a forwarded write): fails at once when this server does not
    /// lead, so the forwarding server retries against the new leader.
    pub async fn propose_local(&self, cmd: Command) -> Result<CommandResponse, ServerError> {
        match timeout(LEADER_WAIT, self.raft.propose(cmd)).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) if unavailable(&e) => Err(ServerError::NoLeader),
            Ok(Err(e)) => Err(ServerError::Raft(e.to_string())),
            Err(_) => Err(ServerError::NoLeader),
        }
    }

    /// Waits until this server's state includes every write acknowledged before the call (a
    /// linearizable read), unless `stale`. Fails with "no cluster leader" after [`LEADER_WAIT`].
    pub async fn read_barrier(&self, stale: bool) -> Result<(), ServerError> {
        if stale {
            return Ok(());
        }
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.raft.ensure_linearizable()).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(ProposeError::ForwardToLeader { leader_addr: Some(addr), .. })) if addr != self.identity.rpc_addr => {
                    if let Ok(index) = self.peers.read_index(&addr, left.max(Duration::from_millis(100))).await {
                        return self.wait_applied(index, deadline).await;
                    }
                }
                Ok(Err(e)) if unavailable(&e) => {}
                Ok(Err(e)) => return Err(ServerError::Raft(e.to_string())),
                Err(_) => return Err(ServerError::NoLeader),
            }
            if Instant::now() + RETRY_PAUSE >= deadline {
                return Err(ServerError::NoLeader);
            }
            sleep(RETRY_PAUSE).await;
        }
    }

    /// On the leader: confirms leadership with a quorum and returns the applied index, which covers
    /// every write acknowledged before the call.
    pub async fn read_index(&self) -> Result<u64, ServerError> {
        match timeout(LEADER_WAIT, self.raft.ensure_linearizable()).await {
            Ok(Ok(())) => Ok(*self.raft.applied_index().borrow()),
            _ => Err(ServerError::NoLeader),
        }
    }

    async fn wait_applied(&self, index: u64, deadline: Instant) -> Result<(), ServerError> {
        let mut rx = self.raft.applied_index();
        loop {
            if *rx.borrow_and_update() >= index {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err(ServerError::NoLeader),
            }
        }
    }

    /// What this server tells peers about itself.
    pub async fn info(&self) -> PeerInfo {
        PeerInfo {
            node_id: self.identity.node_id,
            rpc_addr: self.identity.rpc_addr.clone(),
            initialized: self.raft.is_initialized().await,
            leader_addr: self.raft.leader().map(|(_, a)| a),
        }
    }

    /// On the leader: adds a server as a learner, waits until it caught up, then makes it a voter.
    /// A follower forwards the request to the leader.
    pub async fn add_server(&self, node_id: u64, rpc_addr: &str) -> Result<(), ServerError> {
        if !self.raft.is_leader() {
            let leader = self.wait_leader().await?;
            return self.peers.join(&leader, node_id, rpc_addr, LEADER_WAIT * 6).await.map_err(|e| ServerError::Rejected(e.message()));
        }
        let members = self.raft.members();
        if members.get(&node_id).is_some_and(|a| a == rpc_addr) && self.raft.voters().contains(&node_id) {
            return Ok(());
        }
        info!(node_id, rpc_addr, "adding server");
        self.raft.add_learner(node_id, rpc_addr.to_string(), true).await.map_err(|e| ServerError::Raft(e.to_string()))?;
        let mut voters: BTreeSet<u64> = self.raft.voters();
        voters.insert(node_id);
        self.raft.change_membership(voters, false).await.map_err(|e| ServerError::Raft(e.to_string()))?;
        info!(node_id, rpc_addr, "server joined as a voter");
        Ok(())
    }

    /// On the leader: removes a server (by id, or by address when the id is 0) from the Raft configuration.
    pub async fn remove_server(&self, node_id: u64, rpc_addr: &str) -> Result<(), ServerError> {
        if !self.raft.is_leader() {
            let leader = self.wait_leader().await?;
            return self
                .peers
                .remove_peer(&leader, node_id, rpc_addr, LEADER_WAIT * 2)
                .await
                .map_err(|e| ServerError::Rejected(e.message()));
        }
        let members = self.raft.members();
        let id = self.member_id(node_id, rpc_addr)?;
        if !members.contains_key(&id) {
            return Err(ServerError::NotFound(format!("no server with id {id} in the raft configuration")));
        }
        let mut voters = self.raft.voters();
        voters.remove(&id);
        if voters.is_empty() {
            return Err(ServerError::Invalid("cannot remove the last voter".into()));
        }
        info!(node_id = id, "removing server");
        self.raft.change_membership(voters, false).await.map_err(|e| ServerError::Raft(e.to_string()))?;
        Ok(())
    }

    /// A server of the Raft configuration named by id, or by RPC address when the id is 0.
    pub(crate) fn member_id(&self, node_id: u64, rpc_addr: &str) -> Result<u64, ServerError> {
        if node_id != 0 {
            return Ok(node_id);
        }
        self.raft
            .members()
            .into_iter()
            .find(|(_, a)| a == rpc_addr)
            .map(|(id, _)| id)
            .ok_or_else(|| ServerError::NotFound(format!("no server with address \"{rpc_addr}\" in the raft configuration")))
    }

    async fn wait_leader(&self) -> Result<String, ServerError> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            if let Some((_, addr)) = self.raft.leader() {
                return Ok(addr);
            }
            if Instant::now() >= deadline {
                return Err(ServerError::NoLeader);
            }
            sleep(RETRY_PAUSE).await;
        }
    }

    /// The RPC addresses of the servers in the Raft configuration (for clients' server lists).
    pub fn server_addrs(&self) -> Vec<String> {
        let mut v: Vec<String> = self.raft.members().into_values().collect();
        if v.is_empty() {
            v.push(self.identity.rpc_addr.clone());
        }
        v
    }
}

fn finish(name: &str, resp: CommandResponse) -> Result<CommandResponse, ServerError> {
    debug!(command = name, index = resp.index, "applied");
    match &resp.error {
        Some(e) => Err(ServerError::Rejected(e.clone())),
        None => Ok(resp),
    }
}

/// Forms or joins the cluster, then returns. A server that already has Raft state (a restart) does
/// nothing: it rejoins through its stored configuration. Otherwise it asks the `retry_join` peers who
/// they are until either one already belongs to a cluster (then it asks to join) or `bootstrap_expect`
/// servers, itself included, are known and none belongs to a cluster (then the one with the lowest id
/// bootstraps all of them, so exactly one bootstrap happens).
pub async fn form(server: Server) {
    let me = server.identity.clone();
    if server.raft.is_initialized().await {
        info!("raft state found; rejoining the stored configuration");
        return;
    }
    let expect = me.bootstrap_expect.max(1) as usize;
    if expect == 1 && me.retry_join.is_empty() {
        bootstrap(&server, BTreeMap::from([(me.node_id, me.rpc_addr.clone())])).await;
        return;
    }
    let peers: Vec<String> = me.retry_join.iter().filter(|a| **a != me.rpc_addr).cloned().collect();
    let mut round = 0u64;
    loop {
        if server.raft.is_initialized().await {
            info!("joined the cluster (membership received from the leader)");
            return;
        }
        let mut known = BTreeMap::from([(me.node_id, me.rpc_addr.clone())]);
        let mut cluster_leader = None;
        for addr in &peers {
            match server.peers.info(addr, PEER_TIMEOUT).await {
                Ok(info) => {
                    if info.initialized {
                        cluster_leader = Some(if info.leader_addr.is_empty() { addr.clone() } else { info.leader_addr.clone() });
                    }
                    known.insert(info.node_id, info.rpc_addr.clone());
                }
                Err(e) if round % 20 == 0 => debug!(peer = %addr, error = %e, "retry_join: peer not reachable yet"),
                Err(_) => {}
            }
        }
        if let Some(leader) = cluster_leader {
            match server.peers.join(&leader, me.node_id, &me.rpc_addr, LEADER_WAIT * 6).await {
                Ok(()) => {
                    info!(via = %leader, "joined the existing cluster");
                    return;
                }
                Err(e) => warn!(via = %leader, error = %e, "join failed; retrying"),
            }
        } else if known.len() >= expect {
            let lowest = *known.keys().next().unwrap_or(&me.node_id);
            if lowest == me.node_id {
                let members: BTreeMap<u64, String> = known.into_iter().take(expect.max(1)).collect();
                bootstrap(&server, members).await;
                return;
            }
            debug!(lowest, "waiting for the server with the lowest id to bootstrap");
        } else if round % 20 == 0 {
            info!(known = known.len(), expect, "waiting for servers to bootstrap the cluster");
        }
        round += 1;
        sleep(JOIN_INTERVAL).await;
    }
}

async fn bootstrap(server: &Server, members: BTreeMap<u64, String>) {
    info!(?members, "bootstrapping the cluster");
    if let Err(e) = server.raft.bootstrap(members).await {
        warn!(error = %e, "bootstrap failed");
    }
}
