//! End to end: the native service registry follows the running, healthy allocations — through a
//! scale 1 → 5 → 2, a client that dies, and a node that drains. One server and two client-only
//! agents on 127.0.112.x; raw_exec tasks serve http (busybox httpd) behind an http check.
//!
//! After every step the healthy registrations must be exactly the running allocations (by
//! allocation id, with the address and port each was given); between steps a sampler checks every
//! 100 ms that no healthy registration names an allocation that is not running.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::agent::*;
use common::cluster::{Cluster, ServerProc};
use serde_json::Value;

const JOB: &str = r#"job "webreg" {
  update {
    max_parallel     = 2
    min_healthy_time = "500ms"
  }
  group "g" {
    count          = 1
    shutdown_delay = "1s"
    network {
      port "http" {}
    }
    service {
      name     = "webreg"
      port     = "http"
      provider = "nomad"
      check {
        type     = "http"
        path     = "/"
        interval = "200ms"
        timeout  = "1s"
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "mkdir -p $NOMAD_TASK_DIR/www && echo ok > $NOMAD_TASK_DIR/www/index.html && exec /usr/bin/busybox httpd -f -p $NOMAD_PORT_http -h $NOMAD_TASK_DIR/www"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

fn json(server: &ServerProc, path: &str) -> Value {
    serde_json::from_str(&server.get(path).1).unwrap_or(Value::Null)
}

/// Running allocations: id → "ip:port".
fn running(server: &ServerProc) -> BTreeSet<(String, String)> {
    let allocs = json(server, "/v1/job/webreg/allocations");
    allocs
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .map(|a| {
            let id = a["ID"].as_str().unwrap_or("").to_string();
            let full = json(server, &format!("/v1/allocation/{id}"));
            let p = &full["AllocatedResources"]["Shared"]["Ports"][0];
            (id, format!("{}:{}", p["HostIP"].as_str().unwrap_or(""), p["Value"]))
        })
        .collect()
}

/// Healthy registrations: alloc id → "ip:port".
fn registered(server: &ServerProc) -> BTreeSet<(String, String)> {
    let regs = json(server, "/v1/service/webreg?healthy=true");
    regs.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r["AllocID"].as_str().unwrap_or("").to_string(), format!("{}:{}", r["Address"].as_str().unwrap_or(""), r["Port"])))
        .collect()
}

fn settle(server: &ServerProc, step: &str, want: usize) {
    let t = std::time::Instant::now();
    let deadline = t + Duration::from_secs(60);
    loop {
        let (run, reg) = (running(server), registered(server));
        if run.len() == want && run == reg {
            eprintln!("{step}: registry equals the {want} running allocations after {:?}", t.elapsed());
            return;
        }
        if std::time::Instant::now() >= deadline {
            let allocs = json(server, "/v1/job/webreg/allocations");
            let rows: Vec<String> = allocs
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    format!(
                        "{} {} v{} {}/{} {}",
                        a["ID"], a["NodeID"], a["JobVersion"], a["DesiredStatus"], a["ClientStatus"], a["DesiredDescription"]
                    )
                })
                .collect();
            let evals = json(server, "/v1/job/webreg/evaluations");
            panic!(
                "{step}: registry never matched the running allocations:\nrunning {run:?}\nregistered {reg:?}\nallocations:\n{}\nevaluations: {evals}\nserver log:\n{}",
                rows.join("\n"),
                server.log()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn registry_follows_scaling_a_dying_client_and_a_drain() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real agents and needs root");
        return;
    }
    let c = Cluster::start_with_config("e2e-svcreg", 112, 1, Some("server {\n  heartbeat_grace = \"1s\"\n}\n"));
    // Dropped last: if an assertion fails while client a is dead, its executors have no agent to stop them.
    let _reap = ReapExecutors(c.root.clone());
    let server = &c.servers[0];
    let mut a = Some(ClientAgent::start(&c.root.join("a"), "127.0.112.10", &server.rpc_addr(), &[]));
    let _b = ClientAgent::start(&c.root.join("b"), "127.0.112.11", &server.rpc_addr(), &[]);
    let _purge = PurgeOnDrop { base: server.url(""), job: "webreg" };
    wait_until("two ready client nodes", Duration::from_secs(30), || {
        json(server, "/v1/nodes").as_array().is_some_and(|n| n.iter().filter(|n| n["Status"] == "ready").count() == 2)
    });

    // The sampler: a healthy registration never names an allocation that is not running.
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(AtomicU64::new(0));
    let stale: Arc<Mutex<Vec<String>>> = Arc::default();
    let sampler = {
        let (stop, samples, stale) = (stop.clone(), samples.clone(), stale.clone());
        let base = server.url("");
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let regs = http("GET", &format!("{base}/v1/service/webreg?healthy=true"), None).ok();
                let allocs = http("GET", &format!("{base}/v1/job/webreg/allocations"), None).ok();
                if let (Some((200, regs)), Some((200, allocs))) = (regs, allocs) {
                    let regs: Value = serde_json::from_str(&regs).unwrap_or(Value::Null);
                    let allocs: Value = serde_json::from_str(&allocs).unwrap_or(Value::Null);
                    for r in regs.as_array().into_iter().flatten() {
                        let a = allocs.as_array().into_iter().flatten().find(|a| a["ID"] == r["AllocID"]);
                        // lost allocations of a dead client still answer: their executors outlive the agent
                        let fine = a.is_some_and(|a| a["ClientStatus"] == "running" || a["ClientStatus"] == "lost");
                        if !fine {
                            stale.lock().unwrap().push(format!(
                                "{} → {:?}",
                                r["AllocID"],
                                a.map(|a| (&a["ClientStatus"], &a["DesiredStatus"]))
                            ));
                        }
                    }
                    samples.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let file = c.root.join("webreg.hcl");
    std::fs::write(&file, JOB).unwrap();
    let out = std::process::Command::new(bin()).args(["job", "run"]).arg(&file).env("DROVER_ADDR", server.url("")).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    settle(server, "count 1", 1);

    for count in [5, 2] {
        let body = format!(r#"{{"Count": {count}, "Target": {{"Group": "g"}}}}"#);
        let (code, resp) = http("POST", &server.url("/v1/job/webreg/scale"), Some(&body)).unwrap();
        assert_eq!(code, 200, "{resp}");
        settle(server, &format!("scaled to {count}"), count);
    }

    // Client a dies: its node goes down, its allocations are lost and replaced on b.
    let node_a = json(server, "/v1/nodes").as_array().unwrap().iter().find(|n| n["Address"] == "127.0.112.10").unwrap()["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let on_a = running(server).iter().filter(|(id, _)| json(server, &format!("/v1/allocation/{id}"))["NodeID"] == node_a.as_str()).count();
    eprintln!("{on_a} of 2 allocations ran on the client that is killed");
    drop(a.take());
    let t = std::time::Instant::now();
    wait_until("client a's node to go down", Duration::from_secs(40), || {
        json(server, "/v1/nodes").as_array().is_some_and(|n| n.iter().any(|n| n["ID"] == node_a.as_str() && n["Status"] == "down"))
    });
    eprintln!("client a killed: its node down after {:?}", t.elapsed());
    settle(server, "client a down", 2);
    let on_dead =
        running(server).iter().filter(|(id, _)| json(server, &format!("/v1/allocation/{id}"))["NodeID"] == node_a.as_str()).count();
    assert_eq!(on_dead, 0, "allocations still counted as running on the down node");

    // Client a back; then b drains: its allocations move to a.
    a = Some(ClientAgent::start(&c.root.join("a"), "127.0.112.10", &server.rpc_addr(), &[]));
    wait_until("client a ready again", Duration::from_secs(30), || {
        json(server, "/v1/nodes").as_array().is_some_and(|n| n.iter().filter(|n| n["Status"] == "ready").count() == 2)
    });
    let node_b = json(server, "/v1/nodes").as_array().unwrap().iter().find(|n| n["Address"] == "127.0.112.11").unwrap()["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let body = r#"{"DrainSpec": {"Deadline": 60000000000}}"#;
    let (code, resp) = http("POST", &server.url(&format!("/v1/node/{node_b}/drain")), Some(body)).unwrap();
    assert_eq!(code, 200, "{resp}");
    settle(server, "node b drained", 2);
    wait_until("the drain to move every allocation off b", Duration::from_secs(60), || {
        running(server).iter().all(|(id, _)| json(server, &format!("/v1/allocation/{id}"))["NodeID"] != node_b.as_str())
    });
    settle(server, "after the drain", 2);

    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let stale = stale.lock().unwrap();
    eprintln!("sampler: {} samples, {} stale healthy registrations", samples.load(Ordering::Relaxed), stale.len());
    assert!(samples.load(Ordering::Relaxed) > 50, "too few samples");
    assert!(stale.is_empty(), "healthy registrations of allocations that were not running: {:?}", &stale[..stale.len().min(10)]);
    drop(_purge);
    assert!(a.is_some());
}
