//! The serving side of server-to-server RPC: tells peers who this server is, takes join and remove
//! requests, runs writes forwarded by followers, and hands out the leader's read index.

use tonic::{Request, Response, Status};

use super::server_pb::server_rpc_server::{ServerRpc, ServerRpcServer};
use super::server_pb::{
    CampaignReply, CampaignRequest, ForwardReply, ForwardRequest, HoldElectionsReply, HoldElectionsRequest, InfoRequest, JoinReply,
    JoinRequest, NodeHeartbeat, NodeHeartbeatReply, ReadIndexReply, ReadIndexRequest, RemovePeerReply, RemovePeerRequest, ServerInfo,
    TransferReply, TransferRequest,
};
use super::service::status;
use crate::core::command::Command;
use crate::server::Server;

pub struct PeerService {
    server: Server,
}

impl PeerService {
    pub fn new(server: Server) -> ServerRpcServer<Self> {
        ServerRpcServer::new(Self { server }).max_decoding_message_size(64 << 20).max_encoding_message_size(64 << 20)
    }
}

#[tonic::async_trait]
impl ServerRpc for PeerService {
    async fn info(&self, _req: Request<InfoRequest>) -> Result<Response<ServerInfo>, Status> {
        let info = self.server.info().await;
        let id = &self.server.identity;
        Ok(Response::new(ServerInfo {
            node_id: info.node_id,
            rpc_addr: info.rpc_addr,
            name: id.name.clone(),
            initialized: info.initialized,
            leader_id: self.server.raft.leader().map(|(id, _)| id).unwrap_or(0),
            leader_addr: info.leader_addr.unwrap_or_default(),
            bootstrap_expect: id.bootstrap_expect,
            http_addr: id.http_addr.clone(),
            region: id.region.clone(),
            datacenter: id.datacenter.clone(),
        }))
    }

    async fn join(&self, req: Request<JoinRequest>) -> Result<Response<JoinReply>, Status> {
        let r = req.into_inner();
        if r.node_id == 0 || r.rpc_addr.is_empty() {
            return Err(Status::invalid_argument("join needs a node id and an RPC address"));
        }
        self.server.add_server(r.node_id, &r.rpc_addr).await.map_err(status)?;
        Ok(Response::new(JoinReply {}))
    }

    async fn forward(&self, req: Request<ForwardRequest>) -> Result<Response<ForwardReply>, Status> {
        let cmd: Command = serde_json::from_slice(&req.into_inner().command_json)
            .map_err(|e| Status::invalid_argument(format!("undecodable forwarded command: {e}")))?;
        let resp = self.server.propose_local(cmd).await.map_err(status)?;
        let response_json = serde_json::to_vec(&resp).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(ForwardReply { response_json }))
    }

    async fn read_index(&self, _req: Request<ReadIndexRequest>) -> Result<Response<ReadIndexReply>, Status> {
        let index = self.server.read_index().await.map_err(status)?;
        Ok(Response::new(ReadIndexReply { index }))
    }

    async fn remove_peer(&self, req: Request<RemovePeerRequest>) -> Result<Response<RemovePeerReply>, Status> {
        let r = req.into_inner();
        self.server.remove_server(r.node_id, &r.rpc_addr).await.map_err(status)?;
        Ok(Response::new(RemovePeerReply {}))
    }

    async fn heartbeat(&self, req: Request<NodeHeartbeat>) -> Result<Response<NodeHeartbeatReply>, Status> {
        if !self.server.raft.is_leader() {
            return Err(Status::unavailable("not the leader"));
        }
        let ttl = self.server.heartbeat(&req.into_inner().node_id).await.map_err(status)?;
        Ok(Response::new(NodeHeartbeatReply { ttl_ms: ttl.as_millis() as u64 }))
    }

    async fn transfer_leadership(&self, req: Request<TransferRequest>) -> Result<Response<TransferReply>, Status> {
        let r = req.into_inner();
        let leader_addr = self.server.transfer_leadership(r.node_id, &r.rpc_addr).await.map_err(status)?;
        Ok(Response::new(TransferReply { leader_addr }))
    }

    async fn campaign(&self, _req: Request<CampaignRequest>) -> Result<Response<CampaignReply>, Status> {
        self.server.campaign_for_transfer();
        Ok(Response::new(CampaignReply {}))
    }

    async fn hold_elections(&self, req: Request<HoldElectionsRequest>) -> Result<Response<HoldElectionsReply>, Status> {
        self.server.hold_elections(std::time::Duration::from_millis(req.into_inner().millis.min(10_000)));
        Ok(Response::new(HoldElectionsReply {}))
    }
}
