//! Every endpoint of Nomad's HTTP API that Drover serves, driven over raw HTTP against one live
//! `drover agent -dev`: status codes, Nomad's JSON field names, the X-Nomad-* headers, blocking
//! queries, `?region`, and the error paths (unknown path 404, malformed JSON 400 naming the field,
//! oversized body 413, unknown ids 404).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::{json, Value};

struct Reply {
    code: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn header(&self, name: &str) -> Option<String> {
        header(&self.head, name)
    }
}

fn call(agent: &DevAgent, method: &str, path: &str, body: Option<Value>) -> Reply {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    call_raw(agent, method, path, body.as_bytes())
}

fn call_raw(agent: &DevAgent, method: &str, path: &str, body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", agent.http_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    let _ = s.write_all(body);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut payload = buf.get(split + 4..).unwrap_or_default().to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        payload = dechunk_bytes(&payload);
    }
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Reply { code, head, body: String::from_utf8_lossy(&payload).to_string() }
}

/// The data of a chunked body (of as many whole chunks as have arrived).
fn dechunk_bytes(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else { return out };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 || b.len() < eol + 2 + n + 2 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

/// `method path` answered `want`; returns the reply.
fn expect(agent: &DevAgent, method: &str, path: &str, body: Option<Value>, want: u16) -> Reply {
    let r = call(agent, method, path, body);
    assert_eq!(r.code, want, "{method} {path}: {}", r.body);
    r
}

/// Every key is present in the object (Nomad's field names).
fn has_keys(what: &str, v: &Value, keys: &[&str]) {
    let missing: Vec<&&str> = keys.iter().filter(|k| v.get(**k).is_none()).collect();
    assert!(missing.is_empty(), "{what}: missing {missing:?} in {v}");
}

/// A read carries Nomad's blocking-query headers.
fn has_index_headers(what: &str, r: &Reply) {
    let index: u64 = r.header("X-Nomad-Index").and_then(|i| i.parse().ok()).unwrap_or(0);
    assert!(index > 0, "{what}: X-Nomad-Index missing:\n{}", r.head);
    assert_eq!(r.header("X-Nomad-KnownLeader").as_deref(), Some("true"), "{what}:\n{}", r.head);
    assert!(r.header("X-Nomad-LastContact").is_some(), "{what}:\n{}", r.head);
}

const JOB_FIELDS: &[&str] = &[
    "ID",
    "Name",
    "Namespace",
    "Region",
    "Type",
    "Priority",
    "Datacenters",
    "NodePool",
    "TaskGroups",
    "Status",
    "StatusDescription",
    "Stop",
    "Stable",
    "Version",
    "SubmitTime",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "Meta",
    "ParentID",
    "Dispatched",
    "Periodic",
    "ParameterizedJob",
    "Update",
    "Constraints",
    "Affinities",
    "Spreads",
];
const JOB_STUB_FIELDS: &[&str] = &[
    "ID",
    "ParentID",
    "Name",
    "Namespace",
    "Datacenters",
    "NodePool",
    "Type",
    "Priority",
    "Periodic",
    "ParameterizedJob",
    "Stop",
    "Status",
    "StatusDescription",
    "JobSummary",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
];
const ALLOC_STUB_FIELDS: &[&str] = &[
    "ID",
    "EvalID",
    "Name",
    "Namespace",
    "NodeID",
    "NodeName",
    "JobID",
    "JobType",
    "JobVersion",
    "TaskGroup",
    "DesiredStatus",
    "DesiredDescription",
    "ClientStatus",
    "ClientDescription",
    "TaskStates",
    "CreateIndex",
    "ModifyIndex",
    "CreateTime",
    "ModifyTime",
];
const ALLOC_FIELDS: &[&str] = &[
    "ID",
    "EvalID",
    "Name",
    "Namespace",
    "NodeID",
    "NodeName",
    "JobID",
    "Job",
    "TaskGroup",
    "AllocatedResources",
    "DesiredStatus",
    "DesiredDescription",
    "ClientStatus",
    "ClientDescription",
    "TaskStates",
    "CreateIndex",
    "ModifyIndex",
    "AllocModifyIndex",
    "CreateTime",
    "ModifyTime",
];
const EVAL_FIELDS: &[&str] = &[
    "ID",
    "Namespace",
    "Priority",
    "Type",
    "TriggeredBy",
    "JobID",
    "Status",
    "StatusDescription",
    "CreateIndex",
    "ModifyIndex",
    "CreateTime",
    "ModifyTime",
];
const NODE_STUB_FIELDS: &[&str] = &[
    "Address",
    "ID",
    "Datacenter",
    "Name",
    "NodeClass",
    "NodePool",
    "Version",
    "Drain",
    "SchedulingEligibility",
    "Status",
    "StatusDescription",
    "Drivers",
    "CreateIndex",
    "ModifyIndex",
];
const NODE_FIELDS: &[&str] = &[
    "ID",
    "Name",
    "Datacenter",
    "NodeClass",
    "NodePool",
    "HTTPAddr",
    "Attributes",
    "Meta",
    "NodeResources",
    "ReservedResources",
    "Drivers",
    "Drain",
    "SchedulingEligibility",
    "Status",
    "StatusDescription",
    "CreateIndex",
    "ModifyIndex",
];

const JOB_HCL: &str = r#"job "ep" {
  group "g" {
    count = 1
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo endpoint-log; exec sleep 300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

const PARAM_HCL: &str = r#"job "epparam" {
  type = "batch"
  parameterized {
    payload       = "optional"
    meta_required = ["who"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

const PERIODIC_HCL: &str = r#"job "epcron" {
  type = "batch"
  periodic {
    crons = ["0 0 1 1 *"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// Parses `hcl` through the API and registers it.
fn register_hcl(agent: &DevAgent, hcl: &str) -> Value {
    let job = expect(agent, "PUT", "/v1/jobs/parse", Some(json!({ "JobHCL": hcl, "Canonicalize": true })), 200).json();
    expect(agent, "PUT", "/v1/jobs", Some(json!({ "Job": job })), 200).json()
}

fn running_alloc(agent: &DevAgent, job: &str) -> Option<String> {
    let allocs = call(agent, "GET", &format!("/v1/job/{job}/allocations"), None).json();
    allocs
        .as_array()?
        .iter()
        .find(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .map(|a| a["ID"].as_str().unwrap().to_string())
}

/// Reads NDJSON frames from `/v1/event/stream` until `until` matches one or `timeout` passes.
fn read_events(agent: &DevAgent, query: &str, timeout: Duration, until: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut s = TcpStream::connect(("127.0.0.1", agent.http_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    write!(s, "GET /v1/event/stream?{query} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let start = Instant::now();
    let mut raw = Vec::new();
    let mut frames = Vec::new();
    let mut buf = [0u8; 8192];
    while start.elapsed() < timeout {
        if let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let text = String::from_utf8_lossy(&dechunk_bytes(&raw[split + 4..])).to_string();
        frames = text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect();
        if frames.iter().any(&until) {
            break;
        }
    }
    frames
}

#[test]
fn every_endpoint_over_raw_http() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs a real agent and needs root");
        return;
    }
    let started = Instant::now();
    let dir = temp_dir("e2e-endpoints");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let agent = DevAgent::start(&dir, &images, free_port(), free_port());
    let _purge = PurgeOnDrop { base: agent.addr(), job: "ep" };
    let mut served = Vec::new();
    let mut note = |what: &str| served.push(what.to_string());

    // ---- status, agent, regions, namespaces, operator ----
    let leader = expect(&agent, "GET", "/v1/status/leader", None, 200).json();
    assert!(leader.as_str().is_some_and(|l| l.contains(':')), "{leader}");
    let peers = expect(&agent, "GET", "/v1/status/peers", None, 200).json();
    assert_eq!(peers.as_array().map(Vec::len), Some(1), "{peers}");
    note("status/leader, status/peers");
    has_keys("agent/self", &expect(&agent, "GET", "/v1/agent/self", None, 200).json(), &["config", "member", "stats"]);
    let members = expect(&agent, "GET", "/v1/agent/members", None, 200).json();
    has_keys("agent/members", &members, &["ServerName", "ServerRegion", "ServerDC", "Members"]);
    has_keys("member", &members["Members"][0], &["Name", "Addr", "Port", "Tags", "Status"]);
    assert!(expect(&agent, "GET", "/v1/agent/servers", None, 200).json().as_array().is_some_and(|s| !s.is_empty()));
    has_keys("agent/health", &expect(&agent, "GET", "/v1/agent/health", None, 200).json(), &["server", "client"]);
    note("agent/self, agent/members, agent/servers, agent/health");
    assert_eq!(expect(&agent, "GET", "/v1/regions", None, 200).json(), json!(["global"]));
    let ns = expect(&agent, "GET", "/v1/namespaces", None, 200);
    has_index_headers("namespaces", &ns);
    let ns = ns.json();
    has_keys("namespace", &ns[0], &["Name", "Description", "CreateIndex", "ModifyIndex"]);
    assert_eq!(expect(&agent, "GET", "/v1/namespace/default", None, 200).json()["Name"], "default");
    expect(&agent, "GET", "/v1/namespace/nosuch", None, 404);
    note("regions, namespaces, namespace/:name");
    let raft = expect(&agent, "GET", "/v1/operator/raft/configuration", None, 200).json();
    has_keys("raft configuration", &raft, &["Servers", "Index"]);
    has_keys("raft server", &raft["Servers"][0], &["ID", "Node", "Address", "Leader", "Voter", "RaftProtocol"]);
    let r = call(&agent, "DELETE", "/v1/operator/raft/peer?address=127.0.0.9:1", None);
    assert!(r.code == 400 || r.code == 404, "removing an unknown peer: {} {}", r.code, r.body);
    let sched = expect(&agent, "GET", "/v1/operator/scheduler/configuration", None, 200);
    has_index_headers("scheduler configuration", &sched);
    let sched = sched.json();
    has_keys("scheduler configuration", &sched, &["SchedulerConfig", "Index"]);
    has_keys(
        "SchedulerConfig",
        &sched["SchedulerConfig"],
        &["SchedulerAlgorithm", "PreemptionConfig", "MemoryOversubscriptionEnabled", "RejectJobRegistration", "CreateIndex", "ModifyIndex"],
    );
    let put = expect(&agent, "PUT", "/v1/operator/scheduler/configuration", Some(sched["SchedulerConfig"].clone()), 200).json();
    has_keys("scheduler configuration update", &put, &["Updated", "Index"]);
    note("operator/raft/configuration, operator/raft/peer, operator/scheduler/configuration");

    // ---- parse, validate, register, list ----
    let parsed = expect(&agent, "PUT", "/v1/jobs/parse", Some(json!({ "JobHCL": JOB_HCL, "Canonicalize": true })), 200).json();
    assert_eq!(parsed["ID"], "ep");
    let r = expect(&agent, "PUT", "/v1/jobs/parse", Some(json!({ "JobHCL": "job \"x\" {\n  group \"g\" {\n    count = \n  }\n}\n" })), 400);
    assert!(r.body.contains("line") || r.body.contains(":3"), "a parse error names its line: {}", r.body);
    let valid = expect(&agent, "PUT", "/v1/validate/job", Some(json!({ "Job": parsed })), 200).json();
    has_keys("validate", &valid, &["DriverConfigValidated", "ValidationErrors", "Error", "Warnings"]);
    note("jobs/parse, validate/job");
    let reg = expect(&agent, "PUT", "/v1/jobs", Some(json!({ "Job": parsed })), 200);
    has_index_headers("register", &reg);
    let reg = reg.json();
    has_keys("register", &reg, &["EvalID", "EvalCreateIndex", "JobModifyIndex", "Warnings", "Index"]);
    wait_until("the job's allocation to run", Duration::from_secs(60), || running_alloc(&agent, "ep").is_some());
    let alloc = running_alloc(&agent, "ep").unwrap();
    let jobs = expect(&agent, "GET", "/v1/jobs", None, 200);
    has_index_headers("jobs", &jobs);
    let list = jobs.json();
    has_keys("job stub", &list[0], JOB_STUB_FIELDS);
    assert_eq!(expect(&agent, "GET", "/v1/jobs?prefix=e", None, 200).json().as_array().map(Vec::len), Some(1));
    assert_eq!(expect(&agent, "GET", "/v1/jobs?prefix=zz", None, 200).json(), json!([]));
    let f = expect(&agent, "GET", "/v1/jobs?filter=Type%20%3D%3D%20%22service%22", None, 200).json();
    assert_eq!(f.as_array().map(Vec::len), Some(1), "{f}");
    let f = expect(&agent, "GET", "/v1/jobs?filter=Type%20%3D%3D%20%22batch%22", None, 200).json();
    assert_eq!(f, json!([]));
    let r = expect(&agent, "GET", "/v1/jobs?filter=Type%20%3D%3D", None, 400);
    assert!(!r.body.is_empty());
    note("jobs (list, prefix, filter, register)");

    // ---- one job ----
    let job = expect(&agent, "GET", "/v1/job/ep", None, 200);
    has_index_headers("job", &job);
    has_keys("job", &job.json(), JOB_FIELDS);
    let mut updated = parsed.clone();
    updated["Meta"] = json!({ "rev": "2" });
    let up = expect(&agent, "POST", "/v1/job/ep", Some(json!({ "Job": updated })), 200).json();
    has_keys("job update", &up, &["EvalID", "JobModifyIndex", "Index"]);
    let mut bigger = updated.clone();
    bigger["TaskGroups"][0]["Count"] = json!(2);
    let plan = expect(&agent, "PUT", "/v1/job/ep/plan", Some(json!({ "Job": bigger, "Diff": true })), 200).json();
    has_keys(
        "plan",
        &plan,
        &["Annotations", "FailedTGAllocs", "JobModifyIndex", "CreatedEvals", "Diff", "NextPeriodicLaunch", "Warnings", "Index"],
    );
    has_keys(
        "plan group",
        &plan["Annotations"]["DesiredTGUpdates"]["g"],
        &["Ignore", "Place", "Stop", "InPlaceUpdate", "DestructiveUpdate"],
    );
    assert_eq!(plan["Annotations"]["DesiredTGUpdates"]["g"]["Place"], 1, "{plan}");
    has_keys("plan diff", &plan["Diff"], &["Type", "ID", "Fields", "Objects", "TaskGroups"]);
    assert_eq!(plan["Diff"]["Type"], "Edited", "{plan}");
    let allocs = expect(&agent, "GET", "/v1/job/ep/allocations", None, 200);
    has_index_headers("job allocations", &allocs);
    has_keys("job allocation stub", &allocs.json()[0], ALLOC_STUB_FIELDS);
    let evals = expect(&agent, "GET", "/v1/job/ep/evaluations", None, 200).json();
    has_keys("job evaluation", &evals[0], EVAL_FIELDS);
    let summary = expect(&agent, "GET", "/v1/job/ep/summary", None, 200).json();
    has_keys("summary", &summary, &["JobID", "Namespace", "Summary", "Children", "CreateIndex", "ModifyIndex"]);
    has_keys("group summary", &summary["Summary"]["g"], &["Queued", "Complete", "Failed", "Running", "Starting", "Lost", "Unknown"]);
    let versions = expect(&agent, "GET", "/v1/job/ep/versions", None, 200).json();
    has_keys("versions", &versions, &["Versions"]);
    assert_eq!(versions["Versions"].as_array().map(Vec::len), Some(2), "{versions}");
    let scale = expect(&agent, "GET", "/v1/job/ep/scale", None, 200).json();
    has_keys("scale status", &scale, &["JobID", "Namespace", "JobModifyIndex", "JobStopped", "TaskGroups"]);
    has_keys("group scale", &scale["TaskGroups"]["g"], &["Desired", "Placed", "Running", "Healthy", "Unhealthy", "Events"]);
    let scaled = expect(&agent, "POST", "/v1/job/ep/scale", Some(json!({ "Count": 2, "Target": { "Group": "g" } })), 200).json();
    has_keys("scale", &scaled, &["EvalID", "EvalCreateIndex", "JobModifyIndex", "Index"]);
    expect(&agent, "POST", "/v1/job/ep/scale", Some(json!({ "Count": 1, "Target": { "Group": "nope" } })), 404);
    let stable = expect(&agent, "PUT", "/v1/job/ep/stable", Some(json!({ "JobVersion": 0, "Stable": true })), 200).json();
    has_keys("stable", &stable, &["Index"]);
    let reverted = expect(&agent, "PUT", "/v1/job/ep/revert", Some(json!({ "JobVersion": 0 })), 200).json();
    has_keys("revert", &reverted, &["EvalID", "EvalCreateIndex", "JobModifyIndex", "Index"]);
    let ev = expect(&agent, "PUT", "/v1/job/ep/evaluate", Some(json!({})), 200).json();
    has_keys("evaluate", &ev, &["EvalID", "EvalCreateIndex", "JobModifyIndex", "Index"]);
    expect(&agent, "GET", "/v1/job/nosuch", None, 404);
    expect(&agent, "GET", "/v1/job/nosuch/summary", None, 404);
    note("job/:id (read, update), plan, allocations, evaluations, summary, versions, scale, stable, revert, evaluate");

    // ---- deployments (the service job's default update block deploys every version) ----
    let deps = expect(&agent, "GET", "/v1/job/ep/deployments", None, 200);
    has_index_headers("job deployments", &deps);
    let d = deps.json()[0].clone();
    has_keys(
        "deployment",
        &d,
        &[
            "ID",
            "Namespace",
            "JobID",
            "JobVersion",
            "JobModifyIndex",
            "JobSpecModifyIndex",
            "JobCreateIndex",
            "IsMultiregion",
            "TaskGroups",
            "Status",
            "StatusDescription",
            "CreateIndex",
            "ModifyIndex",
        ],
    );
    has_keys(
        "deployment state",
        &d["TaskGroups"]["g"],
        &[
            "AutoRevert",
            "AutoPromote",
            "ProgressDeadline",
            "RequireProgressBy",
            "Promoted",
            "PlacedCanaries",
            "DesiredCanaries",
            "DesiredTotal",
            "PlacedAllocs",
            "HealthyAllocs",
            "UnhealthyAllocs",
        ],
    );
    let dep = d["ID"].as_str().unwrap().to_string();
    assert_eq!(expect(&agent, "GET", "/v1/job/ep/deployment", None, 200).json()["ID"], dep.as_str());
    let all = expect(&agent, "GET", "/v1/deployments", None, 200);
    has_index_headers("deployments", &all);
    assert!(all.json().as_array().unwrap().iter().any(|x| x["ID"] == dep.as_str()));
    assert_eq!(expect(&agent, "GET", &format!("/v1/deployment/{}", &dep[..8]), None, 200).json()["ID"], dep.as_str());
    let dallocs = expect(&agent, "GET", &format!("/v1/deployment/allocations/{dep}"), None, 200).json();
    assert!(dallocs.as_array().unwrap().iter().all(|a| a["DeploymentID"] == dep.as_str()), "{dallocs}");
    expect(&agent, "GET", "/v1/deployment/ffffffff-0000-0000-0000-000000000000", None, 404);
    expect(&agent, "POST", "/v1/deployment/fail/ffffffff-0000-0000-0000-000000000000", None, 404);
    let r = expect(&agent, "POST", &format!("/v1/deployment/promote/{dep}"), Some(json!({ "All": true })), 400);
    assert!(r.body.contains("canaries") || r.body.contains("promote"), "{}", r.body);
    if d["Status"] == "running" {
        let paused = expect(&agent, "POST", &format!("/v1/deployment/pause/{dep}"), Some(json!({ "Pause": true })), 200).json();
        has_keys("deployment update", &paused, &["EvalID", "EvalCreateIndex", "DeploymentModifyIndex", "Index"]);
        assert_eq!(expect(&agent, "GET", &format!("/v1/deployment/{dep}"), None, 200).json()["Status"], "paused");
        expect(&agent, "POST", &format!("/v1/deployment/pause/{dep}"), Some(json!({ "Pause": false })), 200);
        expect(&agent, "POST", &format!("/v1/deployment/fail/{dep}"), None, 200);
        assert_eq!(expect(&agent, "GET", &format!("/v1/deployment/{dep}"), None, 200).json()["Status"], "failed");
    }
    // a deployment that ended can be neither failed nor paused again
    expect(&agent, "POST", &format!("/v1/deployment/fail/{dep}"), None, 400);
    expect(&agent, "POST", &format!("/v1/deployment/pause/{dep}"), Some(json!({ "Pause": true })), 400);
    let body = json!({ "HealthyAllocationIDs": ["ffffffff-0000-0000-0000-000000000000"] });
    expect(&agent, "POST", &format!("/v1/deployment/allocation-health/{dep}"), Some(body), 400);
    note("deployments, deployment/:id, deployment/allocations/:id, deployment/{promote,pause,fail,allocation-health}/:id, job/:id/deployment(s)");

    // ---- dispatch and periodic force ----
    let _p2 = PurgeOnDrop { base: agent.addr(), job: "epparam" };
    let _p3 = PurgeOnDrop { base: agent.addr(), job: "epcron" };
    register_hcl(&agent, PARAM_HCL);
    register_hcl(&agent, PERIODIC_HCL);
    let body = json!({ "Meta": { "who": "me" }, "Payload": "aGVsbG8=" });
    let d = expect(&agent, "POST", "/v1/job/epparam/dispatch", Some(body), 200).json();
    has_keys("dispatch", &d, &["Index", "JobCreateIndex", "EvalID", "EvalCreateIndex", "DispatchedJobID"]);
    let child = d["DispatchedJobID"].as_str().unwrap().to_string();
    assert!(child.starts_with("epparam/dispatch-"), "{d}");
    let r = expect(&agent, "POST", "/v1/job/epparam/dispatch", Some(json!({ "Meta": {} })), 400);
    assert!(r.body.contains("who"), "the error names the missing meta key: {}", r.body);
    expect(&agent, "POST", "/v1/job/ep/dispatch", Some(json!({})), 400);
    let f = expect(&agent, "POST", "/v1/job/epcron/periodic/force", None, 200).json();
    has_keys("periodic force", &f, &["Index", "EvalID", "EvalCreateIndex"]);
    expect(&agent, "POST", "/v1/job/ep/periodic/force", None, 400);
    expect(&agent, "POST", "/v1/job/nosuch/periodic/force", None, 404);
    let children: Vec<Value> = expect(&agent, "GET", "/v1/jobs?prefix=ep", None, 200).json().as_array().unwrap().clone();
    assert!(children.iter().any(|j| j["ParentID"] == "epcron"), "{children:?}");
    let kids = expect(&agent, "GET", "/v1/job/epparam/summary", None, 200).json();
    has_keys("parent summary children", &kids["Children"], &["Pending", "Running", "Dead"]);
    note("job/:id/dispatch, job/:id/periodic/force");

    // ---- allocations ----
    wait_until("one running allocation after the revert", Duration::from_secs(60), || running_alloc(&agent, "ep").is_some());
    let alloc = running_alloc(&agent, "ep").unwrap_or(alloc);
    let list = expect(&agent, "GET", "/v1/allocations", None, 200);
    has_index_headers("allocations", &list);
    has_keys("allocation stub", &list.json()[0], ALLOC_STUB_FIELDS);
    let one = expect(&agent, "GET", &format!("/v1/allocation/{alloc}"), None, 200);
    has_index_headers("allocation", &one);
    let one = one.json();
    has_keys("allocation", &one, ALLOC_FIELDS);
    has_keys("task state", &one["TaskStates"]["t"], &["State", "Failed", "Restarts", "StartedAt", "FinishedAt", "Events"]);
    has_keys("task event", &one["TaskStates"]["t"]["Events"][0], &["Type", "Time", "DisplayMessage", "Details"]);
    expect(&agent, "GET", "/v1/allocation/ffffffff-0000-0000-0000-000000000000", None, 404);
    note("allocations, allocation/:id");

    // ---- client allocation operations and files ----
    let stats = expect(&agent, "GET", &format!("/v1/client/allocation/{alloc}/stats"), None, 200).json();
    has_keys("alloc stats", &stats, &["ResourceUsage", "Tasks", "Timestamp"]);
    has_keys("resource usage", &stats["ResourceUsage"], &["MemoryStats", "CpuStats"]);
    wait_until("the task's log line", Duration::from_secs(20), || {
        call(&agent, "GET", &format!("/v1/client/fs/logs/{alloc}?task=t&type=stdout&plain=true&origin=start"), None)
            .body
            .contains("endpoint-log")
    });
    let framed = expect(&agent, "GET", &format!("/v1/client/fs/logs/{alloc}?task=t&type=stdout"), None, 200).body;
    let frame: Value = serde_json::from_str(framed.lines().next().unwrap_or("{}")).unwrap_or_else(|e| panic!("{e}: {framed}"));
    has_keys("log frame", &frame, &["Data", "Offset", "File"]);
    let ls = expect(&agent, "GET", &format!("/v1/client/fs/ls/{alloc}?path=/"), None, 200).json();
    has_keys("file info", &ls[0], &["Name", "IsDir", "Size", "FileMode", "ModTime", "ContentType"]);
    has_keys("stat", &expect(&agent, "GET", &format!("/v1/client/fs/stat/{alloc}?path=/alloc"), None, 200).json(), &["Name", "IsDir"]);
    let cat = expect(&agent, "GET", &format!("/v1/client/fs/cat/{alloc}?path=alloc/logs/t.stdout.0"), None, 200).body;
    assert!(cat.contains("endpoint-log"), "{cat}");
    expect(&agent, "POST", &format!("/v1/client/allocation/{alloc}/signal"), Some(json!({ "Signal": "SIGHUP", "Task": "nosuch" })), 404);
    expect(&agent, "POST", &format!("/v1/client/allocation/{alloc}/restart"), Some(json!({ "TaskName": "t" })), 200);
    note("client/allocation/:id/{stats,signal,restart}, client/fs/{logs,ls,stat,cat}");

    // ---- evaluations ----
    let evals = expect(&agent, "GET", "/v1/evaluations", None, 200);
    has_index_headers("evaluations", &evals);
    let eval_id = evals.json()[0]["ID"].as_str().unwrap().to_string();
    has_keys("evaluation", &expect(&agent, "GET", &format!("/v1/evaluation/{eval_id}"), None, 200).json(), EVAL_FIELDS);
    assert!(expect(&agent, "GET", &format!("/v1/evaluation/{eval_id}/allocations"), None, 200).json().is_array());
    expect(&agent, "GET", "/v1/evaluation/ffffffff-0000-0000-0000-000000000000", None, 404);
    note("evaluations, evaluation/:id, evaluation/:id/allocations");

    // ---- nodes ----
    let nodes = expect(&agent, "GET", "/v1/nodes", None, 200);
    has_index_headers("nodes", &nodes);
    let stub = nodes.json()[0].clone();
    has_keys("node stub", &stub, NODE_STUB_FIELDS);
    let node_id = stub["ID"].as_str().unwrap().to_string();
    let node = expect(&agent, "GET", &format!("/v1/node/{node_id}"), None, 200).json();
    has_keys("node", &node, NODE_FIELDS);
    let on_node = expect(&agent, "GET", &format!("/v1/node/{node_id}/allocations"), None, 200).json();
    has_keys("node allocation", &on_node[0], &["ID", "JobID", "TaskGroup", "ClientStatus"]);
    let el = expect(&agent, "PUT", &format!("/v1/node/{node_id}/eligibility"), Some(json!({ "Eligibility": "ineligible" })), 200).json();
    has_keys("eligibility", &el, &["NodeModifyIndex", "Index"]);
    expect(&agent, "PUT", &format!("/v1/node/{node_id}/eligibility"), Some(json!({ "Eligibility": "eligible" })), 200);
    expect(&agent, "PUT", &format!("/v1/node/{node_id}/eligibility"), Some(json!({ "Eligibility": "maybe" })), 400);
    let ev = expect(&agent, "PUT", &format!("/v1/node/{node_id}/evaluate"), None, 200).json();
    has_keys("node evaluate", &ev, &["EvalIDs", "EvalCreateIndex", "NodeModifyIndex", "Index"]);
    assert_eq!(ev["EvalIDs"].as_array().map(Vec::len), Some(1), "one evaluation for the one job on the node: {ev}");
    expect(&agent, "GET", "/v1/node/ffffffff-0000-0000-0000-000000000000", None, 404);
    expect(&agent, "PUT", "/v1/node/ffffffff-0000-0000-0000-000000000000/purge", None, 404);
    let host = expect(&agent, "GET", "/v1/client/stats", None, 200).json();
    has_keys("host stats", &host, &["Memory", "CPU", "CPUTicksConsumed", "DiskStats", "AllocDirStats", "Uptime", "Timestamp"]);
    assert!(host["Memory"]["Total"].as_u64().unwrap_or(0) > 0 && host["CPU"].as_array().is_some_and(|c| !c.is_empty()), "{host}");
    let via_server = expect(&agent, "GET", &format!("/v1/client/stats?node_id={}", &node_id[..8]), None, 200).json();
    has_keys("host stats by node id", &via_server, &["Memory", "CPU"]);
    expect(&agent, "GET", "/v1/client/stats?node_id=ffffffff-0000-0000-0000-000000000000", None, 404);
    note("nodes, node/:id, node/:id/{allocations,eligibility,evaluate,purge}, client/stats");

    // ---- search ----
    let found = expect(&agent, "PUT", "/v1/search", Some(json!({ "Prefix": "epc", "Context": "jobs" })), 200).json();
    let names: Vec<&str> = found["Matches"]["jobs"].as_array().unwrap().iter().map(|j| j.as_str().unwrap()).collect();
    assert!(names.len() == 2 && names[0] == "epcron" && names[1].starts_with("epcron/periodic-"), "{found}");
    assert_eq!(found["Truncations"]["jobs"], json!(false), "{found}");
    let all = expect(&agent, "POST", "/v1/search", Some(json!({ "Prefix": &node_id[..4], "Context": "all" })), 200).json();
    assert!(all["Matches"]["nodes"].as_array().is_some_and(|n| n.iter().any(|x| x == node_id.as_str())), "{all}");
    expect(&agent, "PUT", "/v1/search", Some(json!({ "Prefix": "e", "Context": "bogus" })), 400);
    note("search");

    // ---- metrics, events, snapshot ----
    let metrics = expect(&agent, "GET", "/v1/metrics", None, 200).json();
    has_keys("metrics", &metrics, &["Timestamp", "Gauges", "Counters", "Samples"]);
    let prom = expect(&agent, "GET", "/v1/metrics?format=prometheus", None, 200);
    assert!(prom.body.contains("# TYPE ") && prom.body.contains("nomad_"), "{}", &prom.body[..prom.body.len().min(400)]);
    let frames = read_events(&agent, "topic=Job&index=1", Duration::from_secs(10), |f| f.get("Events").is_some());
    let with_events = frames.iter().find(|f| f.get("Events").is_some()).unwrap_or_else(|| panic!("no events in {frames:?}"));
    has_keys("event frame", with_events, &["Index", "Events"]);
    has_keys("event", &with_events["Events"][0], &["Topic", "Type", "Key", "Namespace", "Index", "Payload"]);
    assert!(with_events["Events"].as_array().unwrap().iter().all(|e| e["Topic"] == "Job"), "topic filter: {with_events}");
    note("metrics (JSON, prometheus), event/stream");
    let snap = call_raw(&agent, "GET", "/v1/operator/snapshot", b"");
    assert_eq!(snap.code, 200);
    assert!(snap.header("X-Nomad-Index").is_some(), "{}", snap.head);
    note("operator/snapshot (GET; PUT restore is covered by tests/cluster.rs)");

    // ---- blocking queries and ?region ----
    let index: u64 = expect(&agent, "GET", "/v1/jobs", None, 200).header("X-Nomad-Index").unwrap().parse().unwrap();
    let t = Instant::now();
    let r = expect(&agent, "GET", &format!("/v1/jobs?index={index}&wait=1s"), None, 200);
    assert!(t.elapsed() >= Duration::from_millis(900), "a blocking query with nothing new waits: {:?}", t.elapsed());
    assert_eq!(r.header("X-Nomad-Index").unwrap().parse::<u64>().unwrap(), index);
    expect(&agent, "GET", "/v1/jobs?region=global", None, 200);
    let r = expect(&agent, "GET", "/v1/jobs?region=mars", None, 500);
    assert!(r.body.contains("No path to region"), "{}", r.body);
    let pretty = expect(&agent, "GET", "/v1/job/ep?pretty", None, 200).body;
    assert!(pretty.contains("\n    \""), "?pretty indents: {}", &pretty[..pretty.len().min(200)]);
    note("?index/&wait, ?region, ?pretty");

    // ---- error paths ----
    let r = expect(&agent, "GET", "/v1/no/such/endpoint", None, 404);
    assert!(r.body.contains("/v1/no/such/endpoint"), "{}", r.body);
    let r = call_raw(&agent, "PUT", "/v1/jobs", b"{\"Job\": {\"ID\": 5}}");
    assert_eq!(r.code, 400, "{}", r.body);
    assert!(r.body.contains("Job.ID") || r.body.contains("ID"), "the error names the field: {}", r.body);
    let r = call_raw(&agent, "PUT", "/v1/jobs", b"{\"Job\": ");
    assert_eq!(r.code, 400, "{}", r.body);
    let big = vec![b' '; 9 * 1024 * 1024];
    let r = call_raw(&agent, "PUT", "/v1/jobs", &big);
    assert_eq!(r.code, 413, "an oversized body: {}", r.body);
    note("errors: 404 unknown path, 400 malformed JSON, 413 oversized body");

    // ---- stop an allocation, deregister with purge ----
    let stopped = expect(&agent, "PUT", &format!("/v1/allocation/{alloc}/stop"), None, 200).json();
    has_keys("alloc stop", &stopped, &["EvalID", "Index"]);
    let dereg = expect(&agent, "DELETE", "/v1/job/ep?purge=true", None, 200).json();
    has_keys("deregister", &dereg, &["EvalID", "EvalCreateIndex", "JobModifyIndex", "Index"]);
    wait_until("the purged job to be gone", Duration::from_secs(10), || call(&agent, "GET", "/v1/job/ep", None).code == 404);
    note("allocation/:id/stop, job/:id DELETE ?purge");

    // ---- system: a forced garbage collection removes the finished dispatched child (a dead batch job) ----
    let child_path = format!("/v1/job/{}", child.replace('/', "%2F"));
    wait_until("the dispatched child to finish", Duration::from_secs(30), || {
        let r = call(&agent, "GET", &format!("{child_path}/allocations"), None);
        r.code == 200 && r.json().as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["ClientStatus"] == "complete"))
    });
    expect(&agent, "GET", &child_path, None, 200);
    expect(&agent, "PUT", "/v1/system/gc", None, 200);
    expect(&agent, "GET", &child_path, None, 404);
    expect(&agent, "PUT", "/v1/system/reconcile/summaries", None, 200);
    note("system/gc, system/reconcile/summaries");

    // ---- node drain: forced, then cancelled with the node made eligible again ----
    let drain = json!({ "DrainSpec": { "Deadline": -1, "IgnoreSystemJobs": false }, "MarkEligible": false, "Meta": { "why": "test" } });
    let d = expect(&agent, "PUT", &format!("/v1/node/{node_id}/drain"), Some(drain), 200).json();
    has_keys("drain", &d, &["EvalIDs", "EvalCreateIndex", "NodeModifyIndex", "Index"]);
    let node = expect(&agent, "GET", &format!("/v1/node/{node_id}"), None, 200).json();
    assert_eq!(node["SchedulingEligibility"], "ineligible", "{node}");
    has_keys("node after drain", &node, &["DrainStrategy", "LastDrain"]);
    let undo = json!({ "DrainSpec": null, "MarkEligible": true });
    expect(&agent, "PUT", &format!("/v1/node/{node_id}/drain"), Some(undo), 200);
    wait_until("the node to be eligible again", Duration::from_secs(10), || {
        let n = call(&agent, "GET", &format!("/v1/node/{node_id}"), None).json();
        n["SchedulingEligibility"] == "eligible" && n["Drain"] == false
    });
    expect(&agent, "PUT", "/v1/node/ffffffff-0000-0000-0000-000000000000/drain", Some(json!({ "DrainSpec": null })), 404);
    note("node/:id/drain");

    // Every allocation ends once stopped — also those stopped right after they were placed (the scale
    // and revert above) — through its executor, well before the runner's last-resort kill (after 20 s).
    wait_until("every allocation to end", Duration::from_secs(15), || {
        call(&agent, "GET", "/v1/allocations", None)
            .json()
            .as_array()
            .is_some_and(|a| a.iter().all(|x| ["complete", "failed", "lost"].contains(&x["ClientStatus"].as_str().unwrap_or(""))))
    });
    assert!(!agent.log().contains("did not stop its task in time"), "a task outlived its stop:\n{}", agent.log());
    eprintln!("endpoints checked in {:.1}s:\n  {}", started.elapsed().as_secs_f64(), served.join("\n  "));
}
