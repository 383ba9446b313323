//! The node drainer (leader only): follows the replicated state and does what `core::drain` decides —
//! marks allocations on draining nodes for migration, with one `node-drain` evaluation per job (the
//! scheduler stops them and places replacements), and completes drains with nothing left. It keeps
//! no state of its own, so a new leader simply carries on.

use std::time::Duration;

use tracing::{info, warn};

use crate::core::alloc::DesiredTransition;
use crate::core::command::Command;
use crate::core::drain::{self, DrainDecision};

use super::clock::now_ns;
use super::error::ServerError;
use super::ops::Server;

/// Deadlines and `min_healthy_time` pass without a state change: look again at least this often.
const TICK: Duration = Duration::from_millis(250);

pub async fn run(server: Server) {
    let mut applied = server.raft.applied_index();
    loop {
        let now = now_ns();
        let decision = server.read(|s| drain::decide(s, now));
        if !decision.is_empty() {
            if let Err(e) = act(&server, decision).await {
                warn!(error = %e, "node drainer: could not apply its decision; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        tokio::select! {
            r = applied.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

async fn act(server: &Server, d: DrainDecision) -> Result<(), ServerError> {
    let now = now_ns();
    if !d.migrate.is_empty() {
        let evals = server.read(|s| d.jobs.iter().filter_map(|k| s.jobs.get(k)).map(|j| server.eval_for(j, "node-drain")).collect());
        info!(allocs = ?d.migrate, "node drainer: marking allocations for migration");
        let cmd =
            Command::UpdateAllocDesiredTransition { alloc_ids: d.migrate, transition: DesiredTransition { migrate: true }, evals, now };
        server.propose(cmd).await?;
    }
    if !d.done.is_empty() {
        info!(nodes = ?d.done, "node drainer: drain complete");
        server.propose(Command::CompleteNodeDrains { node_ids: d.done, now }).await?;
    }
    Ok(())
}
