//! Leadership transfer: the leader hands leadership to a chosen voter that has its whole log. The
//! leader stops heartbeating so followers' leases run out, the other followers hold their own
//! election timers, and the target campaigns until it wins; then everything resumes.

use std::time::Duration;

use tokio::time::{sleep, Instant};
use tracing::{info, warn};

use super::cluster::LEADER_WAIT;
use super::error::ServerError;
use super::ops::Server;

/// How long the bystanders hold their elections, and the longest a transfer may take.
const TRANSFER_WINDOW: Duration = Duration::from_secs(4);
const PEER_TIMEOUT: Duration = Duration::from_secs(1);

impl Server {
    /// Moves leadership to the voter `node_id` (or the one at `rpc_addr` when the id is 0); returns
    /// the new leader's address. A follower forwards the request to the leader.
    pub async fn transfer_leadership(&self, node_id: u64, rpc_addr: &str) -> Result<String, ServerError> {
        if !self.raft.is_leader() {
            let leader = self.raft.leader().map(|(_, a)| a).ok_or(ServerError::NoLeader)?;
            return self
                .peers
                .transfer_leadership(&leader, node_id, rpc_addr, TRANSFER_WINDOW + LEADER_WAIT)
                .await
                .map_err(|e| ServerError::Rejected(e.message()));
        }
        let members = self.raft.members();
        let target = self.member_id(node_id, rpc_addr)?;
        let voters = self.raft.voters();
        if target == self.identity.node_id {
            return Ok(self.identity.rpc_addr.clone());
        }
        if !voters.contains(&target) {
            return Err(ServerError::Invalid(format!("server {target} is not a voter in the raft configuration")));
        }
        let target_addr = members.get(&target).cloned().unwrap_or_default();
        // The target must have the whole log, or the others will not vote for it.
        let deadline = Instant::now() + LEADER_WAIT;
        while !self.raft.caught_up(target) {
            if Instant::now() > deadline {
                return Err(ServerError::Invalid(format!("server {target} has not caught up with the leader's log")));
            }
            sleep(Duration::from_millis(20)).await;
        }
        info!(target, target_addr = %target_addr, "transferring leadership");
        for (id, addr) in members.iter().filter(|(id, _)| **id != target && **id != self.identity.node_id && voters.contains(id)) {
            if let Err(e) = self.peers.hold_elections(addr, TRANSFER_WINDOW.as_millis() as u64, PEER_TIMEOUT).await {
                warn!(node_id = id, error = %e, "could not hold a follower's elections during the transfer");
            }
        }
        self.raft.set_elections(false);
        self.raft.set_heartbeats(false);
        let asked = self.peers.campaign(&target_addr, PEER_TIMEOUT).await;
        let deadline = Instant::now() + TRANSFER_WINDOW;
        let mut outcome = None;
        if asked.is_ok() {
            while Instant::now() < deadline {
                match self.raft.leader() {
                    Some((id, addr)) if id != self.identity.node_id => {
                        outcome = Some((id, addr));
                        break;
                    }
                    _ => sleep(Duration::from_millis(20)).await,
                }
            }
        }
        self.raft.set_heartbeats(true);
        self.raft.set_elections(true);
        match (asked, outcome) {
            (Err(e), _) => Err(ServerError::Rejected(format!("could not reach server {target}: {}", e.message()))),
            (Ok(()), Some((id, addr))) if id == target => {
                info!(target, "leadership transferred");
                Ok(addr)
            }
            (Ok(()), Some((id, addr))) => {
                Err(ServerError::Rejected(format!("leadership moved to server {id} ({addr}) instead of {target}")))
            }
            (Ok(()), None) => Err(ServerError::Rejected(format!("server {target} did not win an election within {TRANSFER_WINDOW:?}"))),
        }
    }

    /// The target of a transfer: campaigns every 150 ms until it leads or the window ends.
    pub fn campaign_for_transfer(&self) {
        let raft = self.raft.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + TRANSFER_WINDOW;
            while Instant::now() < deadline && !raft.is_leader() {
                raft.campaign().await;
                sleep(Duration::from_millis(150)).await;
            }
        });
    }

    /// A bystander of a transfer: no elections of its own for `d`.
    pub fn hold_elections(&self, d: Duration) {
        let raft = self.raft.clone();
        raft.set_elections(false);
        tokio::spawn(async move {
            sleep(d).await;
            raft.set_elections(true);
        });
    }
}
