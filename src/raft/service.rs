//! The Raft gRPC service: decodes openraft requests from peers and forwards them to the local `Raft`.

use openraft::raft::InstallSnapshotRequest;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::{Request, Response, Status};

use super::pb::raft_rpc_server::{RaftRpc, RaftRpcServer};
use super::pb::{RaftReply, RaftRequest, SnapshotChunk, MAX_MESSAGE_BYTES};
use super::types::{Raft, TypeConfig};

/// Serves `drover.raft.v1.RaftRpc` for one local Raft.
#[derive(Clone)]
pub struct RaftRpcService {
    raft: Raft,
}

impl RaftRpcService {
    pub fn new(raft: Raft) -> Self {
        Self { raft }
    }

    /// The tonic service to mount on the agent's gRPC server.
    pub fn into_server(self) -> RaftRpcServer<RaftRpcService> {
        RaftRpcServer::new(self).max_decoding_message_size(MAX_MESSAGE_BYTES).max_encoding_message_size(MAX_MESSAGE_BYTES)
    }
}

fn decode<T: DeserializeOwned>(what: &str, payload: &[u8]) -> Result<T, Status> {
    serde_json::from_slice(payload).map_err(|e| Status::invalid_argument(format!("decode {what}: {e}")))
}

/// Wraps Raft's answer, error or not, as serde_json for the peer.
fn reply<T: Serialize>(result: &T) -> Result<Response<RaftReply>, Status> {
    let result = serde_json::to_vec(result).map_err(|e| Status::internal(format!("encode raft reply: {e}")))?;
    Ok(Response::new(RaftReply { result }))
}

#[tonic::async_trait]
impl RaftRpc for RaftRpcService {
    async fn append_entries(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        let rpc = decode("append entries request", &request.into_inner().payload)?;
        reply(&self.raft.append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        let rpc = decode("vote request", &request.into_inner().payload)?;
        reply(&self.raft.vote(rpc).await)
    }

    async fn install_snapshot(&self, request: Request<SnapshotChunk>) -> Result<Response<RaftReply>, Status> {
        let chunk = request.into_inner();
        let mut rpc: InstallSnapshotRequest<TypeConfig> = decode("install snapshot request", &chunk.payload)?;
        rpc.data = chunk.data;
        reply(&self.raft.install_snapshot(rpc).await)
    }
}
