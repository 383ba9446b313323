//! End to end: scheduling with real agents — a `drover agent -server` and `drover agent -client`
//! processes on 127.0.141.x. A system job lands on a client that joins later; a job that fits
//! nowhere stays blocked, `job run` exits non-zero explaining why (memory exhausted), and it is
//! placed as soon as a client with room joins; a client that stops heartbeating (SIGKILL) is marked
//! down within TTL + grace and its allocations are replaced on the other clients.

mod common;

use std::time::{Duration, Instant};

use common::agent::*;
use common::cluster::{Cluster, ServerProc};
use serde_json::Value;

fn json(server: &ServerProc, path: &str) -> Value {
    let (code, body) = server.get(path);
    assert_eq!(code, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn cli(server: &ServerProc, args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin()).args(args).env("DROVER_ADDR", server.url("")).output().expect("run drover cli")
}

/// Live (desired run, not terminal) allocations of `job`, as (alloc id, node id, client status).
fn live(server: &ServerProc, job: &str) -> Vec<(String, String, String)> {
    json(server, &format!("/v1/job/{job}/allocations"))
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["DesiredStatus"] == "run" && !["complete", "failed", "lost"].contains(&a["ClientStatus"].as_str().unwrap()))
        .map(|a| (a["ID"].as_str().unwrap().into(), a["NodeID"].as_str().unwrap().into(), a["ClientStatus"].as_str().unwrap().into()))
        .collect()
}

fn node_id(server: &ServerProc, name_part: &str) -> String {
    let nodes = json(server, "/v1/nodes");
    let n = nodes.as_array().unwrap().iter().find(|n| n["Address"].as_str().unwrap_or_default().contains(name_part));
    n.unwrap_or_else(|| panic!("no node at {name_part}: {nodes}"))["ID"].as_str().unwrap().to_string()
}

#[test]
fn system_jobs_blocked_jobs_and_lost_clients_with_real_agents() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real agents and needs root");
        return;
    }
    let c = Cluster::start_with_config("e2e-sched", 141, 1, Some("server {\n  heartbeat_grace = \"2s\"\n}\n"));
    // Dropped last: executors of a killed client have no agent left to stop them.
    let _reap = ReapExecutors(c.root.clone());
    let server = &c.servers[0];
    let rpc = server.rpc_addr();
    let mut a = Some(ClientAgent::start(&c.root.join("a"), "127.0.141.10", &rpc, &[]));
    // Clients started later live here, so that they outlive the purges below (dropped first), and
    // the purged jobs' allocations end through their agents.
    let mut clients = Vec::new();
    let _purge = [
        PurgeOnDrop { base: server.url(""), job: "everywhere" },
        PurgeOnDrop { base: server.url(""), job: "big" },
        PurgeOnDrop { base: server.url(""), job: "spreadweb" },
    ];
    wait_until("client a ready", Duration::from_secs(30), || {
        json(server, "/v1/nodes").as_array().is_some_and(|n| n.iter().any(|n| n["Status"] == "ready"))
    });

    // 1. A system job: one allocation on a, then one on b as soon as b joins.
    let file = c.root.join("system.hcl");
    std::fs::write(&file, sleeper("everywhere", "type = \"system\"", "", 16)).unwrap();
    let out = cli(server, &["job", "run", "-detach", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("the system job running on a", Duration::from_secs(30), || {
        live(server, "everywhere").iter().filter(|(_, _, s)| s == "running").count() == 1
    });
    let t = Instant::now();
    clients.push(ClientAgent::start(&c.root.join("b"), "127.0.141.11", &rpc, &[]));
    wait_until("the system job running on b too", Duration::from_secs(30), || {
        let l = live(server, "everywhere");
        l.len() == 2 && l.iter().all(|(_, _, s)| s == "running") && l[0].1 != l[1].1
    });
    eprintln!("timing: client b started → system allocation running on it {:?}", t.elapsed());

    // 2. A job that fits nowhere (150 GB of memory): blocked, and `job run` says why and exits 2.
    let file = c.root.join("big.hcl");
    std::fs::write(&file, sleeper("big", "", "", 150_000)).unwrap();
    let out = cli(server, &["job", "run", file.to_str().unwrap()]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("Failed to place all allocations"), "{shown}");
    assert!(shown.contains("memory"), "the explanation names the exhausted dimension: {shown}");
    let status = text(&cli(server, &["job", "status", "big"]));
    assert!(status.contains("Placement Failure") && status.contains("memory"), "{status}");
    let evals = json(server, "/v1/job/big/evaluations");
    assert!(evals.as_array().unwrap().iter().any(|e| e["Status"] == "blocked"), "{evals}");
    assert!(live(server, "big").is_empty());
    // A client with room joins (its memory as configured): the blocked job is placed on it.
    let roomy = c.root.join("roomy.hcl");
    std::fs::write(&roomy, "client {\n  memory_total_mb = 200000\n}\n").unwrap();
    let t = Instant::now();
    clients.push(ClientAgent::start(&c.root.join("c"), "127.0.141.12", &rpc, &["-config", roomy.to_str().unwrap()]));
    wait_until("the blocked job running on the roomy client", Duration::from_secs(30), || {
        live(server, "big").iter().any(|(_, _, s)| s == "running")
    });
    eprintln!("timing: roomy client started → blocked job running {:?}", t.elapsed());
    let c_node = node_id(server, "127.0.141.12");
    assert_eq!(live(server, "big")[0].1, c_node);
    let _ = http("DELETE", &server.url("/v1/job/big?purge=true"), None);
    // Only a and b from here on: c leaves, drained of everything (its system allocation too).
    let out = cli(server, &["node", "drain", "-enable", "-deadline", "1s", "-detach", &c_node]);
    assert!(out.status.success(), "{}", text(&out));

    // 3. A client that stops heartbeating: marked down within TTL (10 s) + grace (2 s), its
    //    allocations lost and replaced on the live clients.
    let file = c.root.join("web.hcl");
    std::fs::write(&file, sleeper("spreadweb", "", "count = 4\n    update {\n      max_parallel = 0\n    }", 16)).unwrap();
    let out = cli(server, &["job", "run", "-detach", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let a_node = node_id(server, "127.0.141.10");
    let b_node = node_id(server, "127.0.141.11");
    wait_until("4 web allocations running", Duration::from_secs(60), || {
        let l = live(server, "spreadweb");
        l.len() == 4 && l.iter().all(|(_, _, s)| s == "running")
    });
    // Spread over a and b by job anti-affinity (c is draining): at least one on a.
    let on_a: Vec<String> = live(server, "spreadweb").into_iter().filter(|(_, n, _)| *n == a_node).map(|(id, _, _)| id).collect();
    assert!(!on_a.is_empty(), "{:?}", live(server, "spreadweb"));
    let killed = Instant::now();
    drop(a.take());
    wait_until("node a down", Duration::from_secs(30), || json(server, &format!("/v1/node/{a_node}"))["Status"] == "down");
    let down_after = killed.elapsed();
    eprintln!("timing: client a killed → node down after {down_after:?} (TTL 10 s + grace 2 s)");
    assert!(down_after <= Duration::from_secs(10 + 2 + 3), "marked down after {down_after:?}");
    wait_until("4 web allocations running on b again", Duration::from_secs(30), || {
        let l = live(server, "spreadweb");
        l.len() == 4 && l.iter().all(|(_, n, s)| s == "running" && *n == b_node)
    });
    eprintln!("timing: client a killed → its allocations replaced on b after {:?}", killed.elapsed());
    let all = json(server, "/v1/job/spreadweb/allocations");
    for id in &on_a {
        let old = all.as_array().unwrap().iter().find(|x| x["ID"] == id.as_str()).unwrap();
        assert_eq!(old["ClientStatus"], "lost", "{old}");
    }
}
