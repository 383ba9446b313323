//! The server side of client RPC: node registration, heartbeats, allocation watch and updates.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};

use crate::core::job::JobKey;
use crate::server::{Server, ServerError};

use super::convert;
use super::pb::{self, client_rpc_server::ClientRpc};

pub struct ClientRpcService {
    server: Server,
}

impl ClientRpcService {
    pub fn new(server: Server) -> pb::client_rpc_server::ClientRpcServer<Self> {
        pb::client_rpc_server::ClientRpcServer::new(Self { server })
    }

    /// The reply to a registration or heartbeat: the TTL the leader's timer gave the node, the
    /// servers to use, the state's index.
    fn reply(&self, ttl: Duration) -> pb::HeartbeatReply {
        let index = self.server.read(|s| s.index);
        pb::HeartbeatReply {
            ttl_ms: ttl.as_millis() as u64,
            servers: self.server.server_addrs(),
            leader_rpc_addr: self.server.raft.leader().map(|(_, a)| a).unwrap_or_default(),
            index,
        }
    }
}

/// Server errors as gRPC statuses (shared by every service on the RPC port).
pub(crate) fn status(e: ServerError) -> Status {
    match e {
        ServerError::NotFound(m) => Status::not_found(m),
        ServerError::Invalid(m) | ServerError::Rejected(m) => Status::invalid_argument(m),
        ServerError::NoLeader => Status::unavailable("no cluster leader"),
        ServerError::Raft(m) => Status::unavailable(m),
        ServerError::Internal(m) => Status::internal(m),
    }
}

#[tonic::async_trait]
impl ClientRpc for ClientRpcService {
    async fn register(&self, req: Request<pb::NodeRegistration>) -> Result<Response<pb::HeartbeatReply>, Status> {
        let node = convert::node_from_pb(req.into_inner()).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let (_, ttl) = self.server.register_node(node).await.map_err(status)?;
        Ok(Response::new(self.reply(ttl)))
    }

    async fn heartbeat(&self, req: Request<pb::HeartbeatRequest>) -> Result<Response<pb::HeartbeatReply>, Status> {
        let node_id = req.into_inner().node_id;
        let ttl = self.server.heartbeat(&node_id).await.map_err(status)?;
        Ok(Response::new(self.reply(ttl)))
    }

    async fn watch_allocations(&self, req: Request<pb::WatchAllocationsRequest>) -> Result<Response<pb::WatchAllocationsReply>, Status> {
        let req = req.into_inner();
        let wait = Duration::from_millis(req.max_wait_ms.clamp(1, 300_000));
        let node_id = req.node_id.as_str();
        let index = self.server.block_on_node(node_id, req.min_index, wait).await;
        let changes_only = req.changes_only && req.min_index > 0;
        let mut others_unchanged = false;
        // Under the state's lock: the allocations to send (shared, not copied), each job version
        // they run encoded once, the ids of the others.
        let picked = self.server.read(|s| {
            let mut jobs: HashMap<(&str, &str, u64), Arc<Vec<u8>>> = HashMap::new();
            let mut send = Vec::new();
            let mut unchanged_ids = Vec::new();
            // Nothing removed since the client's index: it keeps what it has without a list.
            others_unchanged = changes_only && s.node_alloc_removal_index(node_id) <= req.min_index;
            for (id, alloc_modify_index) in s.alloc_ids_on_node(node_id) {
                if changes_only && alloc_modify_index <= req.min_index {
                    if !others_unchanged {
                        unchanged_ids.push(String::from(&**id));
                    }
                    continue;
                }
                let Some(a) = s.allocs.get(id) else { continue };
                let job = match jobs.entry((a.namespace.as_str(), a.job_id.as_str(), a.job_version)) {
                    Entry::Occupied(e) => e.get().clone(),
                    Entry::Vacant(e) => {
                        let json = match s.job_version(&JobKey::new(&a.namespace, &a.job_id), a.job_version) {
                            Some(j) => convert::job_json(j)?,
                            None => Vec::new(),
                        };
                        e.insert(Arc::new(json)).clone()
                    }
                };
                send.push((a.clone(), job));
            }
            Ok::<_, convert::ConvertError>((send, unchanged_ids))
        });
        let (send, unchanged_ids) = picked.map_err(|e| Status::internal(e.to_string()))?;
        // Outside it: the allocations encoded.
        let allocations = send
            .iter()
            .map(|(a, job)| convert::assigned_to_pb(a, job.as_ref().clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(pb::WatchAllocationsReply { index, allocations, unchanged_ids, others_unchanged }))
    }

    async fn update_allocations(&self, req: Request<pb::UpdateAllocationsRequest>) -> Result<Response<pb::UpdateAllocationsReply>, Status> {
        let req = req.into_inner();
        let updates = req
            .allocations
            .into_iter()
            .map(convert::update_from_pb)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let index = self.server.update_allocs(&req.node_id, updates).await.map_err(status)?;
        Ok(Response::new(pb::UpdateAllocationsReply { index }))
    }

    async fn upsert_services(&self, req: Request<pb::UpsertServicesRequest>) -> Result<Response<pb::ServicesReply>, Status> {
        let req = req.into_inner();
        let services = convert::services_from_pb(&req).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let index = self.server.upsert_services(&req.node_id, services).await.map_err(status)?;
        Ok(Response::new(pb::ServicesReply { index }))
    }

    async fn delete_services(&self, req: Request<pb::DeleteServicesRequest>) -> Result<Response<pb::ServicesReply>, Status> {
        let req = req.into_inner();
        let index = self.server.delete_alloc_services(&req.node_id, req.alloc_ids, req.ids).await.map_err(status)?;
        Ok(Response::new(pb::ServicesReply { index }))
    }
}
