//! Native service discovery on the client: registers the `provider = "nomad"` services of running
//! allocations with the servers and removes them when the allocations stop. One task per client
//! sends the operations in order (so a removal never overtakes its registration), merging those
//! that queue up into one call.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::core::service_reg::ServiceRegistration;
use crate::rpc::client::ServerClient;

/// Attempts per operation before it is given up (the servers also remove the services of stopped
/// allocations themselves).
const ATTEMPTS: u32 = 10;
const RETRY_PAUSE: Duration = Duration::from_secs(1);

enum Op {
    Upsert(Vec<ServiceRegistration>),
    /// Remove an allocation's services; the sender (if any) hears when that is done or given up.
    Delete(String, Option<oneshot::Sender<()>>),
    /// Remove these registrations, by id.
    DeleteIds(Vec<String>),
}

#[derive(Clone)]
pub struct ServiceRegistrar {
    tx: mpsc::UnboundedSender<Op>,
}

impl ServiceRegistrar {
    pub fn spawn(rpc: ServerClient, node_id: String) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(rpc, node_id, rx));
        Self { tx }
    }

    /// Registers services (in the background).
    pub fn register(&self, services: Vec<ServiceRegistration>) {
        if !services.is_empty() {
            let _ = self.tx.send(Op::Upsert(services));
        }
    }

    /// Removes an allocation's services; returns when the servers applied it (or it was given up).
    pub async fn deregister(&self, alloc_id: &str) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Op::Delete(alloc_id.into(), Some(done))).is_ok() {
            let _ = wait.await;
        }
    }

    /// Removes registrations by id in the background (an allocation updated in place dropped them).
    pub fn deregister_ids(&self, ids: Vec<String>) {
        if !ids.is_empty() {
            let _ = self.tx.send(Op::DeleteIds(ids));
        }
    }

    /// Removes an allocation's services in the background.
    pub fn deregister_later(&self, alloc_id: &str) {
        let _ = self.tx.send(Op::Delete(alloc_id.into(), None));
    }
}

/// Operations merged for one call: adjacent operations of the same kind; the order between kinds is kept.
enum Call {
    Upsert(Vec<ServiceRegistration>),
    /// Allocation ids, registration ids, and who waits.
    Delete(Vec<String>, Vec<String>, Vec<oneshot::Sender<()>>),
}

async fn run(mut rpc: ServerClient, node_id: String, mut rx: mpsc::UnboundedReceiver<Op>) {
    while let Some(first) = rx.recv().await {
        let mut ops = vec![first];
        while let Ok(op) = rx.try_recv() {
            ops.push(op);
        }
        for call in merge(ops) {
            send(&mut rpc, &node_id, call).await;
        }
    }
}

fn merge(ops: Vec<Op>) -> Vec<Call> {
    let mut out: Vec<Call> = Vec::new();
    for op in ops {
        match (out.last_mut(), op) {
            (Some(Call::Upsert(all)), Op::Upsert(more)) => all.extend(more),
            (Some(Call::Delete(allocs, _, acks)), Op::Delete(id, ack)) => {
                allocs.push(id);
                acks.extend(ack);
            }
            (Some(Call::Delete(_, ids, _)), Op::DeleteIds(more)) => ids.extend(more),
            (_, Op::Upsert(more)) => out.push(Call::Upsert(more)),
            (_, Op::Delete(id, ack)) => out.push(Call::Delete(vec![id], Vec::new(), ack.into_iter().collect())),
            (_, Op::DeleteIds(ids)) => out.push(Call::Delete(Vec::new(), ids, Vec::new())),
        }
    }
    out
}

/// Sends one call, retrying a few times; acknowledgements are answered (dropped) either way.
async fn send(rpc: &mut ServerClient, node_id: &str, call: Call) {
    for attempt in 1..=ATTEMPTS {
        let r = match &call {
            Call::Upsert(services) => rpc.upsert_services(node_id, services).await,
            Call::Delete(alloc_ids, ids, _) => rpc.delete_services(node_id, alloc_ids, ids).await,
        };
        match r {
            Ok(index) => {
                debug!(node_id, index, "service registrations sent");
                return;
            }
            Err(e) if attempt == ATTEMPTS => warn!(node_id, error = %e, "giving up on service registrations"),
            Err(e) => {
                warn!(node_id, error = %e, "could not send service registrations; retrying");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}
