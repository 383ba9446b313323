//! End to end: a real `drover agent -dev` process runs jobs/example.hcl as real containers that
//! serve HTTP; bad input is refused clearly; `job stop` leaves nothing behind; state survives a restart.

mod common;

use std::time::Duration;

use common::agent::*;

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn example_job_runs_serves_and_stops_cleanly() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real containers and needs root");
        return;
    }
    let data_dir = temp_dir("e2e");
    let image_dir = data_dir.join("images");
    build_image(&image_dir);
    let (http_port, rpc_port) = (free_port(), free_port());
    let mut agent = DevAgent::start(&data_dir, &image_dir, http_port, rpc_port);

    // job run waits until both allocations run and its deployment found them healthy
    let out = agent.cli(&["job", "run", "jobs/example.hcl"]);
    assert!(out.status.success(), "job run failed:\n{}\nagent log:\n{}", text(&out), agent.log());
    let d = get_json(&agent.url("/v1/job/example/deployment"));
    assert_eq!(d["Status"], "successful", "{d}");
    assert_eq!(d["TaskGroups"]["web"]["HealthyAllocs"], 2, "{d}");
    let regs = get_json(&agent.url("/v1/service/example-web?healthy=true"));
    assert_eq!(regs.as_array().map(Vec::len), Some(2), "both instances registered and passing their check: {regs}");

    let allocs = get_json(&agent.url("/v1/job/example/allocations"));
    let allocs = allocs.as_array().unwrap();
    assert_eq!(allocs.len(), 2);
    let mut ids = Vec::new();
    for a in allocs {
        assert_eq!(a["ClientStatus"], "running", "{a}");
        let id = a["ID"].as_str().unwrap().to_string();
        let port = a["AllocatedResources"]["Shared"]["Ports"][0]["Value"].as_u64().unwrap();
        let url = format!("http://127.0.0.1:{port}/");
        let mut page = String::new();
        wait_until("the container to serve its page", Duration::from_secs(20), || {
            page = http("GET", &url, None).map(|(_, b)| b).unwrap_or_default();
            page.contains(&id)
        });
        assert!(page.contains("hello from allocation"), "{page}");
        ids.push(id);
    }

    // job status shows them running; alloc status and logs work
    let st = agent.cli(&["job", "status", "example"]);
    assert!(st.status.success() && text(&st).contains("running"), "{}", text(&st));
    let short = &ids[0][..8];
    let st = agent.cli(&["alloc", "status", short]);
    assert!(st.status.success() && text(&st).contains("Started"), "{}", text(&st));
    assert!(agent.cli(&["node", "status"]).status.success());
    let logs = agent.cli(&["alloc", "logs", short]);
    assert!(logs.status.success() && text(&logs).contains("serving on port"), "{}", text(&logs));

    // bad input: clear message, non-zero exit, agent unharmed
    let missing = agent.cli(&["job", "run", "/nonexistent/job.hcl"]);
    assert!(!missing.status.success());
    assert!(text(&missing).contains("/nonexistent/job.hcl"), "{}", text(&missing));

    let bad = data_dir.join("syntax.hcl");
    std::fs::write(&bad, "job \"x\" {\n  group \"g\" {\n    count = \n  }\n").unwrap();
    let out = agent.cli(&["job", "run", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("syntax.hcl"), "{}", text(&out));

    let unknown = data_dir.join("driver.hcl");
    std::fs::write(&unknown, "job \"d\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"lxc\"\n    }\n  }\n}\n").unwrap();
    let out = agent.cli(&["job", "run", unknown.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown driver \"lxc\""), "{}", text(&out));

    let huge = data_dir.join("huge.hcl");
    std::fs::write(
        &huge,
        "job \"huge\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"container\"\n      config { image = \"busybox:local\" }\n      resources {\n        memory = 90000000\n      }\n    }\n  }\n}\n",
    )
    .unwrap();
    let out = agent.cli(&["job", "run", huge.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("memory"), "{}", text(&out));
    assert!(agent.alive(), "agent died on bad input:\n{}", agent.log());
    assert!(!agent.log().contains("panicked"), "{}", agent.log());

    // job stop leaves no process, mount or cgroup behind
    let out = agent.cli(&["job", "stop", "example"]);
    assert!(out.status.success(), "{}", text(&out));
    let exec_root = data_dir.join("client").join("executors");
    wait_until("executors to exit", Duration::from_secs(30), || processes_mentioning(exec_root.to_str().unwrap()).is_empty());
    assert!(mounts_under(&data_dir).is_empty(), "{:?}", mounts_under(&data_dir));
    for id in &ids {
        assert!(cgroups_named(id).is_empty(), "{:?}", cgroups_named(id));
        assert!(http("GET", &format!("http://127.0.0.1:{}/", allocs_port(&agent, id)), None).is_err(), "instance still serving after stop");
    }

    // state survives a restart of the agent on the same data dir
    agent.stop();
    let agent = DevAgent::start(&data_dir, &image_dir, http_port, rpc_port);
    let job = get_json(&agent.url("/v1/job/example"));
    assert_eq!(job["ID"], "example");
    assert_eq!(job["Stop"], true);
    let allocs = get_json(&agent.url("/v1/job/example/allocations"));
    assert_eq!(allocs.as_array().unwrap().len(), 2);
    drop(agent);
    let _ = std::fs::remove_dir_all(&data_dir);
}

fn allocs_port(agent: &DevAgent, id: &str) -> u64 {
    let a = get_json(&agent.url(&format!("/v1/allocation/{id}")));
    a["AllocatedResources"]["Shared"]["Ports"][0]["Value"].as_u64().unwrap()
}
