//! Two commands of the state machine: `PurgeNode` (the node goes, its live allocations are lost, the
//! evaluations that replace them are stored) and `SetJobStability` (a stored version marked stable;
//! a new version starts unstable). Both are deterministic and additive to the formats.

mod common;

use common::{apply_all, job, node};
use drover::core::alloc::{ClientAllocUpdate, ClientStatus, DesiredStatus};
use drover::core::command::Command;
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::job::JobKey;
use drover::core::scheduler::{schedule, verify::verify};
use drover::core::service_reg::ServiceRegistration;
use drover::core::state::{table, ClusterState, ALLOC_LOST_PURGED};

fn eval(id: &str, job_id: &str) -> Evaluation {
    common::pending_eval(id, job_id)
}

/// Two nodes and a job of four allocations spread over them, one of them already complete.
fn cluster() -> (ClusterState, Vec<Command>) {
    let mut s = ClusterState::default();
    let mut cmds = vec![
        Command::RegisterNode { node: node("n1", 1000, 1024), evals: vec![], now: 1 },
        Command::RegisterNode { node: node("n2", 1000, 1024), evals: vec![], now: 2 },
        Command::RegisterJob { job: job("web", 4, 400, 256), eval: Some(eval("e1", "web")), now: 3 },
    ];
    apply_all(&mut s, &cmds);
    let (result, _) = verify(&s, &schedule(&s, &eval("e1", "web"), 7));
    assert_eq!(result.allocs.len(), 4);
    let plan = Command::ApplyPlan { result, now: 4 };
    apply_all(&mut s, std::slice::from_ref(&plan));
    cmds.push(plan);
    let done = s.allocs_on_node("n1").next().unwrap().id.to_string();
    let update = Command::UpdateAllocsFromClient {
        node_id: "n1".into(),
        updates: vec![ClientAllocUpdate { id: done, client_status: ClientStatus::Complete, ..Default::default() }],
        evals: vec![],
        now: 5,
    };
    let service = ServiceRegistration {
        id: "svc-1".into(),
        service_name: "web".into(),
        namespace: "default".into(),
        node_id: "n1".into(),
        alloc_id: s.allocs_on_node("n1").last().unwrap().id.to_string(),
        ..Default::default()
    };
    let services = Command::UpsertServiceRegistrations { services: vec![service] };
    apply_all(&mut s, &[update.clone(), services.clone()]);
    cmds.extend([update, services]);
    (s, cmds)
}

#[test]
fn purging_a_node_loses_its_live_allocations() {
    let (mut s, _) = cluster();
    let on_n1: Vec<(String, ClientStatus)> = s.allocs_on_node("n1").map(|a| (a.id.to_string(), a.client_status)).collect();
    assert_eq!(on_n1.len(), 2, "binpacking puts two allocations on each node");
    let on_n2: Vec<String> = s.allocs_on_node("n2").map(|a| a.id.to_string()).collect();
    let index = s.index + 1;
    let evals = vec![Evaluation { node_id: "n1".into(), triggered_by: "node-update".into(), ..eval("e2", "web") }];
    let r = s.apply(index, &Command::PurgeNode { node_id: "n1".into(), evals, now: 99 });
    assert_eq!(r.error, None);
    assert!(!s.nodes.contains_key("n1") && s.nodes.contains_key("n2"));
    for (id, before) in on_n1 {
        let a = &s.allocs[id.as_str()];
        if before == ClientStatus::Complete {
            assert_eq!(
                (a.client_status, a.desired_status),
                (ClientStatus::Complete, DesiredStatus::Run),
                "terminal allocations are left alone"
            );
        } else {
            assert_eq!((a.client_status, a.desired_status), (ClientStatus::Lost, DesiredStatus::Stop));
            assert_eq!((&*a.desired_description, a.modify_index, a.modify_time), (ALLOC_LOST_PURGED, index, 99));
        }
    }
    assert!(on_n2.iter().all(
        |id| s.allocs[id.as_str()].client_status == ClientStatus::Pending && s.allocs[id.as_str()].desired_status == DesiredStatus::Run
    ));
    assert_eq!((s.evals["e2"].status, s.evals["e2"].create_index), (EvalStatus::Pending, index));
    assert!(s.services.is_empty(), "the purged node's services are removed");
    for t in [table::NODES, table::ALLOCS, table::EVALS, table::SERVICES] {
        assert_eq!(s.table_index(t), index, "{t}");
    }
    // The scheduler places the lost allocation again (and the completed one, the job being a service)
    // on a node with room, never on the purged one.
    apply_all(&mut s, &[Command::RegisterNode { node: node("n3", 4000, 8192), evals: vec![], now: 98 }]);
    let index = s.index;
    let (result, _) = verify(&s, &schedule(&s, &s.evals["e2"].clone(), 3));
    assert_eq!(result.allocs.len(), 2);
    assert!(result.allocs.iter().all(|a| a.node_id == "n3"), "{:?}", result.allocs);

    // An unknown node is an error that changes nothing.
    let before = s.clone();
    let r = s.apply(index + 1, &Command::PurgeNode { node_id: "n1".into(), evals: vec![eval("e3", "web")], now: 100 });
    assert_eq!(r.error.as_deref(), Some("node n1 not found"));
    assert!(!s.evals.contains_key("e3"));
    assert_eq!(s.nodes, before.nodes);
    assert_eq!(s.allocs, before.allocs);
}

#[test]
fn stability_is_set_on_a_version_and_new_versions_start_unstable() {
    let (mut s, _) = cluster();
    let key = JobKey::new("default", "web");
    assert!(!s.jobs[&key].stable);
    let index = s.index + 1;
    let cmd = Command::SetJobStability { namespace: "default".into(), job_id: "web".into(), version: 0, stable: true };
    assert_eq!(s.apply(index, &cmd).error, None);
    assert!(s.jobs[&key].stable && s.job_version(&key, 0).unwrap().stable);
    assert_eq!((s.jobs[&key].modify_index, s.table_index(table::JOBS)), (index, index));

    // The same spec again keeps its version and its stability; a changed spec is a new, unstable version.
    apply_all(&mut s, &[Command::RegisterJob { job: job("web", 4, 400, 256), eval: None, now: 10 }]);
    assert_eq!((s.jobs[&key].version, s.jobs[&key].stable), (0, true));
    apply_all(&mut s, &[Command::RegisterJob { job: job("web", 5, 400, 256), eval: None, now: 11 }]);
    assert_eq!((s.jobs[&key].version, s.jobs[&key].stable), (1, false));
    assert!(s.job_version(&key, 0).unwrap().stable, "the old version keeps its mark");

    // Marking an old version touches only that version; an unknown version is an error.
    let cmd = Command::SetJobStability { namespace: "default".into(), job_id: "web".into(), version: 0, stable: false };
    assert_eq!(s.apply(s.index + 1, &cmd).error, None);
    assert!(!s.job_version(&key, 0).unwrap().stable && !s.jobs[&key].stable);
    let cmd = Command::SetJobStability { namespace: "default".into(), job_id: "web".into(), version: 9, stable: true };
    let r = s.apply(s.index + 1, &cmd);
    assert!(r.error.as_deref().is_some_and(|e| e.contains("\"web\"") && e.contains("version 9")), "{r:?}");
}

#[test]
fn deterministic_and_additive() {
    let (_, mut cmds) = cluster();
    cmds.push(Command::SetJobStability { namespace: "default".into(), job_id: "web".into(), version: 0, stable: true });
    cmds.push(Command::PurgeNode { node_id: "n2".into(), evals: vec![eval("e9", "web")], now: 50 });
    let (mut a, mut b) = (ClusterState::default(), ClusterState::default());
    apply_all(&mut a, &cmds);
    apply_all(&mut b, &cmds);
    assert_eq!(a, b);
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());

    // Encodings of the new commands, and a job stored before `stable` existed.
    let v = serde_json::to_value(&cmds[cmds.len() - 2]).unwrap();
    assert_eq!(v["set_job_stability"]["version"], 0);
    let back: Command = serde_json::from_value(v).unwrap();
    assert_eq!(back, cmds[cmds.len() - 2]);
    let mut state = serde_json::to_value(&a).unwrap();
    for table in ["jobs", "job_versions"] {
        for j in state[table].as_array_mut().unwrap() {
            assert!(j.as_object_mut().unwrap().remove("stable").is_some());
        }
    }
    let old: ClusterState = serde_json::from_value(state).unwrap();
    assert!(old.jobs.values().all(|j| !j.stable));
}
