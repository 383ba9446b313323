//! Heartbeat timers: kept in leader memory only (never in Raft); nodes that miss TTL + grace are marked down.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

use super::ops::{Server, HEARTBEAT_TTL};

/// Default grace added to the TTL before a node is declared down (also given after a leadership change).
pub const HEARTBEAT_GRACE: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct Heartbeats {
    last: Mutex<HashMap<String, Instant>>,
}

impl Heartbeats {
    pub fn beat(&self, node_id: &str) {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).insert(node_id.to_string(), Instant::now());
    }

    /// Forgets every timer: a new leader gives every node a fresh TTL + grace.
    pub fn reset(&self) {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn expired(&self, node_ids: &[String], since: Instant, now: Instant, grace: Duration) -> Vec<String> {
        let limit = HEARTBEAT_TTL + grace;
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        node_ids.iter().filter(|id| now.duration_since(last.get(*id).copied().unwrap_or(since).max(since)) > limit).cloned().collect()
    }
}

/// Leader loop: checks every second for ready nodes whose heartbeat expired (TTL + `grace`).
pub async fn run(server: Server, grace: Duration) {
    server.heartbeats.reset();
    let since = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let ready: Vec<String> = server.read(|s| s.nodes.values().filter(|n| n.ready()).map(|n| n.id.clone()).collect());
        for node_id in server.heartbeats.expired(&ready, since, Instant::now(), grace) {
            if let Err(e) = server.mark_node_down(&node_id).await {
                warn!(node_id = %node_id, error = %e, "could not mark node down");
            }
        }
    }
}
