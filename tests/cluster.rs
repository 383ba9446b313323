//! Real multi-process server clusters: formation from `-bootstrap-expect`/`-retry-join`, writes through
//! any server, `kill -9` of the leader under a stream of registrations, minority and majority loss.
//! Each test uses its own 127.0.x.0/24 addresses, ports 4646 (HTTP) and 4647 (RPC) on each.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::agent::{http, is_root, wait_until};
use common::cluster::{job_body, job_ids, Cluster};

/// The tests here each run a whole cluster; one at a time, so they do not starve each other of CPU.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_CLUSTER_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn register(url: &str, id: &str) -> Result<(), String> {
    match http("PUT", url, Some(&job_body(id))) {
        Ok((200, _)) => Ok(()),
        Ok((code, body)) => Err(format!("{code}: {body}")),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn three_servers_survive_kill_of_the_leader_under_writes() {
    if !is_root() {
        eprintln!("skipping: needs root (as CI runs it)");
        return;
    }
    let _one = serial();
    let mut c = Cluster::start("cluster3", 71, 3);
    let leader = c.wait_leader_everywhere(Duration::from_secs(30));
    let conf: serde_json::Value = serde_json::from_str(&c.servers[0].get("/v1/operator/raft/configuration").1).unwrap();
    assert_eq!(conf["Servers"].as_array().unwrap().len(), 3, "{conf}");
    assert!(conf["Servers"].as_array().unwrap().iter().all(|s| s["Voter"] == true), "{conf}");

    // A writer registers jobs through every server in turn and records what was acknowledged.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let urls: Vec<String> = c.servers.iter().map(|s| s.url("/v1/jobs")).collect();
    let writer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let id = format!("job-{i}");
                match register(&urls[i % urls.len()], &id) {
                    Ok(()) => acked.lock().unwrap().push(id),
                    Err(e) => failures.push(e),
                }
                i += 1;
            }
            failures
        })
    };
    wait_until("some writes to be acknowledged", Duration::from_secs(60), || acked.lock().unwrap().len() >= 30);
    let old = c.servers[leader].rpc_addr();
    let killed_at = Instant::now();
    c.servers[leader].kill9();

    // A new leader among the survivors, and writes acknowledged again.
    let new_leader = c.wait_leader_other_than(Some(&old), Duration::from_secs(20));
    let elected = killed_at.elapsed();
    assert_ne!(c.servers[new_leader].rpc_addr(), old);
    let before = acked.lock().unwrap().len();
    wait_until("writes to resume after the failover", Duration::from_secs(60), || acked.lock().unwrap().len() >= before + 30);
    let resumed = killed_at.elapsed();
    stop.store(true, Ordering::Relaxed);
    let failures = writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    let mut kinds: Vec<String> = failures.iter().map(|f| f.chars().take(60).collect()).collect();
    kinds.sort();
    kinds.dedup();
    println!(
        "leader killed: new leader after {elected:?}, writes resumed after {resumed:?}; {} acknowledged, {} failed ({kinds:?})",
        acked.len(),
        failures.len()
    );

    // Every acknowledged registration is on every live server, read consistently and locally.
    for (i, s) in c.servers.iter().enumerate() {
        if i == leader {
            continue;
        }
        let ids = job_ids(s, false).unwrap_or_else(|| panic!("consistent read failed on {}\n{}", s.ip, c.logs()));
        let missing: Vec<&String> = acked.iter().filter(|id| !ids.contains(id)).collect();
        assert!(missing.is_empty(), "{} is missing {} acknowledged jobs: {:?}", s.ip, missing.len(), &missing[..missing.len().min(5)]);
    }

    // The killed server restarts on its data dir and catches up.
    c.servers[leader].start();
    let s = &c.servers[leader];
    wait_until("the restarted server to catch up", Duration::from_secs(30), || {
        job_ids(s, true).is_some_and(|ids| acked.iter().all(|id| ids.contains(id)))
    });
    c.wait_leader_everywhere(Duration::from_secs(20));
    assert!(!c.logs().contains("panicked"), "{}", c.logs());
}

#[test]
fn five_servers_tolerate_two_failures_and_refuse_writes_without_quorum() {
    if !is_root() {
        eprintln!("skipping: needs root (as CI runs it)");
        return;
    }
    let _one = serial();
    let mut c = Cluster::start("cluster5", 72, 5);
    let leader = c.wait_leader_everywhere(Duration::from_secs(30));
    // Kill the leader and one follower: three of five remain.
    let follower = (leader + 1) % 5;
    c.servers[leader].kill9();
    c.servers[follower].kill9();
    let live: Vec<usize> = (0..5).filter(|i| *i != leader && *i != follower).collect();
    let old = c.servers[leader].rpc_addr();
    c.wait_leader_other_than(Some(&old), Duration::from_secs(20));
    for (n, i) in live.iter().enumerate() {
        register(&c.servers[*i].url("/v1/jobs"), &format!("after-two-{n}"))
            .unwrap_or_else(|e| panic!("write with 3 of 5 failed: {e}\n{}", c.logs()));
    }

    // A third failure: no quorum. Writes fail with a clear error within the leader wait.
    c.servers[live[0]].kill9();
    let survivor = &c.servers[live[1]];
    let t = Instant::now();
    let err = register(&survivor.url("/v1/jobs"), "without-quorum").expect_err("a write without quorum must fail");
    println!("write without quorum failed after {:?}: {err}", t.elapsed());
    assert!(err.starts_with("500") && err.to_lowercase().contains("no cluster leader"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(15), "took {:?}", t.elapsed());
    let (code, body) = survivor.get("/v1/jobs");
    assert_eq!(code, 500, "a consistent read without quorum must fail: {body}");

    // Quorum back: the refused write was applied entirely or not at all; the others are all there.
    c.servers[leader].start();
    c.servers[follower].start();
    c.wait_leader_everywhere(Duration::from_secs(30));
    let s = &c.servers[live[1]];
    let mut ids = Vec::new();
    wait_until("consistent reads to work again", Duration::from_secs(20), || {
        ids = job_ids(s, false).unwrap_or_default();
        !ids.is_empty()
    });
    for n in 0..3 {
        assert!(ids.contains(&format!("after-two-{n}")), "{ids:?}");
    }
    if ids.contains(&"without-quorum".to_string()) {
        let (code, body) = s.get("/v1/job/without-quorum/evaluations");
        assert_eq!(code, 200);
        assert!(body.contains("job-register"), "a registered job comes with its evaluation: {body}");
    }
    assert!(!c.logs().contains("panicked"), "{}", c.logs());
}

#[test]
fn kill_of_every_server_at_once_loses_nothing_acknowledged() {
    if !is_root() {
        eprintln!("skipping: needs root (as CI runs it)");
        return;
    }
    let _one = serial();
    let mut c = Cluster::start("cluster-all", 73, 3);
    let mut acked = Vec::new();
    for i in 0..60 {
        let id = format!("durable-{i}");
        let s = &c.servers[i % 3];
        register(&s.url("/v1/jobs"), &id).unwrap_or_else(|e| panic!("write {id}: {e}\n{}", c.logs()));
        acked.push(id);
    }
    for s in &mut c.servers {
        s.kill9();
    }
    for s in &mut c.servers {
        s.start();
    }
    c.wait_leader_everywhere(Duration::from_secs(60));
    for s in &c.servers {
        let mut ids = Vec::new();
        wait_until("every server to serve its state again", Duration::from_secs(30), || {
            ids = job_ids(s, false).unwrap_or_default();
            !ids.is_empty()
        });
        let missing: Vec<&String> = acked.iter().filter(|id| !ids.contains(id)).collect();
        assert!(missing.is_empty(), "{} lost acknowledged jobs after kill -9 of all servers: {missing:?}", s.ip);
    }
    // and the cluster takes writes again
    register(&c.servers[0].url("/v1/jobs"), "after-restart").unwrap();
}

#[test]
fn a_follower_far_behind_catches_up_through_a_snapshot() {
    if !is_root() {
        eprintln!("skipping: needs root (as CI runs it)");
        return;
    }
    let _one = serial();
    // Snapshots every 100 entries and 20 trailing entries: the log a stopped follower needs is gone quickly.
    let config = "server {\n  raft_snapshot_threshold = 100\n  raft_snapshot_interval = \"200ms\"\n  raft_trailing_logs = 20\n}\n";
    let mut c = Cluster::start_with_config("cluster-snap", 74, 3, Some(config));
    let leader = c.wait_leader_everywhere(Duration::from_secs(30));
    let behind = (leader + 1) % 3;
    c.servers[behind].kill9();
    let url = |i: usize| c.servers[leader].url(&format!("/v1/var/catchup/{i}"));
    for i in 0..400 {
        let (code, body) = http("PUT", &url(i), Some("{\"Items\":{\"n\":\"x\"}}")).unwrap();
        assert_eq!(code, 200, "{body}");
    }
    assert!(c.servers[leader].log().contains("built raft snapshot"), "the leader should have compacted its log");
    c.servers[behind].start();
    let s = &c.servers[behind];
    wait_until("the lagging follower to catch up", Duration::from_secs(30), || {
        let (code, body) = s.get("/v1/vars?stale&prefix=catchup");
        code == 200 && serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v.as_array().map(|a| a.len())) == Some(400)
    });
    assert!(s.log().contains("installed raft snapshot from the leader"), "the follower caught up without a snapshot:\n{}", s.log());
}

fn cli(addr: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(common::agent::bin()).args(args).env("DROVER_ADDR", addr).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn operators_list_transfer_and_remove_servers() {
    if !is_root() {
        eprintln!("skipping: needs root (as CI runs it)");
        return;
    }
    let _one = serial();
    let mut c = Cluster::start("cluster-ops", 75, 3);
    let leader = c.wait_leader_everywhere(Duration::from_secs(30));
    let addr = c.servers[0].url("");
    let (ok, out) = cli(&addr, &["server", "members"]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("alive").count(), 3, "{out}");
    assert_eq!(out.matches("true").count(), 1, "exactly one leader: {out}");
    let (ok, out) = cli(&addr, &["operator", "raft", "list-peers"]);
    assert!(ok && out.matches("leader").count() == 1 && out.matches("follower").count() == 2, "{out}");

    // The scheduler configuration: Nomad's default, check-and-set, replicated to every server.
    let (code, body) = c.servers[0].get("/v1/operator/scheduler/configuration");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["SchedulerConfig"]["SchedulerAlgorithm"], "binpack");
    assert_eq!(v["SchedulerConfig"]["PreemptionConfig"]["SystemSchedulerEnabled"], true);
    let spread = r#"{"SchedulerAlgorithm":"spread","PreemptionConfig":{"SystemSchedulerEnabled":true,"ServiceSchedulerEnabled":true}}"#;
    let url = c.servers[1].url("/v1/operator/scheduler/configuration");
    let (_, body) = http("PUT", &format!("{url}?cas=999"), Some(spread)).unwrap();
    assert!(body.contains("\"Updated\":false"), "a stale cas must not apply: {body}");
    let modify = v["SchedulerConfig"]["ModifyIndex"].as_u64().unwrap();
    let (code, body) = http("PUT", &format!("{url}?cas={modify}"), Some(spread)).unwrap();
    assert!(code == 200 && body.contains("\"Updated\":true"), "{body}");
    for s in &c.servers {
        let (_, body) = s.get("/v1/operator/scheduler/configuration");
        assert!(
            body.contains("\"SchedulerAlgorithm\":\"spread\"") && body.contains("\"ServiceSchedulerEnabled\":true"),
            "{}: {body}",
            s.ip
        );
    }
    let (code, body) = http("PUT", &url, Some(r#"{"SchedulerAlgorithm":"random"}"#)).unwrap();
    assert!(code == 400 && body.contains("random"), "{code} {body}");

    // Transfer leadership to a chosen follower, asked through another server.
    let target = (leader + 1) % 3;
    let asked_via = c.servers[(leader + 2) % 3].url("");
    let t = Instant::now();
    let (ok, out) = cli(&asked_via, &["operator", "raft", "transfer-leadership", "-peer-address", &c.servers[target].rpc_addr()]);
    assert!(ok, "transfer failed: {out}\n{}", c.logs());
    let now = c.wait_leader_other_than(Some(&c.servers[leader].rpc_addr()), Duration::from_secs(10));
    assert_eq!(now, target, "leadership went to {} instead of {}", c.servers[now].ip, c.servers[target].ip);
    println!("leadership transferred in {:?}: {out}", t.elapsed());
    register(&c.servers[leader].url("/v1/jobs"), "after-transfer").unwrap();

    // A server gone for good is removed from the configuration.
    let gone = (target + 1) % 3;
    c.servers[gone].kill9();
    let (ok, out) = cli(&c.servers[target].url(""), &["operator", "raft", "remove-peer", "-peer-address", &c.servers[gone].rpc_addr()]);
    assert!(ok, "{out}");
    let (_, out) = cli(&c.servers[target].url(""), &["operator", "raft", "list-peers"]);
    assert!(!out.contains(&c.servers[gone].rpc_addr()) && out.lines().count() == 3, "{out}");
    let (_, peers) = c.servers[target].get("/v1/status/peers");
    assert_eq!(serde_json::from_str::<Vec<String>>(&peers).unwrap().len(), 2, "{peers}");
    register(&c.servers[target].url("/v1/jobs"), "after-remove").unwrap();
}

/// Starts a client agent (raw_exec enabled) bound to `ip` that knows only `server`; returns it and
/// its data dir (its log is `agent.log` there).
fn start_client(c: &Cluster, ip: &str, server: &str) -> (std::process::Child, std::path::PathBuf) {
    let dir = c.root.join("client");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("client.hcl"), "plugin \"raw_exec\" {\n  config {\n    enabled = true\n  }\n}\n").unwrap();
    let log = std::fs::File::create(dir.join("agent.log")).unwrap();
    let client = std::process::Command::new(common::agent::bin())
        .args(["agent", "-client", "-bind", ip, "-servers", server, "-config"])
        .arg(dir.join("client.hcl"))
        .arg("-data-dir")
        .arg(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    (client, dir)
}

#[test]
fn a_client_rotates_to_a_live_server_when_its_server_dies() {
    if !is_root() {
        eprintln!("skipping: needs root (as CI runs it)");
        return;
    }
    let _one = serial();
    let mut c = Cluster::start("cluster-client", 76, 3);
    c.wait_leader_everywhere(Duration::from_secs(30));
    // The client knows only the first server; it learns the others from heartbeat replies.
    let (mut client, dir) = start_client(&c, "127.0.76.10", &c.servers[0].rpc_addr());
    let s1 = &c.servers[1];
    wait_until("the client node to be ready", Duration::from_secs(30), || s1.get("/v1/nodes").1.contains("\"ready\""));
    std::thread::sleep(Duration::from_secs(1));
    c.servers[0].kill9();
    c.wait_leader_everywhere(Duration::from_secs(20));

    // Work still reaches the client, through a server it learned about.
    let job = serde_json::json!({ "Job": { "ID": "after-failover", "Type": "batch", "TaskGroups": [{ "Name": "g", "Count": 1,
        "Tasks": [{ "Name": "t", "Driver": "raw_exec", "Config": { "command": "/bin/sh", "args": ["-c", "echo rotated"] },
                    "Resources": { "CPU": 50, "MemoryMB": 32 } }] }] } })
    .to_string();
    let s1 = &c.servers[1];
    let (code, body) = http("PUT", &s1.url("/v1/jobs"), Some(&job)).unwrap();
    assert_eq!(code, 200, "{body}");
    let client_log = || std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
    wait_until("the allocation to complete on the client", Duration::from_secs(60), || {
        s1.get("/v1/job/after-failover/allocations").1.contains("\"ClientStatus\":\"complete\"")
    });
    let (_, nodes) = s1.get("/v1/nodes");
    assert!(nodes.contains("\"ready\""), "the node should still be ready: {nodes}\n{}", client_log());
    let _ = client.kill();
    let _ = client.wait();
}

#[test]
fn a_client_joining_through_a_follower_keeps_its_heartbeat_timer() {
    if !is_root() {
        eprintln!("skipping: needs root (as CI runs it)");
        return;
    }
    let _one = serial();
    // A 2 s TTL and 1 s grace: a node whose registration the leader's timers never saw was counted
    // from the leadership's start, so one joining later through a follower was marked down at the
    // leader's next check.
    let config = "server {\n  min_heartbeat_ttl = \"2s\"\n  heartbeat_grace = \"1s\"\n}\n";
    let c = Cluster::start_with_config("cluster-join", 78, 3, Some(config));
    let leader = c.wait_leader_everywhere(Duration::from_secs(30));
    let follower = (leader + 1) % 3;
    std::thread::sleep(Duration::from_secs(4));
    let (mut client, _) = start_client(&c, "127.0.78.10", &c.servers[follower].rpc_addr());
    let s = &c.servers[leader];
    wait_until("the client node to be ready", Duration::from_secs(30), || s.get("/v1/nodes").1.contains("\"ready\""));
    std::thread::sleep(Duration::from_secs(5));
    let logs = c.logs();
    let _ = client.kill();
    let _ = client.wait();
    assert!(!logs.contains("node missed its heartbeat"), "the node was marked down while it heartbeat:\n{logs}");
    assert!(s.get("/v1/nodes").1.contains("\"ready\""));
}
