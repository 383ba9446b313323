//! The task lifecycle in real busybox containers on a `drover agent -dev` (issue 6): the restart
//! policy's exact counts (`mode = "fail"` gives up after `attempts` restarts, `mode = "delay"` keeps
//! trying after the interval), a task over its memory limit reported as "OOM Killed", and the
//! cpu, memory and pids limits visible in the task's cgroups.

mod common;

use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::Value;

fn job(id: &str, restart: &str, memory: u32, script: &str) -> String {
    format!(
        r#"job "{id}" {{
  type = "batch"
  group "g" {{
    reschedule {{
      attempts  = 0
      unlimited = false
    }}
    restart {{
{restart}
    }}
    task "t" {{
      driver = "docker"
      config {{
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "{script}"]
      }}
      resources {{
        cpu    = 250
        memory = {memory}
      }}
    }}
  }}
}}
"#
    )
}

/// The job's first allocation.
fn first_alloc(agent: &DevAgent, job: &str) -> Option<Value> {
    let allocs = get_json(&agent.url(&format!("/v1/job/{job}/allocations")));
    let id = allocs.as_array()?.iter().min_by_key(|a| a["CreateIndex"].as_u64())?["ID"].as_str()?.to_string();
    Some(get_json(&agent.url(&format!("/v1/allocation/{id}"))))
}

fn count(events: &[(String, String)], kind: &str) -> usize {
    events.iter().filter(|(k, _)| k == kind).count()
}

fn run(agent: &DevAgent, dir: &std::path::Path, id: &str, hcl: &str) {
    let file = dir.join(format!("{id}.hcl"));
    std::fs::write(&file, hcl).unwrap();
    let out = agent.cli(&["job", "run", "-detach", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn restart_policy_counts_oom_and_cgroup_limits() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real containers and needs root");
        return;
    }
    let started = Instant::now();
    let dir = temp_dir("e2e-lifecycle");
    let images = dir.join("images");
    build_image(&images);
    let agent = DevAgent::start(&dir, &images, free_port(), free_port());
    let _p = ["rfail", "rdelay", "oom", "limits"].map(|j| PurgeOnDrop { base: agent.addr(), job: j });

    // mode = "fail", attempts = 2: three starts, then Not Restarting and a failed allocation.
    let fail = "      attempts = 2\n      interval = \"1m\"\n      delay    = \"200ms\"\n      mode     = \"fail\"";
    run(&agent, &dir, "rfail", &job("rfail", fail, 32, "echo started; exit 1"));
    // mode = "delay", attempts = 1 per 5 s interval (Nomad's minimum): it keeps restarting, never gives up.
    let delay = "      attempts = 1\n      interval = \"5s\"\n      delay    = \"200ms\"\n      mode     = \"delay\"";
    run(&agent, &dir, "rdelay", &job("rdelay", delay, 32, "exit 1"));
    // A shell doubling a string past a 32 MB limit.
    let once = "      attempts = 0\n      mode     = \"fail\"";
    run(&agent, &dir, "oom", &job("oom", once, 32, "a=aaaaaaaaaaaaaaaa; while true; do a=$a$a; done"));
    // A long-running task whose cgroups are read.
    run(&agent, &dir, "limits", &job("limits", once, 48, "sleep 300"));

    wait_until("rfail to give up", Duration::from_secs(60), || first_alloc(&agent, "rfail").is_some_and(|a| a["ClientStatus"] == "failed"));
    let a = first_alloc(&agent, "rfail").unwrap();
    let t = &a["TaskStates"]["t"];
    let events = task_events(t);
    eprintln!("rfail events: {events:?}");
    assert_eq!(t["Restarts"], 2, "{t}");
    // Tasks keep their last 10 events (as Nomad): the 2 restarts and 3 exits are all among them.
    assert_eq!(count(&events, "Restarting"), 2, "{events:?}");
    assert_eq!(count(&events, "Terminated"), 3, "{events:?}");
    // Three real starts: the task's stdout has three lines.
    let alloc_id = a["ID"].as_str().unwrap();
    let (code, log) = http("GET", &agent.url(&format!("/v1/client/fs/logs/{alloc_id}?task=t&type=stdout&plain=true")), None).unwrap();
    assert_eq!((code, log.matches("started").count()), (200, 3), "{log}");
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(last, ("Not Restarting".to_string(), "Exceeded allowed attempts 2 in interval 1m0s and mode is \"fail\"".to_string()));
    assert_eq!((t["State"].as_str(), t["Failed"].as_bool()), (Some("dead"), Some(true)), "{t}");
    let allocs = get_json(&agent.url("/v1/job/rfail/allocations"));
    assert_eq!(allocs.as_array().map(Vec::len), Some(1), "reschedule attempts = 0 places no replacement: {allocs}");

    // delay mode: within a few intervals it has restarted more often than `attempts`, and is not dead.
    wait_until("rdelay to restart past its attempts", Duration::from_secs(30), || {
        first_alloc(&agent, "rdelay").is_some_and(|a| a["TaskStates"]["t"]["Restarts"].as_u64().unwrap_or(0) >= 3)
    });
    let a = first_alloc(&agent, "rdelay").unwrap();
    let events = task_events(&a["TaskStates"]["t"]);
    assert_eq!(count(&events, "Not Restarting"), 0, "{events:?}");
    assert_ne!(a["ClientStatus"], "failed", "{a}");
    assert!(events.iter().any(|(k, m)| k == "Restarting" && m.contains("restarting in")), "{events:?}");

    // OOM: reported as such.
    wait_until("the OOM task to end", Duration::from_secs(60), || {
        first_alloc(&agent, "oom").is_some_and(|a| a["ClientStatus"] == "failed")
    });
    let a = first_alloc(&agent, "oom").unwrap();
    let events = task_events(&a["TaskStates"]["t"]);
    eprintln!("oom events: {events:?}");
    assert!(events.iter().any(|(k, _)| k == "OOM Killed"), "{events:?}");
    assert!(events.iter().any(|(k, m)| k == "Not Restarting" && m == "Policy allows no restarts"), "{events:?}");

    // cgroup limits of the running task: memory 48 MB hard, cpu shares = 250 MHz, a pids limit.
    wait_until("the limits task to run", Duration::from_secs(60), || {
        first_alloc(&agent, "limits").is_some_and(|a| a["ClientStatus"] == "running")
    });
    let alloc_id = first_alloc(&agent, "limits").unwrap()["ID"].as_str().unwrap().to_string();
    let cg = |ctrl: &str, file: &str| {
        let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
        let base = if v2 { format!("/sys/fs/cgroup/drover/{alloc_id}-t") } else { format!("/sys/fs/cgroup/{ctrl}/drover/{alloc_id}-t") };
        std::fs::read_to_string(format!("{base}/{file}")).unwrap_or_else(|e| panic!("{base}/{file}: {e}")).trim().to_string()
    };
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        assert_eq!(cg("", "memory.max"), (48u64 * 1024 * 1024).to_string());
        assert_ne!(cg("", "pids.max"), "max");
        assert!(cg("", "cpu.weight").parse::<u64>().unwrap() > 0);
    } else {
        assert_eq!(cg("memory", "memory.limit_in_bytes"), (48u64 * 1024 * 1024).to_string());
        assert_eq!(cg("cpu", "cpu.shares"), "250");
        assert_ne!(cg("pids", "pids.max"), "max");
    }
    eprintln!("lifecycle checked in {:.1}s", started.elapsed().as_secs_f64());
}
