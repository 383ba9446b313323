//! Sends allocation updates to the servers in batches; the newest update of an allocation wins.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::warn;

use crate::core::alloc::ClientAllocUpdate;
use crate::rpc::client::ServerClient;

#[derive(Clone)]
pub struct Reporter {
    tx: mpsc::UnboundedSender<ClientAllocUpdate>,
}

impl Reporter {
    pub fn spawn(mut rpc: ServerClient, node_id: String) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<ClientAllocUpdate>();
        tokio::spawn(async move {
            let mut pending: BTreeMap<String, ClientAllocUpdate> = BTreeMap::new();
            loop {
                if pending.is_empty() {
                    match rx.recv().await {
                        Some(u) => {
                            pending.insert(u.id.clone(), u);
                        }
                        None => return,
                    }
                }
                // gather what else arrives within a short window
                tokio::time::sleep(Duration::from_millis(50)).await;
                while let Ok(u) = rx.try_recv() {
                    pending.insert(u.id.clone(), u);
                }
                let batch: Vec<ClientAllocUpdate> = pending.values().cloned().collect();
                match rpc.update_allocations(&node_id, &batch).await {
                    Ok(_) => pending.clear(),
                    Err(e) => {
                        warn!(node_id = %node_id, error = %e, "could not send allocation updates; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Self { tx }
    }

    pub fn push(&self, u: ClientAllocUpdate) {
        let _ = self.tx.send(u);
    }
}
