//! End to end: deployments through a real `drover agent -dev`, with raw_exec tasks serving their job
//! version over busybox httpd and a native service whose http check gates their health.
//!
//! A traffic thread plays a client of the service: it refreshes the healthy instances from
//! `/v1/service/webdep?healthy=true` every 50 ms and sends requests to them one after another the
//! whole time, counting failures. A rolling update (max_parallel 1) must fail none and end with every
//! instance on the new version; a bad version (its check fails) with `auto_revert` must fail its
//! deployment within `healthy_deadline`, return the job to the previous version, and fail no request
//! either. Canaries: `canary = 1` over 3 allocations gives 1 new + 3 old until `deployment promote`,
//! then 3 new.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::Value;

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The job at `version` (the text its instances serve); `bad` serves nothing, so its check fails.
fn job(version: &str, canary: u32) -> String {
    format!(
        r#"job "webdep" {{
  update {{
    max_parallel      = 1
    canary            = {canary}
    min_healthy_time  = "1s"
    healthy_deadline  = "6s"
    progress_deadline = "30s"
    auto_revert       = true
  }}
  group "g" {{
    count          = 3
    shutdown_delay = "1s"
    network {{
      port "http" {{}}
    }}
    service {{
      name     = "webdep"
      port     = "http"
      provider = "nomad"
      check {{
        type     = "http"
        path     = "/index.html"
        interval = "200ms"
        timeout  = "1s"
      }}
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "mkdir -p $NOMAD_TASK_DIR/www && if [ \"$VERSION\" != bad ]; then echo $VERSION > $NOMAD_TASK_DIR/www/index.html; fi && exec /usr/bin/busybox httpd -f -p $NOMAD_PORT_http -h $NOMAD_TASK_DIR/www"]
      }}
      env {{
        VERSION = "{version}"
      }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

/// Requests sent through the registry's healthy instances, and what they answered.
#[derive(Default)]
struct Traffic {
    ok: AtomicU64,
    failed: AtomicU64,
    errors: Mutex<Vec<String>>,
    /// Answers by body (the version served).
    seen: Mutex<BTreeMap<String, u64>>,
    stop: AtomicBool,
}

impl Traffic {
    fn start(base: String) -> (Arc<Self>, std::thread::JoinHandle<()>) {
        let t = Arc::new(Self::default());
        let me = t.clone();
        let h = std::thread::spawn(move || {
            let mut instances: Vec<String> = Vec::new();
            let mut refreshed = Instant::now() - Duration::from_secs(1);
            let mut next = 0usize;
            while !me.stop.load(Ordering::Relaxed) {
                if refreshed.elapsed() >= Duration::from_millis(50) {
                    if let Ok((200, body)) = http("GET", &format!("{base}/v1/service/webdep?healthy=true"), None) {
                        if let Ok(Value::Array(regs)) = serde_json::from_str::<Value>(&body) {
                            instances = regs.iter().map(|r| format!("{}:{}", r["Address"].as_str().unwrap_or(""), r["Port"])).collect();
                        }
                    }
                    refreshed = Instant::now();
                }
                if instances.is_empty() {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                next = (next + 1) % instances.len();
                let target = &instances[next];
                match http("GET", &format!("http://{target}/index.html"), None) {
                    Ok((200, body)) => {
                        me.ok.fetch_add(1, Ordering::Relaxed);
                        *me.seen.lock().unwrap().entry(body.trim().to_string()).or_default() += 1;
                    }
                    other => {
                        me.failed.fetch_add(1, Ordering::Relaxed);
                        me.errors.lock().unwrap().push(format!("{target}: {other:?}"));
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        (t, h)
    }

    fn report(&self, what: &str) -> (u64, u64) {
        let (ok, failed) = (self.ok.load(Ordering::Relaxed), self.failed.load(Ordering::Relaxed));
        eprintln!("traffic during {what}: {ok} requests answered, {failed} failed; answers by version {:?}", self.seen.lock().unwrap());
        for e in self.errors.lock().unwrap().iter().take(5) {
            eprintln!("  failed: {e}");
        }
        (ok, failed)
    }
}

/// The job's allocations that the servers want running, with their job version and health.
fn running(agent: &DevAgent) -> Vec<Value> {
    let allocs = get_json(&agent.url("/v1/job/webdep/allocations"));
    allocs
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["DesiredStatus"] == "run" && a["ClientStatus"] == "running")
        .collect()
}

fn latest_deployment(agent: &DevAgent) -> Value {
    get_json(&agent.url("/v1/job/webdep/deployment"))
}

/// What each healthy registered instance serves, sorted.
fn served(agent: &DevAgent) -> Vec<String> {
    let regs = get_json(&agent.url("/v1/service/webdep?healthy=true"));
    let mut out: Vec<String> = regs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let url = format!("http://{}:{}/index.html", r["Address"].as_str().unwrap(), r["Port"]);
            http("GET", &url, None).map(|(_, b)| b.trim().to_string()).unwrap_or_else(|e| format!("error {e}"))
        })
        .collect();
    out.sort();
    out
}

fn run_job(agent: &DevAgent, dir: &std::path::Path, version: &str, canary: u32, detach: bool) -> std::process::Output {
    let file = dir.join(format!("webdep-{version}.hcl"));
    std::fs::write(&file, job(version, canary)).unwrap();
    let mut args = vec!["job", "run"];
    if detach {
        args.push("-detach");
    }
    let file = file.display().to_string();
    args.push(&file);
    agent.cli(&args)
}

#[test]
fn rolling_update_and_auto_revert_fail_no_request() {
    let Some((agent, dir)) = dev_agent("e2e-deploy") else { return };
    let _purge = PurgeOnDrop { base: agent.url(""), job: "webdep" };

    // Version 1: `job run` follows its first deployment to success.
    let out = run_job(&agent, &dir, "v1", 0, false);
    assert!(out.status.success(), "job run v1 failed:\n{}", text(&out));
    assert!(text(&out).contains("Monitoring deployment"), "{}", text(&out));
    let d1 = latest_deployment(&agent);
    assert_eq!(d1["Status"], "successful", "{d1}");
    assert_eq!(served(&agent), ["v1", "v1", "v1"]);
    let versions = get_json(&agent.url("/v1/job/webdep/versions"));
    assert_eq!(versions["Versions"][0]["Stable"], true, "a successful deployment marks its version stable: {versions}");

    // A rolling update to v2 under continuous traffic.
    let (traffic, handle) = Traffic::start(agent.url(""));
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let out = run_job(&agent, &dir, "v2", 0, false);
    let rollout = t.elapsed();
    assert!(out.status.success(), "job run v2 failed:\n{}", text(&out));
    println!("{}", text(&out));
    let d2 = latest_deployment(&agent);
    assert_eq!(d2["Status"], "successful", "{d2}");
    assert_eq!(d2["TaskGroups"]["g"]["HealthyAllocs"], 3, "{d2}");
    assert_eq!(d2["TaskGroups"]["g"]["PlacedAllocs"], 3, "{d2}");
    std::thread::sleep(Duration::from_millis(500));
    traffic.stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    let (ok, failed) = traffic.report("the rolling update v1 → v2");
    eprintln!("timing: rolling update of 3 allocations (max_parallel 1, min_healthy_time 1s) took {rollout:?}");
    assert!(ok > 100, "too little traffic to judge: {ok}");
    assert_eq!(failed, 0, "requests failed during the rolling update");
    assert_eq!(served(&agent), ["v2", "v2", "v2"]);
    let live = running(&agent);
    assert_eq!(live.len(), 3, "{live:?}");
    assert!(live.iter().all(|a| a["JobVersion"] == 1), "{live:?}");

    // A bad version: its check never passes. The deployment fails within healthy_deadline and the job
    // rolls back to v2 — and no request fails meanwhile.
    let (traffic, handle) = Traffic::start(agent.url(""));
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let out = run_job(&agent, &dir, "bad", 0, false);
    let failed_after = t.elapsed();
    assert_eq!(out.status.code(), Some(2), "job run of a failing deployment must fail:\n{}", text(&out));
    assert!(text(&out).contains("rolling back to job version 1"), "{}", text(&out));
    let deployments = get_json(&agent.url("/v1/job/webdep/deployments"));
    let bad = deployments.as_array().unwrap().iter().find(|d| d["JobVersion"] == 2).expect("the bad version's deployment").clone();
    assert_eq!(bad["Status"], "failed", "{bad}");
    assert_eq!(bad["StatusDescription"], "Failed due to unhealthy allocations - rolling back to job version 1", "{bad}");
    eprintln!("timing: bad version submitted → job run exited with the failed deployment after {failed_after:?} (healthy_deadline 6s)");
    assert!(failed_after < Duration::from_secs(6 + 5), "the deployment did not fail within healthy_deadline: {failed_after:?}");
    // The rollback (version 3, v2's spec) replaces the bad allocation.
    let mut revert = Value::Null;
    wait_until("the rollback's deployment to succeed", Duration::from_secs(30), || {
        revert = latest_deployment(&agent);
        revert["JobVersion"] == 3 && revert["Status"] == "successful"
    });
    wait_until("three v2 instances again", Duration::from_secs(10), || served(&agent) == ["v2", "v2", "v2"]);
    std::thread::sleep(Duration::from_millis(500));
    traffic.stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    let (ok, failed) = traffic.report("the failed deployment and its rollback");
    assert!(ok > 100, "too little traffic to judge: {ok}");
    assert_eq!(failed, 0, "requests failed during the failed deployment and rollback");
    assert!(!traffic.seen.lock().unwrap().contains_key(""), "the bad version received traffic");
    let job = get_json(&agent.url("/v1/job/webdep"));
    assert_eq!(job["Version"], 3, "{job}");
    assert_eq!(job["TaskGroups"][0]["Tasks"][0]["Env"]["VERSION"], "v2");
    let live = running(&agent);
    assert_eq!(live.len(), 3, "{live:?}");
    assert!(live.iter().all(|a| a["JobVersion"] == 3), "{live:?}");
}

#[test]
fn canary_then_promote() {
    let Some((agent, dir)) = dev_agent("e2e-canary") else { return };
    let _purge = PurgeOnDrop { base: agent.url(""), job: "webdep" };
    let out = run_job(&agent, &dir, "v1", 1, false);
    assert!(out.status.success(), "job run v1 failed:\n{}", text(&out));
    assert_eq!(served(&agent), ["v1", "v1", "v1"]);

    // v2 with canary = 1: one canary beside the three old allocations, nothing replaced.
    let out = run_job(&agent, &dir, "v2", 1, true);
    assert!(out.status.success(), "{}", text(&out));
    let mut d = Value::Null;
    wait_until("the canary to be healthy", Duration::from_secs(30), || {
        d = latest_deployment(&agent);
        d["JobVersion"] == 1 && d["TaskGroups"]["g"]["HealthyAllocs"] == 1
    });
    assert_eq!(d["Status"], "running", "{d}");
    assert_eq!(d["StatusDescription"], "Deployment is running but requires manual promotion", "{d}");
    assert_eq!(d["TaskGroups"]["g"]["DesiredCanaries"], 1, "{d}");
    assert_eq!(d["TaskGroups"]["g"]["PlacedCanaries"].as_array().map(Vec::len), Some(1), "{d}");
    // It stays so: nothing else is replaced while the canary waits for promotion.
    std::thread::sleep(Duration::from_secs(2));
    let live = running(&agent);
    let new: Vec<_> = live.iter().filter(|a| a["JobVersion"] == 1).collect();
    let old: Vec<_> = live.iter().filter(|a| a["JobVersion"] == 0).collect();
    assert_eq!((new.len(), old.len()), (1, 3), "want 1 canary + 3 old: {live:?}");
    assert_eq!(new[0]["DeploymentStatus"]["Canary"], true, "{}", new[0]);
    assert_eq!(served(&agent), ["v1", "v1", "v1", "v2"]);

    let id = d["ID"].as_str().unwrap().to_string();
    let status = agent.cli(&["deployment", "status", &id[..8]]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains("Canaries"), "{}", text(&status));
    let promote = agent.cli(&["deployment", "promote", &id[..8]]);
    assert!(promote.status.success(), "{}", text(&promote));
    let t = Instant::now();
    let watch = agent.cli(&["deployment", "status", "-monitor", &id]);
    assert!(watch.status.success(), "{}", text(&watch));
    eprintln!("timing: promotion → deployment successful after {:?}", t.elapsed());
    let live = running(&agent);
    assert_eq!(live.len(), 3, "{live:?}");
    assert!(live.iter().all(|a| a["JobVersion"] == 1), "after promotion every allocation runs v2: {live:?}");
    wait_until("three v2 instances", Duration::from_secs(10), || served(&agent) == ["v2", "v2", "v2"]);
}
