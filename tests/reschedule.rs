//! Rescheduling failed allocations (Nomad's reschedule policy): the delay arithmetic, driven by
//! `tests/testdata/reschedule_delays.txt`, and the scheduler's decisions (replace now, later through
//! a delayed evaluation, or never) on states built through real commands.

mod common;

use common::{apply_all, job, node};
use drover::core::alloc::{Allocation, ClientAllocUpdate, ClientStatus, DesiredStatus, TaskState, TaskStateKind};
use drover::core::command::Command;
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::job::{Job, JobType, ReschedulePolicy, SECOND};
use drover::core::reschedule::{self, RescheduleEvent, RescheduleTracker};
use drover::core::scheduler::reschedule::{
    decide, failure_needs_eval, Decision, FOLLOWUP_DESCRIPTION, STOP_RESCHEDULED, TRIGGER_ALLOC_FAILURE,
};
use drover::core::scheduler::{schedule_at, verify::verify, Plan};
use drover::core::state::ClusterState;
use drover::jobspec::parse_duration;

// ---- the delay arithmetic, case by case from the data file ----

fn duration(s: &str) -> i64 {
    parse_duration(s).unwrap_or_else(|e| panic!("{e}"))
}

fn policy_from(cols: &[&str]) -> ReschedulePolicy {
    ReschedulePolicy {
        delay_function: cols[0].into(),
        delay: duration(cols[1]),
        max_delay: duration(cols[2]),
        attempts: cols[3].parse().unwrap(),
        interval: duration(cols[4]),
        unlimited: cols[5].parse().unwrap(),
    }
}

/// A failed allocation that failed at `failed_at` (seconds) after the given reschedules.
fn failed_alloc(events: &str, failed_at: i64) -> Allocation {
    let events: Vec<RescheduleEvent> = events
        .split_whitespace()
        .filter(|e| *e != "-")
        .enumerate()
        .map(|(i, e)| {
            let (delay, at) = e.split_once('@').unwrap();
            RescheduleEvent {
                reschedule_time: at.parse::<i64>().unwrap() * SECOND,
                prev_alloc_id: format!("a{i}"),
                prev_node_id: format!("n{i}"),
                delay: duration(delay),
            }
        })
        .collect();
    let mut a = Allocation {
        id: "failed".into(),
        name: "web.web[0]".into(),
        node_id: "n-last".into(),
        client_status: ClientStatus::Failed,
        modify_time: (failed_at + 1) * SECOND,
        reschedule_tracker: (!events.is_empty()).then(|| Box::new(RescheduleTracker { events, ..Default::default() })),
        ..Default::default()
    };
    a.task_states.insert(
        "srv".into(),
        TaskState { state: TaskStateKind::Dead, failed: true, finished_at: failed_at * SECOND, ..Default::default() },
    );
    a
}

#[test]
fn delays_and_eligibility_follow_nomad() {
    let data = include_str!("testdata/reschedule_delays.txt");
    let mut cases = 0;
    for line in data.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cols.len(), 6, "malformed case: {line}");
        let name = cols[0];
        let policy = policy_from(&cols[1].split_whitespace().collect::<Vec<_>>());
        let failed_at: i64 = cols[3].parse().unwrap();
        let a = failed_alloc(cols[2], failed_at);
        let expected_delay = duration(cols[4]);
        let expected_eligible: bool = cols[5].parse().unwrap();

        assert_eq!(reschedule::next_delay(&a, &policy), expected_delay, "{name}: next delay");
        let next = reschedule::next_reschedule_time(&a, &policy);
        assert_eq!(next.is_some_and(|(_, ok)| ok), expected_eligible, "{name}: eligibility");
        if let Some((at, _)) = next {
            assert_eq!(at, failed_at * SECOND + expected_delay, "{name}: next reschedule time is failure + delay");
        }
        cases += 1;
    }
    assert!(cases >= 15, "only {cases} cases read");
}

#[test]
fn failure_time_is_the_last_task_finish_else_the_modify_time() {
    let mut a = failed_alloc("-", 50);
    a.task_states.insert("side".into(), TaskState { finished_at: 70 * SECOND, ..Default::default() });
    assert_eq!(reschedule::last_event_time(&a), 70 * SECOND);
    a.task_states = Default::default();
    assert_eq!(reschedule::last_event_time(&a), 51 * SECOND);
}

#[test]
fn a_replacement_carries_recent_events_and_one_for_its_reschedule() {
    let limited =
        ReschedulePolicy { attempts: 3, interval: 60 * SECOND, delay: SECOND, delay_function: "constant".into(), ..Default::default() };
    let prev = failed_alloc("1s@0 1s@100 1s@150", 160);
    let t = reschedule::tracker_for_replacement(&prev, &limited, 170 * SECOND);
    let times: Vec<i64> = t.events.iter().map(|e| e.reschedule_time / SECOND).collect();
    assert_eq!(times, vec![150, 170], "only events within the interval are carried, then the new one");
    let last = t.events.last().unwrap();
    assert_eq!((last.prev_alloc_id.as_str(), last.prev_node_id.as_str(), last.delay), ("failed", "n-last", SECOND));
    assert_eq!(t.last_reschedule, "ok");

    let unlimited = ReschedulePolicy { unlimited: true, delay: SECOND, delay_function: "constant".into(), ..Default::default() };
    let prev = failed_alloc("1s@0 1s@10 1s@20 1s@30 1s@40 1s@50 1s@60", 70);
    let t = reschedule::tracker_for_replacement(&prev, &unlimited, 80 * SECOND);
    let times: Vec<i64> = t.events.iter().map(|e| e.reschedule_time / SECOND).collect();
    assert_eq!(times, vec![20, 30, 40, 50, 60, 80], "the last five past events, then the new one");
}

#[test]
fn decisions_around_the_window_and_the_followup() {
    let p = ReschedulePolicy {
        attempts: 2,
        interval: 3600 * SECOND,
        delay: 10 * SECOND,
        delay_function: "constant".into(),
        ..Default::default()
    };
    let a = failed_alloc("-", 100);
    assert_eq!(decide(&a, Some(&p), "e1", 100 * SECOND), Decision::Later(110 * SECOND));
    assert_eq!(decide(&a, Some(&p), "e1", 109 * SECOND), Decision::Now, "due within the one-second window");
    assert_eq!(decide(&a, Some(&p), "e1", 108 * SECOND), Decision::Later(110 * SECOND), "two seconds early is later");
    assert_eq!(decide(&a, None, "e1", 200 * SECOND), Decision::Keep, "no policy");
    let mut waiting = a.clone();
    waiting.followup_eval_id = "f1".into();
    assert_eq!(decide(&waiting, Some(&p), "e1", 100 * SECOND), Decision::Keep, "another evaluation leaves it to its follow-up");
    assert_eq!(decide(&waiting, Some(&p), "f1", 100 * SECOND), Decision::Now, "its follow-up replaces it");
    let exhausted = failed_alloc("10s@50 10s@80", 100);
    assert_eq!(decide(&exhausted, Some(&p), "e1", 500 * SECOND), Decision::Keep);
}

// ---- the scheduler on a cluster state ----

const T0: i64 = 1_000 * SECOND;

fn eval(id: &str, job: &Job, triggered_by: &str) -> Evaluation {
    Evaluation {
        id: id.into(),
        namespace: "default".into(),
        priority: 50,
        job_type: job.job_type.as_str().into(),
        job_id: job.id.clone(),
        triggered_by: triggered_by.into(),
        status: EvalStatus::Pending,
        ..Default::default()
    }
}

fn with_policy(mut j: Job, p: ReschedulePolicy) -> Job {
    j.task_groups[0].reschedule_policy = Some(p);
    j
}

fn constant(attempts: i32, delay_secs: i64) -> ReschedulePolicy {
    ReschedulePolicy {
        attempts,
        interval: 3600 * SECOND,
        delay: delay_secs * SECOND,
        delay_function: "constant".into(),
        max_delay: 0,
        unlimited: false,
    }
}

/// Nodes a and b, the job registered and its allocations placed.
fn placed(j: &Job) -> ClusterState {
    let mut s = ClusterState::default();
    apply_all(
        &mut s,
        &[
            Command::RegisterNode { node: node("a", 4000, 4096), evals: vec![], now: 1 },
            Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 1 },
            Command::RegisterJob { job: j.clone(), eval: None, now: 2 },
        ],
    );
    commit(&mut s, &eval("e-register", j, "job-register"), T0 - 10 * SECOND);
    s
}

/// Schedules `e` at `now` and commits the plan (seeded by `now`: each plan draws fresh ids).
fn commit(s: &mut ClusterState, e: &Evaluation, now: i64) -> Plan {
    let plan = schedule_at(s, e, now as u64, now);
    let (result, rejected) = verify(s, &plan);
    assert!(rejected.is_empty(), "{rejected:?}");
    apply_all(s, &[Command::ApplyPlan { result, now }]);
    plan
}

/// The client reports `id` ended with `status` at `at`.
fn report(s: &mut ClusterState, id: &str, status: ClientStatus, at: i64) {
    let node_id = s.allocs.get(id).unwrap().node_id.to_string();
    let mut task = TaskState { state: TaskStateKind::Dead, failed: status == ClientStatus::Failed, finished_at: at, ..Default::default() };
    task.started_at = at - SECOND;
    let mut update = ClientAllocUpdate { id: id.into(), client_status: status, ..Default::default() };
    update.task_states.insert("srv".into(), task);
    apply_all(s, &[Command::UpdateAllocsFromClient { node_id, updates: vec![update], evals: vec![], now: at }]);
}

fn only_alloc(s: &ClusterState) -> Allocation {
    let all: Vec<&Allocation> = s.allocs.values().map(|a| &**a).collect();
    assert_eq!(all.len(), 1, "{all:?}");
    all[0].clone()
}

fn live(s: &ClusterState) -> Vec<Allocation> {
    s.allocs.values().filter(|a| !a.terminal()).map(|a| (**a).clone()).collect()
}

#[test]
fn a_failed_allocation_due_now_is_replaced_on_another_node() {
    let j = with_policy(job("web", 1, 100, 64), constant(2, 1));
    let mut s = placed(&j);
    let first = only_alloc(&s);
    report(&mut s, &first.id, ClientStatus::Failed, T0);
    assert!(failure_needs_eval(&s, &first, T0), "a newly failed allocation with attempts left warrants an evaluation");

    let plan = commit(&mut s, &eval("e-fail", &j, TRIGGER_ALLOC_FAILURE), T0 + 100_000_000);
    assert_eq!(plan.placements.len(), 1, "{plan:?}");
    let repl = &plan.placements[0];
    assert_eq!(repl.previous_allocation, first.id);
    assert_eq!(repl.name, first.name, "the replacement takes the failed allocation's index");
    assert_ne!(repl.node_id, first.node_id, "the node it failed on is penalized");
    let events = &repl.reschedule_tracker.as_ref().expect("a tracker").events;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].prev_alloc_id.as_str(), events[0].prev_node_id.as_str()), (first.id.as_str(), first.node_id.as_str()));
    assert_eq!((events[0].delay, events[0].reschedule_time), (SECOND, T0 + 100_000_000));
    assert_eq!(plan.stops.len(), 1);
    assert_eq!((plan.stops[0].alloc_id.as_str(), plan.stops[0].description.as_str()), (first.id.as_str(), STOP_RESCHEDULED));
    assert!(plan.followup_evals.is_empty());

    let old = s.allocs.get(first.id.as_str()).unwrap();
    assert_eq!(old.next_allocation, repl.id, "the failed allocation records its replacement");
    assert_eq!((old.desired_status, old.client_status), (DesiredStatus::Stop, ClientStatus::Failed));
}

#[test]
fn attempts_run_out_within_the_interval() {
    let j = with_policy(job("web", 1, 100, 64), constant(2, 1));
    let mut s = placed(&j);
    let mut now = T0;
    for attempt in 1..=2 {
        let current = live(&s).pop().unwrap();
        report(&mut s, &current.id, ClientStatus::Failed, now);
        let plan = commit(&mut s, &eval(&format!("e{attempt}"), &j, TRIGGER_ALLOC_FAILURE), now + 2 * SECOND);
        assert_eq!(plan.placements.len(), 1, "attempt {attempt}: {plan:?}");
        let tracker = plan.placements[0].reschedule_tracker.as_ref().unwrap();
        assert_eq!(tracker.events.len(), attempt, "each replacement carries the earlier attempts");
        now += 10 * SECOND;
    }
    let last = live(&s).pop().unwrap();
    report(&mut s, &last.id, ClientStatus::Failed, now);
    let stored = s.allocs.get(last.id.as_str()).unwrap().clone();
    assert!(!failure_needs_eval(&s, &last, now), "no attempts left: no evaluation");
    let plan = commit(&mut s, &eval("e3", &j, TRIGGER_ALLOC_FAILURE), now + 2 * SECOND);
    assert!(plan.is_noop(), "the failed allocation stays failed and is not replaced: {plan:?}");
    assert!(plan.followup_evals.is_empty());
    assert_eq!(s.allocs.len(), 3);
    assert_eq!(s.allocs.get(last.id.as_str()).unwrap().desired_status, DesiredStatus::Run);

    // Once the interval has passed the earlier attempts no longer count.
    let later = now + 3601 * SECOND;
    assert_eq!(
        decide(&stored, j.task_groups[0].reschedule_policy.as_ref(), "x", later),
        Decision::Keep,
        "the failure time decides, not now"
    );
    // A new version of the job replaces it, as any allocation it changes.
    let mut v2 = j.clone();
    v2.task_groups[0].tasks[0].env.insert("V".into(), "2".into());
    apply_all(&mut s, &[Command::RegisterJob { job: v2.clone(), eval: None, now: later }]);
    let plan = commit(&mut s, &eval("e-v2", &v2, "job-register"), later);
    assert_eq!(plan.placements.len(), 1, "{plan:?}");
    assert_eq!(plan.placements[0].previous_allocation, last.id);
    assert!(plan.placements[0].reschedule_tracker.is_none(), "an update is not a reschedule");
}

#[test]
fn a_failed_allocation_due_later_waits_for_a_delayed_evaluation() {
    let j = with_policy(job("web", 2, 100, 64), constant(3, 30));
    let mut s = placed(&j);
    let allocs = live(&s);
    report(&mut s, &allocs[0].id, ClientStatus::Failed, T0);
    report(&mut s, &allocs[1].id, ClientStatus::Failed, T0 + 3 * SECOND);

    let plan = commit(&mut s, &eval("e-fail", &j, TRIGGER_ALLOC_FAILURE), T0 + 4 * SECOND);
    assert!(plan.placements.is_empty() && plan.stops.is_empty(), "not yet: {plan:?}");
    assert_eq!(plan.followup_evals.len(), 1, "failures due within 5 s share one follow-up: {plan:?}");
    let f = &plan.followup_evals[0];
    assert_eq!(f.wait_until, T0 + 30 * SECOND, "due at the earliest failure + delay");
    assert_eq!((f.triggered_by.as_str(), f.status_description.as_str()), (TRIGGER_ALLOC_FAILURE, FOLLOWUP_DESCRIPTION));
    assert_eq!((f.status, f.previous_eval.as_str()), (EvalStatus::Pending, "e-fail"));
    for a in &allocs {
        assert_eq!(s.allocs.get(a.id.as_str()).unwrap().followup_eval_id, f.id, "each failed allocation records its follow-up");
    }
    let stored = s.evals.get(&f.id).expect("the follow-up is stored");
    assert!(!stored.due(T0 + 29 * SECOND) && stored.due(T0 + 30 * SECOND));

    // Another evaluation in between changes nothing and creates no second follow-up.
    let plan = commit(&mut s, &eval("e-other", &j, "job-register"), T0 + 10 * SECOND);
    assert!(plan.is_noop() && plan.followup_evals.is_empty(), "{plan:?}");

    // The follow-up replaces both.
    let followup = s.evals.get(&f.id).unwrap().clone();
    let plan = commit(&mut s, &followup, T0 + 30 * SECOND);
    assert_eq!(plan.placements.len(), 2, "{plan:?}");
    assert!(plan.placements.iter().all(|p| p.reschedule_tracker.as_ref().is_some_and(|t| t.events[0].delay == 30 * SECOND)));
    assert_eq!(plan.stops.len(), 2);
}

#[test]
fn follow_ups_more_than_five_seconds_apart_are_separate() {
    let j = with_policy(job("web", 2, 100, 64), constant(3, 30));
    let mut s = placed(&j);
    let allocs = live(&s);
    report(&mut s, &allocs[0].id, ClientStatus::Failed, T0);
    report(&mut s, &allocs[1].id, ClientStatus::Failed, T0 + 8 * SECOND);
    let plan = commit(&mut s, &eval("e-fail", &j, TRIGGER_ALLOC_FAILURE), T0 + 9 * SECOND);
    let due: Vec<i64> = plan.followup_evals.iter().map(|e| e.wait_until).collect();
    assert_eq!(due, vec![T0 + 30 * SECOND, T0 + 38 * SECOND]);
}

#[test]
fn batch_jobs_reschedule_failures_and_never_rerun_completions() {
    let mut j = with_policy(job("report", 2, 100, 64), constant(1, 0));
    j.job_type = JobType::Batch;
    let mut s = placed(&j);
    let allocs = live(&s);
    report(&mut s, &allocs[0].id, ClientStatus::Complete, T0);
    report(&mut s, &allocs[1].id, ClientStatus::Failed, T0);

    let plan = commit(&mut s, &eval("e-fail", &j, TRIGGER_ALLOC_FAILURE), T0 + SECOND);
    assert_eq!(plan.placements.len(), 1, "only the failed one is replaced: {plan:?}");
    assert_eq!(plan.placements[0].previous_allocation, allocs[1].id);

    let repl = plan.placements[0].id.clone();
    report(&mut s, &repl, ClientStatus::Failed, T0 + 5 * SECOND);
    let plan = commit(&mut s, &eval("e-fail-2", &j, TRIGGER_ALLOC_FAILURE), T0 + 6 * SECOND);
    assert!(plan.is_noop(), "one attempt only: {plan:?}");
    let plan = commit(&mut s, &eval("e-again", &j, "job-register"), T0 + 7200 * SECOND);
    assert!(plan.placements.is_empty(), "the completed allocation is never re-run: {plan:?}");
}

#[test]
fn system_jobs_and_running_allocations_need_no_reschedule_evaluation() {
    let j = with_policy(job("web", 1, 100, 64), constant(2, 1));
    let mut s = placed(&j);
    let a = only_alloc(&s);
    assert!(failure_needs_eval(&s, &a, T0), "a running allocation about to be reported failed");
    report(&mut s, &a.id, ClientStatus::Failed, T0);
    let failed = only_alloc(&s);
    assert!(!failure_needs_eval(&s, &failed, T0), "already failed: the report that failed it created the evaluation");

    let mut sys = job("sys", 1, 100, 64);
    sys.job_type = JobType::System;
    sys.task_groups[0].reschedule_policy = None;
    let mut s = ClusterState::default();
    apply_all(
        &mut s,
        &[
            Command::RegisterNode { node: node("a", 4000, 4096), evals: vec![], now: 1 },
            Command::RegisterJob { job: sys.clone(), eval: None, now: 2 },
        ],
    );
    commit(&mut s, &eval("e-sys", &sys, "job-register"), T0);
    assert!(!failure_needs_eval(&s, &only_alloc(&s), T0));
}
