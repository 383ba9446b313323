//! A scheduler worker: runs the pure scheduler on a snapshot of the state, then, holding the
//! server's single plan applier, verifies the plan against the newest state and commits it through
//! Raft; the rejected remainder is planned again on the refreshed state.

use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::core::command::{Command, PlanResult};
use crate::core::eval::{EvalStatus, Evaluation};
use crate::core::job::JobKey;
use crate::core::scheduler::{self, verify::verify, Plan};

use super::broker::{async_queue, Outcome};
use super::clock::{new_id, now_ns, random_seed};
use super::ops::Server;

const MAX_ATTEMPTS: u32 = 5;

pub async fn run(server: Server, work: async_queue::Receiver, done: mpsc::UnboundedSender<Outcome>) {
    while let Some(eval) = work.recv().await {
        let id = eval.id.clone();
        let outcome = match process(&server, eval).await {
            Ok(()) => Outcome::Ack(id),
            Err(e) => {
                warn!(eval_id = %id, error = %e, "evaluation failed; will retry");
                Outcome::Nack(id)
            }
        };
        if done.send(outcome).is_err() {
            return;
        }
    }
}

async fn process(server: &Server, eval: Evaluation) -> Result<(), super::ServerError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let seed: u64 = random_seed();
        let plan = server.read(|s| scheduler::schedule_at(s, &eval, seed, now_ns()));
        // The plan applier: every plan committed before this one is in the state it is verified
        // against (a proposal returns once the leader applied it).
        let applier = server.plan_applier.lock().await;
        let (result, rejected) = server.read(|s| verify(s, &plan));
        debug!(eval_id = %eval.id, job_id = %eval.job_id, placements = plan.placements.len(), stops = plan.stops.len(), rejected = rejected.len(), "planned");
        let last = rejected.is_empty() || attempt >= MAX_ATTEMPTS;
        let result = if last { finish(server, &eval, &plan, result, !rejected.is_empty()) } else { result };
        // Here only: a plan verified on this server must not be forwarded to another leader,
        // whose own plan applier never saw it. The evaluation is then delivered again by the new
        // leader's broker.
        let index = server.propose_local(Command::ApplyPlan { result, now: now_ns() }).await?.index;
        drop(applier);
        if last {
            info!(eval_id = %eval.id, job_id = %eval.job_id, index, placed = plan.placements.len(), failed_groups = plan.failed_tg_allocs.len(), "evaluation complete");
            return Ok(());
        }
        // another plan took room first: schedule the remainder on the refreshed state
        let mut rx = server.raft.applied_index();
        while server.read(|s| s.index) < index {
            if rx.changed().await.is_err() {
                break;
            }
        }
    }
}

/// Completes the evaluation, creating a blocked one for groups that could not be placed.
fn finish(server: &Server, eval: &Evaluation, plan: &Plan, mut result: PlanResult, partial: bool) -> PlanResult {
    let mut done = eval.clone();
    done.status = if partial { EvalStatus::Failed } else { EvalStatus::Complete };
    done.status_description = if partial { "plan rejected too many times".into() } else { String::new() };
    done.failed_tg_allocs = plan.failed_tg_allocs.clone();
    done.queued_allocations = plan.queued.clone();
    if let Some(d) = &plan.deployment {
        done.deployment_id.clone_from(&d.id);
    }
    if !plan.failed_tg_allocs.is_empty() {
        // at most one blocked evaluation per job
        let key = JobKey::new(&eval.namespace, &eval.job_id);
        let existing =
            server.read(|s| s.evals_of_job(&key).find(|e| e.status == EvalStatus::Blocked && e.id != eval.id).map(|e| e.id.clone()));
        let blocked = Evaluation {
            id: existing.unwrap_or_else(new_id),
            status: EvalStatus::Blocked,
            status_description: "created to place remaining allocations".into(),
            previous_eval: eval.id.clone(),
            failed_tg_allocs: plan.failed_tg_allocs.clone(),
            triggered_by: "queued-allocs".into(),
            ..eval.clone()
        };
        done.blocked_eval = blocked.id.clone();
        result.blocked_eval = Some(blocked);
    } else if eval.status == EvalStatus::Pending && eval.triggered_by == "queued-allocs" {
        done.status_description = "placed after capacity appeared".into();
    }
    result.eval = Some(done);
    result
}
