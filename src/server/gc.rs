//! Garbage collection on the leader: every few minutes, finished evaluations, allocations, dead jobs,
//! long-down nodes and finished deployments older than Nomad's thresholds are removed through one
//! `Command::Gc`; `/v1/system/gc` forces a collection of everything finished, whatever its age.

use std::time::Duration;

use tracing::{info, warn};

use crate::core::command::Command;
use crate::core::gc::{candidates, GcThresholds};

use super::clock::now_ns;
use super::error::ServerError;
use super::ops::Server;

/// Between collections (Nomad's `eval_gc_interval` is 5 minutes).
const INTERVAL: Duration = Duration::from_secs(300);

/// How much one collection removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GcCounts {
    pub jobs: usize,
    pub evals: usize,
    pub allocs: usize,
    pub nodes: usize,
    pub deployments: usize,
}

impl Server {
    /// Collects what is finished and older than `thresholds`. Returns what was proposed for removal.
    pub async fn collect_garbage(&self, thresholds: GcThresholds) -> Result<GcCounts, ServerError> {
        let request = self.read(|s| candidates(s, now_ns(), &thresholds));
        let counts = GcCounts {
            jobs: request.jobs.len(),
            evals: request.evals.len(),
            allocs: request.allocs.len(),
            nodes: request.nodes.len(),
            deployments: request.deployments.len(),
        };
        if request.is_empty() {
            return Ok(counts);
        }
        self.propose(Command::Gc { request }).await?;
        info!(jobs = counts.jobs, evals = counts.evals, allocs = counts.allocs, nodes = counts.nodes, "garbage collected");
        Ok(counts)
    }
}

/// The leader's periodic collection with Nomad's default thresholds.
pub async fn run(server: Server) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = server.collect_garbage(GcThresholds::NOMAD).await {
            warn!(error = %e, "garbage collection failed");
        }
    }
}
