//! `RegisterJobIfIndex`: a registration that enforces the job's modify index is decided at apply
//! (Nomad's `EnforceIndex`), so of two racing registrations made against the same index only the
//! first is stored; a refused one changes nothing, not even its evaluation.

mod common;

use common::job;
use drover::core::command::Command;
use drover::core::eval::Evaluation;
use drover::core::job::JobKey;
use drover::core::state::ClusterState;

fn register(s: &mut ClusterState, index: u64, count: u32, expected: u64, eval_id: &str) -> Option<String> {
    let mut j = job("web", count, 100, 64);
    j.canonicalize();
    let eval = Evaluation { id: eval_id.into(), namespace: "default".into(), job_id: "web".into(), ..Default::default() };
    let cmd = Command::RegisterJobIfIndex { job: j, eval: Some(eval), now: index as i64, job_modify_index: expected };
    s.apply(index, &cmd).error
}

fn current(s: &ClusterState) -> Option<(u64, u64, u32)> {
    s.jobs.get(&JobKey::new("default", "web")).map(|j| (j.version, j.job_modify_index, j.task_groups[0].count))
}

#[test]
fn only_the_expected_index_registers() {
    let mut s = ClusterState::default();
    assert_eq!(register(&mut s, 1, 1, 7, "e0"), Some("Enforcing job modify index 7: job does not exist".into()));
    assert_eq!(current(&s), None);
    assert!(s.evals.is_empty(), "a refused registration stored its evaluation");

    assert_eq!(register(&mut s, 2, 1, 0, "e1"), None);
    assert_eq!(current(&s), Some((0, 2, 1)));
    assert_eq!(register(&mut s, 3, 2, 0, "e2"), Some("Enforcing job modify index 0: job already exists".into()));

    // Two updates planned against index 2: the first wins, the second is refused.
    assert_eq!(register(&mut s, 4, 2, 2, "e3"), None);
    assert_eq!(current(&s), Some((1, 4, 2)));
    assert_eq!(
        register(&mut s, 5, 3, 2, "e4"),
        Some("Enforcing job modify index 2: job exists with conflicting job modify index: 4".into())
    );
    assert_eq!(current(&s), Some((1, 4, 2)));
    let evals: Vec<&str> = s.evals.keys().map(String::as_str).collect();
    assert_eq!(evals, ["e1", "e3"]);
}

#[test]
fn an_unchanged_spec_keeps_its_job_modify_index() {
    let mut s = ClusterState::default();
    assert_eq!(register(&mut s, 1, 1, 0, "e1"), None);
    assert_eq!(current(&s), Some((0, 1, 1)));
    // The same file run again: a new evaluation, but the job (and the index `job plan` printed) stays.
    assert_eq!(register(&mut s, 2, 1, 1, "e2"), None);
    assert_eq!(current(&s), Some((0, 1, 1)));
    assert!(s.evals.contains_key("e2"), "the re-run still evaluates the job");
    // A change makes a new version at the new index.
    assert_eq!(register(&mut s, 3, 2, 1, "e3"), None);
    assert_eq!(current(&s), Some((1, 3, 2)));
}
