//! The state machine is deterministic: the same commands give the same state, and a snapshot round-trips.

mod common;

use common::{apply_all, job, node};
use drover::core::command::Command;
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::scheduler::{schedule, verify::verify};
use drover::core::state::ClusterState;

fn history() -> Vec<Command> {
    // Build a realistic history: nodes, jobs, plans and client updates, computed once.
    let mut s = ClusterState::default();
    let mut cmds = Vec::new();
    let mut push = |s: &mut ClusterState, c: Command| {
        apply_all(s, std::slice::from_ref(&c));
        cmds.push(c);
    };
    for i in 0..5 {
        push(&mut s, Command::RegisterNode { node: node(&format!("n{i}"), 4000, 8192), evals: vec![], now: 10 + i });
    }
    for j in 0..4 {
        let id = format!("job{j}");
        let eval = Evaluation {
            id: format!("e{j}"),
            namespace: "default".into(),
            priority: 50,
            job_type: "service".into(),
            job_id: id.clone(),
            status: EvalStatus::Pending,
            ..Default::default()
        };
        push(&mut s, Command::RegisterJob { job: job(&id, 3, 200, 128), eval: Some(eval.clone()), now: 100 + j });
        let (result, _) = verify(&s, &schedule(&s, &eval, j as u64));
        push(&mut s, Command::ApplyPlan { result, now: 200 + j });
    }
    let updates = s
        .allocs
        .values()
        .take(5)
        .map(|a| drover::core::alloc::ClientAllocUpdate {
            id: a.id.clone(),
            client_status: drover::core::alloc::ClientStatus::Running,
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let node_id = s.allocs.values().next().map(|a| a.node_id.clone()).unwrap_or_default();
    let mine: Vec<_> = updates.into_iter().filter(|u| s.allocs[&u.id].node_id == node_id).collect();
    push(&mut s, Command::UpdateAllocsFromClient { node_id, updates: mine, evals: vec![], now: 300 });
    push(&mut s, Command::DeregisterJob { namespace: "default".into(), job_id: "job1".into(), purge: false, eval: None, now: 400 });
    cmds
}

#[test]
fn same_commands_same_state() {
    let cmds = history();
    let mut a = ClusterState::default();
    let mut b = ClusterState::default();
    apply_all(&mut a, &cmds);
    apply_all(&mut b, &cmds);
    assert_eq!(a, b);
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    assert_eq!(a.allocs.len(), 12);
}

#[test]
fn snapshot_round_trip_restores_indexes() {
    let mut a = ClusterState::default();
    apply_all(&mut a, &history());
    let bytes = serde_json::to_vec(&a).unwrap();
    let mut b: ClusterState = serde_json::from_slice(&bytes).unwrap();
    b.after_restore();
    assert_eq!(a, b);
    let node = a.allocs.values().next().unwrap().node_id.clone();
    assert_eq!(a.allocs_on_node(&node).count(), b.allocs_on_node(&node).count());
}

#[test]
fn rejected_command_changes_nothing_but_the_index() {
    let mut s = ClusterState::default();
    apply_all(&mut s, &history());
    let before = s.clone();
    let r = s.apply(
        s.index + 1,
        &Command::DeregisterJob { namespace: "default".into(), job_id: "nope".into(), purge: true, eval: None, now: 1 },
    );
    assert!(r.error.unwrap().contains("nope"));
    assert_eq!(s.jobs, before.jobs);
    assert_eq!(s.allocs, before.allocs);
}
