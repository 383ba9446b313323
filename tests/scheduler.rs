//! The scheduler as a pure function: placements on fitting nodes, refusals with reasons, determinism.

mod common;

use common::{apply_all, job, node};
use drover::core::command::{Command, PlanResult};
use drover::core::eval::Evaluation;
use drover::core::scheduler::{schedule, verify::verify};
use drover::core::state::ClusterState;

fn eval_for(job_id: &str) -> Evaluation {
    common::pending_eval(&format!("eval-{job_id}"), job_id)
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
    // nothing of the rejected node commits (the deployment the plan starts is not the node's)
    assert_eq!(PlanResult { deployment: None, ..r2 }, PlanResult::default());
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

// ---- node drains: what the drainer decides and how the schedulers act on it ----

mod drain {
    use super::*;
    use drover::core::alloc::{
        AllocDeploymentStatus, Allocation, ClientAllocUpdate, ClientStatus, DesiredStatus, DesiredTransition, TaskState, TaskStateKind,
    };
    use drover::core::drain::decide;
    use drover::core::job::{JobType, MigrateStrategy, Service, ServiceCheck};
    use drover::core::node::{DrainStatus, DrainStrategy};
    use drover::core::scheduler::generic::STOP_MIGRATE;

    fn commit(s: &mut ClusterState, job_id: &str, seed: u64) -> drover::core::scheduler::Plan {
        let plan = schedule(s, &eval_for(job_id), seed);
        let (result, rejected) = verify(s, &plan);
        assert!(rejected.is_empty());
        apply_all(s, &[Command::ApplyPlan { result, now: 10 }]);
        plan
    }

    fn run_all(s: &mut ClusterState) {
        run_all_at(s, 1)
    }

    /// Pending allocations start (their task at `started_at`), stopped ones end.
    fn run_all_at(s: &mut ClusterState, started_at: i64) {
        let mut by_node: std::collections::BTreeMap<String, Vec<ClientAllocUpdate>> = Default::default();
        for a in s.allocs.values().filter(|a| a.desired_status == DesiredStatus::Run && a.client_status == ClientStatus::Pending) {
            let mut task_states = drover::core::vec_map::VecMap::new();
            task_states.insert("srv".into(), TaskState { state: TaskStateKind::Running, started_at, ..Default::default() });
            by_node.entry(a.node_id.to_string()).or_default().push(ClientAllocUpdate {
                id: a.id.to_string(),
                client_status: ClientStatus::Running,
                task_states,
                ..Default::default()
            });
        }
        // stopped allocations end on their clients
        for a in s.allocs.values().filter(|a| a.desired_status == DesiredStatus::Stop && !a.client_status.terminal()) {
            by_node.entry(a.node_id.to_string()).or_default().push(ClientAllocUpdate {
                id: a.id.to_string(),
                client_status: ClientStatus::Complete,
                ..Default::default()
            });
        }
        let cmds: Vec<Command> = by_node
            .into_iter()
            .map(|(node_id, updates)| Command::UpdateAllocsFromClient { node_id, updates, evals: vec![], now: 11 })
            .collect();
        apply_all(s, &cmds);
    }

    fn drain(node_id: &str, deadline: i64, ignore_system_jobs: bool) -> Command {
        let strategy = DrainStrategy { deadline, ignore_system_jobs, force_deadline: if deadline < 0 { 20 } else { 0 }, started_at: 0 };
        Command::UpdateNodeDrain {
            node_id: node_id.into(),
            drain: Some(strategy),
            mark_eligible: false,
            meta: Default::default(),
            evals: vec![],
            now: 20,
        }
    }

    fn mark(ids: &[String]) -> Command {
        Command::UpdateAllocDesiredTransition {
            alloc_ids: ids.to_vec(),
            transition: DesiredTransition { migrate: true },
            evals: vec![],
            now: 21,
        }
    }

    fn live_on<'a>(s: &'a ClusterState, node: &str) -> Vec<&'a Allocation> {
        s.allocs_on_node(node).filter(|a| !a.terminal()).collect()
    }

    fn web(count: u32, max_parallel: i32) -> drover::core::job::Job {
        let mut j = job("web", count, 100, 64);
        j.task_groups[0].migrate = Some(MigrateStrategy { max_parallel, min_healthy_time: 0, ..Default::default() });
        j
    }

    #[test]
    fn a_drain_migrates_max_parallel_at_a_time_and_completes() {
        let mut s = state_with(vec![node("a", 4000, 4096)], vec![web(3, 1)]);
        commit(&mut s, "web", 1);
        run_all(&mut s);
        apply_all(&mut s, &[Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 12 }, drain("a", 0, false)]);
        assert!(!s.nodes["a"].eligible && s.nodes["a"].drain);
        let mut rounds = 0;
        loop {
            let d = decide(&s, 30);
            // never more than max_parallel allocations of the group away from a running state
            let in_flight =
                s.allocs.values().filter(|a| a.desired_transition.migrate && a.node_id == "a" && !a.client_status.terminal()).count()
                    + s.allocs.values().filter(|a| a.node_id == "b" && a.client_status != ClientStatus::Running).count();
            assert!(d.migrate.len() + in_flight <= 2, "round {rounds}: {d:?}");
            if !d.done.is_empty() {
                assert_eq!(d.done, vec!["a".to_string()]);
                apply_all(&mut s, &[Command::CompleteNodeDrains { node_ids: d.done, now: 40 }]);
                break;
            }
            if !d.migrate.is_empty() {
                assert_eq!(d.migrate.len(), 1, "max_parallel 1: {d:?}");
                assert!(d.jobs.iter().all(|k| k.id == "web"));
                apply_all(&mut s, &[mark(&d.migrate)]);
                assert!(decide(&s, 30).migrate.is_empty(), "nothing more until the replacement runs");
                let plan = commit(&mut s, "web", rounds + 2);
                assert_eq!(plan.stops.len(), 1, "{plan:?}");
                assert_eq!(plan.stops[0].alloc_id, d.migrate[0]);
                assert_eq!(plan.stops[0].description, STOP_MIGRATE);
                assert_eq!(plan.placements.len(), 1);
                assert_eq!(plan.placements[0].node_id, "b");
                assert_eq!(plan.placements[0].previous_allocation, d.migrate[0]);
                assert!(decide(&s, 30).migrate.is_empty(), "the replacement is not running yet");
            }
            run_all(&mut s);
            rounds += 1;
            assert!(rounds < 10, "the drain does not end");
        }
        assert_eq!(rounds, 3);
        let a = &s.nodes["a"];
        assert!(!a.drain && a.drain_strategy.is_none() && !a.eligible);
        assert_eq!(a.last_drain.as_ref().map(|l| l.status), Some(DrainStatus::Complete));
        assert!(live_on(&s, "a").is_empty());
        assert_eq!(live_on(&s, "b").len(), 3);
    }

    #[test]
    fn a_replacement_counts_only_after_min_healthy_time() {
        let mut j = web(2, 1);
        j.task_groups[0].migrate.as_mut().unwrap().min_healthy_time = 5_000;
        let mut s = state_with(vec![node("a", 4000, 4096)], vec![j]);
        commit(&mut s, "web", 1);
        run_all_at(&mut s, 100);
        apply_all(&mut s, &[Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 12 }, drain("a", 0, false)]);
        assert!(decide(&s, 5_000).migrate.is_empty(), "the allocations have not been up for min_healthy_time yet");
        let d = decide(&s, 5_100);
        assert_eq!(d.migrate.len(), 1);
        apply_all(&mut s, &[mark(&d.migrate)]);
        commit(&mut s, "web", 2);
        run_all_at(&mut s, 20_000);
        assert!(decide(&s, 24_999).migrate.is_empty(), "the replacement is running but not healthy yet");
        assert_eq!(decide(&s, 25_000).migrate.len(), 1);
    }

    /// The client's verdict on an allocation's health (as its alloc runner sends it).
    fn report_health(s: &mut ClusterState, ids: &[String], healthy: bool) {
        let updates = ids
            .iter()
            .map(|id| {
                let a = &s.allocs[id.as_str()];
                ClientAllocUpdate {
                    id: id.clone(),
                    client_status: a.client_status,
                    task_states: a.task_states.clone(),
                    deployment_status: Some(AllocDeploymentStatus { healthy: Some(healthy), ..Default::default() }),
                    ..Default::default()
                }
            })
            .collect();
        apply_all(
            s,
            &[Command::UpdateAllocsFromClient { node_id: s.allocs[ids[0].as_str()].node_id.to_string(), updates, evals: vec![], now: 12 }],
        );
    }

    #[test]
    fn with_checks_a_replacement_counts_once_its_client_reports_it_healthy() {
        let mut j = web(2, 1);
        j.task_groups[0].services = vec![Service {
            name: "web".into(),
            provider: "nomad".into(),
            port_label: "http".into(),
            checks: vec![ServiceCheck { kind: "http".into(), path: "/".into(), ..Default::default() }],
            ..Default::default()
        }];
        let mut s = state_with(vec![node("a", 4000, 4096)], vec![j]);
        commit(&mut s, "web", 1);
        run_all_at(&mut s, 100);
        apply_all(&mut s, &[Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 12 }, drain("a", 0, false)]);
        assert!(decide(&s, 1_000_000_000).migrate.is_empty(), "running for long, but no check has passed yet");
        let first: Vec<String> = live_on(&s, "a").iter().map(|a| a.id.to_string()).collect();
        report_health(&mut s, &first, true);
        let d = decide(&s, 1_000_000_000);
        assert_eq!(d.migrate.len(), 1);
        apply_all(&mut s, &[mark(&d.migrate)]);
        commit(&mut s, "web", 2);
        run_all_at(&mut s, 100);
        assert!(decide(&s, 1_000_000_000).migrate.is_empty(), "the replacement's checks have not passed");
        let replacement: Vec<String> = live_on(&s, "b").iter().map(|a| a.id.to_string()).collect();
        report_health(&mut s, &replacement, false);
        assert!(decide(&s, 1_000_000_000).migrate.is_empty(), "an unhealthy replacement holds the drain until its deadline");
        assert_eq!(s.allocs[replacement[0].as_str()].healthy(), Some(false), "the verdict is kept on the allocation");
    }

    #[test]
    fn with_task_states_health_a_reported_healthy_replacement_counts() {
        let mut j = web(2, 1);
        j.task_groups[0].migrate.as_mut().unwrap().health_check = "task_states".into();
        j.task_groups[0].migrate.as_mut().unwrap().min_healthy_time = 1_000_000_000_000;
        let mut s = state_with(vec![node("a", 4000, 4096)], vec![j]);
        commit(&mut s, "web", 1);
        run_all_at(&mut s, 100);
        apply_all(&mut s, &[Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 12 }, drain("a", 0, false)]);
        assert!(decide(&s, 1_000).migrate.is_empty(), "not up for min_healthy_time and not reported healthy");
        let first: Vec<String> = live_on(&s, "a").iter().map(|a| a.id.to_string()).collect();
        report_health(&mut s, &first, true);
        assert_eq!(decide(&s, 1_000).migrate.len(), 1, "the client's verdict decides");
    }

    #[test]
    fn max_parallel_two_marks_two_and_unmarked_allocs_stay() {
        let mut s = state_with(vec![node("a", 4000, 4096)], vec![web(4, 2)]);
        commit(&mut s, "web", 1);
        run_all(&mut s);
        apply_all(&mut s, &[Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 12 }, drain("a", 0, false)]);
        // before anything is marked, the scheduler leaves allocations on a draining node alone
        assert!(schedule(&s, &eval_for("web"), 3).is_noop());
        let d = decide(&s, 30);
        assert_eq!(d.migrate.len(), 2, "{d:?}");
        apply_all(&mut s, &[mark(&d.migrate)]);
        let plan = commit(&mut s, "web", 4);
        assert_eq!(plan.stops.len(), 2);
        assert!(plan.placements.iter().all(|p| p.node_id == "b"));
        assert_eq!(live_on(&s, "a").len(), 2);
    }

    #[test]
    fn a_forced_drain_marks_everything_at_once() {
        let mut sys = job("sys", 1, 50, 32);
        sys.job_type = JobType::System;
        let mut s = state_with(vec![node("a", 4000, 4096)], vec![web(3, 1), sys]);
        commit(&mut s, "web", 1);
        commit(&mut s, "sys", 2);
        run_all(&mut s);
        apply_all(&mut s, &[Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 12 }, drain("a", -1, false)]);
        let d = decide(&s, 30);
        assert_eq!(d.migrate.len(), 4, "all three service allocations and the system one: {d:?}");
        assert_eq!(d.jobs.len(), 2);
        apply_all(&mut s, &[mark(&d.migrate)]);
        let web_plan = commit(&mut s, "web", 3);
        assert_eq!((web_plan.stops.len(), web_plan.placements.len()), (3, 3));
        let sys_plan = commit(&mut s, "sys", 4);
        assert_eq!(sys_plan.stops.len(), 1, "{sys_plan:?}");
        assert_eq!(sys_plan.stops[0].description, STOP_MIGRATE);
        assert!(sys_plan.placements.iter().all(|p| p.node_id == "b"), "a draining node takes no system allocation: {sys_plan:?}");
        run_all(&mut s);
        assert_eq!(decide(&s, 31).done, vec!["a".to_string()]);
    }

    #[test]
    fn system_allocations_leave_last_unless_ignored() {
        let mut sys = job("sys", 1, 50, 32);
        sys.job_type = JobType::System;
        let mut s = state_with(vec![node("a", 4000, 4096)], vec![web(1, 1), sys]);
        commit(&mut s, "web", 1);
        commit(&mut s, "sys", 2);
        run_all(&mut s);
        apply_all(&mut s, &[Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 12 }, drain("a", 0, false)]);
        let sys_on_a = || -> String { s.allocs_on_node("a").find(|a| a.job_id == "sys").unwrap().id.to_string() };
        let sys_id = sys_on_a();
        let d = decide(&s, 30);
        assert_eq!(d.migrate.len(), 1);
        assert_ne!(d.migrate[0], sys_id, "the service allocation first");
        apply_all(&mut s, &[mark(&d.migrate)]);
        commit(&mut s, "web", 3);
        run_all(&mut s);
        assert_eq!(decide(&s, 30).migrate, vec![sys_id.clone()], "then the system allocation");

        // ignoring system jobs: the drain is done with the system allocation still there
        let mut s2 = state_with(vec![node("a", 4000, 4096)], vec![web(1, 1)]);
        let mut sys = job("sys", 1, 50, 32);
        sys.job_type = JobType::System;
        apply_all(&mut s2, &[Command::RegisterJob { job: sys, eval: None, now: 3 }]);
        commit(&mut s2, "web", 1);
        commit(&mut s2, "sys", 2);
        run_all(&mut s2);
        apply_all(&mut s2, &[Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 12 }, drain("a", 0, true)]);
        let d = decide(&s2, 30);
        apply_all(&mut s2, &[mark(&d.migrate)]);
        commit(&mut s2, "web", 3);
        run_all(&mut s2);
        let d = decide(&s2, 30);
        assert!(d.migrate.is_empty(), "{d:?}");
        assert_eq!(d.done, vec!["a".to_string()]);
    }

    #[test]
    fn batch_allocations_wait_for_their_end_or_the_deadline() {
        let mut batch = job("b", 1, 50, 32);
        batch.job_type = JobType::Batch;
        let mut s = state_with(vec![node("a", 4000, 4096)], vec![batch]);
        commit(&mut s, "b", 1);
        run_all(&mut s);
        let strategy = DrainStrategy { deadline: 1_000, force_deadline: 1_020, started_at: 20, ..Default::default() };
        let cmd = Command::UpdateNodeDrain {
            node_id: "a".into(),
            drain: Some(strategy),
            mark_eligible: false,
            meta: Default::default(),
            evals: vec![],
            now: 20,
        };
        apply_all(&mut s, &[Command::RegisterNode { node: node("b", 4000, 4096), evals: vec![], now: 12 }, cmd]);
        let d = decide(&s, 1_019);
        assert!(d.migrate.is_empty() && d.done.is_empty(), "a running batch allocation is left to finish: {d:?}");
        assert_eq!(decide(&s, 1_020).migrate.len(), 1, "at the deadline it is stopped");
        // or it ends by itself first
        let id = s.allocs_on_node("a").next().unwrap().id.to_string();
        let done = ClientAllocUpdate { id, client_status: ClientStatus::Complete, ..Default::default() };
        apply_all(&mut s, &[Command::UpdateAllocsFromClient { node_id: "a".into(), updates: vec![done], evals: vec![], now: 30 }]);
        assert_eq!(decide(&s, 40).done, vec!["a".to_string()]);
    }

    #[test]
    fn ineligible_nodes_keep_system_allocations_and_get_no_new_ones() {
        let mut sys = job("sys", 1, 50, 32);
        sys.job_type = JobType::System;
        let mut s = state_with(vec![node("a", 4000, 4096), node("b", 4000, 4096)], vec![sys]);
        commit(&mut s, "sys", 1);
        apply_all(&mut s, &[Command::UpdateNodeEligibility { node_id: "b".into(), eligible: false, evals: vec![], now: 12 }]);
        assert!(schedule(&s, &eval_for("sys"), 2).is_noop(), "an ineligible node keeps its system allocation");
        apply_all(&mut s, &[Command::RegisterNode { node: node("c", 4000, 4096), evals: vec![], now: 13 }, drain("c", 0, false)]);
        assert!(schedule(&s, &eval_for("sys"), 3).is_noop(), "a draining node gets no system allocation");
    }

    #[test]
    fn cancelling_a_drain_keeps_or_restores_eligibility_and_re_registration_keeps_the_drain() {
        let mut s = state_with(vec![node("a", 4000, 4096)], vec![]);
        apply_all(&mut s, &[drain("a", 0, false)]);
        // the client registering again does not undo the drain
        apply_all(&mut s, &[Command::RegisterNode { node: node("a", 4000, 4096), evals: vec![], now: 25 }]);
        assert!(s.nodes["a"].drain && !s.nodes["a"].eligible);
        let cancel = |mark_eligible| Command::UpdateNodeDrain {
            node_id: "a".into(),
            drain: None,
            mark_eligible,
            meta: Default::default(),
            evals: vec![],
            now: 30,
        };
        apply_all(&mut s, &[cancel(false)]);
        let a = &s.nodes["a"];
        assert!(!a.drain && a.drain_strategy.is_none() && !a.eligible);
        assert_eq!(a.last_drain.as_ref().map(|l| (l.status, l.started_at, l.updated_at)), Some((DrainStatus::Canceled, 20, 30)));
        apply_all(&mut s, &[drain("a", 0, false), cancel(true)]);
        assert!(s.nodes["a"].eligible);
    }
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
