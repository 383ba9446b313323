//! Node drains end to end: a `-dev` agent (server and client) and a client-only agent on 127.0.91.10,
//! a raw_exec service job (count 3, `migrate { max_parallel = 1, min_healthy_time = 1s }`) on the dev
//! node. `drover node drain -enable` moves it one allocation at a time (polled every 100 ms: never
//! more than one stopped and not yet replaced), the drain completes and leaves the node ineligible,
//! `-disable` / `-self` make it eligible again. Then a forced drain over the HTTP API stops everything
//! on the other node at once, and a `-deadline 3s` drain stops a job whose allocations never become healthy
//! in time at the deadline, at once. Nomad's field names of the drain response and the node are checked raw.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::{json, Value};

const JOB: &str = "drainweb";
const CLIENT_IP: &str = "127.0.91.10";

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn allocs(agent: &DevAgent) -> Vec<Value> {
    allocs_of(agent, JOB)
}

fn allocs_of(agent: &DevAgent, job: &str) -> Vec<Value> {
    get_json(&agent.url(&format!("/v1/job/{job}/allocations"))).as_array().cloned().unwrap_or_default()
}

fn live_on(agent: &DevAgent, node: &str) -> Vec<Value> {
    live_of_on(agent, JOB, node)
}

fn live_of_on(agent: &DevAgent, job: &str, node: &str) -> Vec<Value> {
    allocs_of(agent, job)
        .into_iter()
        .filter(|a| a["NodeID"] == node && a["DesiredStatus"] == "run" && a["ClientStatus"] == "running")
        .collect()
}

/// Allocations of the job on `node` stopped by the servers whose replacement is not running yet.
fn migrating(all: &[Value], node: &str) -> usize {
    let running: BTreeSet<&str> =
        all.iter().filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run").filter_map(|a| a["ID"].as_str()).collect();
    let replaced: BTreeSet<&str> = all
        .iter()
        .filter(|a| a["PreviousAllocation"].as_str().is_some_and(|p| !p.is_empty()) && running.contains(a["ID"].as_str().unwrap_or("")))
        .filter_map(|a| a["PreviousAllocation"].as_str())
        .collect();
    all.iter().filter(|a| a["NodeID"] == node && a["DesiredStatus"] != "run" && !replaced.contains(a["ID"].as_str().unwrap_or(""))).count()
}

/// A raw_exec service job of three sleeping allocations that migrate one at a time.
fn job_body(id: &str, min_healthy_ns: u64) -> Value {
    json!({ "Job": { "ID": id, "Type": "service", "TaskGroups": [{ "Name": "web", "Count": 3,
        "Migrate": { "MaxParallel": 1, "MinHealthyTime": min_healthy_ns },
        "Tasks": [{ "Name": "t", "Driver": "raw_exec", "Config": { "command": "/bin/sleep", "args": ["300"] },
            "Resources": { "CPU": 20, "MemoryMB": 16 } }] }] } })
}

/// `drover node drain ARGS` against the agent, in a thread (it follows the drain until it ends).
fn drain_cli(agent: &DevAgent, args: &[&str]) -> std::thread::JoinHandle<std::process::Output> {
    let addr = agent.addr();
    let args: Vec<String> = ["node", "drain"].iter().chain(args).map(|a| a.to_string()).collect();
    std::thread::spawn(move || std::process::Command::new(bin()).args(args).env("DROVER_ADDR", addr).output().unwrap())
}

fn put(agent: &DevAgent, path: &str, body: &Value) -> (u16, String, Value) {
    let (code, head, payload) = http_bytes("PUT", &agent.url(path), body.to_string().as_bytes()).unwrap();
    let text = String::from_utf8_lossy(&payload).to_string();
    (code, head, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn node(agent: &DevAgent, id: &str) -> Value {
    get_json(&agent.url(&format!("/v1/node/{id}")))
}

#[test]
fn node_drain_migrates_max_parallel_at_a_time_then_force_stops_at_once() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real agents and needs root");
        return;
    }
    let dir = temp_dir("e2e-drain");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let agent = DevAgent::start(&dir.join("dev"), &images, free_port(), free_port());
    let dev_node = get_json(&agent.url("/v1/nodes"))[0]["ID"].as_str().unwrap().to_string();

    // A client-only agent with raw_exec, registered with the dev agent's server.
    let servers = format!("127.0.0.1:{}", agent.rpc_port);
    let _client =
        ClientAgent::start(&dir.join("client"), CLIENT_IP, &servers, &["-node", "drain-client", "-http-port", &free_port().to_string()]);
    let mut other = String::new();
    wait_until("the client-only node to be ready", Duration::from_secs(30), || {
        let nodes = get_json(&agent.url("/v1/nodes"));
        let found = nodes.as_array().unwrap().iter().find(|n| n["Name"] == "drain-client" && n["Status"] == "ready").cloned();
        other = found.map(|n| n["ID"].as_str().unwrap().to_string()).unwrap_or_default();
        !other.is_empty()
    });

    // The job lands on the dev node (the other one is ineligible meanwhile).
    let out = agent.cli(&["node", "eligibility", "-disable", &other]);
    assert!(out.status.success(), "{}", text(&out));
    let _purge = PurgeOnDrop { base: agent.addr(), job: JOB };
    let job = job_body(JOB, 1_000_000_000);
    let (code, body) = http("PUT", &agent.url("/v1/jobs"), Some(&job.to_string())).unwrap();
    assert_eq!(code, 200, "{body}");
    wait_until("three allocations running on the dev node", Duration::from_secs(60), || live_on(&agent, &dev_node).len() == 3);
    let out = agent.cli(&["node", "eligibility", "-enable", &other]);
    assert!(out.status.success(), "{}", text(&out));

    // Drain the dev node through the CLI (a node id prefix), monitoring until it completes.
    let started = Instant::now();
    let cli = drain_cli(&agent, &["-enable", "-yes", "-deadline", "5m", "-m", "maintenance", &dev_node[..8]]);
    let mut max_migrating = 0;
    let mut saw_ineligible = false;
    let mut strategy = Value::Null;
    while !cli.is_finished() {
        assert!(started.elapsed() < Duration::from_secs(120), "the drain did not finish:\n{}", agent.log());
        max_migrating = max_migrating.max(migrating(&allocs(&agent), &dev_node));
        let n = node(&agent, &dev_node);
        if n["Drain"] == true {
            if !saw_ineligible {
                // a draining node cannot be made eligible
                let (code, _, body) = put(&agent, &format!("/v1/node/{dev_node}/eligibility"), &json!({ "Eligibility": "eligible" }));
                assert_eq!(code, 400, "{body}");
            }
            saw_ineligible |= n["SchedulingEligibility"] == "ineligible";
            strategy = n["DrainStrategy"].clone();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let drain_time = started.elapsed();
    let out = cli.join().unwrap();
    let printed = text(&out);
    // Everything runs on the other node; the three stops were three separate steps.
    // (the last replacement may still be starting when the monitor returns)
    wait_until("three allocations running on the other node", Duration::from_secs(30), || live_on(&agent, &other).len() == 3);
    let all = allocs(&agent);
    let stopped: Vec<&Value> = all.iter().filter(|a| a["NodeID"] == dev_node).collect();
    assert_eq!(stopped.len(), 3);
    assert!(
        stopped.iter().all(|a| a["DesiredDescription"] == "alloc is being migrated" && a["DesiredTransition"]["Migrate"] == true),
        "{stopped:#?}"
    );
    let steps: BTreeSet<u64> = stopped.iter().map(|a| a["AllocModifyIndex"].as_u64().unwrap()).collect();
    assert_eq!(steps.len(), 3, "one migration at a time: {steps:?}");
    // (Replacements may start faster than the 100 ms poll sees a gap: 0 is a correct observation too.)
    assert!(max_migrating <= 1, "max_parallel = 1: at most one allocation stopped and not yet replaced (seen {max_migrating})");
    assert!(out.status.success(), "{printed}\n{}", agent.log());
    for line in ["drain strategy set", "marked for migration", "draining", &format!("Drain complete for node {dev_node}"), "have stopped"] {
        assert!(printed.contains(line), "missing {line:?} in:\n{printed}");
    }
    assert!(saw_ineligible, "the draining node was never seen ineligible");
    assert_eq!(strategy["DrainSpec"], json!({ "Deadline": 300_000_000_000u64, "IgnoreSystemJobs": false }), "{strategy}");
    assert_eq!(strategy["Deadline"], 300_000_000_000u64, "Go's embedded DrainSpec fields: {strategy}");
    assert!(strategy["ForceDeadline"].as_str().is_some_and(|t| t.ends_with('Z')) && strategy["StartedAt"].is_string(), "{strategy}");

    let n = node(&agent, &dev_node);
    assert_eq!(
        (n["Drain"].clone(), n["DrainStrategy"].clone(), n["SchedulingEligibility"].clone()),
        (json!(false), Value::Null, json!("ineligible"))
    );
    assert_eq!(n["LastDrain"]["Status"], "complete", "{n}");
    assert_eq!(n["LastDrain"]["Meta"], json!({ "message": "maintenance" }));
    for k in ["StartedAt", "UpdatedAt", "AccessorID"] {
        assert!(n["LastDrain"][k].is_string(), "LastDrain.{k}: {n}");
    }
    let stub = get_json(&agent.url("/v1/nodes")).as_array().unwrap().iter().find(|x| x["ID"] == dev_node.as_str()).cloned().unwrap();
    assert_eq!((stub["Drain"].clone(), stub["LastDrain"]["Status"].clone()), (json!(false), json!("complete")));
    let out = agent.cli(&["node", "status", &dev_node[..8]]);
    assert!(text(&out).contains("Last Drain") && text(&out).contains("complete"), "{}", text(&out));

    // -disable (here with -self) makes the drained node eligible again.
    let out = agent.cli(&["node", "drain", "-self", "-disable"]);
    assert!(out.status.success() && text(&out).contains("drain strategy unset"), "{}", text(&out));
    assert_eq!(node(&agent, &dev_node)["SchedulingEligibility"], "eligible");

    // Raw HTTP: a forced drain of the other node (prefix) stops all three at once.
    let (code, _, body) = put(&agent, &format!("/v1/node/{}/drain", &other[..8]), &json!({ "DrainSpec": { "Deadline": -5 } }));
    assert_eq!(code, 400, "{body}");
    let (code, _, body) = put(&agent, "/v1/node/ffffffff-0000/drain", &json!({ "DrainSpec": null }));
    assert_eq!(code, 404, "{body}");
    let before = allocs(&agent);
    let started = Instant::now();
    let (code, head, body) = put(
        &agent,
        &format!("/v1/node/{}/drain", &other[..8]),
        &json!({ "DrainSpec": { "Deadline": -1, "IgnoreSystemJobs": true }, "Meta": { "message": "now" } }),
    );
    assert_eq!(code, 200, "{body}");
    let keys: BTreeSet<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["EvalIDs", "EvalCreateIndex", "NodeModifyIndex", "Index"]), "{body}");
    assert_eq!(header(&head, "X-Nomad-Index").and_then(|i| i.parse::<u64>().ok()), body["Index"].as_u64());
    wait_until("the forced drain to complete", Duration::from_secs(60), || {
        node(&agent, &other)["LastDrain"]["Status"] == "complete" && live_on(&agent, &dev_node).len() == 3
    });
    let force_time = started.elapsed();
    let all = allocs(&agent);
    let old: BTreeSet<&str> = before.iter().filter(|a| a["NodeID"] == other.as_str()).filter_map(|a| a["ID"].as_str()).collect();
    let at: BTreeMap<&str, u64> = all
        .iter()
        .filter(|a| old.contains(a["ID"].as_str().unwrap()))
        .map(|a| (a["ID"].as_str().unwrap(), a["AllocModifyIndex"].as_u64().unwrap()))
        .collect();
    let steps: BTreeSet<u64> = at.values().copied().collect();
    assert_eq!((at.len(), steps.len()), (3, 1), "a forced drain stops everything in one step: {at:?}");
    let n = node(&agent, &other);
    assert_eq!((n["Drain"].clone(), n["SchedulingEligibility"].clone()), (json!(false), json!("ineligible")), "{n}");
    // -disable -keep-ineligible leaves it ineligible; eligibility -enable restores it.
    let out = agent.cli(&["node", "drain", "-disable", "-keep-ineligible", &other]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(node(&agent, &other)["SchedulingEligibility"], "ineligible");
    let out = agent.cli(&["node", "eligibility", "-enable", &other]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(node(&agent, &other)["SchedulingEligibility"], "eligible");

    // A deadline: allocations that never become healthy in time (min_healthy_time 60 s) all stop at
    // the deadline, at once.
    const SLOW: &str = "drainslow";
    let out = agent.cli(&["node", "eligibility", "-disable", &other]);
    assert!(out.status.success(), "{}", text(&out));
    let _purge_slow = PurgeOnDrop { base: agent.addr(), job: SLOW };
    let (code, body) = http("PUT", &agent.url("/v1/jobs"), Some(&job_body(SLOW, 60_000_000_000).to_string())).unwrap();
    assert_eq!(code, 200, "{body}");
    wait_until("the slow job running on the dev node", Duration::from_secs(60), || live_of_on(&agent, SLOW, &dev_node).len() == 3);
    let out = agent.cli(&["node", "eligibility", "-enable", &other]);
    assert!(out.status.success(), "{}", text(&out));
    let started = Instant::now();
    let cli = drain_cli(&agent, &["-enable", "-yes", "-deadline", "3s", &dev_node]);
    let mut first_stop = None;
    while !cli.is_finished() {
        assert!(started.elapsed() < Duration::from_secs(60), "the drain did not finish:\n{}", agent.log());
        if first_stop.is_none() && allocs_of(&agent, SLOW).iter().any(|a| a["DesiredStatus"] != "run") {
            first_stop = Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline_time = started.elapsed();
    // The drain can finish within one poll of the stops at its deadline: then they happened by now.
    if first_stop.is_none() && allocs_of(&agent, SLOW).iter().any(|a| a["DesiredStatus"] != "run") {
        first_stop = Some(deadline_time);
    }
    let out = cli.join().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let first_stop = first_stop.expect("the slow job's allocations were stopped");
    assert!(first_stop >= Duration::from_millis(2900), "nothing of the slow job stops before the deadline: {first_stop:?}");
    let slow = allocs_of(&agent, SLOW);
    let steps: BTreeSet<u64> = slow.iter().filter(|a| a["NodeID"] == dev_node).map(|a| a["AllocModifyIndex"].as_u64().unwrap()).collect();
    assert_eq!(steps.len(), 1, "at the deadline everything left stops at once: {slow:#?}");
    wait_until("the slow job running on the other node", Duration::from_secs(30), || live_of_on(&agent, SLOW, &other).len() == 3);
    assert_eq!(node(&agent, &dev_node)["LastDrain"]["Status"], "complete");
    eprintln!(
        "timings: max_parallel=1 drain of 3 allocations {drain_time:?} (max in flight {max_migrating}); forced drain {force_time:?}; \
         3 s deadline: first stop of the unhealthy job after {first_stop:?}, drain with monitor done after {deadline_time:?}"
    );
    eprintln!("first drain's monitor output:\n{printed}");
    // Tasks end before their agents; then the directory goes.
    drop((_purge_slow, _purge, _client, agent));
    let _ = std::fs::remove_dir_all(&dir);
}
