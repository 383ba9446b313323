//! When snapshots are built: as Nomad (hashicorp/raft) does, a server checks every
//! `snapshot_interval` whether at least `snapshot_logs_since_last` entries were applied since its
//! last snapshot, and only then builds one.
//!
//! A snapshot serializes the whole state and writes it to disk; building one every few thousand
//! entries, as a bare entry count would, costs a server with a large state a second of CPU and a
//! burst of disk writes every few seconds of a busy write load, and its writes' latency with it.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::AbortHandle;

use super::types::Raft;

/// The timer task; aborted when the last handle is dropped.
pub struct SnapshotTimer(AbortHandle);

impl Drop for SnapshotTimer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the timer for `raft`; it stops by itself once Raft has shut down.
pub fn start(raft: Raft, interval: Duration, threshold: u64) -> Arc<SnapshotTimer> {
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let (applied, snapshot, running) = {
                let m = raft.metrics();
                let m = m.borrow();
                (m.last_applied.map_or(0, |l| l.index), m.snapshot.map_or(0, |l| l.index), m.running_state.is_ok())
            };
            if !running {
                return;
            }
            if applied.saturating_sub(snapshot) < threshold {
                continue;
            }
            tracing::debug!(applied, snapshot, threshold, "snapshot threshold reached");
            if let Err(e) = raft.trigger().snapshot().await {
                tracing::debug!(error = %e, "raft stopped; snapshot timer ends");
                return;
            }
        }
    });
    Arc::new(SnapshotTimer(task.abort_handle()))
}
