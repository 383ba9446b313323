//! The evaluation broker (leader only): hands pending evaluations to workers, highest priority first,
//! at most one in flight per job, and gives up on an evaluation after a delivery limit. A delayed
//! evaluation (`wait_until`, such as a follow-up that reschedules a failed allocation) is held until
//! its time; the broker wakes for the earliest one. Everything is read from the replicated state,
//! so a new leader holds the same evaluations.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::warn;

use crate::core::command::Command;
use crate::core::eval::{EvalStatus, Evaluation};
use crate::core::job::JobKey;

use super::clock::now_ns;
use super::ops::Server;

pub const DELIVERY_LIMIT: u32 = 3;

/// A worker's answer for one evaluation.
pub enum Outcome {
    Ack(String),
    Nack(String),
}

pub async fn run(server: Server, work: async_queue::Sender, mut done: mpsc::UnboundedReceiver<Outcome>) {
    let mut applied = server.raft.applied_index();
    let mut in_flight: BTreeMap<String, JobKey> = BTreeMap::new();
    let mut deliveries: BTreeMap<String, u32> = BTreeMap::new();
    loop {
        let now = now_ns();
        let pending: Vec<Evaluation> = server.read(|s| s.pending_evals().into_iter().cloned().collect());
        let busy: BTreeSet<JobKey> = in_flight.values().cloned().collect();
        let mut dispatched = BTreeSet::new();
        let mut next_due: Option<i64> = None;
        for eval in pending {
            if !eval.due(now) {
                next_due = Some(next_due.map_or(eval.wait_until, |t| t.min(eval.wait_until)));
                continue;
            }
            let key = JobKey::new(&eval.namespace, &eval.job_id);
            if in_flight.contains_key(&eval.id) || busy.contains(&key) || dispatched.contains(&key) {
                continue;
            }
            let n = deliveries.entry(eval.id.clone()).or_default();
            if *n >= DELIVERY_LIMIT {
                let mut failed = eval.clone();
                failed.status = EvalStatus::Failed;
                failed.status_description = format!("evaluation reached its delivery limit ({DELIVERY_LIMIT})");
                warn!(eval_id = %eval.id, "evaluation failed: delivery limit reached");
                let _ = server.propose(Command::UpsertEvals { evals: vec![failed], now: now_ns() }).await;
                continue;
            }
            *n += 1;
            dispatched.insert(key.clone());
            in_flight.insert(eval.id.clone(), key);
            if work.send(eval).await.is_err() {
                return;
            }
        }
        tokio::select! {
            r = applied.changed() => if r.is_err() { return },
            o = done.recv() => match o {
                Some(Outcome::Ack(id)) => { in_flight.remove(&id); deliveries.remove(&id); }
                Some(Outcome::Nack(id)) => { in_flight.remove(&id); }
                None => return,
            },
            _ = sleep_for(next_due.map(|t| Duration::from_nanos(t.saturating_sub(now).max(0) as u64))) => {}
        }
    }
}

/// Sleeps for `d`, or for ever without one.
async fn sleep_for(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// A multi-consumer queue of evaluations for the workers.
pub mod async_queue {
    use std::sync::Arc;

    use tokio::sync::{mpsc, Mutex};

    use crate::core::eval::Evaluation;

    pub type Sender = mpsc::Sender<Evaluation>;

    #[derive(Clone)]
    pub struct Receiver(Arc<Mutex<mpsc::Receiver<Evaluation>>>);

    impl Receiver {
        pub async fn recv(&self) -> Option<Evaluation> {
            self.0.lock().await.recv().await
        }
    }

    pub fn channel(size: usize) -> (Sender, Receiver) {
        let (tx, rx) = mpsc::channel(size);
        (tx, Receiver(Arc::new(Mutex::new(rx))))
    }
}
