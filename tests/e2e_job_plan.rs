//! End to end: `job plan` (`PUT /v1/job/:id/plan` and `drover job plan`) against a real
//! `drover agent -dev` with a raw_exec job — a new job, the same job again, a count change, a job
//! that does not fit, a broken file — with the exit codes and the JSON annotations, and proof that a
//! plan changes nothing; then `job run -check-index` with a stale and with the current index.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::agent::*;
use common::cluster::job_ids;
use serde_json::{json, Value};

const JOB_ID: &str = "planjob";

fn job_hcl(count: u32, memory: u64) -> String {
    sleeper(JOB_ID, "", &format!("count = {count}"), memory)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// The job as the CLI would submit it (parsed through `/v1/jobs/parse`).
fn api_job(agent: &DevAgent, hcl: &str) -> Value {
    let (code, body) =
        http("PUT", &agent.url("/v1/jobs/parse"), Some(&json!({ "JobHCL": hcl, "Canonicalize": true }).to_string())).unwrap();
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// `PUT /v1/job/planjob/plan` with Diff on: the raw JSON reply.
fn plan_json(agent: &DevAgent, hcl: &str) -> Value {
    let body = json!({ "Job": api_job(agent, hcl), "Diff": true }).to_string();
    let (code, reply) = http("PUT", &agent.url(&format!("/v1/job/{JOB_ID}/plan")), Some(&body)).unwrap();
    assert_eq!(code, 200, "{reply}");
    serde_json::from_str(&reply).unwrap_or_else(|e| panic!("{e}: {reply}"))
}

/// What a plan must leave alone: the job's version and modify index, its evaluations and allocations.
fn footprint(agent: &DevAgent) -> (Value, Value, usize, usize) {
    let (code, body) = http("GET", &agent.url(&format!("/v1/job/{JOB_ID}")), None).unwrap();
    let (version, jmi) = if code == 200 {
        let j: Value = serde_json::from_str(&body).unwrap();
        (j["Version"].clone(), j["JobModifyIndex"].clone())
    } else {
        (Value::Null, Value::Null)
    };
    let evals = get_json(&agent.url("/v1/evaluations")).as_array().unwrap().len();
    let allocs = get_json(&agent.url("/v1/allocations")).as_array().unwrap().len();
    (version, jmi, evals, allocs)
}

#[test]
fn job_plan_and_run_check_index() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs a real agent and needs root");
        return;
    }
    let t0 = Instant::now();
    let dir = temp_dir("e2e-plan");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let agent = DevAgent::start(&dir, &images, free_port(), free_port());
    let _purge = PurgeOnDrop { base: agent.addr(), job: JOB_ID };
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let one = write("one.hcl", &job_hcl(1, 16));
    let two = write("two.hcl", &job_hcl(2, 16));
    let huge = write("huge.hcl", &job_hcl(1, 100_000_000));
    let broken = write("broken.hcl", "job \"planjob\" {\n  group \"g\" {\n    count = \n");
    eprintln!("agent ready after {:?}", t0.elapsed());

    // A new job: everything is created, nothing is written.
    let before = footprint(&agent);
    let out = agent.cli(&["job", "plan", &one]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert!(text.starts_with("+ Job: \"planjob\"\n+ Task Group: \"g\" (1 create)\n  + Task: \"t\" (forces create)\n"), "{text}");
    assert!(text.contains("Scheduler dry-run:\n- All tasks successfully allocated.\n"), "{text}");
    assert!(text.contains("Job Modify Index: 0\n"), "{text}");
    assert!(text.contains(&format!("drover job run -check-index 0 {one}\n")), "{text}");
    let plan = plan_json(&agent, &job_hcl(1, 16));
    assert_eq!(
        plan["Annotations"]["DesiredTGUpdates"]["g"],
        json!({
            "Ignore": 0, "Place": 1, "Migrate": 0, "Stop": 0, "InPlaceUpdate": 0, "DestructiveUpdate": 0, "Canary": 0, "Preemptions": 0
        })
    );
    assert_eq!((&plan["Diff"]["Type"], &plan["Diff"]["ID"], &plan["JobModifyIndex"]), (&json!("Added"), &json!(JOB_ID), &json!(0)));
    assert_eq!(plan["FailedTGAllocs"], Value::Null, "{plan}");
    assert_eq!(footprint(&agent), before, "a plan of a new job changed the state");
    assert_eq!(http("GET", &agent.url(&format!("/v1/job/{JOB_ID}")), None).unwrap().0, 404);

    // run -check-index: a job that does not exist has index 0 only.
    let out = agent.cli(&["job", "run", "-check-index", "5", &one]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(stderr(&out).contains("Enforcing job modify index 5: job does not exist"), "{}", both(&out));
    let out = agent.cli(&["job", "run", "-check-index", "0", &one]);
    assert!(out.status.success(), "{}", both(&out));
    eprintln!("job running after {:?}", t0.elapsed());

    // The same file again: nothing is created or destroyed.
    let running = footprint(&agent);
    let out = agent.cli(&["job", "plan", &one]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Job: \"planjob\"\nTask Group: \"g\" (1 ignore)\n  Task: \"t\"\n"), "{text}");
    let jmi = running.1.as_u64().unwrap();
    assert!(jmi > 0);
    assert!(text.contains(&format!("Job Modify Index: {jmi}\n")), "{text}");
    let out = agent.cli(&["job", "plan", "-diff=false", &one]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(stdout(&out).starts_with("Scheduler dry-run:\n- All tasks successfully allocated.\n"), "{}", both(&out));
    let plan = plan_json(&agent, &job_hcl(1, 16));
    assert_eq!(plan["Annotations"]["DesiredTGUpdates"]["g"]["Ignore"], 1, "{plan}");
    assert_eq!(plan["Annotations"]["DesiredTGUpdates"]["g"]["Place"], 0, "{plan}");
    assert_eq!((&plan["Diff"]["Type"], &plan["JobModifyIndex"]), (&json!("None"), &json!(jmi)), "{plan}");

    // A count change: one more placed, the running one updated in place; down to zero: one stop.
    let out = agent.cli(&["job", "plan", &two]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert!(text.contains("+/- Task Group: \"g\" (1 create, 1 in-place update)\n  +/- Count: \"1\" => \"2\"\n"), "{text}");
    let plan = plan_json(&agent, &job_hcl(2, 16));
    let g = &plan["Annotations"]["DesiredTGUpdates"]["g"];
    assert_eq!((&g["Place"], &g["Stop"], &g["InPlaceUpdate"], &g["Ignore"]), (&json!(1), &json!(0), &json!(1), &json!(0)), "{plan}");
    let count = &plan["Diff"]["TaskGroups"][0]["Fields"][0];
    assert_eq!(count, &json!({ "Type": "Edited", "Name": "Count", "Old": "1", "New": "2", "Annotations": null }), "{plan}");
    assert_eq!(plan["Diff"]["TaskGroups"][0]["Updates"], json!({ "create": 1, "in-place update": 1 }));
    let plan = plan_json(&agent, &job_hcl(0, 16));
    let g = &plan["Annotations"]["DesiredTGUpdates"]["g"];
    assert_eq!((&g["Place"], &g["Stop"]), (&json!(0), &json!(1)), "{plan}");

    // More memory than the node has: the placement fails, with the scheduler's metrics.
    let out = agent.cli(&["job", "plan", &huge]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "Scheduler dry-run:\n- WARNING: Failed to place all allocations.\n  Task Group \"g\" (failed to place 1 allocation):\n"
        ),
        "{text}"
    );
    assert!(text.contains("Dimension \"memory\" exhausted on 1 nodes"), "{text}");
    assert!(text.contains("+/- Task: \"t\" (forces create/destroy update)"), "{text}");
    let plan = plan_json(&agent, &job_hcl(1, 100_000_000));
    let failed = &plan["FailedTGAllocs"]["g"];
    assert_eq!(failed["DimensionExhausted"]["memory"], 1, "{plan}");
    assert_eq!(failed["NodesEvaluated"], 1, "{plan}");
    assert_eq!(plan["Annotations"]["DesiredTGUpdates"]["g"]["DestructiveUpdate"], 1, "{plan}");

    // A periodic job: nothing placed now, and when it would launch.
    let periodic = job_hcl(1, 16)
        .replace("job \"planjob\" {", "job \"planperiodic\" {\n  type = \"batch\"\n  periodic {\n    crons = [\"*/15 * * * *\"]\n  }");
    let periodic = write("periodic.hcl", &periodic);
    let out = agent.cli(&["job", "plan", &periodic]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        stdout(&out).contains("- All tasks successfully allocated.\n- If submitted now, next periodic launch would be at "),
        "{}",
        both(&out)
    );

    // A broken file: exit 255 and one line.
    let out = agent.cli(&["job", "plan", &broken]);
    assert_eq!(out.status.code(), Some(255), "{}", both(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("Error getting job struct: "), "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    // A job the server refuses: 255 too.
    let unknown = write("unknown.hcl", &job_hcl(1, 16).replace("raw_exec", "nosuchdriver"));
    let out = agent.cli(&["job", "plan", &unknown]);
    assert_eq!(out.status.code(), Some(255), "{}", both(&out));
    assert!(stderr(&out).contains("unknown driver \"nosuchdriver\""), "{}", both(&out));

    // None of the plans wrote anything.
    assert_eq!(footprint(&agent), running, "plans changed the state");

    // run -check-index with a stale index fails and leaves the job alone; with the current one it runs.
    let out = agent.cli(&["job", "run", "-detach", "-check-index", &(jmi - 1).to_string(), &two]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(stderr(&out).contains(&format!("job exists with conflicting job modify index: {jmi}")), "{}", both(&out));
    let out = agent.cli(&["job", "run", "-detach", "-check-index", "0", &two]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(stderr(&out).contains("job already exists"), "{}", both(&out));
    assert_eq!(footprint(&agent).0, running.0, "a refused registration changed the job");
    let out = agent.cli(&["job", "run", "-detach", "-check-index", &jmi.to_string(), &two]);
    assert!(out.status.success(), "{}", both(&out));
    let job = get_json(&agent.url(&format!("/v1/job/{JOB_ID}")));
    assert_eq!(job["Version"], 1, "{job}");
    assert!(job["JobModifyIndex"].as_u64().unwrap() > jmi, "{job}");
    assert_eq!(job["TaskGroups"][0]["Count"], 2);
    wait_until("two running allocations", Duration::from_secs(60), || {
        get_json(&agent.url(&format!("/v1/job/{JOB_ID}/allocations")))
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
            .count()
            == 2
    });
    eprintln!("done after {:?}", t0.elapsed());
}

/// On a follower a plan is computed locally after a consistent read: it sees a registration made a
/// moment before through another server, and a check-index registration is forwarded to the leader.
#[test]
fn plan_and_check_index_on_followers() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real servers and needs root");
        return;
    }
    let t0 = Instant::now();
    let c = common::cluster::Cluster::start("e2e-plan-cluster", 131, 3);
    let leader = c.wait_leader_everywhere(Duration::from_secs(60));
    let (a, b) = (&c.servers[(leader + 1) % 3], &c.servers[(leader + 2) % 3]);
    eprintln!("cluster ready after {:?}", t0.elapsed());
    let put = |url: String, body: &Value| {
        let (code, reply) = http("PUT", &url, Some(&body.to_string())).unwrap();
        (code, serde_json::from_str::<Value>(&reply).unwrap_or(Value::String(reply)))
    };
    let mut job: Value = serde_json::from_str(&common::cluster::job_body("pj")).unwrap();
    let (code, reg) = put(a.url("/v1/jobs"), &job);
    assert_eq!(code, 200, "{reg}");
    let jmi = reg["JobModifyIndex"].as_u64().unwrap();

    job["Diff"] = true.into();
    let (code, plan) = put(b.url("/v1/job/pj/plan"), &job);
    assert_eq!(code, 200, "{plan}");
    assert_eq!((&plan["JobModifyIndex"], &plan["Diff"]["Type"]), (&json!(jmi), &json!("None")), "{plan}");
    assert_eq!(plan["Annotations"]["DesiredTGUpdates"]["g"]["Place"], 0, "{plan}");
    // No client: one more allocation cannot be placed anywhere.
    job["Job"]["TaskGroups"][0]["Count"] = 1.into();
    let (code, plan) = put(b.url("/v1/job/pj/plan"), &job);
    assert_eq!(code, 200, "{plan}");
    assert_eq!(plan["Annotations"]["DesiredTGUpdates"]["g"]["Place"], 1, "{plan}");
    assert_eq!(plan["FailedTGAllocs"]["g"]["NodesEvaluated"], 0, "{plan}");
    assert_eq!(job_ids(b, false).unwrap(), ["pj"]);
    assert_eq!(get_json(&b.url("/v1/job/pj"))["JobModifyIndex"], jmi, "a plan changed the job");

    // -check-index through a follower: forwarded, and decided by the leader's apply.
    job["EnforceIndex"] = true.into();
    job["JobModifyIndex"] = (jmi - 1).into();
    let (code, reply) = put(b.url("/v1/jobs"), &job);
    assert_eq!(code, 400, "{reply}");
    assert!(reply.as_str().unwrap_or_default().contains(&format!("conflicting job modify index: {jmi}")), "{reply}");
    job["JobModifyIndex"] = jmi.into();
    let (code, reg) = put(b.url("/v1/jobs"), &job);
    assert_eq!(code, 200, "{reg}");
    let new_jmi = reg["JobModifyIndex"].as_u64().unwrap();
    assert!(new_jmi > jmi, "{reg}");
    let (code, plan) = put(a.url("/v1/job/pj/plan"), &job);
    assert_eq!(code, 200, "{plan}");
    assert_eq!(plan["JobModifyIndex"], new_jmi, "{plan}");
    eprintln!("done after {:?}", t0.elapsed());
}
