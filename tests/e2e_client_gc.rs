//! End to end: the client's garbage collection of ended allocations (issue 6, "GC of terminal
//! allocation dirs"), with a real server and a client-only agent on 127.0.123.x. Past `gc_max_allocs`
//! the oldest ended allocations' directories go (the newest stay, and so does every running one); an
//! allocation the servers forgot while the agent was down — its job purged, the allocation collected —
//! has its still-running executors stopped and its directories removed when the agent comes back.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::agent::*;
use common::cluster::Cluster;
use serde_json::Value;

fn batch_job(id: &str) -> String {
    format!(
        r#"{{"Job":{{"ID":"{id}","Type":"batch","TaskGroups":[{{"Name":"g","Count":1,
        "RestartPolicy":{{"Attempts":0,"Mode":"fail"}},"ReschedulePolicy":{{"Attempts":0,"Unlimited":false}},
        "Tasks":[{{"Name":"t","Driver":"raw_exec","Config":{{"command":"/bin/sh","args":["-c","echo done-{id}"]}},
        "Resources":{{"CPU":20,"MemoryMB":16}}}}]}}]}}}}"#
    )
}

fn allocs_of(base: &str, job: &str) -> Vec<Value> {
    get_json(&format!("{base}/v1/job/{job}/allocations")).as_array().cloned().unwrap_or_default()
}

fn alloc_dirs(client_dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(client_dir.join("client").join("alloc"))
        .map(|d| d.flatten().filter_map(|e| e.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn ended_allocations_are_collected_past_gc_max_allocs_and_when_the_servers_forget_them() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real tasks and needs root");
        return;
    }
    let c = Cluster::start_with_config("e2e-clientgc", 123, 1, Some("server {\n  heartbeat_grace = \"1s\"\n}\n"));
    c.wait_leader_everywhere(Duration::from_secs(30));
    let server = &c.servers[0];
    let base = server.url("").trim_end_matches('/').to_string();
    let dir: PathBuf = temp_dir("clientgc-client");
    let _reap = ReapExecutors(dir.clone());
    let gc_config = dir.join("gc.hcl");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&gc_config, "client {\n  gc_max_allocs = 3\n}\n").unwrap();
    let gc_arg = gc_config.display().to_string();
    let mut client = ClientAgent::start(&dir, "127.0.123.10", &server.rpc_addr(), &["-config", &gc_arg]);
    wait_until("the client node to be ready", Duration::from_secs(30), || server.get("/v1/nodes").1.contains("\"ready\""));

    // Five batch allocations, one after another, each complete before the next.
    let mut ended = Vec::new();
    for i in 0..5 {
        let job = format!("gc-batch-{i}");
        let (code, body) = http("PUT", &server.url("/v1/jobs"), Some(&batch_job(&job))).unwrap();
        assert_eq!(code, 200, "{body}");
        wait_until(&format!("{job} to complete"), Duration::from_secs(30), || {
            allocs_of(&base, &job).first().is_some_and(|a| a["ClientStatus"] == "complete")
        });
        ended.push(allocs_of(&base, &job)[0]["ID"].as_str().unwrap().to_string());
    }
    // The two oldest go; the three newest (gc_max_allocs) stay, though the servers still have all five.
    wait_until("the client to collect down to gc_max_allocs", Duration::from_secs(60), || alloc_dirs(&dir).len() <= 3);
    let mut newest = ended[2..].to_vec();
    newest.sort();
    assert_eq!(alloc_dirs(&dir), newest, "the newest ended allocations are the ones kept\n{}", client.log());
    for id in &ended[..2] {
        assert_eq!(http("GET", &server.url(&format!("/v1/allocation/{id}")), None).unwrap().0, 200, "the server still has {id}");
    }
    assert!(client.log().contains("more allocations than gc_max_allocs"), "{}", client.log());

    // A running allocation whose job is purged and collected while the agent is down.
    let svc = sleeper("gc-svc", "", "count = 1", 16);
    let file = dir.join("gc-svc.nomad.hcl");
    std::fs::write(&file, svc).unwrap();
    let out = std::process::Command::new(bin())
        .args(["job", "run", "-detach", file.to_str().unwrap()])
        .env("DROVER_ADDR", &base)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    wait_until("gc-svc to run", Duration::from_secs(30), || {
        allocs_of(&base, "gc-svc").first().is_some_and(|a| a["ClientStatus"] == "running")
    });
    let svc_id = allocs_of(&base, "gc-svc")[0]["ID"].as_str().unwrap().to_string();
    let executors =
        || processes_mentioning(&format!("executor --state-dir {}", dir.join("client").join("executors").join(&svc_id).display()));
    assert_eq!(executors().len(), 1, "one executor for gc-svc");
    let task_pid: i32 = std::fs::read_to_string(dir.join("client").join("executors").join(&svc_id).join("t").join("task.pid"))
        .expect("task pid file")
        .trim()
        .parse()
        .expect("task pid");
    let task_alive = || Path::new(&format!("/proc/{task_pid}")).exists();

    client.child.kill().unwrap();
    client.child.wait().unwrap();
    let (code, body) = http("DELETE", &server.url("/v1/job/gc-svc?purge=true"), None).unwrap();
    assert_eq!(code, 200, "{body}");
    wait_until("the node to be marked down", Duration::from_secs(60), || server.get("/v1/nodes").1.contains("\"down\""));
    wait_until("the server to collect the allocation", Duration::from_secs(30), || {
        let _ = http("PUT", &server.url("/v1/system/gc"), None);
        http("GET", &server.url(&format!("/v1/allocation/{svc_id}")), None).unwrap().0 == 404
    });
    assert_eq!(executors().len(), 1, "the executor outlived its agent");
    assert!(task_alive(), "the task outlived its agent");

    // The agent comes back: the forgotten allocation's executor is stopped and its directories go.
    drop(client);
    let client = ClientAgent::start(&dir, "127.0.123.10", &server.rpc_addr(), &["-config", &gc_arg]);
    wait_until("the forgotten allocation's executor to stop", Duration::from_secs(30), || executors().is_empty());
    wait_until("its directories to be removed", Duration::from_secs(30), || {
        !alloc_dirs(&dir).contains(&svc_id) && !dir.join("client").join("executors").join(&svc_id).exists()
    });
    assert!(client.log().contains("the servers no longer have it"), "{}", client.log());
    assert!(!task_alive(), "the task process {task_pid} was stopped");
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
}
