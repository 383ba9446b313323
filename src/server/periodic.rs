//! The periodic launcher (leader only): every second, asks `core::periodic::Launcher` which periodic
//! jobs are due and launches their children; started on leadership with empty memory, which it
//! rebuilds from the replicated state.

use std::time::Duration;

use tracing::{info, warn};

use crate::core::periodic::Launcher;

use super::clock::now_ns;
use super::ops::Server;

pub async fn run(server: Server) {
    let mut launcher = Launcher::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = now_ns().div_euclid(1_000_000_000);
        let due = server
            .read(|s| launcher.due(s, now).into_iter().filter_map(|l| s.jobs.get(&l.job).map(|j| (j.clone(), l))).collect::<Vec<_>>());
        for (parent, launch) in due {
            if launch.skipped {
                info!(job_id = %parent.id, launch = launch.time, "skipping periodic launch: a previous child is still running (prohibit_overlap)");
                continue;
            }
            if let Err(e) = server.launch_periodic(&parent, launch.time).await {
                warn!(job_id = %parent.id, launch = launch.time, error = %e, "periodic launch failed");
            }
        }
    }
}
