//! The scheduler: a pure function of a state snapshot, an evaluation and a seed, returning a plan.
//!
//! `schedule` never mutates state and never performs IO; the plan applier on the leader verifies
//! the plan against the newest state (`verify`) before committing it through Raft.

pub mod class;
pub mod constraint;
pub mod feasible;
pub mod fit;
pub mod generic;
pub mod plan;
pub mod preempt;
pub mod property;
pub mod rank;
pub mod reschedule;
pub mod rollout;
pub mod select;
pub mod system;
pub mod update;
pub mod verify;

pub use plan::Plan;
pub use select::Options;

use super::eval::Evaluation;
use super::job::{JobKey, JobType};
use super::rng::SeededRng;
use super::state::ClusterState;

/// Computes the plan for `eval` against `state`, judging failed allocations at the evaluation's
/// own time (the later of its last write and its `wait_until`). The same inputs and seed always
/// give the same plan.
pub fn schedule(state: &ClusterState, eval: &Evaluation, seed: u64) -> Plan {
    schedule_at(state, eval, seed, eval.modify_time.max(eval.wait_until))
}

/// Computes the plan for `eval` against `state` at `now` (unix nanoseconds: when failed
/// allocations are judged against their reschedule policy). The same inputs give the same plan.
pub fn schedule_at(state: &ClusterState, eval: &Evaluation, seed: u64, now: i64) -> Plan {
    schedule_with(state, eval, seed, now, Options::default())
}

/// `schedule_at` with explicit options (whether feasibility is judged per computed node class).
pub fn schedule_with(state: &ClusterState, eval: &Evaluation, seed: u64, now: i64, options: Options) -> Plan {
    let mut rng = SeededRng::new(seed);
    let key = JobKey::new(&eval.namespace, &eval.job_id);
    let job_type = state.jobs.get(&key).map(|j| j.job_type).or_else(|| JobType::parse(&eval.job_type)).unwrap_or_default();
    match job_type {
        JobType::Service | JobType::Batch => generic::schedule(state, eval, &key, &mut rng, now, options),
        JobType::System | JobType::Sysbatch => system::schedule(state, eval, &key, &mut rng, options),
    }
}

/// A UUID-formatted id drawn from the seeded generator (deterministic for a given seed).
pub fn new_id(rng: &mut SeededRng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a & 0x0fff) as u16,
        ((b >> 48) as u16 & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}
