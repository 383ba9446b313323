//! The client side of client RPC: a connection to one of the known servers, rotating on failure.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::core::alloc::{Allocation, ClientAllocUpdate};
use crate::core::job::Job;
use crate::core::node::Node;
use crate::core::service_reg::ServiceRegistration;

use super::convert;
use super::pb::{self, client_rpc_client::ClientRpcClient};

/// A node's allocations as a watch returns them.
#[derive(Debug, Default)]
pub struct AssignedAllocs {
    pub index: u64,
    /// The allocations the servers changed since the watch's `min_index` (all of them when it was
    /// 0), each with the job version it runs.
    pub changed: Vec<(Allocation, Option<Job>)>,
    /// The node's other allocations, unchanged since `min_index`.
    pub unchanged: Unchanged,
}

/// What a watch says of the allocations it did not resend.
#[derive(Debug, PartialEq)]
pub enum Unchanged {
    /// These ids are still assigned, unchanged; any other the client holds was removed.
    Only(Vec<String>),
    /// Nothing was removed: every allocation the client holds is still assigned.
    All,
}

impl Default for Unchanged {
    fn default() -> Self {
        Self::Only(Vec::new())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("no servers known")]
    NoServers,
    #[error("server {addr}: {message}")]
    Call { addr: String, message: String },
    #[error(transparent)]
    Convert(#[from] convert::ConvertError),
}

/// What a heartbeat or registration answered.
#[derive(Debug, Clone)]
pub struct HeartbeatInfo {
    pub ttl: Duration,
    pub servers: Vec<String>,
}

#[derive(Clone)]
pub struct ServerClient {
    servers: Vec<String>,
    current: usize,
    client: Option<ClientRpcClient<Channel>>,
}

impl ServerClient {
    pub fn new(servers: Vec<String>) -> Self {
        Self { servers, current: 0, client: None }
    }

    fn conn(&mut self) -> Result<(String, ClientRpcClient<Channel>), RpcError> {
        let addr = self.servers.get(self.current % self.servers.len().max(1)).cloned().ok_or(RpcError::NoServers)?;
        if self.client.is_none() {
            let url = if addr.starts_with("http") { addr.clone() } else { format!("http://{addr}") };
            let ep = Endpoint::from_shared(url).map_err(|e| RpcError::Call { addr: addr.clone(), message: e.to_string() })?;
            let ch = ep.connect_timeout(Duration::from_secs(2)).connect_lazy();
            self.client = Some(ClientRpcClient::new(ch));
        }
        Ok((addr, self.client.clone().ok_or(RpcError::NoServers)?))
    }

    fn fail(&mut self, addr: String, s: tonic::Status) -> RpcError {
        if matches!(s.code(), tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled) {
            self.current += 1;
            self.client = None;
        }
        RpcError::Call { addr, message: s.message().to_string() }
    }

    fn learn(&mut self, r: &pb::HeartbeatReply) -> HeartbeatInfo {
        let mut servers = self.servers.clone();
        for s in &r.servers {
            if !servers.contains(s) {
                servers.push(s.clone());
            }
        }
        self.servers = servers.clone();
        HeartbeatInfo { ttl: Duration::from_millis(r.ttl_ms.max(1000)), servers }
    }

    pub async fn register(&mut self, node: &Node) -> Result<HeartbeatInfo, RpcError> {
        let (addr, mut c) = self.conn()?;
        match c.register(convert::node_to_pb(node)).await {
            Ok(r) => Ok(self.learn(r.get_ref())),
            Err(s) => Err(self.fail(addr, s)),
        }
    }

    pub async fn heartbeat(&mut self, node_id: &str) -> Result<HeartbeatInfo, RpcError> {
        let (addr, mut c) = self.conn()?;
        match c.heartbeat(pb::HeartbeatRequest { node_id: node_id.into() }).await {
            Ok(r) => Ok(self.learn(r.get_ref())),
            Err(s) => Err(self.fail(addr, s)),
        }
    }

    /// Blocks until the servers change the node's allocations past `min_index` (or `wait`
    /// elapses). With `min_index` above 0 only the allocations changed since are sent; the client
    /// holds the others as of `min_index`.
    pub async fn watch_allocations(&mut self, node_id: &str, min_index: u64, wait: Duration) -> Result<AssignedAllocs, RpcError> {
        let (addr, mut c) = self.conn()?;
        let req =
            pb::WatchAllocationsRequest { node_id: node_id.into(), min_index, max_wait_ms: wait.as_millis() as u64, changes_only: true };
        let reply = match c.watch_allocations(req).await {
            Ok(r) => r.into_inner(),
            Err(s) => return Err(self.fail(addr, s)),
        };
        let changed = reply.allocations.iter().map(convert::assigned_from_pb).collect::<Result<Vec<_>, _>>()?;
        let unchanged = if reply.others_unchanged { Unchanged::All } else { Unchanged::Only(reply.unchanged_ids) };
        Ok(AssignedAllocs { index: reply.index, changed, unchanged })
    }

    pub async fn update_allocations(&mut self, node_id: &str, updates: &[ClientAllocUpdate]) -> Result<u64, RpcError> {
        let allocations = updates.iter().map(convert::update_to_pb).collect::<Result<Vec<_>, _>>()?;
        let (addr, mut c) = self.conn()?;
        match c.update_allocations(pb::UpdateAllocationsRequest { node_id: node_id.into(), allocations }).await {
            Ok(r) => Ok(r.into_inner().index),
            Err(s) => Err(self.fail(addr, s)),
        }
    }

    /// Registers native services of this node's allocations.
    pub async fn upsert_services(&mut self, node_id: &str, services: &[ServiceRegistration]) -> Result<u64, RpcError> {
        let req = convert::services_to_pb(node_id, services)?;
        let (addr, mut c) = self.conn()?;
        match c.upsert_services(req).await {
            Ok(r) => Ok(r.into_inner().index),
            Err(s) => Err(self.fail(addr, s)),
        }
    }

    /// Removes the native services of this node's listed allocations.
    pub async fn delete_services(&mut self, node_id: &str, alloc_ids: &[String], ids: &[String]) -> Result<u64, RpcError> {
        let (addr, mut c) = self.conn()?;
        let req = pb::DeleteServicesRequest { node_id: node_id.into(), alloc_ids: alloc_ids.to_vec(), ids: ids.to_vec() };
        match c.delete_services(req).await {
            Ok(r) => Ok(r.into_inner().index),
            Err(s) => Err(self.fail(addr, s)),
        }
    }
}
