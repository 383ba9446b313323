//! Native service discovery operations: clients register and remove their allocations' services,
//! operators delete one registration; each a typed command through Raft.

use tracing::debug;

use crate::core::command::Command;
use crate::core::service_reg::ServiceRegistration;

use super::error::ServerError;
use super::ops::Server;

impl Server {
    /// Registers services of running allocations on `node_id`. Each must name an allocation of that
    /// node; those of allocations that stopped meanwhile are dropped by apply.
    pub async fn upsert_services(&self, node_id: &str, services: Vec<ServiceRegistration>) -> Result<u64, ServerError> {
        if services.is_empty() {
            return Ok(self.read(|s| s.index));
        }
        for reg in &services {
            if let Some(p) = reg.problems().into_iter().next() {
                return Err(ServerError::Invalid(p));
            }
            if reg.node_id != node_id {
                return Err(ServerError::Invalid(format!(
                    "service registration {} belongs to node {}, not {node_id}",
                    reg.id, reg.node_id
                )));
            }
        }
        let foreign = self.read(|s| {
            services.iter().find(|r| s.allocs.get(r.alloc_id.as_str()).is_some_and(|a| a.node_id != node_id)).map(|r| r.alloc_id.clone())
        });
        if let Some(alloc_id) = foreign {
            return Err(ServerError::Invalid(format!("allocation {alloc_id} does not run on node {node_id}")));
        }
        debug!(node_id, count = services.len(), "registering services");
        Ok(self.propose(Command::UpsertServiceRegistrations { services }).await?.index)
    }

    /// Removes every registration of the listed allocations of `node_id`; writes nothing when they have none.
    pub async fn delete_alloc_services(&self, node_id: &str, alloc_ids: Vec<String>, ids: Vec<String>) -> Result<u64, ServerError> {
        // Only the node's own registrations: of its allocations, or named ones it registered.
        let (index, alloc_ids, ids) = self.read(|s| {
            let mine = |r: &&crate::core::service_reg::ServiceRegistration| r.node_id == node_id;
            let allocs: Vec<String> =
                alloc_ids.into_iter().filter(|a| s.services.values().filter(mine).any(|r| &r.alloc_id == a)).collect();
            let ids: Vec<String> = ids.into_iter().filter(|id| s.services.get(id).as_ref().is_some_and(mine)).collect();
            (s.index, allocs, ids)
        });
        if alloc_ids.is_empty() && ids.is_empty() {
            return Ok(index);
        }
        debug!(node_id, allocs = alloc_ids.len(), ids = ids.len(), "removing services");
        Ok(self.propose(Command::DeleteServiceRegistrations { ids, alloc_ids }).await?.index)
    }

    /// Deletes one registration (`DELETE /v1/service/:name/:id`).
    pub async fn delete_service(&self, namespace: &str, name: &str, id: &str) -> Result<u64, ServerError> {
        let found = self.read(|s| s.services.get(id).is_some_and(|r| r.namespace == namespace && r.service_name == name));
        if !found {
            return Err(ServerError::NotFound(format!("service registration not found: {id}")));
        }
        debug!(namespace, name, id, "deleting service registration");
        Ok(self.propose(Command::DeleteServiceRegistrations { ids: vec![id.into()], alloc_ids: Vec::new() }).await?.index)
    }
}
