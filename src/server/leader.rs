//! Leadership: starts the leader-only machinery (eval broker, scheduler workers, heartbeat timers,
//! periodic launcher) when this server becomes leader and stops it when it loses leadership.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

use super::ops::Server;
use super::{broker, deployments, drainer, gc, heartbeat, periodic, worker};

/// Scheduler workers by default (`server { num_schedulers }` overrides).
pub const WORKERS: usize = 2;

/// How long one attempt at the leadership barrier may take, and the pause between attempts.
const BARRIER_WAIT: Duration = Duration::from_secs(5);
const BARRIER_RETRY: Duration = Duration::from_millis(100);

/// How the leader machinery runs, from the agent's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Scheduler workers.
    pub workers: usize,
    /// Added to the heartbeat TTL before a node is marked down.
    pub heartbeat_grace: Duration,
}

/// Runs for the life of the server.
pub async fn run(server: Server, settings: Settings) {
    let mut leadership = server.raft.leadership();
    let mut tasks: Option<JoinSet<()>> = None;
    loop {
        let leader = *leadership.borrow_and_update();
        match (leader, tasks.is_some()) {
            (true, false) => {
                // Nomad's barrier: the machinery is rebuilt from the state only once this server
                // has applied everything committed before its term. A broker rebuilt from an older
                // state would deliver evaluations the previous leader had completed, and a worker
                // planning on it would place again what was already placed.
                if !barrier(&server, &mut leadership).await {
                    continue;
                }
                info!("gained leadership: starting eval broker, workers, heartbeat timers, deployment watcher, node drainer, periodic launcher and garbage collector");
                tasks = Some(start(server.clone(), settings));
            }
            (false, true) => {
                info!("lost leadership: stopping leader machinery");
                if let Some(mut t) = tasks.take() {
                    t.shutdown().await;
                }
            }
            _ => {}
        }
        if leadership.changed().await.is_err() {
            return;
        }
    }
}

/// Waits until this leader has applied every entry committed before its term; `false` if the
/// leadership changed first (the caller looks at it again).
async fn barrier(server: &Server, leadership: &mut watch::Receiver<bool>) -> bool {
    loop {
        tokio::select! {
            done = tokio::time::timeout(BARRIER_WAIT, server.raft.ensure_linearizable()) => match done {
                Ok(Ok(())) => return true,
                Ok(Err(e)) => warn!(error = %e, "leadership barrier failed; retrying"),
                Err(_) => warn!("leadership barrier timed out; retrying"),
            },
            _ = leadership.changed() => return false,
        }
        tokio::select! {
            () = tokio::time::sleep(BARRIER_RETRY) => {}
            _ = leadership.changed() => return false,
        }
    }
}

fn start(server: Server, settings: Settings) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let (work_tx, work_rx) = broker::async_queue::channel(64);
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    set.spawn(broker::run(server.clone(), work_tx, done_rx));
    for _ in 0..settings.workers {
        set.spawn(worker::run(server.clone(), work_rx.clone(), done_tx.clone()));
    }
    set.spawn(heartbeat::run(server.clone(), settings.heartbeat_grace));
    set.spawn(deployments::watch(server.clone()));
    set.spawn(drainer::run(server.clone()));
    set.spawn(periodic::run(server.clone()));
    set.spawn(gc::run(server));
    set
}
