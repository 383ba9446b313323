//! End to end: parameterized and periodic jobs on a real `drover agent -dev` with raw_exec tasks.
//! Registering either kind of parent creates no evaluation and no allocation; `job dispatch` with meta
//! and a payload creates a child (ParentID, Dispatched, merged Meta) whose task reads the payload from
//! its `dispatch_payload` file; bad dispatches are 400s naming the key (and one clear CLI line);
//! `job periodic force` launches a child that runs; `job status` of a parent lists its children. A
//! second test waits for a `* * * * *` job to launch a child on its own (up to ~70 s).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::{json, Value};

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Percent-encodes a job id for a URL path (child ids contain `/`).
fn enc(id: &str) -> String {
    id.replace('/', "%2F")
}

const PARAMETERIZED: &str = r#"job "transcode" {
  type = "batch"
  meta {
    quality = "low"
    owner   = "ops"
  }
  parameterized {
    payload       = "optional"
    meta_required = ["format"]
    meta_optional = ["quality"]
  }
  group "g" {
    task "run" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat $NOMAD_TASK_DIR/input.txt; echo; echo format=$NOMAD_META_format quality=$NOMAD_META_quality"]
      }
      dispatch_payload {
        file = "input.txt"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

fn periodic_job(id: &str, cron: &str) -> String {
    format!(
        r#"job "{id}" {{
  type = "batch"
  periodic {{
    crons            = ["{cron}"]
    prohibit_overlap = true
    time_zone        = "UTC"
  }}
  group "g" {{
    task "tick" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "echo tick from $NOMAD_JOB_ID"]
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

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

fn post(agent: &DevAgent, path: &str, body: Value) -> (u16, String) {
    http("POST", &agent.url(path), Some(&body.to_string())).unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

fn allocs_of(agent: &DevAgent, job: &str) -> Vec<Value> {
    get_json(&agent.url(&format!("/v1/job/{}/allocations", enc(job)))).as_array().cloned().unwrap_or_default()
}

fn evals_of(agent: &DevAgent, job: &str) -> Vec<Value> {
    get_json(&agent.url(&format!("/v1/job/{}/evaluations", enc(job)))).as_array().cloned().unwrap_or_default()
}

/// Waits until the job has a complete allocation; returns its id.
fn completed_alloc(agent: &DevAgent, job: &str) -> String {
    let mut id = String::new();
    wait_until(&format!("an allocation of {job} to complete"), Duration::from_secs(60), || {
        let allocs = allocs_of(agent, job);
        if let Some(f) = allocs.iter().find(|a| a["ClientStatus"] == "failed") {
            panic!("allocation of {job} failed: {f}\n{}", agent.log());
        }
        match allocs.iter().find(|a| a["ClientStatus"] == "complete") {
            Some(a) => {
                id = a["ID"].as_str().unwrap().to_string();
                true
            }
            None => false,
        }
    });
    id
}

fn stdout_of(agent: &DevAgent, alloc: &str, task: &str) -> String {
    let p = agent.data_dir.join("client/alloc").join(alloc).join("alloc/logs").join(format!("{task}.stdout.0"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Asserts that registering through the CLI creates no evaluation and no allocation.
fn register_parent(agent: &DevAgent, file: &str, id: &str) {
    let out = agent.cli(&["job", "run", file]);
    assert!(out.status.success() && text(&out).contains("Job registration successful"), "{}", text(&out));
    let job = get_json(&agent.url(&format!("/v1/job/{id}")));
    assert_eq!(job["Status"], "running", "{job}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(evals_of(agent, id).is_empty(), "a parent job got an evaluation: {:?}", evals_of(agent, id));
    assert!(allocs_of(agent, id).is_empty(), "a parent job got an allocation");
}

#[test]
fn dispatch_force_and_parent_jobs_on_a_dev_agent() {
    let Some((agent, dir)) = dev_agent("e2e-dispatch") else { return };
    let started = Instant::now();
    let _purge = [PurgeOnDrop { base: agent.addr(), job: "transcode" }, PurgeOnDrop { base: agent.addr(), job: "nightly" }];

    // A parameterized parent: no evaluation, no allocation.
    let file = write(&dir, "transcode.hcl", PARAMETERIZED);
    register_parent(&agent, &file, "transcode");

    // Dispatch with meta and a payload from a file.
    let input = write(&dir, "input.txt", "hello payload");
    let out = agent.cli(&["job", "dispatch", "-meta", "format=mp4", "-meta", "quality=high", "transcode", &input]);
    assert!(out.status.success(), "{}\n{}", text(&out), agent.log());
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let child = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Dispatched Job ID = "))
        .unwrap_or_else(|| panic!("no dispatched job id in: {stdout}"))
        .to_string();
    assert!(child.starts_with("transcode/dispatch-"), "{child}");
    assert!(stdout.contains("Evaluation ID     = "), "{stdout}");
    let job = get_json(&agent.url(&format!("/v1/job/{}", enc(&child))));
    assert_eq!(job["ParentID"], "transcode");
    assert_eq!(job["Dispatched"], true);
    assert!(job["ParameterizedJob"].is_null(), "{job}");
    assert_eq!(job["Meta"], json!({ "format": "mp4", "quality": "high", "owner": "ops" }));
    assert_eq!(job["Payload"], "aGVsbG8gcGF5bG9hZA==");
    let alloc = completed_alloc(&agent, &child);
    assert_eq!(stdout_of(&agent, &alloc, "run"), "hello payload\nformat=mp4 quality=high\n");

    // Dispatch over HTTP with an id prefix template and no payload.
    let (code, body) = post(&agent, "/v1/job/transcode/dispatch", json!({ "Meta": { "format": "ogg" }, "IdPrefixTemplate": "nightly" }));
    assert_eq!(code, 200, "{body}");
    let resp: Value = serde_json::from_str(&body).unwrap();
    let second = resp["DispatchedJobID"].as_str().unwrap().to_string();
    assert!(second.starts_with("transcode/dispatch-nightly-"), "{resp}");
    for k in ["EvalID", "EvalCreateIndex", "JobCreateIndex", "Index"] {
        assert!(!resp[k].is_null() && resp[k] != "" && resp[k] != 0, "{k} missing: {resp}");
    }
    completed_alloc(&agent, &second);

    // Bad dispatches: 400s naming the key or rule.
    let bad = [
        (json!({ "Meta": { "quality": "x" } }), "required meta keys: [format]"),
        (json!({ "Meta": { "format": "x", "colour": "red" } }), "unpermitted meta keys: [colour]"),
        (json!({ "Meta": { "format": "x" }, "Payload": "%%%" }), "Payload"),
        (json!({ "Meta": { "format": "x" }, "Payload": base64_of(&[b'x'; 16 * 1024 + 1]) }), "Payload exceeds maximum size"),
    ];
    for (req, want) in bad {
        let (code, body) = post(&agent, "/v1/job/transcode/dispatch", req.clone());
        assert_eq!(code, 400, "{req}: {body}");
        assert!(body.contains(want), "{req}: {body}");
    }
    let (code, body) = post(&agent, "/v1/job/nope/dispatch", json!({}));
    assert_eq!(code, 404, "{body}");
    let out = agent.cli(&["job", "dispatch", "-meta", "quality=x", "transcode"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(err.lines().count() == 1 && err.contains("format"), "not one clear line: {err}");

    // The parent's summary counts its children; its status lists them.
    let summary = get_json(&agent.url("/v1/job/transcode/summary"));
    let c = &summary["Children"];
    let total: u64 = ["Pending", "Running", "Dead"].iter().map(|k| c[*k].as_u64().unwrap()).sum();
    assert_eq!(total, 2, "{summary}");
    let out = agent.cli(&["job", "status", "transcode"]);
    let t = text(&out);
    assert!(out.status.success() && t.contains("Dispatched Jobs") && t.contains(&child) && t.contains("Parameterized Job Summary"), "{t}");
    assert!(allocs_of(&agent, "transcode").is_empty(), "the parent still has no allocation");

    // A periodic parent (yearly: it will not launch during the test), forced.
    let file = write(&dir, "nightly.hcl", &periodic_job("nightly", "0 0 1 1 *"));
    register_parent(&agent, &file, "nightly");
    let out = agent.cli(&["job", "periodic", "force", "nightly"]);
    assert!(out.status.success(), "{}\n{}", text(&out), agent.log());
    let jobs = get_json(&agent.url("/v1/jobs?prefix=nightly/periodic-"));
    let children: Vec<&Value> = jobs.as_array().unwrap().iter().filter(|j| j["ParentID"] == "nightly").collect();
    assert_eq!(children.len(), 1, "{jobs}");
    let forced = children[0]["ID"].as_str().unwrap().to_string();
    let alloc = completed_alloc(&agent, &forced);
    assert_eq!(stdout_of(&agent, &alloc, "tick"), format!("tick from {forced}\n"));
    let (code, body) = post(&agent, "/v1/job/nightly/periodic/force", json!({}));
    assert_eq!(code, 200, "{body}");
    let resp: Value = serde_json::from_str(&body).unwrap();
    assert!(resp["EvalID"].as_str().is_some_and(|e| e.len() == 36) && resp["EvalCreateIndex"].as_u64() > Some(0), "{resp}");
    let (code, body) = post(&agent, "/v1/job/transcode/periodic/force", json!({}));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("non-periodic"), "{body}");
    let (code, _) = post(&agent, "/v1/job/nope/periodic/force", json!({}));
    assert_eq!(code, 404);
    let out = agent.cli(&["job", "status", "nightly"]);
    let t = text(&out);
    assert!(t.contains("Previously Launched Jobs") && t.contains(&forced) && t.contains("Next Periodic Launch"), "{t}");

    // An unsupported time zone is refused at registration, naming it.
    let bad_tz = periodic_job("tz", "* * * * *").replace("\"UTC\"", "\"Europe/Berlin\"");
    let out = agent.cli(&["job", "run", &write(&dir, "tz.hcl", &bad_tz)]);
    assert!(!out.status.success() && text(&out).contains("Europe/Berlin"), "{}", text(&out));
    eprintln!("dispatch/force test took {:?}", started.elapsed());
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Slow by nature: a `* * * * *` job launches its first child at the start of the next minute, up to
/// 60 s after registration.
#[test]
fn a_periodic_job_launches_a_child_on_its_own() {
    let Some((agent, dir)) = dev_agent("e2e-periodic") else { return };
    let _purge = PurgeOnDrop { base: agent.addr(), job: "minutely" };
    let file = write(&dir, "minutely.hcl", &periodic_job("minutely", "* * * * *"));
    let registered = Instant::now();
    register_parent(&agent, &file, "minutely");
    let mut child = String::new();
    wait_until("the periodic job to launch a child", Duration::from_secs(75), || {
        let jobs = get_json(&agent.url("/v1/jobs?prefix=minutely/periodic-"));
        match jobs.as_array().unwrap().iter().find(|j| j["ParentID"] == "minutely") {
            Some(j) => {
                child = j["ID"].as_str().unwrap().to_string();
                true
            }
            None => false,
        }
    });
    let launched = registered.elapsed();
    // Launched at a minute boundary: the id is that minute.
    let secs: i64 = child.strip_prefix("minutely/periodic-").unwrap().parse().unwrap();
    assert_eq!(secs % 60, 0, "{child}");
    let alloc = completed_alloc(&agent, &child);
    assert_eq!(stdout_of(&agent, &alloc, "tick"), format!("tick from {child}\n"));
    eprintln!("periodic child launched {launched:?} after registration, complete after {:?}", registered.elapsed());
}
