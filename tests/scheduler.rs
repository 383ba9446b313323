//! The scheduler as a pure function: placements on fitting nodes, refusals with reasons, determinism.

mod common;

use common::{apply_all, job, node};
use drover::core::command::{Command, PlanResult};
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::scheduler::{schedule, verify::verify};
use drover::core::state::ClusterState;

fn eval_for(job_id: &str) -> Evaluation {
    Evaluation {
        id: format!("eval-{job_id}"),
        namespace: "default".into(),
        priority: 50,
        job_type: "service".into(),
        job_id: job_id.into(),
        status: EvalStatus::Pending,
        ..Default::default()
    }
}

fn state_with(nodes: Vec<drover::core::node::Node>, jobs: Vec<drover::core::job::Job>) -> ClusterState {
    let mut s = ClusterState::default();
    let mut cmds: Vec<Command> = nodes.into_iter().map(|n| Command::RegisterNode { node: n, evals: vec![], now: 1 }).collect();
    cmds.extend(jobs.into_iter().map(|j| {
        let e = eval_for(&j.id);
        Command::RegisterJob { job: j, eval: Some(e), now: 2 }
    }));
    apply_all(&mut s, &cmds);
    s
}

#[test]
fn places_only_on_the_node_that_fits() {
    let s = state_with(vec![node("small", 500, 256), node("big", 4000, 8192)], vec![job("web", 2, 1000, 512)]);
    let plan = schedule(&s, &eval_for("web"), 7);
    assert_eq!(plan.placements.len(), 2, "{plan:?}");
    assert!(plan.placements.iter().all(|a| a.node_id == "big"));
    assert!(plan.failed_tg_allocs.is_empty());
    let ports: Vec<u16> = plan.placements.iter().map(|a| a.resources.ports[0].value).collect();
    assert_ne!(ports[0], ports[1], "dynamic ports on one node must differ");
    assert!(ports.iter().all(|p| (20000..=32000).contains(p)));
}

#[test]
fn refuses_when_nothing_fits_and_says_why() {
    let s = state_with(vec![node("a", 1000, 512), node("b", 1000, 512)], vec![job("huge", 1, 100, 100_000)]);
    let plan = schedule(&s, &eval_for("huge"), 1);
    assert!(plan.placements.is_empty());
    let m = plan.failed_tg_allocs.get("web").expect("group web has a failure");
    assert_eq!(m.nodes_evaluated, 2);
    assert_eq!(m.nodes_exhausted, 2);
    assert_eq!(m.dimension_exhausted.get("memory"), Some(&2));
}

#[test]
fn constraint_filtering_is_reported() {
    let mut j = job("picky", 1, 100, 100);
    j.constraints.push(drover::core::job::Constraint {
        ltarget: "${attr.kernel.name}".into(),
        rtarget: "windows".into(),
        operand: "=".into(),
    });
    let s = state_with(vec![node("a", 1000, 1000)], vec![j]);
    let plan = schedule(&s, &eval_for("picky"), 1);
    assert!(plan.placements.is_empty());
    let m = &plan.failed_tg_allocs["web"];
    assert_eq!(m.nodes_filtered, 1);
    assert_eq!(m.constraint_filtered.get("${attr.kernel.name} = windows"), Some(&1));
}

#[test]
fn same_seed_same_plan_and_other_seed_may_differ() {
    let nodes: Vec<_> = (0..20).map(|i| node(&format!("n{i:02}"), 4000, 8192)).collect();
    let s = state_with(nodes, vec![job("web", 10, 100, 64)]);
    let a = schedule(&s, &eval_for("web"), 99);
    let b = schedule(&s, &eval_for("web"), 99);
    assert_eq!(a, b);
    assert_eq!(a.placements.len(), 10);
}

#[test]
fn committed_plan_is_not_placed_again_and_count_decrease_stops() {
    let mut s = state_with(vec![node("a", 4000, 4096)], vec![job("web", 3, 100, 64)]);
    let plan = schedule(&s, &eval_for("web"), 3);
    let (result, rejected) = verify(&s, &plan);
    assert!(rejected.is_empty());
    apply_all(&mut s, &[Command::ApplyPlan { result, now: 3 }]);
    assert_eq!(schedule(&s, &eval_for("web"), 4).placements.len(), 0, "nothing more to place");
    apply_all(&mut s, &[Command::RegisterJob { job: job("web", 1, 100, 64), eval: None, now: 4 }]);
    let plan = schedule(&s, &eval_for("web"), 5);
    assert_eq!(plan.stops.len(), 2);
    assert!(plan.placements.is_empty());
}

#[test]
fn verify_rejects_a_node_another_plan_filled() {
    let mut s = state_with(vec![node("a", 1000, 1000)], vec![job("one", 1, 800, 100), job("two", 1, 800, 100)]);
    let p1 = schedule(&s, &eval_for("one"), 1);
    let p2 = schedule(&s, &eval_for("two"), 2);
    let (r1, rej1) = verify(&s, &p1);
    assert!(rej1.is_empty());
    apply_all(&mut s, &[Command::ApplyPlan { result: r1, now: 5 }]);
    let (r2, rej2) = verify(&s, &p2);
    assert_eq!(rej2, vec!["a".to_string()]);
    assert_eq!(r2, PlanResult::default());
}

#[test]
fn stopped_job_stops_all_allocations() {
    let mut s = state_with(vec![node("a", 4000, 4096)], vec![job("web", 2, 100, 64)]);
    let (result, _) = verify(&s, &schedule(&s, &eval_for("web"), 3));
    apply_all(&mut s, &[Command::ApplyPlan { result, now: 3 }]);
    apply_all(&mut s, &[Command::DeregisterJob { namespace: "default".into(), job_id: "web".into(), purge: false, eval: None, now: 4 }]);
    let plan = schedule(&s, &eval_for("web"), 4);
    assert_eq!(plan.stops.len(), 2);
}

#[test]
fn periodic_and_parameterized_parents_get_no_allocations() {
    let mut periodic = job("cron", 1, 100, 100);
    periodic.periodic = Some(Box::new(drover::core::job::PeriodicConfig { enabled: true, spec: "* * * * *".into(), ..Default::default() }));
    let mut parameterized = job("param", 1, 100, 100);
    parameterized.parameterized = Some(Box::default());
    let mut dispatched = job("param/dispatch-1-00000000", 1, 100, 100);
    dispatched.parameterized = Some(Box::default());
    dispatched.dispatched = true;
    let s = state_with(vec![node("a", 4000, 8192)], vec![periodic, parameterized, dispatched]);
    for id in ["cron", "param"] {
        let plan = schedule(&s, &eval_for(id), 1);
        assert!(plan.placements.is_empty() && plan.failed_tg_allocs.is_empty(), "{id}: {plan:?}");
    }
    assert_eq!(schedule(&s, &eval_for("param/dispatch-1-00000000"), 1).placements.len(), 1, "a dispatched child runs");
}
