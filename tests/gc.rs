//! Garbage collection (`core::gc` and `Command::Gc`): what is old and finished goes, what a live job
//! still needs stays, thresholds are honoured, and the secondary indexes stay in step.

mod common;

use common::{apply_all, node};
use drover::core::alloc::{ClientAllocUpdate, ClientStatus};
use drover::core::command::Command;
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::gc::{candidates, GcThresholds};
use drover::core::job::{JobKey, JobType, SECOND};
use drover::core::scheduler::{schedule, verify::verify};
use drover::core::state::ClusterState;

const HOUR: i64 = 3600 * SECOND;

fn eval(id: &str, job_id: &str) -> Evaluation {
    common::pending_eval(id, job_id)
}

/// A job without ports (the test nodes have no dynamic port range).
fn job(id: &str, count: u32) -> drover::core::job::Job {
    let mut j = common::job(id, count, 100, 64);
    j.task_groups[0].networks.clear();
    j
}

/// Schedules evaluation `e` at `now`, commits the plan and completes the evaluation, as a worker does.
fn evaluate(s: &mut ClusterState, e: &Evaluation, now: i64) -> Vec<String> {
    // A seed per evaluation (the state's index), as the workers use: allocation ids differ.
    let (result, _) = verify(s, &schedule(s, e, s.index));
    let placed: Vec<String> = result.allocs.iter().map(|a| a.id.to_string()).collect();
    let done = Evaluation { status: EvalStatus::Complete, ..e.clone() };
    apply_all(s, &[Command::ApplyPlan { result, now }, Command::UpsertEvals { evals: vec![done], now }]);
    placed
}

/// Registers `job`, schedules it at `now`, and returns the ids of the allocations placed.
fn run(s: &mut ClusterState, j: drover::core::job::Job, eval_id: &str, now: i64) -> Vec<String> {
    let e = eval(eval_id, &j.id);
    apply_all(s, &[Command::RegisterJob { job: j, eval: Some(e.clone()), now }]);
    evaluate(s, &e, now)
}

fn report(s: &mut ClusterState, ids: &[String], status: ClientStatus, now: i64) {
    let node_id = s.allocs[ids[0].as_str()].node_id.to_string();
    let updates = ids.iter().map(|id| ClientAllocUpdate { id: id.clone(), client_status: status, ..Default::default() }).collect();
    apply_all(s, &[Command::UpdateAllocsFromClient { node_id, updates, evals: vec![], now }]);
}

fn gc(s: &mut ClusterState, now: i64, t: GcThresholds) -> drover::core::gc::GcRequest {
    let request = candidates(s, now, &t);
    apply_all(s, &[Command::Gc { request: request.clone() }]);
    request
}

/// The state after GC equals the same state rebuilt from its serialized form (indexes rebuilt).
fn assert_indexes_consistent(s: &ClusterState) {
    let mut rebuilt: ClusterState = serde_json::from_str(&serde_json::to_string(s).unwrap()).unwrap();
    rebuilt.after_restore();
    assert_eq!(&rebuilt, s, "secondary indexes out of step after GC");
}

#[test]
fn finished_work_goes_and_live_work_stays() {
    let mut s = ClusterState::default();
    apply_all(&mut s, &[Command::RegisterNode { node: node("n1", 8000, 16384), evals: vec![], now: 1 }]);
    // a service that runs, a batch job that completed (and must not run again), a stopped service
    let web = run(&mut s, job("web", 2), "e-web", 10);
    report(&mut s, &web, ClientStatus::Running, 11);
    let mut batch = job("report", 1);
    batch.job_type = JobType::Batch;
    let done = run(&mut s, batch, "e-report", 10);
    report(&mut s, &done, ClientStatus::Complete, 12);
    let old = run(&mut s, job("old", 1), "e-old", 10);
    report(&mut s, &old, ClientStatus::Running, 11);
    apply_all(
        &mut s,
        &[Command::DeregisterJob {
            namespace: "default".into(),
            job_id: "old".into(),
            purge: false,
            eval: Some(eval("e-old-stop", "old")),
            now: 20,
        }],
    );
    evaluate(&mut s, &eval("e-old-stop", "old"), 21);
    report(&mut s, &old, ClientStatus::Complete, 22);

    // Nothing is old enough yet under Nomad's thresholds.
    assert!(candidates(&s, 22 + HOUR / 2, &GcThresholds::NOMAD).is_empty());

    // After 5 hours: the stopped job goes with its evaluations and allocation; the completed batch
    // job stays (its allocation keeps it from running again); the running service stays.
    // After 2 hours (past the evaluation threshold, not the job threshold): the stopped job's
    // evaluations and allocation go, the job itself stays until the job threshold; the completed
    // batch allocation stays (it keeps its job from running again), and so does the live service.
    let req = gc(&mut s, 22 + 2 * HOUR, GcThresholds::NOMAD);
    assert_eq!(req.evals, vec!["e-old".to_string(), "e-old-stop".to_string()]);
    assert_eq!(req.allocs, old);
    assert!(req.jobs.is_empty(), "{req:?}");
    assert!(s.jobs.contains_key(&JobKey::new("default", "old")));
    assert!(done.iter().all(|id| s.allocs.contains_key(id.as_str())), "a completed batch allocation of a live job was collected");
    assert!(schedule(&s, &eval("e-again", "report"), 2).placements.is_empty(), "the batch job would run again");
    assert_indexes_consistent(&s);

    // After 5 hours: the stopped job goes with its evaluations and allocation; the completed batch
    // job stays (its allocation keeps it from running again); the running service stays.
    // After 2 hours (past the evaluation threshold, not the job threshold): the completed batch
    // allocation stays (it keeps its job from running again), and so does everything of the live service.
    let req = gc(&mut s, 22 + 2 * HOUR, GcThresholds::NOMAD);
    assert!(req.is_empty(), "{req:?}");
    assert!(done.iter().all(|id| s.allocs.contains_key(id.as_str())), "a completed batch allocation of a live job was collected");
    assert!(schedule(&s, &eval("e-again", "report"), 2).placements.is_empty(), "the batch job would run again");

    // After 5 hours: the stopped service and the finished batch job go with their evaluations and
    // allocations and versions; the running service stays whole.
    let req = gc(&mut s, 22 + 5 * HOUR, GcThresholds::NOMAD);
    assert_eq!(req.jobs, vec![JobKey::new("default", "old"), JobKey::new("default", "report")]);
    for gone in ["old", "report"] {
        assert!(!s.jobs.contains_key(&JobKey::new("default", gone)));
        assert!(s.job_versions.keys().all(|(k, _)| k.id != gone));
    }
    assert!(!s.evals.contains_key("e-report"));
    assert!(done.iter().all(|id| !s.allocs.contains_key(id.as_str())));
    assert!(web.iter().all(|id| s.allocs.contains_key(id.as_str())) && s.evals.contains_key("e-web"));
    assert_eq!(s.allocs_of_job(&JobKey::new("default", "web")).count(), 2);
    assert_indexes_consistent(&s);

    // A forced collection takes the finished evaluations of live jobs too, never their live allocations.
    gc(&mut s, 22 + 5 * HOUR, GcThresholds::FORCE);
    assert!(web.iter().all(|id| s.allocs.contains_key(id.as_str())));
    assert_indexes_consistent(&s);
}

#[test]
fn a_failed_allocation_goes_once_replaced_and_down_nodes_after_a_day() {
    let mut s = ClusterState::default();
    apply_all(&mut s, &[Command::RegisterNode { node: node("n1", 8000, 16384), evals: vec![], now: 1 }]);
    let mut web = job("web", 1);
    // Rescheduled as soon as it fails (the service default waits 30 s first).
    web.task_groups[0].reschedule_policy.as_mut().expect("the service default").delay = 0;
    let first = run(&mut s, web, "e1", 10);
    report(&mut s, &first, ClientStatus::Failed, 11);
    // not replaced yet: it still counts for rescheduling
    let t = GcThresholds::FORCE;
    assert!(!candidates(&s, 100, &t).allocs.contains(&first[0]));
    apply_all(&mut s, &[Command::UpsertEvals { evals: vec![eval("e2", "web")], now: 12 }]);
    let placed = evaluate(&mut s, &eval("e2", "web"), 12);
    assert!(
        placed.iter().any(|id| s.allocs[id.as_str()].index() == s.allocs[first[0].as_str()].index()),
        "the failed allocation is replaced"
    );
    let req = gc(&mut s, 100, t);
    assert!(req.allocs.contains(&first[0]) && !s.allocs.contains_key(first[0].as_str()), "{req:?}");
    assert_indexes_consistent(&s);

    // a node down for a day with nothing running on it
    apply_all(&mut s, &[Command::RegisterNode { node: node("n2", 8000, 16384), evals: vec![], now: 1 }]);
    apply_all(
        &mut s,
        &[Command::UpdateNodeStatus {
            node_id: "n2".into(),
            status: drover::core::node::NodeStatus::Down,
            description: String::new(),
            evals: vec![],
            now: 50,
        }],
    );
    assert!(candidates(&s, 50 + HOUR, &GcThresholds::NOMAD).nodes.is_empty());
    let req = gc(&mut s, 50 + 25 * HOUR, GcThresholds::NOMAD);
    assert_eq!(req.nodes, vec!["n2".to_string()]);
    assert!(!s.nodes.contains_key("n2") && s.nodes.contains_key("n1"));
    assert_indexes_consistent(&s);
}

#[test]
fn apply_rechecks_what_changed_since_the_candidates_were_chosen() {
    let mut s = ClusterState::default();
    apply_all(&mut s, &[Command::RegisterNode { node: node("n1", 8000, 16384), evals: vec![], now: 1 }]);
    let a = run(&mut s, job("web", 1), "e1", 10);
    report(&mut s, &a, ClientStatus::Running, 11);
    apply_all(&mut s, &[Command::DeregisterJob { namespace: "default".into(), job_id: "web".into(), purge: false, eval: None, now: 20 }]);
    report(&mut s, &a, ClientStatus::Complete, 21);
    let request = candidates(&s, 100, &GcThresholds::FORCE);
    assert_eq!(request.jobs.len(), 1);
    // the job is registered again before the collection is applied: nothing of it may go
    apply_all(&mut s, &[Command::RegisterJob { job: job("web", 1), eval: Some(eval("e3", "web")), now: 30 }]);
    apply_all(&mut s, &[Command::Gc { request }]);
    assert!(s.jobs.contains_key(&JobKey::new("default", "web")));
    assert!(s.evals.contains_key("e3"));
    assert_indexes_consistent(&s);
}
