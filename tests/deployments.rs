//! Deployments in the pure core: the scheduler's rollout (a deployment per version, `max_parallel`
//! destructive updates at a time, canaries before promotion), apply's counters (placements, health
//! reported once), and the watcher's decisions (succeed and mark stable, fail and roll back to the
//! newest stable version, auto-promote, progress deadline).

mod common;

use common::{apply_all, job, node};
use drover::core::alloc::{AllocDeploymentStatus, ClientAllocUpdate, ClientStatus};
use drover::core::command::Command;
use drover::core::deployment::DeploymentStatusUpdate;
use drover::core::deployment_watch::{decide, Decision};
use drover::core::eval::Evaluation;
use drover::core::job::Job;
use drover::core::scheduler::{schedule, verify::verify};
use drover::core::state::ClusterState;

const SECOND: i64 = 1_000_000_000;

fn eval(n: u64) -> Evaluation {
    common::pending_eval(&format!("eval-{n}"), "web")
}

fn web(count: u32, canary: i32, image: &str) -> Job {
    let mut j = job("web", count, 100, 64);
    j.task_groups[0].tasks[0].config.insert("image".into(), serde_json::json!(image));
    let u = j.task_groups[0].update.as_mut().expect("service groups get Nomad's default update block");
    u.canary = canary;
    u.auto_revert = true;
    j
}

/// Schedules `eval` and applies the verified plan, as a worker would.
fn run(s: &mut ClusterState, e: Evaluation, now: i64) -> drover::core::scheduler::Plan {
    apply_all(s, &[Command::UpsertEvals { evals: vec![e.clone()], now }]);
    let plan = schedule(s, &s.evals[&e.id].clone(), 7 + now as u64);
    let (result, rejected) = verify(s, &plan);
    assert!(rejected.is_empty());
    apply_all(s, &[Command::ApplyPlan { result, now }]);
    plan
}

/// The client reports every allocation of the job's current version running, and healthy if asked.
fn report(s: &mut ClusterState, healthy: Option<bool>, now: i64) {
    let updates: Vec<ClientAllocUpdate> = s
        .allocs
        .values()
        .filter(|a| !a.terminal())
        .map(|a| ClientAllocUpdate {
            id: a.id.to_string(),
            client_status: ClientStatus::Running,
            deployment_status: (!a.deployment_id.is_empty()).then(|| AllocDeploymentStatus { healthy, ..Default::default() }),
            ..Default::default()
        })
        .collect();
    apply_all(s, &[Command::UpdateAllocsFromClient { node_id: "n1".into(), updates, evals: vec![], now }]);
}

fn setup(canary: i32) -> ClusterState {
    let mut s = ClusterState::default();
    apply_all(&mut s, &[Command::RegisterNode { node: node("n1", 10_000, 10_000), evals: vec![], now: 1 }]);
    apply_all(&mut s, &[Command::RegisterJob { job: web(3, canary, "v1"), eval: None, now: 2 }]);
    let plan = run(&mut s, eval(1), 3);
    let d = plan.deployment.expect("a job's first version deploys");
    assert_eq!(plan.placements.len(), 3, "a first version is placed whole");
    assert!(plan.placements.iter().all(|a| a.deployment_id == d.id && !a.canary()));
    report(&mut s, Some(true), 4);
    let d = &s.deployments[&d.id];
    assert_eq!((d.task_groups["web"].placed_allocs, d.task_groups["web"].healthy_allocs), (3, 3));
    match decide(&s, d, 5) {
        Some(Decision::Succeed { update, version }) => {
            assert_eq!(version, 0);
            apply_all(
                &mut s,
                &[Command::UpdateDeploymentStatus { update, eval: None, stable_version: Some(version), revert: None, now: 5 }],
            );
        }
        other => panic!("want success, got {other:?}"),
    }
    assert!(s.jobs.values().next().unwrap().stable, "a successful deployment marks its version stable");
    s
}

fn live_versions(s: &ClusterState) -> Vec<u64> {
    let mut v: Vec<u64> = s.allocs.values().filter(|a| !a.terminal()).map(|a| a.job_version).collect();
    v.sort();
    v
}

#[test]
fn rolling_update_replaces_max_parallel_at_a_time() {
    let mut s = setup(0);
    apply_all(&mut s, &[Command::RegisterJob { job: web(3, 0, "v2"), eval: None, now: 10 }]);
    let plan = run(&mut s, eval(2), 11);
    let d = plan.deployment.clone().expect("a new version gets a deployment");
    assert_eq!((plan.stops.len(), plan.placements.len()), (1, 1), "max_parallel 1: one at a time");
    assert_eq!(plan.placements[0].previous_allocation, plan.stops[0].alloc_id);
    // Nothing more while the new one is not healthy yet.
    let again = run(&mut s, eval(3), 12);
    assert!(again.stops.is_empty() && again.placements.is_empty(), "{again:?}");
    report(&mut s, None, 13);
    assert!(run(&mut s, eval(4), 14).placements.is_empty());
    // Healthy: the next one goes.
    report(&mut s, Some(true), 15);
    assert_eq!(s.deployments[&d.id].task_groups["web"].healthy_allocs, 1);
    let next = run(&mut s, eval(5), 16);
    assert_eq!((next.stops.len(), next.placements.len()), (1, 1));
    assert!(next.deployment.is_none(), "one deployment per version");
    report(&mut s, Some(true), 17);
    run(&mut s, eval(6), 18);
    report(&mut s, Some(true), 19);
    assert_eq!(live_versions(&s), [1, 1, 1]);
    let d = &s.deployments[&d.id];
    assert_eq!(d.task_groups["web"].healthy_allocs, 3);
    assert!(matches!(decide(&s, d, 20), Some(Decision::Succeed { version: 1, .. })));
}

#[test]
fn health_is_counted_once_per_allocation() {
    let mut s = setup(0);
    apply_all(&mut s, &[Command::RegisterJob { job: web(3, 0, "v2"), eval: None, now: 10 }]);
    let d = run(&mut s, eval(2), 11).deployment.unwrap();
    report(&mut s, Some(true), 12);
    report(&mut s, Some(true), 13);
    report(&mut s, Some(false), 14);
    let g = &s.deployments[&d.id].task_groups["web"];
    assert_eq!((g.placed_allocs, g.healthy_allocs, g.unhealthy_allocs), (1, 1, 0));
}

#[test]
fn an_unhealthy_allocation_fails_the_deployment_and_rolls_back() {
    let mut s = setup(0);
    apply_all(&mut s, &[Command::RegisterJob { job: web(3, 0, "bad"), eval: None, now: 10 }]);
    let d = run(&mut s, eval(2), 11).deployment.unwrap();
    report(&mut s, Some(false), 12);
    let decision = decide(&s, &s.deployments[&d.id], 13).expect("a decision");
    let Decision::Fail { update, revert } = decision else { panic!("want failure, got {decision:?}") };
    assert_eq!(update.status_description, "Failed due to unhealthy allocations - rolling back to job version 0");
    let revert = revert.expect("auto_revert to the stable version");
    assert_eq!(revert.task_groups[0].tasks[0].config["image"], "v1");
    apply_all(&mut s, &[Command::UpdateDeploymentStatus { update, eval: None, stable_version: None, revert: Some(*revert), now: 13 }]);
    let job = s.jobs.values().next().unwrap();
    assert_eq!((job.version, job.task_groups[0].tasks[0].config["image"].as_str()), (2, Some("v1")));
    assert_eq!(s.deployments[&d.id].status, "failed");
    // No more replacements under the failed deployment; the rollback deploys version 2.
    let plan = run(&mut s, eval(3), 14);
    let rollback = plan.deployment.expect("the rollback deploys");
    assert_eq!(rollback.job_version, 2);
    assert_eq!(plan.updates.len(), 2, "the two v1 allocations match version 2: updated in place");
    assert_eq!((plan.stops.len(), plan.placements.len()), (1, 1), "the bad allocation is replaced");
}

#[test]
fn canaries_wait_for_promotion() {
    let mut s = setup(1);
    apply_all(&mut s, &[Command::RegisterJob { job: web(3, 1, "v2"), eval: None, now: 10 }]);
    let plan = run(&mut s, eval(2), 11);
    let d = plan.deployment.unwrap();
    assert_eq!(d.status_description, "Deployment is running but requires manual promotion");
    assert!(plan.stops.is_empty(), "canaries run beside the old version");
    assert_eq!(plan.placements.len(), 1);
    assert!(plan.placements[0].canary());
    report(&mut s, Some(true), 12);
    assert!(run(&mut s, eval(3), 13).placements.is_empty(), "nothing more before promotion");
    assert_eq!(live_versions(&s), [0, 0, 0, 1]);
    assert_eq!(decide(&s, &s.deployments[&d.id], 14), None, "manual promotion: the watcher waits");
    // Healthy canaries waiting for promotion are not late, whatever the progress deadline.
    assert_eq!(decide(&s, &s.deployments[&d.id], 14 + 3600 * SECOND), None);
    apply_all(&mut s, &[Command::PromoteDeployment { deployment_id: d.id.clone(), groups: vec![], eval: None, now: 15 }]);
    let plan = run(&mut s, eval(4), 16);
    assert_eq!(plan.stops.len(), 2, "the old allocation beside the promoted canary, and the first of the rest: {plan:?}");
    assert_eq!(plan.placements.len(), 1);
    report(&mut s, Some(true), 17);
    run(&mut s, eval(5), 18);
    report(&mut s, Some(true), 19);
    assert_eq!(live_versions(&s), [1, 1, 1]);
    assert!(matches!(decide(&s, &s.deployments[&d.id], 20), Some(Decision::Succeed { .. })));
}

#[test]
fn promotion_needs_healthy_canaries_and_auto_promote_does_it() {
    let mut s = setup(1);
    let mut j = web(3, 1, "v2");
    j.task_groups[0].update.as_mut().unwrap().auto_promote = true;
    apply_all(&mut s, &[Command::RegisterJob { job: j, eval: None, now: 10 }]);
    let d = run(&mut s, eval(2), 11).deployment.unwrap();
    let r = s.apply(s.index + 1, &Command::PromoteDeployment { deployment_id: d.id.clone(), groups: vec![], eval: None, now: 12 });
    assert!(r.error.as_deref().is_some_and(|e| e.contains("0/1 healthy")), "{r:?}");
    assert_eq!(decide(&s, &s.deployments[&d.id], 12), None);
    report(&mut s, Some(true), 13);
    assert_eq!(decide(&s, &s.deployments[&d.id], 14), Some(Decision::Promote));
}

#[test]
fn progress_deadline_fails_a_stuck_deployment() {
    let mut s = setup(0);
    apply_all(&mut s, &[Command::RegisterJob { job: web(3, 0, "v2"), eval: None, now: 10 }]);
    let d = run(&mut s, eval(2), 11).deployment.unwrap();
    let deadline = s.deployments[&d.id].task_groups["web"].require_progress_by;
    assert_eq!(deadline, 11 + 10 * 60 * SECOND, "Nomad's default progress_deadline is 10m");
    assert_eq!(decide(&s, &s.deployments[&d.id], deadline), None);
    match decide(&s, &s.deployments[&d.id], deadline + 1) {
        Some(Decision::Fail { update, .. }) => {
            assert!(update.status_description.starts_with("Failed due to progress deadline"), "{update:?}")
        }
        other => panic!("want failure, got {other:?}"),
    }
}

#[test]
fn a_newer_version_cancels_the_running_deployment() {
    let mut s = setup(0);
    apply_all(&mut s, &[Command::RegisterJob { job: web(3, 0, "v2"), eval: None, now: 10 }]);
    let d2 = run(&mut s, eval(2), 11).deployment.unwrap();
    apply_all(&mut s, &[Command::RegisterJob { job: web(3, 0, "v3"), eval: None, now: 12 }]);
    let plan = run(&mut s, eval(3), 13);
    assert_eq!(
        plan.deployment_updates,
        [DeploymentStatusUpdate {
            deployment_id: d2.id.clone(),
            status: "cancelled".into(),
            status_description: "Cancelled due to newer version of job".into()
        }]
    );
    assert_eq!(s.deployments[&d2.id].status, "cancelled");
    assert!(plan.deployment.is_some());
}

#[test]
fn max_parallel_zero_replaces_everything_at_once_without_a_deployment() {
    let mut s = ClusterState::default();
    let mut j = web(3, 0, "v1");
    j.task_groups[0].update.as_mut().unwrap().max_parallel = 0;
    apply_all(&mut s, &[Command::RegisterNode { node: node("n1", 10_000, 10_000), evals: vec![], now: 1 }]);
    apply_all(&mut s, &[Command::RegisterJob { job: j.clone(), eval: None, now: 2 }]);
    assert!(run(&mut s, eval(1), 3).deployment.is_none());
    j.task_groups[0].tasks[0].config.insert("image".into(), serde_json::json!("v2"));
    apply_all(&mut s, &[Command::RegisterJob { job: j, eval: None, now: 4 }]);
    let plan = run(&mut s, eval(2), 5);
    assert!(plan.deployment.is_none());
    assert_eq!((plan.stops.len(), plan.placements.len()), (3, 3));
}

/// Update kinds as Nomad's: what does not change what runs (count, services and their tags, the
/// update block, constraints, kill_timeout) is applied in place at once, outside any batch; env,
/// task config, resources and meta (it reaches the task's environment) replace allocations through
/// the deployment, `max_parallel` at a time.
#[test]
fn changes_that_need_no_restart_are_applied_in_place() {
    type Change = fn(&mut Job);
    let in_place: [(&str, Change); 5] = [
        ("count", |j| j.task_groups[0].count = 4),
        ("service tags", |j| {
            j.task_groups[0].services = vec![drover::core::job::Service {
                name: "web".into(),
                tags: vec!["v2".into()],
                provider: "nomad".into(),
                ..Default::default()
            }]
        }),
        ("update block", |j| j.task_groups[0].update.as_mut().unwrap().min_healthy_time = 30 * SECOND),
        ("constraint", |j| {
            j.constraints.push(drover::core::job::Constraint {
                ltarget: "${attr.kernel.name}".into(),
                rtarget: "linux".into(),
                operand: "=".into(),
            })
        }),
        ("kill_timeout", |j| j.task_groups[0].tasks[0].kill_timeout = 9 * SECOND),
    ];
    for (what, change) in in_place {
        let mut s = setup(0);
        let mut j = web(3, 0, "v1");
        change(&mut j);
        apply_all(&mut s, &[Command::RegisterJob { job: j.clone(), eval: None, now: 10 }]);
        let plan = run(&mut s, eval(2), 11);
        assert!(plan.stops.is_empty(), "{what}: nothing replaced: {:?}", plan.stops);
        assert_eq!(plan.updates.len(), 3, "{what}: all three updated in place at once");
        assert_eq!(plan.placements.len(), j.task_groups[0].count as usize - 3, "{what}");
        assert!(plan.updates.iter().all(|a| a.job_version == 1), "{what}");
    }
    let destructive: [(&str, Change); 5] = [
        ("env", |j| {
            j.task_groups[0].tasks[0].env.insert("MODE".into(), "fast".into());
        }),
        ("config", |j| {
            j.task_groups[0].tasks[0].config.insert("image".into(), serde_json::json!("v2"));
        }),
        ("resources", |j| j.task_groups[0].tasks[0].resources.memory_mb = 128),
        ("job meta", |j| {
            j.meta.insert("owner".into(), "ops".into());
        }),
        ("task meta", |j| {
            j.task_groups[0].tasks[0].meta.insert("owner".into(), "ops".into());
        }),
    ];
    for (what, change) in destructive {
        let mut s = setup(0);
        let mut j = web(3, 0, "v1");
        change(&mut j);
        apply_all(&mut s, &[Command::RegisterJob { job: j, eval: None, now: 10 }]);
        let plan = run(&mut s, eval(2), 11);
        assert!(plan.updates.is_empty(), "{what}: nothing in place: {:?}", plan.updates);
        assert_eq!((plan.stops.len(), plan.placements.len()), (1, 1), "{what}: replaced one at a time");
        assert!(plan.deployment.is_some(), "{what}: through a deployment");
    }
}
