//! The state machine is deterministic: the same commands give the same state, and a snapshot round-trips;
//! variables follow check-and-set; a restore command replaces the state.

mod common;

use common::{apply_all, job, node};
use drover::core::command::Command;
use drover::core::command::CommandResponse;
use drover::core::deployment::Deployment;
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::scheduler::{schedule, verify::verify};
use drover::core::scheduler_config::SchedulerConfig;
use drover::core::service_reg::ServiceRegistration;
use drover::core::state::{table, ClusterState};
use drover::core::var::{VarKey, Variable};

fn var(path: &str, items: &[(&str, &str)]) -> Variable {
    Variable {
        namespace: "default".into(),
        path: path.into(),
        items: items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    }
}

fn upsert(s: &mut ClusterState, v: Variable, cas: Option<u64>, now: i64) -> CommandResponse {
    let r = s.apply(s.index + 1, &Command::UpsertVar { var: v, cas, now });
    assert!(r.error.is_none(), "{:?}", r.error);
    r
}

fn delete(s: &mut ClusterState, path: &str, cas: Option<u64>) -> CommandResponse {
    let r = s.apply(s.index + 1, &Command::DeleteVar { namespace: "default".into(), path: path.into(), cas });
    assert!(r.error.is_none(), "{:?}", r.error);
    r
}

fn stored(s: &ClusterState, path: &str) -> Option<Variable> {
    s.vars.get(&VarKey::new("default", path)).map(|v| (**v).clone())
}

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
            id: a.id.to_string(),
            client_status: drover::core::alloc::ClientStatus::Running,
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let node_id = s.allocs.values().next().map(|a| a.node_id.to_string()).unwrap_or_default();
    let mine: Vec<_> = updates.into_iter().filter(|u| s.allocs[u.id.as_str()].node_id == node_id).collect();
    push(&mut s, Command::UpdateAllocsFromClient { node_id, updates: mine, evals: vec![], now: 300 });
    push(&mut s, Command::DeregisterJob { namespace: "default".into(), job_id: "job1".into(), purge: false, eval: None, now: 400 });
    for (i, path) in ["app/web", "app/db", "other"].iter().enumerate() {
        push(&mut s, Command::UpsertVar { var: var(path, &[("k", "v1")]), cas: Some(0), now: 500 + i as i64 });
    }
    let idx = s.vars[&VarKey::new("default", "app/web")].modify_index;
    push(&mut s, Command::UpsertVar { var: var("app/web", &[("k", "v2")]), cas: Some(idx), now: 510 });
    // a conflict: the check-and-set index is stale
    push(&mut s, Command::UpsertVar { var: var("app/web", &[("k", "lost")]), cas: Some(idx), now: 511 });
    push(&mut s, Command::DeleteVar { namespace: "default".into(), path: "other".into(), cas: None });
    let saved = s.clone();
    push(&mut s, Command::UpsertVar { var: var("after", &[("k", "v")]), cas: None, now: 600 });
    push(&mut s, Command::RestoreState { state: Box::new(saved) });
    push(&mut s, Command::UpsertVar { var: var("after-restore", &[("k", "v")]), cas: None, now: 700 });
    let deployment =
        Deployment { id: "d1".into(), namespace: "default".into(), job_id: "job0".into(), status: "running".into(), ..Default::default() };
    push(&mut s, Command::UpsertDeployments { deployments: vec![deployment.clone()], now: 800 });
    push(&mut s, Command::UpsertDeployments { deployments: vec![Deployment { status: "successful".into(), ..deployment }], now: 810 });
    let allocs: Vec<(String, String)> = s.allocs.values().take(3).map(|a| (a.id.to_string(), a.node_id.to_string())).collect();
    let services = allocs.iter().map(|(a, n)| service(a, n)).collect();
    push(&mut s, Command::UpsertServiceRegistrations { services });
    push(&mut s, Command::DeleteServiceRegistrations { ids: vec![], alloc_ids: vec![allocs[0].0.clone()] });
    let config = SchedulerConfig { scheduler_algorithm: "spread".into(), ..Default::default() };
    push(&mut s, Command::SetSchedulerConfig { config: config.clone(), cas: None });
    // a conflict: a stale check-and-set index
    push(&mut s, Command::SetSchedulerConfig { config: SchedulerConfig { scheduler_algorithm: "binpack".into(), ..config }, cas: Some(1) });
    // a drain: started, allocations marked for migration, completed; another started and cancelled
    let strategy =
        drover::core::node::DrainStrategy { deadline: 3_600_000_000_000, force_deadline: 3_600_000_000_900, ..Default::default() };
    let drain = |node: &str, drain: Option<drover::core::node::DrainStrategy>, now| Command::UpdateNodeDrain {
        node_id: node.into(),
        mark_eligible: drain.is_none(),
        drain,
        meta: [("message".to_string(), "m".to_string())].into(),
        evals: vec![],
        now,
    };
    push(&mut s, drain("n0", Some(strategy.clone()), 900));
    let on_n0: Vec<String> = s.allocs_on_node("n0").map(|a| a.id.to_string()).collect();
    let transition = drover::core::alloc::DesiredTransition { migrate: true };
    push(&mut s, Command::UpdateAllocDesiredTransition { alloc_ids: on_n0, transition, evals: vec![], now: 910 });
    push(&mut s, Command::CompleteNodeDrains { node_ids: vec!["n0".into()], now: 920 });
    push(&mut s, drain("n1", Some(strategy), 930));
    push(&mut s, drain("n1", None, 940));
    // a forced garbage collection chosen at a time before the deployment finished (it stays)
    let request = drover::core::gc::candidates(&s, 805, &drover::core::gc::GcThresholds::FORCE);
    push(&mut s, Command::Gc { request });
    cmds
}

fn service(alloc_id: &str, node_id: &str) -> ServiceRegistration {
    ServiceRegistration {
        id: format!("_nomad-task-{alloc_id}-web-http"),
        service_name: "web".into(),
        namespace: "default".into(),
        node_id: node_id.into(),
        alloc_id: alloc_id.into(),
        address: "127.0.0.1".into(),
        port: 8080,
        ..Default::default()
    }
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
    let paths: Vec<&str> = a.vars.values().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["after-restore", "app/db", "app/web"]);
    assert_eq!(a.vars[&VarKey::new("default", "app/web")].items["k"], "v2");
    let d = &a.deployments["d1"];
    assert_eq!((d.status.as_str(), d.create_time, d.modify_time), ("successful", 800, 810));
    assert!(d.create_index < d.modify_index);
    assert_eq!(a.services.len(), 2, "the stopped allocation's service is gone");
    assert!(a.services.values().all(|s| s.create_index > 0 && s.create_index == s.modify_index));
    assert_eq!(a.scheduler_config.scheduler_algorithm, "spread", "the stale check-and-set did not apply");
    assert_eq!(a.table_index(table::SCHEDULER_CONFIG), a.scheduler_config.modify_index);
    let back: ClusterState = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(back.deployments, a.deployments);
    assert_eq!(back.services, a.services);
    assert_eq!(back.scheduler_config, a.scheduler_config);
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

#[test]
fn cas_zero_creates_only_once() {
    let mut s = ClusterState::default();
    let r = upsert(&mut s, var("a/b", &[("k", "1")]), Some(0), 100);
    assert!(!r.conflict);
    let created = r.var.unwrap();
    assert_eq!((created.create_index, created.modify_index, created.create_time, created.modify_time), (1, 1, 100, 100));
    assert_eq!(stored(&s, "a/b"), Some(created.clone()));
    assert_eq!(s.table_index(table::VARS), 1);

    let r = upsert(&mut s, var("a/b", &[("k", "2")]), Some(0), 200);
    assert!(r.conflict, "a second create with cas=0 must conflict");
    assert_eq!(r.var, Some(created.clone()), "the conflict returns the current variable");
    assert_eq!(stored(&s, "a/b"), Some(created));
    assert_eq!(s.table_index(table::VARS), 1, "a conflict writes nothing");
}

#[test]
fn update_with_a_stale_index_conflicts() {
    let mut s = ClusterState::default();
    let first = upsert(&mut s, var("p", &[("k", "1")]), None, 100).var.unwrap();
    let second = upsert(&mut s, var("p", &[("k", "2")]), Some(first.modify_index), 200).var.unwrap();
    assert!(second.modify_index > first.modify_index);
    assert_eq!((second.create_index, second.create_time, second.modify_time), (first.create_index, 100, 200));
    assert_eq!(second.items["k"], "2");

    let r = upsert(&mut s, var("p", &[("k", "3")]), Some(first.modify_index), 300);
    assert!(r.conflict);
    assert_eq!(r.var, Some(second.clone()));
    assert_eq!(stored(&s, "p"), Some(second.clone()));

    // without cas the write is unconditional
    let third = upsert(&mut s, var("p", &[("k", "3")]), None, 400).var.unwrap();
    assert_eq!(third.items["k"], "3");

    // cas=N on a variable that does not exist conflicts with an empty variable
    let r = upsert(&mut s, var("nope", &[("k", "1")]), Some(7), 500);
    assert!(r.conflict);
    assert_eq!(r.var, Some(Variable { namespace: "default".into(), path: "nope".into(), ..Default::default() }));
    assert_eq!(stored(&s, "nope"), None);
}

#[test]
fn delete_with_cas() {
    let mut s = ClusterState::default();
    let v1 = upsert(&mut s, var("d", &[("k", "1")]), None, 100).var.unwrap();
    let v2 = upsert(&mut s, var("d", &[("k", "2")]), None, 200).var.unwrap();

    let r = delete(&mut s, "d", Some(v1.modify_index));
    assert!(r.conflict);
    assert_eq!(r.var, Some(v2.clone()));
    let r = delete(&mut s, "d", Some(0));
    assert!(r.conflict, "cas=0 means 'must not exist'");
    assert_eq!(stored(&s, "d"), Some(v2.clone()));

    let before = s.table_index(table::VARS);
    let r = delete(&mut s, "d", Some(v2.modify_index));
    assert!(!r.conflict && r.var.is_none());
    assert_eq!(stored(&s, "d"), None);
    assert_eq!(s.table_index(table::VARS), r.index);
    assert!(r.index > before);

    // deleting a missing variable is not an error and writes nothing; cas=N on it conflicts
    let r = delete(&mut s, "d", None);
    assert!(!r.conflict);
    assert_eq!(s.table_index(table::VARS), r.index - 1);
    assert!(!delete(&mut s, "d", Some(0)).conflict);
    assert!(delete(&mut s, "d", Some(v2.modify_index)).conflict);
}

#[test]
fn restore_replaces_the_state_and_rebuilds_indexes() {
    let mut s = ClusterState::default();
    apply_all(&mut s, &history());
    let saved: ClusterState = serde_json::from_slice(&serde_json::to_vec(&s).unwrap()).unwrap();
    let mut replica = s.clone();

    // more history after the save: a new variable, a deleted one, a purged job
    let more = vec![
        Command::UpsertVar { var: var("later", &[("k", "v")]), cas: None, now: 900 },
        Command::DeleteVar { namespace: "default".into(), path: "app/db".into(), cas: None },
        Command::DeregisterJob { namespace: "default".into(), job_id: "job2".into(), purge: true, eval: None, now: 901 },
    ];
    apply_all(&mut s, &more);
    apply_all(&mut replica, &more);
    assert!(stored(&s, "later").is_some() && stored(&s, "app/db").is_none());

    let restore = Command::RestoreState { state: Box::new(saved.clone()) };
    let index = s.index + 1;
    let r = s.apply(index, &restore);
    assert!(r.error.is_none());
    replica.apply(index, &restore);
    assert_eq!(s, replica, "every server converges on the restored state");

    assert_eq!(s.vars, saved.vars);
    assert_eq!(s.jobs, saved.jobs);
    assert_eq!(s.allocs, saved.allocs);
    assert_eq!(s.evals, saved.evals);
    assert_eq!(s.index, index);
    for t in table::ALL {
        assert_eq!(s.table_index(t), index, "table {t} is touched so blocking queries wake");
    }
    // secondary indexes are rebuilt from the restored tables
    let node = saved.allocs.values().next().unwrap().node_id.clone();
    assert_eq!(s.allocs_on_node(&node).count(), saved.allocs.values().filter(|a| a.node_id == node).count());
    let key = drover::core::job::JobKey::new("default", "job2");
    assert_eq!(s.allocs_of_job(&key).count(), 3);
    // (`saved` was decoded without `after_restore`, so its own secondary indexes are empty)
    let mut pending: Vec<&String> = s.pending_evals().iter().map(|e| &e.id).collect();
    pending.sort();
    let expected: Vec<&String> = saved.evals.values().filter(|e| e.status == EvalStatus::Pending).map(|e| &e.id).collect();
    assert!(!expected.is_empty());
    assert_eq!(pending, expected);

    // writes after the restore take indexes above it
    let r = upsert(&mut s, var("new", &[("k", "v")]), Some(0), 1000);
    assert_eq!(r.var.unwrap().create_index, index + 1);
}

#[test]
fn formats_change_only_additively() {
    // a snapshot written before variables existed still decodes
    let mut s = ClusterState::default();
    apply_all(&mut s, &history());
    let mut v = serde_json::to_value(&s).unwrap();
    v.as_object_mut().unwrap().remove("vars");
    let old: ClusterState = serde_json::from_value(v).unwrap();
    assert!(old.vars.is_empty());
    assert_eq!(old.jobs, s.jobs);
    // nodes and allocations written before drains existed still decode
    let node: drover::core::node::Node = serde_json::from_str(r#"{"id":"n","eligible":true,"drain":false}"#).unwrap();
    assert!(node.drain_strategy.is_none() && node.last_drain.is_none());
    let alloc: drover::core::alloc::Allocation = serde_json::from_str(r#"{"id":"a","node_id":"n"}"#).unwrap();
    assert!(!alloc.desired_transition.migrate);

    // the variable commands' encoding
    let cmd = Command::UpsertVar { var: var("p", &[("k", "v")]), cas: Some(0), now: 5 };
    let v = serde_json::to_value(&cmd).unwrap();
    assert_eq!(v["upsert_var"]["var"]["path"], "p");
    assert_eq!(v["upsert_var"]["cas"], 0);
    let back: Command = serde_json::from_value(v).unwrap();
    assert_eq!(back, cmd);
    let del: Command = serde_json::from_str(r#"{"delete_var":{"namespace":"default","path":"p","cas":null}}"#).unwrap();
    assert_eq!(del, Command::DeleteVar { namespace: "default".into(), path: "p".into(), cas: None });
}

#[test]
fn a_batch_applies_its_commands_in_order_at_one_index() {
    let cmds = vec![
        Command::UpsertVar { var: var("a", &[("k", "1")]), cas: Some(0), now: 5 },
        Command::UpsertVar { var: var("a", &[("k", "2")]), cas: Some(0), now: 5 },
        Command::UpsertVar { var: var("b", &[("k", "3")]), cas: None, now: 5 },
        Command::DeleteVar { namespace: "default".into(), path: "b".into(), cas: None },
    ];
    let mut batched = ClusterState::default();
    let r = batched.apply(7, &Command::Batch { cmds: cmds.clone() });
    assert_eq!(r.index, 7);
    assert_eq!(r.batch.len(), 4);
    assert!(!r.batch[0].conflict);
    assert!(r.batch[1].conflict, "the second create-only write sees the first");
    assert_eq!(r.batch[1].var.as_ref().map(|v| v.items["k"].clone()), Some("1".to_string()));
    // The same commands one by one, all at index 7, give the same state.
    let mut single = ClusterState::default();
    for c in &cmds {
        single.apply(7, c);
    }
    assert_eq!(batched, single);
    assert_eq!(stored(&batched, "a").map(|v| v.items["k"].clone()), Some("1".to_string()));
    assert_eq!(stored(&batched, "b"), None);
}

/// No registration of a terminal allocation survives: a client's terminal update, a plan's stop and
/// a node going down remove them inside apply, and a late registration of a stopped allocation is dropped.
#[test]
fn services_of_terminal_allocations_are_removed() {
    use drover::core::alloc::{ClientAllocUpdate, ClientStatus, DesiredStatus};
    use drover::core::command::{AllocStop, PlanResult};
    use drover::core::node::NodeStatus;

    let mut s = ClusterState::default();
    let mut cmds = Vec::new();
    let mut push = |s: &mut ClusterState, c: Command| {
        apply_all(s, std::slice::from_ref(&c));
        cmds.push(c);
    };
    push(&mut s, Command::RegisterNode { node: node("n0", 4000, 8192), evals: vec![], now: 1 });
    let eval = Evaluation { id: "e".into(), namespace: "default".into(), priority: 50, job_id: "web".into(), ..Default::default() };
    push(&mut s, Command::RegisterJob { job: job("web", 3, 100, 64), eval: Some(eval.clone()), now: 2 });
    let (result, _) = verify(&s, &schedule(&s, &eval, 7));
    push(&mut s, Command::ApplyPlan { result, now: 3 });
    let allocs: Vec<(String, String)> = s.allocs.values().map(|a| (a.id.to_string(), a.node_id.to_string())).collect();
    assert_eq!(allocs.len(), 3);
    let all: Vec<ServiceRegistration> = allocs.iter().map(|(a, n)| service(a, n)).collect();
    let unknown = service("no-such-alloc", "n0");
    push(&mut s, Command::UpsertServiceRegistrations { services: all.iter().cloned().chain([unknown]).collect() });
    assert_eq!(s.services.len(), 3, "the unknown allocation's registration is dropped");

    let done = ClientAllocUpdate { id: allocs[0].0.clone(), client_status: ClientStatus::Complete, ..Default::default() };
    push(&mut s, Command::UpdateAllocsFromClient { node_id: allocs[0].1.clone(), updates: vec![done], evals: vec![], now: 4 });
    assert!(s.services.values().all(|r| r.alloc_id != allocs[0].0), "a completed allocation's service is gone");
    assert_eq!(s.services.len(), 2);

    let stop = AllocStop {
        alloc_id: allocs[1].0.clone(),
        desired_status: DesiredStatus::Stop,
        description: "scaled down".into(),
        client_status: None,
    };
    push(&mut s, Command::ApplyPlan { result: PlanResult { stops: vec![stop], ..Default::default() }, now: 5 });
    assert!(s.services.values().all(|r| r.alloc_id != allocs[1].0), "a stopped allocation's service is gone");
    assert_eq!(s.table_index(table::SERVICES), s.index);

    push(&mut s, Command::UpsertServiceRegistrations { services: all.clone() });
    let left: Vec<&str> = s.services.values().map(|r| r.alloc_id.as_str()).collect();
    assert_eq!(left, [allocs[2].0.as_str()], "late registrations of terminal allocations are dropped");

    let down = Command::UpdateNodeStatus {
        node_id: allocs[2].1.clone(),
        status: NodeStatus::Down,
        description: "missed".into(),
        evals: vec![],
        now: 6,
    };
    push(&mut s, down);
    assert!(s.services.is_empty(), "a down node's services are gone");
    assert_eq!(s.table_index(table::SERVICES), s.index);

    let mut again = ClusterState::default();
    apply_all(&mut again, &cmds);
    assert_eq!(again, s);
}

/// The state's memoised per-node usage follows every change of what a node's allocations hold:
/// placements, a client's terminal report, a plan's stop, a node going down (each read before the
/// next change, so a change that kept a stale count fails here, in release builds too).
#[test]
fn node_usage_follows_placements_reports_stops_and_lost_nodes() {
    use drover::core::alloc::{ClientAllocUpdate, ClientStatus, DesiredStatus};
    use drover::core::command::{AllocStop, PlanResult};
    use drover::core::node::NodeStatus;

    let recount = |s: &ClusterState, node: &str| -> (u64, u64) {
        let held = s.allocs.values().filter(|a| a.node_id == node && a.holds_resources());
        held.fold((0, 0), |(c, m), a| (c + a.resources.cpu(), m + a.resources.memory_mb()))
    };
    let check = |s: &ClusterState, node: &str, what: &str| {
        let u = s.node_usage(node);
        assert_eq!((u.cpu, u.memory_mb), recount(s, node), "usage of {node} after {what}");
    };
    let mut s = ClusterState::default();
    apply_all(&mut s, &[Command::RegisterNode { node: node("n0", 4000, 8192), evals: vec![], now: 1 }]);
    check(&s, "n0", "registration");
    let eval = Evaluation { id: "e".into(), namespace: "default".into(), priority: 50, job_id: "web".into(), ..Default::default() };
    apply_all(&mut s, &[Command::RegisterJob { job: job("web", 3, 100, 64), eval: Some(eval.clone()), now: 2 }]);
    let (result, _) = verify(&s, &schedule(&s, &eval, 7));
    apply_all(&mut s, &[Command::ApplyPlan { result, now: 3 }]);
    check(&s, "n0", "placements");
    assert_eq!(s.node_usage("n0").cpu, 300);
    let ids: Vec<String> = s.allocs.keys().map(|k| k.to_string()).collect();

    let done = ClientAllocUpdate { id: ids[0].clone(), client_status: ClientStatus::Complete, ..Default::default() };
    apply_all(&mut s, &[Command::UpdateAllocsFromClient { node_id: "n0".into(), updates: vec![done], evals: vec![], now: 4 }]);
    check(&s, "n0", "a client's terminal report");
    assert_eq!(s.node_usage("n0").cpu, 200);

    let lost = AllocStop {
        alloc_id: ids[1].clone(),
        desired_status: DesiredStatus::Stop,
        description: "lost".into(),
        client_status: Some(ClientStatus::Lost),
    };
    apply_all(&mut s, &[Command::ApplyPlan { result: PlanResult { stops: vec![lost], ..Default::default() }, now: 5 }]);
    check(&s, "n0", "a stop marking it lost");
    assert_eq!(s.node_usage("n0").cpu, 100);

    let down =
        Command::UpdateNodeStatus { node_id: "n0".into(), status: NodeStatus::Down, description: "missed".into(), evals: vec![], now: 6 };
    apply_all(&mut s, &[down]);
    check(&s, "n0", "the node going down");
    let copy = s.clone();
    check(&copy, "n0", "a copy of the state");
}

/// A node going down loses the allocations the servers had stopped but whose end its client never
/// reported (as Nomad does), so they end and can be collected; the ones still wanted are left for
/// the scheduler to replace, and what had ended stays as it was.
#[test]
fn a_down_node_loses_its_stopped_allocations() {
    use drover::core::alloc::{ClientAllocUpdate, ClientStatus, DesiredStatus};
    use drover::core::command::{AllocStop, PlanResult};
    use drover::core::gc::{alloc_collectable, GcThresholds};
    use drover::core::node::NodeStatus;

    let mut s = ClusterState::default();
    apply_all(&mut s, &[Command::RegisterNode { node: node("n0", 4000, 8192), evals: vec![], now: 1 }]);
    let eval = Evaluation { id: "e".into(), namespace: "default".into(), priority: 50, job_id: "web".into(), ..Default::default() };
    apply_all(&mut s, &[Command::RegisterJob { job: job("web", 3, 100, 64), eval: Some(eval.clone()), now: 2 }]);
    let (result, _) = verify(&s, &schedule(&s, &eval, 7));
    apply_all(&mut s, &[Command::ApplyPlan { result, now: 3 }]);
    let ids: Vec<String> = s.allocs.keys().map(|k| k.to_string()).collect();
    let running: Vec<ClientAllocUpdate> =
        ids.iter().map(|id| ClientAllocUpdate { id: id.clone(), client_status: ClientStatus::Running, ..Default::default() }).collect();
    apply_all(&mut s, &[Command::UpdateAllocsFromClient { node_id: "n0".into(), updates: running, evals: vec![], now: 4 }]);
    // ids[0] stopped by the servers, still running on its (silent) client; ids[1] stopped and ended.
    let stop = |id: &str| AllocStop {
        alloc_id: id.into(),
        desired_status: DesiredStatus::Stop,
        description: "job stopped".into(),
        client_status: None,
    };
    apply_all(
        &mut s,
        &[Command::ApplyPlan { result: PlanResult { stops: vec![stop(&ids[0]), stop(&ids[1])], ..Default::default() }, now: 5 }],
    );
    let done = ClientAllocUpdate { id: ids[1].clone(), client_status: ClientStatus::Complete, ..Default::default() };
    apply_all(&mut s, &[Command::UpdateAllocsFromClient { node_id: "n0".into(), updates: vec![done], evals: vec![], now: 6 }]);
    let before = s.allocs[ids[1].as_str()].modify_index;

    let down =
        Command::UpdateNodeStatus { node_id: "n0".into(), status: NodeStatus::Down, description: "missed".into(), evals: vec![], now: 7 };
    apply_all(&mut s, &[down]);
    let index = s.allocs[ids[0].as_str()].modify_index;
    let (lost, ended, wanted) = (&s.allocs[ids[0].as_str()], &s.allocs[ids[1].as_str()], &s.allocs[ids[2].as_str()]);
    assert_eq!(
        (lost.client_status, lost.desired_status, lost.desired_description.as_str()),
        (ClientStatus::Lost, DesiredStatus::Stop, "job stopped")
    );
    assert_eq!(lost.alloc_modify_index, index, "the watch of the node sees the change");
    assert!(index > before);
    assert_eq!((ended.client_status, ended.modify_index), (ClientStatus::Complete, before), "an ended allocation is left alone");
    assert_eq!((wanted.client_status, wanted.desired_status), (ClientStatus::Running, DesiredStatus::Run), "the scheduler's to replace");
    assert!(alloc_collectable(&s, lost, 7, &GcThresholds::FORCE), "a lost, stopped allocation can be collected");
}

/// What a node's allocation watch waits on moves with the servers' changes to the allocations on
/// that node (placements, stops, collection) and not with its client's reports; the change log the
/// event stream reads names every changed allocation once, and a restored state starts over.
#[test]
fn node_allocation_index_and_change_log_follow_the_servers_changes() {
    use drover::core::alloc::{ClientAllocUpdate, ClientStatus, DesiredStatus};
    use drover::core::command::{AllocStop, PlanResult};

    let mut s = ClusterState::default();
    apply_all(&mut s, &[Command::RegisterNode { node: node("n0", 4000, 8192), evals: vec![], now: 1 }]);
    apply_all(&mut s, &[Command::RegisterNode { node: node("n1", 4000, 8192), evals: vec![], now: 1 }]);
    assert_eq!((s.node_allocs_index("n0"), s.node_allocs_index("n1")), (0, 0));
    let eval = Evaluation { id: "e".into(), namespace: "default".into(), priority: 50, job_id: "web".into(), ..Default::default() };
    apply_all(&mut s, &[Command::RegisterJob { job: job("web", 4, 100, 64), eval: Some(eval.clone()), now: 2 }]);
    let (result, _) = verify(&s, &schedule(&s, &eval, 7));
    apply_all(&mut s, &[Command::ApplyPlan { result, now: 3 }]);
    let placed = s.index;
    let on = |s: &ClusterState, n: &str| -> Vec<String> { s.allocs_on_node(n).map(|a| a.id.to_string()).collect() };
    let used: Vec<&str> = ["n0", "n1"].into_iter().filter(|n| !on(&s, n).is_empty()).collect();
    for n in &used {
        assert_eq!(s.node_allocs_index(n), placed, "{n} got allocations at {placed}");
    }
    let mut all: Vec<String> = s.allocs.keys().map(|k| k.to_string()).collect();
    all.sort();
    let logged = |s: &ClusterState, after: u64| -> Vec<String> {
        s.allocs_changed_since(after).expect("the log reaches back").iter().map(|t| t.to_string()).collect()
    };
    assert_eq!(logged(&s, placed - 1), all);

    // A client's report: logged, but the node's watch index stays.
    let n = used[0];
    let mine = on(&s, n);
    let report = ClientAllocUpdate { id: mine[0].clone(), client_status: ClientStatus::Running, ..Default::default() };
    apply_all(&mut s, &[Command::UpdateAllocsFromClient { node_id: n.into(), updates: vec![report], evals: vec![], now: 4 }]);
    assert_eq!(s.node_allocs_index(n), placed, "a client's own report does not wake its watch");
    assert_eq!(logged(&s, placed), vec![mine[0].clone()]);

    // A stop by the servers moves it, for that node only.
    let stop =
        AllocStop { alloc_id: mine[0].clone(), desired_status: DesiredStatus::Stop, description: "stop".into(), client_status: None };
    apply_all(&mut s, &[Command::ApplyPlan { result: PlanResult { stops: vec![stop], ..Default::default() }, now: 5 }]);
    assert_eq!(s.node_allocs_index(n), s.index);
    for other in used.iter().filter(|o| **o != n) {
        assert_eq!(s.node_allocs_index(other), placed, "{other} was not touched");
    }
    assert_eq!(logged(&s, s.index - 1), vec![mine[0].clone()]);

    // A copy's log does not reach back (readers scan); a restored state starts at its index.
    assert!(s.clone().allocs_changed_since(placed).is_none());
    let mut restored: ClusterState = serde_json::from_slice(&serde_json::to_vec(&s).unwrap()).unwrap();
    restored.after_restore();
    assert_eq!(restored.node_allocs_index("n1"), s.index);
    assert!(restored.allocs_changed_since(s.index - 1).is_none());
    assert_eq!(restored.allocs_changed_since(s.index), Some(vec![]));
}
