//! Every CLI command against one live `drover agent -dev`, with Nomad's global flags: `-json` and
//! `-t` output, `-address`/`DROVER_ADDR`/`NOMAD_ADDR`, `-token`, `-region`, `-namespace`; exit codes,
//! and errors that are one line. (`job plan`, `job dispatch`, `job periodic force` and `node drain`
//! have their own files: e2e_job_plan.rs, e2e_dispatch.rs, e2e_drain.rs.)

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::Value;

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Runs the CLI and asserts its exit code.
fn ok(agent: &DevAgent, args: &[&str]) -> String {
    let o = agent.cli(args);
    assert_eq!(o.status.code(), Some(0), "drover {}: {}", args.join(" "), text(&o));
    stdout(&o)
}

/// Runs the CLI, asserts it failed with `code`, and that its error is one line without a backtrace.
fn fails(agent: &DevAgent, args: &[&str], code: i32) -> String {
    let o = agent.cli(args);
    assert_eq!(o.status.code(), Some(code), "drover {}: {}", args.join(" "), text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!err.contains("panicked") && !err.contains("stack backtrace"), "drover {}: {err}", args.join(" "));
    err
}

const WEB: &str = r#"job "cliweb" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got-hup' HUP; echo cli-log-line; while true; do sleep 1; done"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

const TOO_BIG: &str = r#"job "clibig" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      resources {
        cpu    = 20
        memory = 100000000
      }
    }
  }
}
"#;

fn running_alloc(agent: &DevAgent, job: &str) -> Option<String> {
    let allocs = get_json(&agent.url(&format!("/v1/job/{job}/allocations")));
    allocs
        .as_array()?
        .iter()
        .find(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
        .map(|a| a["ID"].as_str().unwrap().to_string())
}

#[test]
fn every_cli_command_against_a_dev_agent() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs a real agent and needs root");
        return;
    }
    let started = Instant::now();
    let dir = temp_dir("e2e-cli");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let agent = DevAgent::start(&dir, &images, free_port(), free_port());
    let _p1 = PurgeOnDrop { base: agent.addr(), job: "cliweb" };
    let _p2 = PurgeOnDrop { base: agent.addr(), job: "clibig" };
    let web = dir.join("web.hcl");
    std::fs::write(&web, WEB).unwrap();
    let web = web.to_str().unwrap();

    // version, agent-info, server members, operator raft/scheduler, with -json and -t
    assert!(ok(&agent, &["version"]).starts_with("Drover v"));
    assert!(ok(&agent, &["agent-info"]).contains("Raft Leader"));
    let me: Value = serde_json::from_str(&ok(&agent, &["agent-info", "-json"])).unwrap();
    assert!(me.get("config").is_some(), "{me}");
    assert!(ok(&agent, &["server", "members"]).contains("alive"));
    assert_eq!(ok(&agent, &["server", "members", "-t", "{{range .Members}}{{.Status}}{{end}}"]), "alive");
    assert!(ok(&agent, &["operator", "raft", "list-peers"]).contains("leader"));
    assert!(ok(&agent, &["operator", "scheduler", "get-config"]).contains("Scheduler Algorithm"));
    assert_eq!(ok(&agent, &["operator", "scheduler", "get-config", "-t", "{{.SchedulerConfig.SchedulerAlgorithm}}"]), "binpack");
    ok(&agent, &["operator", "scheduler", "set-config", "-scheduler-algorithm", "spread"]);
    assert_eq!(ok(&agent, &["operator", "scheduler", "get-config", "-t", "{{.SchedulerConfig.SchedulerAlgorithm}}"]), "spread");
    ok(&agent, &["operator", "scheduler", "set-config", "-scheduler-algorithm", "binpack"]);

    // job init, validate, run, status, inspect, allocs, history, scale, eval, revert
    let init = dir.join("init.nomad.hcl");
    ok(&agent, &["job", "init", init.to_str().unwrap()]);
    assert!(ok(&agent, &["job", "validate", init.to_str().unwrap()]).contains("Job validation successful"));
    let bad = dir.join("bad.hcl");
    std::fs::write(&bad, "job \"x\" {\n  group \"g\" {\n    count = \"many\"\n  }\n}\n").unwrap();
    let err = fails(&agent, &["job", "validate", bad.to_str().unwrap()], 1);
    assert!(err.contains("bad.hcl") && err.contains("count"), "{err}");
    let out = ok(&agent, &["job", "run", web]);
    assert!(out.contains("Monitoring evaluation"), "{out}");
    let alloc = running_alloc(&agent, "cliweb").expect("job run returned with the allocation running");
    let short = &alloc[..8];
    assert!(ok(&agent, &["job", "status"]).contains("cliweb"));
    assert!(ok(&agent, &["job", "status", "cliweb"]).contains("Allocations"));
    assert_eq!(ok(&agent, &["job", "status", "-t", "{{range .}}{{.ID}}:{{.Status}} {{end}}"]), "cliweb:running ");
    let inspected: Value = serde_json::from_str(&ok(&agent, &["job", "inspect", "cliweb"])).unwrap();
    assert_eq!(inspected["Job"]["ID"], "cliweb");
    assert_eq!(ok(&agent, &["job", "inspect", "-t", "{{.Type}}/{{(index .TaskGroups 0).Name}}", "cliweb"]), "service/g");
    assert!(ok(&agent, &["job", "allocs", "cliweb"]).contains(short));
    let allocs: Value = serde_json::from_str(&ok(&agent, &["job", "allocs", "-json", "cliweb"])).unwrap();
    assert_eq!(allocs[0]["ID"], alloc.as_str());
    ok(&agent, &["job", "scale", "cliweb", "g", "2"]);
    wait_until("two allocations", Duration::from_secs(60), || {
        get_json(&agent.url("/v1/job/cliweb/allocations")).as_array().unwrap().iter().filter(|a| a["ClientStatus"] == "running").count()
            == 2
    });
    assert!(ok(&agent, &["job", "history", "cliweb"]).contains("Version"));
    assert_eq!(ok(&agent, &["job", "history", "-t", "{{len .Versions}}", "cliweb"]), "2");
    assert!(ok(&agent, &["job", "eval", "cliweb"]).contains("Evaluation"));
    ok(&agent, &["job", "revert", "cliweb", "0"]);
    wait_until("back to one allocation", Duration::from_secs(60), || {
        get_json(&agent.url("/v1/job/cliweb/allocations")).as_array().unwrap().iter().filter(|a| a["ClientStatus"] == "running").count()
            == 1
    });
    let alloc = running_alloc(&agent, "cliweb").unwrap();
    let short = &alloc[..8];

    // eval list/status, status <prefix>
    assert!(ok(&agent, &["eval", "list"]).contains("cliweb"));
    let evals: Value = serde_json::from_str(&ok(&agent, &["eval", "list", "-json"])).unwrap();
    let eval_id = evals[0]["ID"].as_str().unwrap().to_string();
    assert!(ok(&agent, &["eval", "status", &eval_id]).contains("Status"));
    assert_eq!(ok(&agent, &["eval", "status", "-t", "{{.ID}}", &eval_id]), eval_id);
    assert!(ok(&agent, &["status", "cliweb"]).contains("cliweb"));
    assert!(ok(&agent, &["status", short]).contains(&alloc));

    // alloc status, logs, restart, signal, exec, stop
    assert!(ok(&agent, &["alloc", "status", short]).contains("Client Status"));
    assert_eq!(ok(&agent, &["alloc", "status", "-t", "{{.JobID}}", &alloc]), "cliweb");
    wait_until("the task's log", Duration::from_secs(20), || agent.cli(&["alloc", "logs", short]).stdout.starts_with(b"cli-log-line"));
    ok(&agent, &["alloc", "signal", "-s", "SIGHUP", short]);
    wait_until("the task to log the HUP", Duration::from_secs(20), || stdout(&agent.cli(&["alloc", "logs", short])).contains("got-hup"));
    let exec = ok(&agent, &["alloc", "exec", "-i=false", "-e", "none", short, "/bin/echo", "from-exec"]);
    assert_eq!(exec, "from-exec\n");
    let err = fails(&agent, &["alloc", "exec", "-e", "ab", short, "/bin/true"], 1);
    assert!(err.contains("-e"), "{err}");
    ok(&agent, &["alloc", "restart", short]);
    ok(&agent, &["alloc", "stop", short]);
    wait_until("a replacement allocation", Duration::from_secs(60), || running_alloc(&agent, "cliweb").is_some_and(|a| a != alloc));

    // node status / eligibility
    let nodes = ok(&agent, &["node", "status"]);
    assert!(nodes.contains("ready"), "{nodes}");
    let node_id = ok(&agent, &["node", "status", "-t", "{{range .}}{{.ID}}{{end}}"]);
    assert_eq!(node_id.len(), 36, "{node_id}");
    assert!(ok(&agent, &["node", "status", &node_id]).contains("Drivers"));
    ok(&agent, &["node", "eligibility", "-disable", &node_id]);
    assert_eq!(ok(&agent, &["node", "status", "-t", "{{.SchedulingEligibility}}", &node_id]), "ineligible");
    ok(&agent, &["node", "eligibility", "-enable", &node_id]);

    // var put/get/list/purge, in a namespace from -namespace and from NOMAD_NAMESPACE
    ok(&agent, &["var", "put", "cli/cfg", "k=v"]);
    assert!(ok(&agent, &["var", "get", "cli/cfg"]).contains('v'));
    assert_eq!(ok(&agent, &["var", "get", "-item", "k", "cli/cfg"]).trim(), "v");
    assert!(ok(&agent, &["var", "list"]).contains("cli/cfg"));
    ok(&agent, &["var", "put", "-namespace", "other", "cli/ns", "a=b"]);
    let in_other =
        Command::new(bin()).args(["var", "list"]).env("DROVER_ADDR", agent.addr()).env("NOMAD_NAMESPACE", "other").output().unwrap();
    assert!(stdout(&in_other).contains("cli/ns") && !stdout(&in_other).contains("cli/cfg"), "{}", text(&in_other));
    ok(&agent, &["var", "purge", "cli/cfg"]);
    ok(&agent, &["var", "purge", "-namespace", "other", "cli/ns"]);

    // operator snapshot save / inspect / restore
    let snap = dir.join("backup.snap");
    ok(&agent, &["operator", "snapshot", "save", snap.to_str().unwrap()]);
    assert!(ok(&agent, &["operator", "snapshot", "inspect", snap.to_str().unwrap()]).contains("Index"));
    ok(&agent, &["operator", "snapshot", "restore", snap.to_str().unwrap()]);

    // -address, NOMAD_ADDR, -token, -region
    let o = Command::new(bin()).args(["job", "status", "-address", &agent.addr()]).env_remove("DROVER_ADDR").output().unwrap();
    assert!(o.status.success() && stdout(&o).contains("cliweb"), "{}", text(&o));
    let o = Command::new(bin()).args(["job", "status"]).env_remove("DROVER_ADDR").env("NOMAD_ADDR", agent.addr()).output().unwrap();
    assert!(o.status.success() && stdout(&o).contains("cliweb"), "{}", text(&o));
    ok(&agent, &["job", "status", "-token", "secret-token"]);
    ok(&agent, &["job", "status", "-region", "global"]);
    let err = fails(&agent, &["job", "status", "-region", "mars"], 1);
    assert!(err.contains("No path to region") && err.trim().lines().count() == 1, "{err}");
    let o = Command::new(bin()).args(["job", "status"]).env("DROVER_ADDR", "http://127.0.0.1:1").output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.code() == Some(1) && err.contains("could not reach") && err.trim().lines().count() == 1, "{err}");
    let err = fails(&agent, &["job", "status", "-json", "-t", "{{.}}"], 1);
    assert!(err.contains("-json and -t"), "{err}");
    let err = fails(&agent, &["job", "status", "-t", "{{.ID"], 1);
    assert!(err.contains("template:"), "{err}");

    // job run: a placement that cannot succeed exits non-zero; -detach returns at once
    let big = dir.join("big.hcl");
    std::fs::write(&big, TOO_BIG).unwrap();
    let o = agent.cli(&["job", "run", "-timeout", "20s", big.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "a failed placement: {}", text(&o));
    assert!(text(&o).contains("memory") || text(&o).contains("exhausted"), "{}", text(&o));
    let t = Instant::now();
    let out = ok(&agent, &["job", "run", "-detach", web]);
    assert!(out.contains("Evaluation ID") && t.elapsed() < Duration::from_secs(5), "{out} after {:?}", t.elapsed());

    // system gc: the stopped-and-finished batch job is collected
    assert!(ok(&agent, &["system", "gc"]).contains("garbage collection finished"));
    ok(&agent, &["system", "reconcile", "summaries"]);

    // job stop
    ok(&agent, &["job", "stop", "clibig"]);
    ok(&agent, &["job", "stop", "-purge", "cliweb"]);
    let err = fails(&agent, &["job", "status", "cliweb"], 1);
    assert!(err.contains("not found"), "{err}");
    eprintln!("every CLI command checked in {:.1}s", started.elapsed().as_secs_f64());
}
