//! Tasks outlive their agent (issue 6): five busybox httpd containers (two jobs) keep serving while the
//! `drover agent -dev` is killed with SIGKILL; the restarted agent re-attaches to them — the same host
//! processes (asserted by PID from each task's cgroup), no restart, no new start — and stopping one
//! job then stops its container while the other four keep serving.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::agent::*;

fn job(id: &str, count: u32) -> String {
    format!(
        r#"job "{id}" {{
  group "web" {{
    count = {count}
    network {{
      port "http" {{}}
    }}
    task "httpd" {{
      driver = "container"
      config {{
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "date +%s%N >> /alloc/starts; mkdir -p /local/www && echo up > /local/www/index.html && exec httpd -f -p $NOMAD_PORT_http -h /local/www"]
      }}
      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}
"#
    )
}

/// Running allocations of `job`: id → host port.
fn running(agent: &DevAgent, job: &str) -> BTreeMap<String, u64> {
    let allocs = get_json(&agent.url(&format!("/v1/job/{job}/allocations")));
    allocs
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .map(|a| {
            let id = a["ID"].as_str().unwrap().to_string();
            let full = get_json(&agent.url(&format!("/v1/allocation/{id}")));
            let port = full["AllocatedResources"]["Shared"]["Ports"][0]["Value"].as_u64().unwrap_or(0);
            (id, port)
        })
        .collect()
}

fn serves(port: u64) -> bool {
    http("GET", &format!("http://127.0.0.1:{port}/"), None).is_ok_and(|(c, b)| c == 200 && b.contains("up"))
}

/// Host PIDs of the task's processes, from its cgroup (cgroup v1 `pids` hierarchy, or the unified one).
fn task_pids(alloc_id: &str) -> Vec<String> {
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let dir = if v2 { format!("/sys/fs/cgroup/drover/{alloc_id}-httpd") } else { format!("/sys/fs/cgroup/pids/drover/{alloc_id}-httpd") };
    let pids: Vec<String> =
        std::fs::read_to_string(format!("{dir}/cgroup.procs")).unwrap_or_default().lines().map(str::to_string).collect();
    // Only the task's main processes: httpd forks a short-lived child for each request it serves.
    let parent = |pid: &str| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_string)).unwrap_or_default()
    };
    // (A process already gone — a request's child that exited — has no parent to read.)
    let mut main: Vec<String> = pids.iter().filter(|p| !parent(p).is_empty() && !pids.contains(&parent(p))).cloned().collect();
    main.sort();
    main
}

#[test]
fn containers_survive_an_agent_kill_and_are_reattached() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real containers and needs root");
        return;
    }
    let dir = temp_dir("e2e-reattach");
    let images = dir.join("images");
    build_image(&images);
    let (http_port, rpc_port) = (free_port(), free_port());
    let mut agent = DevAgent::start(&dir, &images, http_port, rpc_port);
    let _p = ["four", "solo"].map(|j| PurgeOnDrop { base: agent.addr(), job: j });
    for (id, count) in [("four", 4), ("solo", 1)] {
        let file = dir.join(format!("{id}.hcl"));
        std::fs::write(&file, job(id, count)).unwrap();
        let out = agent.cli(&["job", "run", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    wait_until("5 containers serving", Duration::from_secs(60), || {
        let (four, solo) = (running(&agent, "four"), running(&agent, "solo"));
        four.len() == 4 && solo.len() == 1 && four.values().chain(solo.values()).all(|p| serves(*p))
    });
    let four = running(&agent, "four");
    let solo = running(&agent, "solo");
    let all: BTreeMap<String, u64> = four.iter().chain(solo.iter()).map(|(k, v)| (k.clone(), *v)).collect();
    let pids_before: BTreeMap<String, Vec<String>> = all.keys().map(|id| (id.clone(), task_pids(id))).collect();
    assert!(pids_before.values().all(|p| !p.is_empty()), "{pids_before:?}");

    // SIGKILL the agent: every container keeps serving.
    let killed = Instant::now();
    agent.child.kill().unwrap();
    agent.child.wait().unwrap();
    for (id, port) in &all {
        assert!(serves(*port), "allocation {id} stopped serving when its agent died");
    }
    eprintln!("5 of 5 containers served with the agent dead ({:.1}s after the kill)", killed.elapsed().as_secs_f64());

    // Restarted on the same data dir: the same processes, not restarted, not started again.
    // (Into the same variable: it is dropped after the purge guards, as the first agent would have been.)
    agent = DevAgent::start(&dir, &images, http_port, rpc_port);
    wait_until("the allocations to be running again", Duration::from_secs(60), || {
        running(&agent, "four").len() == 4 && running(&agent, "solo").len() == 1
    });
    for (id, port) in &all {
        assert_eq!(task_pids(id), pids_before[id], "allocation {id}: its task processes changed across the agent restart");
        assert!(serves(*port), "{id}");
        let a = get_json(&agent.url(&format!("/v1/allocation/{id}")));
        assert_eq!(a["TaskStates"]["httpd"]["Restarts"], 0, "{a}");
        let (code, starts) = http("GET", &agent.url(&format!("/v1/client/fs/cat/{id}?path=alloc/starts")), None).unwrap();
        assert_eq!((code, starts.lines().count()), (200, 1), "allocation {id} started again: {starts}");
    }

    // Stopping one job stops its container; the other four keep serving.
    let out = agent.cli(&["job", "stop", "solo"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (solo_id, solo_port) = solo.iter().next().map(|(k, v)| (k.clone(), *v)).unwrap();
    wait_until("the stopped job's container to exit", Duration::from_secs(30), || task_pids(&solo_id).is_empty() && !serves(solo_port));
    for (id, port) in &four {
        assert!(serves(*port), "allocation {id} of the other job stopped serving");
        assert_eq!(task_pids(id), pids_before[id], "{id}");
    }
}
