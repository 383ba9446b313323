//! More of Nomad's HTTP API and CLI through a real `drover agent -dev` and a raw_exec job: agent health
//! and regions, a job version marked stable, the allocation file system (`ls`, `stat`, `cat`, refused
//! paths) and `alloc fs`, `/v1/metrics` as JSON and Prometheus text, `status` and `version`, and a node
//! purge whose allocation is lost and replaced once the node registers again. Then a server and a
//! client-only agent on 127.0.87.x: health per role, and the file endpoints forwarded by the server.

mod common;

use std::time::Duration;

use common::agent::*;
use common::cluster::Cluster;
use serde_json::{json, Value};

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `(status, response head, body)` of a request with an optional JSON body (replies without chunking).
fn call(agent: &DevAgent, method: &str, path: &str, body: Option<Value>) -> (u16, String, String) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (code, head, payload) = http_bytes(method, &agent.url(path), body.as_bytes()).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (code, head, String::from_utf8_lossy(&payload).to_string())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn nomad_index(head: &str) -> u64 {
    header(head, "X-Nomad-Index").and_then(|i| i.parse().ok()).unwrap_or(0)
}

const JOB: &str = r#"job "fsjob" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo hello-fs > $NOMAD_TASK_DIR/greeting.txt; exec sleep 300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

fn live_allocs(agent: &DevAgent) -> Vec<Value> {
    let allocs = get_json(&agent.url("/v1/job/fsjob/allocations"));
    allocs.as_array().unwrap().iter().filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run").cloned().collect()
}

fn gauge<'a>(metrics: &'a Value, name: &str, labels: &[(&str, &str)]) -> Option<&'a Value> {
    metrics["Gauges"].as_array().unwrap().iter().find(|g| g["Name"] == name && labels.iter().all(|(k, v)| g["Labels"][*k] == *v))
}

#[test]
fn more_of_nomads_api_and_cli() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs a real agent and needs root");
        return;
    }
    let dir = temp_dir("e2e-api");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let agent = DevAgent::start(&dir, &images, free_port(), free_port());

    // Health for both roles of a -dev agent, and the one region.
    let (code, _, body) = call(&agent, "GET", "/v1/agent/health", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body), json!({ "server": { "ok": true, "message": "ok" }, "client": { "ok": true, "message": "ok" } }));
    assert_eq!(get_json(&agent.url("/v1/regions")), json!(["global"]));

    let out = agent.cli(&["version"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("Drover v{}", env!("CARGO_PKG_VERSION")));

    // A raw_exec job that writes a file into its task directory.
    let file = dir.join("fsjob.hcl");
    std::fs::write(&file, JOB).unwrap();
    let _purge = PurgeOnDrop { base: agent.addr(), job: "fsjob" };
    let out = agent.cli(&["job", "run", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("a running allocation", Duration::from_secs(60), || live_allocs(&agent).len() == 1);
    let alloc = live_allocs(&agent)[0]["ID"].as_str().unwrap().to_string();
    let short = &alloc[..8];
    wait_until("the task's file", Duration::from_secs(30), || {
        call(&agent, "GET", &format!("/v1/client/fs/stat/{alloc}?path=/t/local/greeting.txt"), None).0 == 200
    });

    // /v1/client/fs: ls, stat, cat in Nomad's AllocFileInfo shape.
    let (code, _, body) = call(&agent, "GET", &format!("/v1/client/fs/ls/{short}?path=/"), None);
    assert_eq!(code, 200, "{body}");
    let root = json_of(&body);
    let names: Vec<&str> = root.as_array().unwrap().iter().map(|f| f["Name"].as_str().unwrap()).collect();
    assert!(names.contains(&"alloc") && names.contains(&"t"), "{body}");
    for f in root.as_array().unwrap() {
        for k in ["Name", "IsDir", "Size", "FileMode", "ModTime", "ContentType"] {
            assert!(f.get(k).is_some(), "{k} missing in {f}");
        }
    }
    let alloc_dir = root.as_array().unwrap().iter().find(|f| f["Name"] == "alloc").unwrap();
    assert_eq!(alloc_dir["IsDir"], true);
    assert!(alloc_dir["FileMode"].as_str().unwrap().starts_with('d'), "{alloc_dir}");
    let local = json_of(&call(&agent, "GET", &format!("/v1/client/fs/ls/{alloc}?path=t/local"), None).2);
    let greeting = local.as_array().unwrap().iter().find(|f| f["Name"] == "greeting.txt").unwrap_or_else(|| panic!("{local}"));
    assert_eq!((greeting["Size"].as_u64(), greeting["IsDir"].as_bool()), (Some(9), Some(false)), "{greeting}");
    assert!(greeting["FileMode"].as_str().unwrap().starts_with("-rw"), "{greeting}");
    let (code, _, body) = call(&agent, "GET", &format!("/v1/client/fs/stat/{alloc}?path=/t/local/greeting.txt"), None);
    assert_eq!(code, 200, "{body}");
    let st = json_of(&body);
    assert_eq!(st["Name"], "greeting.txt");
    assert_eq!(st["ContentType"], "text/plain; charset=utf-8");
    assert!(st["ModTime"].as_str().unwrap().ends_with('Z'), "{st}");
    let (code, body) = http("GET", &agent.url(&format!("/v1/client/fs/cat/{alloc}?path=t/local/greeting.txt")), None).unwrap();
    assert_eq!((code, body.as_str()), (200, "hello-fs\n"));
    // refused and missing paths
    for (path, want) in [("/../../../etc/passwd", 400), ("t/local/../../../etc", 400), ("t/secrets", 403), ("no/such/file", 404)] {
        let (code, _, body) = call(&agent, "GET", &format!("/v1/client/fs/stat/{alloc}?path={path}"), None);
        assert_eq!(code, want, "stat {path}: {body}");
    }
    let (code, body) = http("GET", &agent.url(&format!("/v1/client/fs/cat/{alloc}?path=/alloc")), None).unwrap();
    assert_eq!(code, 400, "cat of a directory: {body}");
    let (code, _, body) = call(&agent, "GET", &format!("/v1/client/fs/ls/{alloc}?path=t/local/greeting.txt"), None);
    assert_eq!(code, 400, "ls of a file: {body}");
    let (code, _, body) = call(&agent, "GET", "/v1/client/fs/ls/ffffffff-0000-0000-0000-000000000000?path=/", None);
    assert_eq!(code, 404, "{body}");

    // `alloc fs`: a directory is listed, a file printed, -stat describes it.
    let out = agent.cli(&["alloc", "fs", short]);
    let shown = text(&out);
    assert!(out.status.success() && shown.contains("Mode") && shown.contains("Modified Time") && shown.contains("alloc/"), "{shown}");
    let out = agent.cli(&["alloc", "fs", short, "t/local/greeting.txt"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello-fs\n");
    let out = agent.cli(&["alloc", "fs", "-stat", short, "t/local/greeting.txt"]);
    let shown = text(&out);
    assert!(out.status.success() && shown.contains("greeting.txt") && shown.contains("9 B") && shown.contains("-rw"), "{shown}");
    let out = agent.cli(&["alloc", "fs", short, "/../../etc/passwd"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("escapes the allocation directory"), "{}", text(&out));

    // The default update strategy deploys a service job; `job run` waited for that deployment,
    // whose success marked version 0 stable. /v1/job/:id/stable sets Stable on a version either
    // way; missing jobs and versions are 404s.
    assert_eq!(get_json(&agent.url("/v1/job/fsjob"))["Stable"], true);
    let mut index = 0;
    for stable in [false, true] {
        let (code, head, body) =
            call(&agent, "PUT", "/v1/job/fsjob/stable", Some(json!({ "JobID": "fsjob", "JobVersion": 0, "Stable": stable })));
        assert_eq!(code, 200, "{body}");
        index = json_of(&body)["Index"].as_u64().unwrap();
        assert!(index > 0 && nomad_index(&head) == index, "{head}\n{body}");
        let job = get_json(&agent.url("/v1/job/fsjob"));
        assert_eq!((job["Stable"].as_bool(), job["Version"].as_u64()), (Some(stable), Some(0)), "{job}");
        assert!(job["ModifyIndex"].as_u64().unwrap() >= index);
    }
    assert_eq!(get_json(&agent.url("/v1/job/fsjob/versions"))["Versions"][0]["Stable"], true);
    let (code, _, body) = call(&agent, "POST", "/v1/job/fsjob/stable", Some(json!({ "JobID": "fsjob", "JobVersion": 7, "Stable": true })));
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("fsjob") && body.contains("version 7"), "{body}");
    let (code, _, body) = call(&agent, "PUT", "/v1/job/nope/stable", Some(json!({ "JobID": "nope", "JobVersion": 0, "Stable": true })));
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("nope"), "{body}");
    let (code, _, body) = call(&agent, "PUT", "/v1/job/fsjob/stable", Some(json!({ "JobID": "other", "Stable": true })));
    assert_eq!(code, 400, "{body}");
    let out = agent.cli(&["job", "history", "fsjob"]);
    assert!(out.status.success() && text(&out).lines().any(|l| l.starts_with("Stable") && l.ends_with("= true")), "{}", text(&out));

    // /v1/metrics: Nomad's JSON summary with gauges from the state, and Prometheus text.
    let (code, _, body) = call(&agent, "GET", "/v1/metrics", None);
    assert_eq!(code, 200, "{body}");
    let m = json_of(&body);
    for k in ["Timestamp", "Gauges", "Counters", "Samples"] {
        assert!(m.get(k).is_some(), "{k} missing: {body}");
    }
    let labels = [("job", "fsjob"), ("task_group", "g"), ("namespace", "default")];
    assert_eq!(gauge(&m, "nomad.nomad.job_summary.running", &labels).map(|g| g["Value"].as_f64()), Some(Some(1.0)), "{body}");
    assert_eq!(gauge(&m, "nomad.nomad.job_summary.failed", &labels).map(|g| g["Value"].as_f64()), Some(Some(0.0)), "{body}");
    assert!(gauge(&m, "nomad.raft.appliedIndex", &[]).unwrap()["Value"].as_f64().unwrap() >= index as f64, "{body}");
    assert!(gauge(&m, "nomad.raft.lastIndex", &[]).unwrap()["Value"].as_f64().unwrap() >= index as f64, "{body}");
    assert!(gauge(&m, "nomad.runtime.alloc_bytes", &[]).unwrap()["Value"].as_f64().unwrap() > 1e6, "{body}");
    assert!(gauge(&m, "nomad.runtime.num_goroutines", &[]).unwrap()["Value"].as_f64().unwrap() >= 1.0, "{body}");
    let requests = m["Counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Name"] == "nomad.http.requests" && c["Labels"]["path"] == "/v1/job/{id}/stable" && c["Labels"]["code"] == "200");
    let requests = requests.unwrap_or_else(|| panic!("no request counter for /v1/job/{{id}}/stable: {body}"));
    assert_eq!(requests["Count"], 2, "the two successful PUTs above: {requests}");
    for k in ["Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels"] {
        assert!(requests.get(k).is_some(), "{k} missing in {requests}");
    }
    let (code, head, body) = call(&agent, "GET", "/v1/metrics?format=prometheus", None);
    assert_eq!(code, 200, "{body}");
    assert!(header(&head, "Content-Type").unwrap_or_default().starts_with("text/plain; version=0.0.4"), "{head}");
    assert!(body.contains("# TYPE nomad_nomad_job_summary_running gauge\n"), "{body}");
    assert!(body.contains("nomad_nomad_job_summary_running{job=\"fsjob\",namespace=\"default\",task_group=\"g\"} 1\n"), "{body}");
    assert!(body.contains("# TYPE nomad_http_requests counter\n"), "{body}");
    assert!(body.contains("# TYPE nomad_http_request_time summary\n"), "{body}");

    // `status`: the jobs, or the object an id prefix names.
    let out = agent.cli(&["status"]);
    assert!(out.status.success() && text(&out).contains("fsjob"), "{}", text(&out));
    let out = agent.cli(&["status", "fsjob"]);
    assert!(out.status.success() && text(&out).contains("fsjob") && text(&out).contains(short), "{}", text(&out));
    let out = agent.cli(&["status", short]);
    assert!(out.status.success() && text(&out).contains("Client Status") && text(&out).contains(&alloc), "{}", text(&out));
    let node = get_json(&agent.url("/v1/nodes"))[0]["ID"].as_str().unwrap().to_string();
    let out = agent.cli(&["status", &node[..8]]);
    assert!(out.status.success() && text(&out).contains(&node[..8]), "{}", text(&out));
    let out = agent.cli(&["status", "zz-no-such-thing"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("zz-no-such-thing"), "{}", text(&out));

    // Purging the node: its allocation is lost, an evaluation replaces it once the node is back.
    let (code, _, body) = call(&agent, "PUT", "/v1/node/ffffffff-0000-0000-0000-000000000000/purge", None);
    assert_eq!(code, 404, "{body}");
    let (code, head, body) = call(&agent, "PUT", &format!("/v1/node/{node}/purge"), None);
    assert_eq!(code, 200, "{body}");
    let purge = json_of(&body);
    let index = purge["Index"].as_u64().unwrap();
    assert_eq!(nomad_index(&head), index, "{head}");
    assert_eq!((purge["NodeModifyIndex"].as_u64(), purge["EvalCreateIndex"].as_u64()), (Some(index), Some(index)), "{body}");
    let evals = purge["EvalIDs"].as_array().unwrap();
    assert_eq!(evals.len(), 1, "{body}");
    let eval = get_json(&agent.url(&format!("/v1/evaluation/{}", evals[0].as_str().unwrap())));
    assert_eq!((eval["JobID"].as_str(), eval["TriggeredBy"].as_str()), (Some("fsjob"), Some("node-update")), "{eval}");
    let lost = get_json(&agent.url(&format!("/v1/allocation/{alloc}")));
    assert_eq!((lost["ClientStatus"].as_str(), lost["DesiredStatus"].as_str()), (Some("lost"), Some("stop")), "{lost}");
    // The node is gone, unless its client has already registered it again (a new node object).
    let (code, _, body) = call(&agent, "GET", &format!("/v1/node/{node}"), None);
    assert!(code == 404 || json_of(&body)["CreateIndex"].as_u64().unwrap() > index, "{code} {body}");
    wait_until("the node registered again and the allocation replaced", Duration::from_secs(60), || {
        let allocs = live_allocs(&agent);
        allocs.len() == 1 && allocs[0]["ID"] != alloc.as_str()
    });
    assert_eq!(get_json(&agent.url(&format!("/v1/allocation/{alloc}")))["ClientStatus"], "lost", "a lost allocation stays lost");

    let out = agent.cli(&["job", "stop", "-purge", "fsjob"]);
    assert!(out.status.success(), "{}", text(&out));
    drop(_purge);
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn client_endpoints_through_a_server() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real agents and needs root");
        return;
    }
    let c = Cluster::start("e2e-api-fwd", 87, 1);
    let server = &c.servers[0];
    let (code, body) = server.get("/v1/agent/health");
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body), json!({ "server": { "ok": true, "message": "ok" } }), "a server-only agent has no client entry");

    let client_agent = ClientAgent::start(&c.root.join("client"), "127.0.87.10", &server.rpc_addr(), &[]);
    let client_log = || client_agent.log();
    let client = |path: &str| format!("http://127.0.87.10:4646{path}");
    wait_until("the client node to be ready", Duration::from_secs(30), || server.get("/v1/nodes").1.contains("\"ready\""));

    // The client-only agent's own health and metrics.
    assert_eq!(get_json(&client("/v1/agent/health")), json!({ "client": { "ok": true, "message": "ok" } }));
    let m = get_json(&client("/v1/metrics"));
    assert!(gauge(&m, "nomad.runtime.alloc_bytes", &[]).is_some(), "{m}");
    assert!(gauge(&m, "nomad.raft.appliedIndex", &[]).is_none(), "a client has no Raft: {m}");

    // A task on the client writes a file; the server forwards the file endpoints to the client.
    let job = json!({ "Job": { "ID": "fwd", "TaskGroups": [{ "Name": "g", "Count": 1, "Tasks": [{ "Name": "t", "Driver": "raw_exec",
        "Config": { "command": "/bin/sh", "args": ["-c", "echo forwarded > $NOMAD_TASK_DIR/f.txt; echo to-stdout; exec sleep 300"] },
        "Resources": { "CPU": 20, "MemoryMB": 16 } }] }] } });
    let _purge = PurgeOnDrop { base: server.url(""), job: "fwd" };
    let (code, body) = http("PUT", &server.url("/v1/jobs"), Some(&job.to_string())).unwrap();
    assert_eq!(code, 200, "{body}");
    let mut alloc = String::new();
    wait_until("the task's file on the client", Duration::from_secs(60), || {
        let (_, body) = server.get("/v1/job/fwd/allocations");
        let allocs: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let Some(id) = allocs.as_array().and_then(|a| a.first()).and_then(|a| a["ID"].as_str()) else { return false };
        alloc = id.to_string();
        server.get(&format!("/v1/client/fs/stat/{alloc}?path=t/local/f.txt")).0 == 200
    });
    let (code, head, body) = http_bytes("GET", &server.url(&format!("/v1/client/fs/ls/{}?path=/", &alloc[..8])), b"").unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert!(header(&head, "Content-Type").unwrap_or_default().starts_with("application/json"), "{head}");
    let names: Vec<String> =
        json_of(&String::from_utf8_lossy(&body)).as_array().unwrap().iter().map(|f| f["Name"].as_str().unwrap().to_string()).collect();
    assert!(names.contains(&"alloc".to_string()) && names.contains(&"t".to_string()), "{names:?}");
    let st: Value = serde_json::from_str(&server.get(&format!("/v1/client/fs/stat/{alloc}?path=t/local/f.txt")).1).unwrap();
    assert_eq!((st["Name"].as_str(), st["Size"].as_u64()), (Some("f.txt"), Some(10)), "{st}");
    let (code, body) = http("GET", &server.url(&format!("/v1/client/fs/cat/{alloc}?path=t/local/f.txt")), None).unwrap();
    assert_eq!((code, body.as_str()), (200, "forwarded\n"), "{}", client_log());
    let (code, body) = server.get(&format!("/v1/client/fs/cat/{alloc}?path=../../etc/passwd"));
    assert_eq!(code, 400, "the client's refusal comes back: {body}");
    // A followed log streams through the server (it never ends, so it must not be buffered).
    let streamed = first_bytes(&server.url(&format!("/v1/client/fs/logs/{alloc}?task=t&plain=true&follow=true")), "to-stdout");
    assert!(streamed.starts_with("HTTP/1.1 200") && streamed.contains("to-stdout"), "{streamed}");
    // The client answers directly too (full ids only, as a Nomad client).
    let (code, body) = http("GET", &client(&format!("/v1/client/fs/cat/{alloc}?path=t/local/f.txt")), None).unwrap();
    assert_eq!((code, body.as_str()), (200, "forwarded\n"));
}
