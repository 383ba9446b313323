//! Job files through a real agent and the real CLI: `/v1/jobs/parse`, `/v1/validate/job`, the same job
//! registered from HCL and from Nomad JSON stored identically, and `job validate|init|inspect`, `fmt`.

mod common;

use common::agent::*;

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The job as stored, without what the server stamps on each registration.
fn stable_part(mut job: serde_json::Value) -> serde_json::Value {
    let m = job.as_object_mut().unwrap();
    for k in ["CreateIndex", "ModifyIndex", "JobModifyIndex", "SubmitTime", "Version", "Status", "Stable"] {
        m.remove(k);
    }
    job
}

#[test]
fn job_files_through_the_api_and_cli() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs a real agent and needs root");
        return;
    }
    let dir = temp_dir("e2e-jobspec");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let agent = DevAgent::start(&dir, &images, free_port(), free_port());

    // /v1/jobs/parse: HCL in, canonical Nomad JSON out
    let hcl = std::fs::read_to_string(repo().join("jobs/service.hcl")).unwrap();
    let req = serde_json::json!({ "JobHCL": hcl, "Canonicalize": true }).to_string();
    let (code, body) = http("PUT", &agent.url("/v1/jobs/parse"), Some(&req)).unwrap();
    assert_eq!(code, 200, "{body}");
    let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed["ID"], "web");
    assert_eq!(parsed["TaskGroups"][0]["Count"], 2);
    assert_eq!(parsed["TaskGroups"][0]["Tasks"][0]["Resources"]["MemoryMB"], 64);
    assert_eq!(parsed["TaskGroups"][0]["Tasks"][0]["KillTimeout"], 10_000_000_000i64);
    assert_eq!(parsed["TaskGroups"][0]["Update"]["MinHealthyTime"], 5_000_000_000i64);
    assert_eq!(parsed["TaskGroups"][0]["Services"][0]["Provider"], "nomad");

    // parse errors name the attribute and its position; variables are applied
    let bad = serde_json::json!({ "JobHCL": "job \"x\" {\n  group \"g\" {\n    cuont = 1\n  }\n}\n" }).to_string();
    let (code, body) = http("PUT", &agent.url("/v1/jobs/parse"), Some(&bad)).unwrap();
    assert_eq!(code, 400, "{body}");
    assert!(body.contains(":3:5") && body.contains("\"cuont\"") && body.contains("did you mean \"count\""), "{body}");
    let with_var = serde_json::json!({
        "JobHCL": "variable \"n\" {\n  type = number\n}\njob \"v\" {\n  group \"g\" {\n    count = var.n\n    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"/bin/true\"\n      }\n    }\n  }\n}\n",
        "Variables": "n = 4\n",
    })
    .to_string();
    let (code, body) = http("PUT", &agent.url("/v1/jobs/parse"), Some(&with_var)).unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"Count\":4"), "{body}");

    // /v1/validate/job: a good job validates, a bad one lists its problems
    let req = serde_json::json!({ "Job": parsed }).to_string();
    let (code, body) = http("PUT", &agent.url("/v1/validate/job"), Some(&req)).unwrap();
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ValidationErrors"].as_array().unwrap().len(), 0, "{body}");
    let mut broken = parsed.clone();
    broken["TaskGroups"][0]["Tasks"][0]["Driver"] = "lxc".into();
    broken["Affinities"] = serde_json::json!([{ "LTarget": "${node.class}", "RTarget": "x", "Operand": "=", "Weight": 120 }]);
    let (code, body) = http("PUT", &agent.url("/v1/validate/job"), Some(&serde_json::json!({ "Job": broken }).to_string())).unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("unknown driver \\\"lxc\\\"") && body.contains("weight"), "{body}");
    let (code, body) =
        http("PUT", &agent.url("/v1/validate/job"), Some("{\"Job\": {\"ID\": \"x\", \"TaskGroups\": [{\"Count\": \"two\"}]}}")).unwrap();
    assert!(code == 400 || body.contains("TaskGroups[0].Count"), "{code} {body}");
    assert!(body.contains("TaskGroups[0].Count"), "the error should name the field: {body}");

    // the same job registered from HCL and from its Nomad JSON is stored identically
    let out = agent.cli(&["job", "run", "-detach", "jobs/sysbatch.hcl"]);
    assert!(out.status.success(), "{}", text(&out));
    let from_hcl = get_json(&agent.url("/v1/job/inventory"));
    let out = agent.cli(&["job", "inspect", "inventory"]);
    assert!(out.status.success(), "{}", text(&out));
    let json_file = dir.join("inventory.json");
    std::fs::write(&json_file, &out.stdout).unwrap();
    let out = agent.cli(&["job", "stop", "-purge", "-detach", "inventory"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = agent.cli(&["job", "run", "-detach", json_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let from_json = get_json(&agent.url("/v1/job/inventory"));
    assert_eq!(stable_part(from_json), stable_part(from_hcl));

    // Derived views and agent information that Nomad clients read.
    let summary = get_json(&agent.url("/v1/job/inventory/summary"));
    assert_eq!(summary["JobID"], "inventory");
    assert!(summary["Summary"]["inventory"].is_object(), "{summary}");
    let versions = get_json(&agent.url("/v1/job/inventory/versions"));
    assert!(!versions["Versions"].as_array().unwrap().is_empty(), "{versions}");
    assert_eq!(versions["Versions"][0]["ID"], "inventory");
    let me = get_json(&agent.url("/v1/agent/self"));
    assert_eq!(me["config"]["Region"], "global");
    assert_eq!(me["member"]["Status"], "alive");
    let servers = get_json(&agent.url("/v1/agent/servers"));
    assert_eq!(servers.as_array().unwrap().len(), 1, "{servers}");
    let namespaces = get_json(&agent.url("/v1/namespaces"));
    assert_eq!(namespaces[0]["Name"], "default");

    // List queries: ?filter (Nomad's expression language), ?per_page/?next_token, ?pretty.
    for id in ["page-a", "page-b", "page-c"] {
        let job = serde_json::json!({ "Job": { "ID": id, "Type": "batch", "Meta": { "team": if id == "page-b" { "blue" } else { "red" } },
            "TaskGroups": [{ "Name": "g", "Count": 0, "Tasks": [{ "Name": "t", "Driver": "raw_exec" }] }] } });
        let (code, body) = http("PUT", &agent.url("/v1/jobs"), Some(&job.to_string())).unwrap();
        assert_eq!(code, 200, "{body}");
    }
    let ids = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|j| j["ID"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let filtered = get_json(&agent.url("/v1/jobs?filter=ID%20matches%20%22%5Epage-%22%20and%20Type%20%3D%3D%20%22batch%22"));
    assert_eq!(ids(&filtered), ["page-a", "page-b", "page-c"]);
    let (code, head, body) = http_bytes("GET", &agent.url("/v1/jobs?prefix=page-&per_page=2"), b"").unwrap();
    assert_eq!(code, 200);
    assert_eq!(ids(&serde_json::from_slice(&body).unwrap()), ["page-a", "page-b"]);
    let token = header(&head, "X-Nomad-NextToken").expect("a next token when more remain");
    assert_eq!(header(&head, "X-Nomad-KnownLeader").as_deref(), Some("true"));
    let (_, head, body) = http_bytes("GET", &agent.url(&format!("/v1/jobs?prefix=page-&per_page=2&next_token={token}")), b"").unwrap();
    assert_eq!(ids(&serde_json::from_slice(&body).unwrap()), ["page-c"]);
    assert!(header(&head, "X-Nomad-NextToken").is_none(), "no token on the last page");
    let (code, body) = http("GET", &agent.url("/v1/jobs?filter=Status%20%3D%3D"), None).unwrap();
    assert!(code == 400 && body.contains("failed to parse filter"), "{code} {body}");
    let (_, body) = http("GET", &agent.url("/v1/jobs?prefix=page-a&pretty"), None).unwrap();
    assert!(body.contains("\n  {"), "pretty output is indented: {body}");

    // job validate: every example validates; errors exit 1 naming file, line and attribute
    for f in [
        "jobs/example.hcl",
        "jobs/service.hcl",
        "jobs/batch.hcl",
        "jobs/system.hcl",
        "jobs/sysbatch.hcl",
        "jobs/periodic.hcl",
        "jobs/parameterized.hcl",
    ] {
        let out = agent.cli(&["job", "validate", f]);
        assert!(out.status.success() && text(&out).contains("Job validation successful"), "{f}: {}", text(&out));
    }
    let typo = dir.join("typo.hcl");
    std::fs::write(&typo, "job \"t\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n      resources {\n        memroy = 5\n      }\n    }\n  }\n}\n").unwrap();
    let out = agent.cli(&["job", "validate", typo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("typo.hcl:6:9") && text(&out).contains("did you mean \"memory\""), "{}", text(&out));
    let vars = dir.join("vars.hcl");
    std::fs::write(&vars, "n = 3\n").unwrap();
    let with_var = dir.join("var.hcl");
    std::fs::write(&with_var, "variable \"n\" {\n  type = number\n  validation {\n    condition     = var.n < 3\n    error_message = \"n must be below 3\"\n  }\n}\njob \"v\" {\n  group \"g\" {\n    count = var.n\n    task \"t\" {\n      driver = \"raw_exec\"\n    }\n  }\n}\n").unwrap();
    let out = agent.cli(&["job", "validate", "-var-file", vars.to_str().unwrap(), with_var.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("n must be below 3"), "{}", text(&out));
    let out = agent.cli(&["job", "validate", "-var", "n=2", with_var.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));

    // job init writes a job that validates, and refuses to overwrite it
    let init = dir.join("example.nomad.hcl");
    let out = agent.cli(&["job", "init", init.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(agent.cli(&["job", "validate", init.to_str().unwrap()]).status.success());
    let out = agent.cli(&["job", "init", init.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("already exists"), "{}", text(&out));

    // fmt: jobs/ is formatted; a messy file is rewritten and then passes -check
    let out = agent.cli(&["fmt", "-check", "jobs"]);
    assert!(out.status.success(), "{}", text(&out));
    let messy = dir.join("messy.hcl");
    std::fs::write(&messy, "job \"m\" {\ntype=\"batch\"\n    group \"g\" {\n  count   =   1\n}\n}\n").unwrap();
    assert_eq!(agent.cli(&["fmt", "-check", messy.to_str().unwrap()]).status.code(), Some(1));
    assert!(agent.cli(&["fmt", messy.to_str().unwrap()]).status.success());
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), "job \"m\" {\n  type = \"batch\"\n  group \"g\" {\n    count = 1\n  }\n}\n");
    assert!(agent.cli(&["fmt", "-check", messy.to_str().unwrap()]).status.success());

    // On-demand scaling, history, revert and re-evaluation, with real raw_exec tasks.
    let svc = dir.join("sleeper.hcl");
    std::fs::write(&svc, "job \"sleeper\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        command = \"/bin/sleep\"\n        args    = [\"300\"]\n      }\n      resources {\n        cpu    = 20\n        memory = 16\n      }\n    }\n  }\n}\n").unwrap();
    let out = agent.cli(&["job", "run", svc.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let running = |n: usize| {
        let allocs = get_json(&agent.url("/v1/job/sleeper/allocations"));
        allocs.as_array().unwrap().iter().filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run").count() == n
    };
    let out = agent.cli(&["job", "scale", "sleeper", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("three running allocations after scaling up", std::time::Duration::from_secs(30), || running(3));
    let status = get_json(&agent.url("/v1/job/sleeper/scale"));
    assert_eq!(status["TaskGroups"]["g"]["Desired"], 3, "{status}");
    let out = agent.cli(&["job", "history", "sleeper"]);
    assert!(out.status.success() && text(&out).contains("Version") && text(&out).matches("Version").count() == 2, "{}", text(&out));
    let out = agent.cli(&["job", "revert", "sleeper", "0"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("one running allocation after reverting", std::time::Duration::from_secs(30), || running(1));
    assert_eq!(get_json(&agent.url("/v1/job/sleeper"))["Version"], 2);
    let out = agent.cli(&["job", "scale", "sleeper", "nope", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no task group \"nope\""), "{}", text(&out));
    let out = agent.cli(&["job", "eval", "sleeper"]);
    assert!(out.status.success() && text(&out).contains("Evaluation"), "{}", text(&out));
    // Stopping an allocation replaces it; an ineligible node takes no new work until enabled again.
    let allocs = get_json(&agent.url("/v1/job/sleeper/allocations"));
    let live = allocs.as_array().unwrap().iter().find(|a| a["DesiredStatus"] == "run").unwrap()["ID"].as_str().unwrap().to_string();
    let out = agent.cli(&["alloc", "stop", &live[..8]]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("a replacement allocation", std::time::Duration::from_secs(30), || {
        let allocs = get_json(&agent.url("/v1/job/sleeper/allocations"));
        let a = allocs.as_array().unwrap();
        running(1) && a.iter().any(|x| x["ID"] == live.as_str() && x["DesiredStatus"] == "stop")
    });
    let node = get_json(&agent.url("/v1/nodes"))[0]["ID"].as_str().unwrap().to_string();
    let out = agent.cli(&["node", "eligibility", "-disable", &node[..8]]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(get_json(&agent.url(&format!("/v1/node/{node}")))["SchedulingEligibility"], "ineligible");
    let out = agent.cli(&["job", "scale", "sleeper", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(running(1), "an ineligible node must not get new allocations");
    let out = agent.cli(&["node", "eligibility", "-enable", &node[..8]]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("the blocked placement once the node is eligible", std::time::Duration::from_secs(30), || running(2));

    let out = agent.cli(&["eval", "list", "-job", "sleeper"]);
    assert!(out.status.success() && text(&out).matches("job-register").count() >= 3, "{}", text(&out));
    let evals = get_json(&agent.url("/v1/job/sleeper/evaluations"));
    let eval_id = evals[0]["ID"].as_str().unwrap()[..8].to_string();
    let out = agent.cli(&["eval", "status", &eval_id]);
    assert!(out.status.success() && text(&out).contains("sleeper") && text(&out).contains("Status"), "{}", text(&out));

    // The scheduler configuration from the CLI.
    let out = agent.cli(&["operator", "scheduler", "get-config"]);
    assert!(out.status.success() && text(&out).contains("binpack"), "{}", text(&out));
    let out = agent.cli(&["operator", "scheduler", "set-config", "-scheduler-algorithm=spread", "-preempt-service-scheduler=true"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = agent.cli(&["operator", "scheduler", "get-config"]);
    let shown = text(&out);
    assert!(shown.contains("spread"), "{shown}");
    assert!(shown.lines().any(|l| l.starts_with("Preemption Service Scheduler") && l.ends_with("= true")), "{shown}");
    let out = agent.cli(&["operator", "scheduler", "set-config", "-scheduler-algorithm=random"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = agent.cli(&["operator", "scheduler", "set-config", "-check-index=1", "-pause-eval-broker=true"]);
    assert_eq!(out.status.code(), Some(1), "a stale -check-index must not apply: {}", text(&out));

    let out = agent.cli(&["job", "allocs", "sleeper"]);
    assert!(out.status.success() && text(&out).matches("running").count() == 2, "{}", text(&out));
    let out = agent.cli(&["agent-info"]);
    assert!(out.status.success() && text(&out).contains("Region") && text(&out).contains("global"), "{}", text(&out));
    let out = agent.cli(&["job", "stop", "-purge", "sleeper"]);
    assert!(out.status.success(), "{}", text(&out));

    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}
