//! The Raft network client: openraft's `RaftNetworkFactory` and `RaftNetwork` over one lazily-connected tonic channel per peer.
//!
//! Requests and replies are openraft's own types as serde_json inside the `drover.raft.v1`
//! envelopes (see `proto/raft.proto`). Connecting and every request are bounded by timeouts so an
//! unreachable peer fails fast; transport failures become openraft's `Unreachable` (openraft
//! backs off before retrying), undecodable replies its `NetworkError`, and errors returned by the
//! peer's Raft a `RemoteError`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError as OpenRaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{BasicNode, RPCTypes, RaftNetwork, RaftNetworkFactory};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

use super::error::RpcError;
use super::pb::raft_rpc_client::RaftRpcClient;
use super::pb::{RaftReply, RaftRequest, SnapshotChunk, MAX_MESSAGE_BYTES};
use super::types::{NodeId, TypeConfig};

type Client = RaftRpcClient<Channel>;
type RpcResult<T, E = openraft::error::Infallible> = Result<T, RPCError<NodeId, BasicNode, OpenRaftError<NodeId, E>>>;

/// Creates peer clients; channels are cached per address and shared by all clients of a peer.
#[derive(Clone)]
pub struct Network {
    id: NodeId,
    connect_timeout: Duration,
    request_timeout: Duration,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Network {
    /// `connect_timeout` bounds establishing a connection, `request_timeout` any one request
    /// (openraft additionally bounds each request by its own TTL).
    pub fn new(id: NodeId, connect_timeout: Duration, request_timeout: Duration) -> Self {
        Self { id, connect_timeout, request_timeout, channels: Arc::new(Mutex::new(HashMap::new())) }
    }

    fn client(&self, addr: &str) -> Result<Client, RpcError> {
        let mut channels = self
            .channels
            .lock()
            .map_err(|_| RpcError::InvalidAddress { addr: addr.to_string(), reason: "channel cache lock is poisoned".into() })?;
        let channel = match channels.get(addr) {
            Some(channel) => channel.clone(),
            None => {
                let endpoint = Endpoint::from_shared(format!("http://{addr}"))
                    .map_err(|e| RpcError::InvalidAddress { addr: addr.to_string(), reason: e.to_string() })?
                    .connect_timeout(self.connect_timeout)
                    .timeout(self.request_timeout)
                    .tcp_nodelay(true);
                let channel = endpoint.connect_lazy();
                channels.insert(addr.to_string(), channel.clone());
                channel
            }
        };
        Ok(RaftRpcClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES).max_encoding_message_size(MAX_MESSAGE_BYTES))
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        let client = self.client(&node.addr).map_err(|e| {
            tracing::warn!(target, addr = %node.addr, error = %e, "cannot create raft client");
            e.to_string()
        });
        PeerClient { id: self.id, target, node: node.clone(), client }
    }
}

/// The RPC client for one peer.
pub struct PeerClient {
    id: NodeId,
    target: NodeId,
    node: BasicNode,
    /// The error text when the peer's address is unusable.
    client: Result<Client, String>,
}

impl PeerClient {
    fn client(&self) -> Result<Client, RpcError> {
        self.client.clone().map_err(|reason| RpcError::InvalidAddress { addr: self.node.addr.clone(), reason })
    }

    fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, RpcError> {
        serde_json::to_vec(value).map_err(|source| RpcError::Encode { what, source })
    }

    /// Awaits a call within `ttl` and decodes the peer's `Result` from the reply.
    async fn finish<T, E, F>(&self, action: RPCTypes, ttl: Duration, call: F) -> RpcResult<T, E>
    where
        T: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
        F: Future<Output = Result<tonic::Response<RaftReply>, tonic::Status>>,
    {
        let reply = match tokio::time::timeout(ttl, call).await {
            Err(_) => {
                return Err(RPCError::Timeout(Timeout { action, id: self.id, target: self.target, timeout: ttl }));
            }
            Ok(Err(status)) => return Err(self.transport_error(status)),
            Ok(Ok(reply)) => reply.into_inner(),
        };
        let result: Result<T, OpenRaftError<NodeId, E>> =
            serde_json::from_slice(&reply.result).map_err(|source| network_error(RpcError::Decode { what: "raft reply", source }))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new_with_node(self.target, self.node.clone(), e)))
    }

    fn transport_error<E: std::error::Error>(&self, status: tonic::Status) -> RPCError<NodeId, BasicNode, E> {
        tracing::debug!(target = self.target, addr = %self.node.addr, %status, "raft rpc failed");
        let code = status.code();
        let error = RpcError::Transport { target: self.target, status };
        match code {
            Code::InvalidArgument | Code::Internal | Code::DataLoss => network_error(error),
            _ => unreachable_peer(error),
        }
    }
}

/// A failure worth retrying at once (openraft retries without backoff).
fn network_error<E: std::error::Error>(error: RpcError) -> RPCError<NodeId, BasicNode, E> {
    RPCError::Network(NetworkError::new(&error))
}

/// A failure that makes openraft back off before retrying the peer.
fn unreachable_peer<E: std::error::Error>(error: RpcError) -> RPCError<NodeId, BasicNode, E> {
    RPCError::Unreachable(Unreachable::new(&error))
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        let entries = rpc.entries.len() as u64;
        let payload = Self::encode("append entries request", &rpc).map_err(network_error)?;
        if payload.len() > MAX_MESSAGE_BYTES && entries > 1 {
            return Err(RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(entries / 2)));
        }
        let mut client = self.client().map_err(unreachable_peer)?;
        let call = client.append_entries(RaftRequest { payload });
        self.finish(RPCTypes::AppendEntries, option.hard_ttl(), call).await
    }

    async fn install_snapshot(
        &mut self,
        mut rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        let data = std::mem::take(&mut rpc.data);
        let payload = Self::encode("install snapshot request", &rpc).map_err(network_error)?;
        let mut client = self.client().map_err(unreachable_peer)?;
        let call = client.install_snapshot(SnapshotChunk { payload, data });
        self.finish(RPCTypes::InstallSnapshot, option.hard_ttl(), call).await
    }

    async fn vote(&mut self, rpc: VoteRequest<NodeId>, option: RPCOption) -> RpcResult<VoteResponse<NodeId>> {
        let payload = Self::encode("vote request", &rpc).map_err(network_error)?;
        let mut client = self.client().map_err(unreachable_peer)?;
        let call = client.vote(RaftRequest { payload });
        self.finish(RPCTypes::Vote, option.hard_ttl(), call).await
    }
}
