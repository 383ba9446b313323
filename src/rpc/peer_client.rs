//! The calling side of server-to-server RPC: one lazily connected channel per peer address, used to
//! learn about peers, join a cluster, forward writes to the leader and fetch its read index.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use super::server_pb::server_rpc_client::ServerRpcClient;
use super::server_pb::{
    CampaignRequest, ForwardRequest, HoldElectionsRequest, InfoRequest, JoinRequest, NodeHeartbeat, ReadIndexRequest, RemovePeerRequest,
    ServerInfo, TransferRequest,
};
use crate::core::command::{Command, CommandResponse};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("invalid server address {addr}: {message}")]
    Address { addr: String, message: String },
    #[error("server {addr}: {status}")]
    Call { addr: String, status: tonic::Status },
    #[error("encode or decode a forwarded command: {0}")]
    Codec(#[from] serde_json::Error),
}

impl PeerError {
    /// The peer answered that it cannot serve this (no leader, not the leader, no quorum): worth retrying.
    pub fn is_unavailable(&self) -> bool {
        match self {
            PeerError::Call { status, .. } => {
                matches!(
                    status.code(),
                    tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown | tonic::Code::Cancelled
                )
            }
            _ => false,
        }
    }

    /// The peer refused the request itself (bad input, rejected command).
    pub fn message(&self) -> String {
        match self {
            PeerError::Call { status, .. } => status.message().to_string(),
            other => other.to_string(),
        }
    }
}

/// Channels to other servers, shared by clones.
#[derive(Clone, Default)]
pub struct PeerClient {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl PeerClient {
    fn client(&self, addr: &str) -> Result<ServerRpcClient<Channel>, PeerError> {
        let mut map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let channel = match map.get(addr) {
            Some(c) => c.clone(),
            None => {
                let endpoint = Endpoint::from_shared(format!("http://{addr}"))
                    .map_err(|e| PeerError::Address { addr: addr.into(), message: e.to_string() })?
                    .connect_timeout(CONNECT_TIMEOUT)
                    .tcp_nodelay(true);
                let c = endpoint.connect_lazy();
                map.insert(addr.to_string(), c.clone());
                c
            }
        };
        drop(map);
        Ok(ServerRpcClient::new(channel).max_decoding_message_size(64 << 20).max_encoding_message_size(64 << 20))
    }

    fn call_err(addr: &str) -> impl Fn(tonic::Status) -> PeerError + '_ {
        move |status| PeerError::Call { addr: addr.into(), status }
    }

    fn request<T>(msg: T, timeout: Duration) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.set_timeout(timeout);
        r
    }

    pub async fn info(&self, addr: &str, timeout: Duration) -> Result<ServerInfo, PeerError> {
        let mut c = self.client(addr)?;
        Ok(c.info(Self::request(InfoRequest {}, timeout)).await.map_err(Self::call_err(addr))?.into_inner())
    }

    pub async fn join(&self, addr: &str, node_id: u64, rpc_addr: &str, timeout: Duration) -> Result<(), PeerError> {
        let mut c = self.client(addr)?;
        c.join(Self::request(JoinRequest { node_id, rpc_addr: rpc_addr.into() }, timeout)).await.map_err(Self::call_err(addr))?;
        Ok(())
    }

    pub async fn forward(&self, addr: &str, cmd: &Command, timeout: Duration) -> Result<CommandResponse, PeerError> {
        let mut c = self.client(addr)?;
        let req = ForwardRequest { command_json: serde_json::to_vec(cmd)? };
        let reply = c.forward(Self::request(req, timeout)).await.map_err(Self::call_err(addr))?.into_inner();
        Ok(serde_json::from_slice(&reply.response_json)?)
    }

    pub async fn read_index(&self, addr: &str, timeout: Duration) -> Result<u64, PeerError> {
        let mut c = self.client(addr)?;
        Ok(c.read_index(Self::request(ReadIndexRequest {}, timeout)).await.map_err(Self::call_err(addr))?.into_inner().index)
    }

    pub async fn remove_peer(&self, addr: &str, node_id: u64, rpc_addr: &str, timeout: Duration) -> Result<(), PeerError> {
        let mut c = self.client(addr)?;
        c.remove_peer(Self::request(RemovePeerRequest { node_id, rpc_addr: rpc_addr.into() }, timeout))
            .await
            .map_err(Self::call_err(addr))?;
        Ok(())
    }

    /// Passes a node's heartbeat to the leader; returns the TTL its timer gave the node (`None`
    /// from a leader that does not say).
    pub async fn heartbeat(&self, addr: &str, node_id: &str, timeout: Duration) -> Result<Option<Duration>, PeerError> {
        let mut c = self.client(addr)?;
        let r = c.heartbeat(Self::request(NodeHeartbeat { node_id: node_id.into() }, timeout)).await.map_err(Self::call_err(addr))?;
        let ttl_ms = r.into_inner().ttl_ms;
        Ok((ttl_ms > 0).then(|| Duration::from_millis(ttl_ms)))
    }

    /// Returns the new leader's address.
    pub async fn transfer_leadership(&self, addr: &str, node_id: u64, rpc_addr: &str, timeout: Duration) -> Result<String, PeerError> {
        let mut c = self.client(addr)?;
        let r = c
            .transfer_leadership(Self::request(TransferRequest { node_id, rpc_addr: rpc_addr.into() }, timeout))
            .await
            .map_err(Self::call_err(addr))?;
        Ok(r.into_inner().leader_addr)
    }

    pub async fn campaign(&self, addr: &str, timeout: Duration) -> Result<(), PeerError> {
        let mut c = self.client(addr)?;
        c.campaign(Self::request(CampaignRequest {}, timeout)).await.map_err(Self::call_err(addr))?;
        Ok(())
    }

    pub async fn hold_elections(&self, addr: &str, millis: u64, timeout: Duration) -> Result<(), PeerError> {
        let mut c = self.client(addr)?;
        c.hold_elections(Self::request(HoldElectionsRequest { millis }, timeout)).await.map_err(Self::call_err(addr))?;
        Ok(())
    }
}
