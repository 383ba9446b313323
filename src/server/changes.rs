//! Change publication after each applied Raft batch: a `watch` of every table's index (a blocking
//! query waits on its own table's and wakes only when that table passes its `?index`), a `watch` per
//! node with a client watching its allocations (woken only when the servers change that node's
//! allocations: thousands of clients are not all woken by every placement), and the event stream's
//! buffer (`events`). One task (`publish`) follows the applied index, compares the
//! tables' indexes with the ones it published, and derives events — the state machine stays as it is.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tracing::debug;

use crate::core::state::{table, ClusterState};

use super::events::{Deriver, EventBuffer};
use super::ops::Server;

/// The published index of every table, and the event buffer.
pub struct Changes {
    tables: BTreeMap<&'static str, watch::Sender<u64>>,
    /// Node id → the watch its client's allocation watches wait on (a value moves when it is woken).
    nodes: Mutex<HashMap<String, watch::Sender<u64>>>,
    pub events: EventBuffer,
}

impl Default for Changes {
    fn default() -> Self {
        Self {
            tables: table::ALL.into_iter().map(|t| (t, watch::channel(0).0)).collect(),
            nodes: Mutex::new(HashMap::new()),
            events: EventBuffer::default(),
        }
    }
}

impl Changes {
    /// A watch of `table`'s index; `None` for a name that is not a table.
    pub fn subscribe(&self, table: &str) -> Option<watch::Receiver<u64>> {
        self.tables.get(table).map(watch::Sender::subscribe)
    }

    /// A watch woken when the servers change an allocation on `node_id`.
    pub fn subscribe_node(&self, node_id: &str) -> watch::Receiver<u64> {
        let mut nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        match nodes.get(node_id) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = watch::channel(0);
                nodes.insert(node_id.to_string(), tx);
                rx
            }
        }
    }

    /// Wakes the watches of the nodes whose allocations changed after `after` (all of them when the
    /// state cannot tell); forgets nodes nobody watches any more.
    fn publish_nodes(&self, state: &ClusterState, after: u64) {
        let mut nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        if nodes.is_empty() {
            return;
        }
        let wake = |tx: &watch::Sender<u64>| {
            tx.send_replace(state.index);
        };
        match state.nodes_with_alloc_changes_since(after) {
            Some(changed) => {
                for n in changed {
                    if let Some(tx) = nodes.get(n.as_str()) {
                        wake(tx);
                    }
                }
            }
            None => nodes.values().for_each(wake),
        }
        nodes.retain(|_, tx| tx.receiver_count() > 0);
    }

    /// Publishes the tables whose index moved; receivers of the others are not woken.
    fn publish_tables(&self, state: &ClusterState) {
        for (t, tx) in &self.tables {
            let index = state.table_index(t);
            tx.send_if_modified(|v| {
                let moved = *v != index;
                *v = index;
                moved
            });
        }
    }
}

impl Server {
    /// Waits until the state's `table` index passes `min_index` or `wait` (plus Nomad's jitter of up
    /// to `wait / 16`) elapses; returns the index.
    pub async fn block_on(&self, table: &str, min_index: u64, wait: Duration) -> u64 {
        self.block_on_any(&[table], min_index, wait).await
    }

    /// `block_on` for a result made of several tables: returns the highest of their indexes once it
    /// passes `min_index`. Wakes only when one of `tables` moves (`changes::publish`), not on every
    /// applied entry.
    pub async fn block_on_any(&self, tables: &[&str], min_index: u64, wait: Duration) -> u64 {
        let index = |s: &ClusterState| tables.iter().map(|t| s.table_index(t)).max().unwrap_or(0);
        if min_index == 0 {
            return self.read(index).max(1);
        }
        // Subscribed before the state is read: a change published after the read is not missed.
        let mut watches: Vec<_> = tables.iter().filter_map(|t| self.changes.subscribe(t)).collect();
        let mut applied = (watches.is_empty() || watches.len() < tables.len()).then(|| self.raft.applied_index());
        let deadline = tokio::time::Instant::now() + wait + jitter(wait);
        loop {
            let idx = self.read(index);
            if idx > min_index {
                return idx;
            }
            let changed = async {
                match (applied.as_mut(), watches.as_mut_slice()) {
                    // A name that is not a table: every applied batch.
                    (Some(rx), _) => rx.changed().await.is_ok(),
                    (None, [one]) => one.changed().await.is_ok(),
                    (None, many) => futures::future::select_all(many.iter_mut().map(|w| Box::pin(w.changed()))).await.0.is_ok(),
                }
            };
            match tokio::time::timeout_at(deadline, changed).await {
                Ok(true) => continue,
                _ => return idx.max(1),
            }
        }
    }

    /// Waits until the servers' last change to an allocation on `node_id` passes `min_index` or
    /// `wait` (plus jitter) elapses; returns that index. Woken only by changes on that node.
    pub async fn block_on_node(&self, node_id: &str, min_index: u64, wait: Duration) -> u64 {
        let index = |s: &ClusterState| s.node_allocs_index(node_id);
        if min_index == 0 {
            return self.read(index).max(1);
        }
        // Subscribed before the state is read: a change published after the read is not missed.
        let mut woken = self.changes.subscribe_node(node_id);
        let deadline = tokio::time::Instant::now() + wait + jitter(wait);
        loop {
            let idx = self.read(index);
            if idx > min_index {
                return idx;
            }
            match tokio::time::timeout_at(deadline, woken.changed()).await {
                Ok(Ok(())) => continue,
                _ => return idx.max(1),
            }
        }
    }
}

/// Follows the applied index until Raft shuts down: after each applied batch, publishes the moved
/// table indexes and pushes the batch's events.
pub async fn publish(server: Server) {
    let mut applied = server.raft.applied_index();
    let mut deriver = server.read(Deriver::new);
    let mut published = server.read(|s| s.index);
    loop {
        let batches = server.read(|s| {
            server.changes.publish_tables(s);
            server.changes.publish_nodes(s, published);
            published = s.index;
            deriver.derive(s)
        });
        if !batches.is_empty() {
            debug!(indexes = batches.len(), "events derived");
            server.changes.events.push(batches);
        }
        if applied.changed().await.is_err() {
            return;
        }
    }
}

/// Nomad's jitter on a blocking wait: a random extra of up to `wait / 16`, so queries opened together
/// do not all time out together.
pub fn jitter(wait: Duration) -> Duration {
    let max = (wait / 16).as_nanos() as u64;
    if max == 0 {
        return Duration::ZERO;
    }
    // The random bits of a v4 UUID: the server layer has no other randomness source.
    let r = uuid::Uuid::new_v4().as_u128() as u64;
    Duration::from_nanos(r % (max + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_under_a_sixteenth() {
        let wait = Duration::from_secs(300);
        for _ in 0..100 {
            assert!(jitter(wait) <= wait / 16);
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn only_moved_tables_wake() {
        let changes = Changes::default();
        let mut jobs = changes.subscribe(table::JOBS).expect("jobs table");
        let mut vars = changes.subscribe(table::VARS).expect("vars table");
        let mut state = ClusterState::default();
        state.table_index.insert(table::VARS.into(), 7);
        changes.publish_tables(&state);
        assert!(vars.has_changed().unwrap());
        assert!(!jobs.has_changed().unwrap());
        assert_eq!(*vars.borrow_and_update(), 7);
        changes.publish_tables(&state);
        assert!(!vars.has_changed().unwrap());
        let _ = jobs.borrow_and_update();
        assert!(changes.subscribe("no-such-table").is_none());
    }
}
