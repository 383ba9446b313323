//! End to end: Nomad's allocation operations against a real `drover agent -dev` running a busybox
//! container task and a raw_exec task — in-place restart (new pid, a Restarting event, not counted
//! against a restart policy that allows no restarts), signals caught by the tasks' traps, resource
//! usage read from the tasks' cgroups, and `alloc exec` inside the container and next to the raw task
//! (output, stdin, exit codes). Then a server and a client-only agent on 127.0.97.x: the server
//! forwards restart, signal, stats and the exec websocket to the client.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::agent::*;
use common::cluster::Cluster;
use serde_json::Value;

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const JOB: &str = r#"job "allocops" {
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "box" {
      driver = "container"
      config {
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got-usr1 > /alloc/usr1-box' USR1; while true; do sleep 1; done"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
    task "raw" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got-usr1 > $NOMAD_ALLOC_DIR/usr1-raw' USR1; while true; do sleep 1; done"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// The running allocation of the job, once both its tasks run.
fn running_alloc(base: &str, job: &str) -> Value {
    let mut found = Value::Null;
    wait_until("both tasks to run", Duration::from_secs(60), || {
        let Ok((200, body)) = http("GET", &format!("{base}/v1/job/{job}/allocations"), None) else { return false };
        let allocs: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let Some(a) = allocs.as_array().and_then(|a| a.iter().find(|a| a["ClientStatus"] == "running")) else { return false };
        let id = a["ID"].as_str().unwrap_or_default();
        let full = get_json(&format!("{base}/v1/allocation/{id}"));
        let ok = ["box", "raw"].iter().all(|t| full["TaskStates"][t]["State"] == "running");
        if ok {
            found = full;
        }
        ok
    });
    found
}

fn task_state(base: &str, alloc: &str, task: &str) -> Value {
    get_json(&format!("{base}/v1/allocation/{alloc}"))["TaskStates"][task].clone()
}

fn task_pid(exec_root: &Path, alloc: &str, task: &str) -> Option<i32> {
    std::fs::read_to_string(exec_root.join(alloc).join(task).join("task.pid")).ok()?.trim().parse().ok()
}

fn events(state: &Value) -> Vec<(String, String)> {
    task_events(state)
}

/// Runs the CLI with `input` on its stdin.
fn cli_with_stdin(addr: &str, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .env("DROVER_ADDR", addr)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run drover cli");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn cli(addr: &str, args: &[&str]) -> Output {
    Command::new(bin()).args(args).env("DROVER_ADDR", addr).stdin(Stdio::null()).output().expect("run drover cli")
}

fn post(url: &str, body: &str) -> (u16, String) {
    http("POST", url, Some(body)).unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

#[test]
fn restart_signal_stats_and_exec_on_a_dev_agent() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real containers and needs root");
        return;
    }
    let dir = temp_dir("allocops");
    let images = dir.join("images");
    build_image(&images);
    let agent = DevAgent::start(&dir, &images, free_port(), free_port());
    let base = agent.addr();
    let file = dir.join("allocops.hcl");
    std::fs::write(&file, JOB).unwrap();
    let _purge = PurgeOnDrop { base: base.clone(), job: "allocops" };
    let out = agent.cli(&["job", "run", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}\n{}", text(&out), agent.log());
    let alloc = running_alloc(&base, "allocops");
    let id = alloc["ID"].as_str().unwrap().to_string();
    let short = id[..8].to_string();
    let exec_root = dir.join("client").join("executors");
    let shared = dir.join("client").join("alloc").join(&id).join("alloc");

    // Restart one task in place: a new process, a Restarting event, and — with a policy that allows
    // no restarts — still running, so the restart was not counted as a failure.
    let before = task_pid(&exec_root, &id, "box").expect("box task pid");
    let raw_before = task_pid(&exec_root, &id, "raw").expect("raw task pid");
    let out = cli(&base, &["alloc", "restart", &short, "box"]);
    assert!(out.status.success(), "{}\n{}", text(&out), agent.log());
    wait_until("the box task to run again", Duration::from_secs(30), || {
        // The new pid file appears before the client's report of the restart reaches the server.
        let st = task_state(&base, &id, "box");
        task_pid(&exec_root, &id, "box").is_some_and(|p| p != before) && st["State"] == "running" && st["Restarts"] == 1
    });
    let st = task_state(&base, &id, "box");
    let ev = events(&st);
    assert!(ev.iter().any(|(k, m)| k == "Restart Signaled" && m == "User requested restart"), "{ev:?}");
    assert!(ev.iter().any(|(k, m)| k == "Restarting" && m.contains("User requested restart")), "{ev:?}");
    assert_eq!(st["Restarts"], 1, "{st}");
    assert_eq!(st["Failed"], false, "{st}");
    assert_eq!(task_pid(&exec_root, &id, "raw"), Some(raw_before), "restarting one task left the other alone");
    std::thread::sleep(Duration::from_secs(1));
    let a = get_json(&format!("{base}/v1/allocation/{id}"));
    assert_eq!(a["ClientStatus"], "running", "{a}");
    assert_eq!(a["TaskStates"]["box"]["State"], "running", "{a}");

    // The API directly, for all tasks: both get new processes.
    let raw_now = task_pid(&exec_root, &id, "raw").unwrap();
    let box_now = task_pid(&exec_root, &id, "box").unwrap();
    let (code, body) = post(&format!("{base}/v1/client/allocation/{id}/restart"), r#"{"AllTasks":true}"#);
    assert_eq!(code, 200, "{body}");
    wait_until("both tasks to run again", Duration::from_secs(30), || {
        task_pid(&exec_root, &id, "raw").is_some_and(|p| p != raw_now)
            && task_pid(&exec_root, &id, "box").is_some_and(|p| p != box_now)
            && [("box", 2), ("raw", 1)].iter().all(|(t, n)| {
                let st = task_state(&base, &id, t);
                st["State"] == "running" && st["Restarts"] == *n
            })
    });
    assert_eq!(task_state(&base, &id, "raw")["Restarts"], 1);

    // Bad input: unknown task, unknown signal, unknown allocation.
    let out = cli(&base, &["alloc", "restart", &short, "nosuch"]);
    assert!(!out.status.success() && text(&out).contains("Could not find task named: nosuch"), "{}", text(&out));
    let out = cli(&base, &["alloc", "signal", "-s", "SIGNOPE", &short, "box"]);
    assert!(!out.status.success() && text(&out).contains("invalid signal \"SIGNOPE\""), "{}", text(&out));
    assert_eq!(text(&out).trim().lines().count(), 1, "one-line error: {}", text(&out));
    let (code, _) = post(&format!("{base}/v1/client/allocation/ffffffff-0000-0000-0000-000000000000/signal"), r#"{"Signal":"SIGUSR1"}"#);
    assert_eq!(code, 404);

    // Signals: to one task, then to all; each task's trap writes a file.
    let box_file = shared.join("usr1-box");
    let raw_file = shared.join("usr1-raw");
    let out = cli(&base, &["alloc", "signal", "-s", "SIGUSR1", &short, "box"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("the container's trap to write its file", Duration::from_secs(15), || box_file.exists());
    assert_eq!(std::fs::read_to_string(&box_file).unwrap().trim(), "got-usr1");
    assert!(!raw_file.exists(), "only the named task was signalled");
    let st = task_state(&base, &id, "box");
    assert!(events(&st).iter().any(|(k, m)| k == "Signaling" && m.contains("SIGUSR1")), "{st}");
    let out = cli(&base, &["alloc", "signal", "-s", "usr1", &short]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("the raw task's trap to write its file", Duration::from_secs(15), || raw_file.exists());
    assert!(["box", "raw"].iter().all(|t| task_state(&base, &id, t)["State"] == "running"), "the traps kept both tasks running");

    // Stats: memory and CPU per task and for the allocation, in Nomad's shape.
    let stats = get_json(&format!("{base}/v1/client/allocation/{short}/stats"));
    for t in ["box", "raw"] {
        let m = &stats["Tasks"][t]["ResourceUsage"]["MemoryStats"];
        assert!(m["RSS"].as_u64().unwrap_or(0) > 0, "{t}: {stats}");
        assert!(m["Usage"].as_u64().unwrap_or(0) > 0, "{t}: {stats}");
        assert!(m["Measured"].as_array().is_some_and(|a| !a.is_empty()), "{t}: {stats}");
        let c = &stats["Tasks"][t]["ResourceUsage"]["CpuStats"];
        assert!(c["Percent"].is_number() && c["TotalTicks"].is_number() && c["Measured"].as_array().is_some(), "{t}: {stats}");
        assert!(stats["Tasks"][t]["Timestamp"].as_i64().unwrap_or(0) > 0, "{stats}");
        assert!(stats["Tasks"][t]["Pids"].is_null(), "{stats}");
    }
    let total = stats["ResourceUsage"]["MemoryStats"]["RSS"].as_u64().unwrap();
    let parts: u64 = ["box", "raw"].iter().map(|t| stats["Tasks"][t]["ResourceUsage"]["MemoryStats"]["RSS"].as_u64().unwrap()).sum();
    assert_eq!(total, parts, "{stats}");
    assert!(stats["Timestamp"].as_i64().unwrap_or(0) > 0, "{stats}");

    // exec inside the container: its pid namespace (pid 1 is the task's shell), output, exit codes.
    let out = cli(&base, &["alloc", "exec", "-task", "box", &short, "cat", "/proc/1/cmdline"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("trap"), "{}", text(&out));
    let out = cli(&base, &["alloc", "exec", "-job", "-task", "box", "allocops", "echo", "hi"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n", "-job: {}", text(&out));
    let out = cli(&base, &["alloc", "exec", "-task", "box", &short, "echo", "hi"]);
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stdout).to_string()), (Some(0), "hi\n".to_string()), "{}", text(&out));
    let out = cli(&base, &["alloc", "exec", "-task", "box", &short, "sh", "-c", "echo oops >&2; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    let out = cli_with_stdin(&base, &["alloc", "exec", "-task", "box", &short, "sh", "-c", "tr a-z A-Z; ls -d /local"], b"piped in\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PIPED IN\n/local\n", "{}", text(&out));
    let out = cli(&base, &["alloc", "exec", "-task", "box", &short, "/no/such/binary"]);
    assert!(!out.status.success(), "{}", text(&out));

    // exec next to the raw_exec task: its directory and environment.
    let out = cli(&base, &["alloc", "exec", "-task", "raw", &short, "sh", "-c", "echo $NOMAD_TASK_NAME; pwd; exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let task_dir = dir.join("client").join("alloc").join(&id).join("raw");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("raw\n{}\n", task_dir.display()), "{}", text(&out));
    let out = cli(&base, &["alloc", "exec", &short, "true"]);
    assert!(!out.status.success() && text(&out).contains("-task"), "two tasks need -task: {}", text(&out));

    // -t: the command runs on a terminal, in the container and next to the raw task.
    for t in ["box", "raw"] {
        let out = cli(&base, &["alloc", "exec", "-t", "-task", t, &short, "sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty"]);
        assert!(out.status.success(), "{t}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("on-a-tty"), "{t}: {}", text(&out));
    }

    // A session that ends early (the CLI is killed) takes its command with it.
    for (t, marker) in [("box", "4321"), ("raw", "4322")] {
        let mut session = Command::new(bin())
            .args(["alloc", "exec", "-task", t, &short, "sleep", marker])
            .env("DROVER_ADDR", &base)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sleeping = || processes_mentioning(&format!("sleep {marker}")).into_iter().filter(|p| !p.contains("alloc")).count();
        wait_until("the exec'd command to run", Duration::from_secs(15), || sleeping() > 0);
        let _ = session.kill();
        let _ = session.wait();
        wait_until("the exec'd command to end with its session", Duration::from_secs(15), || sleeping() == 0);
    }

    // The websocket answers with Nomad's frames.
    let out = cli(&base, &["alloc", "exec", "-task", "nosuch", &short, "true"]);
    assert!(!out.status.success() && text(&out).contains("Could not find task named: nosuch"), "{}", text(&out));
    assert!(!agent.log().contains("panicked"), "{}", agent.log());
    drop(_purge);
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_server_forwards_allocation_operations_to_the_client() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real tasks and needs root");
        return;
    }
    let c = Cluster::start("allocops-fwd", 97, 1);
    c.wait_leader_everywhere(Duration::from_secs(30));
    let server = &c.servers[0];
    let dir: PathBuf = temp_dir("allocops-client");
    let client_agent = ClientAgent::start(&dir, "127.0.97.10", &server.rpc_addr(), &[]);
    let client_log = || client_agent.log();
    wait_until("the client node to be ready", Duration::from_secs(30), || server.get("/v1/nodes").1.contains("\"ready\""));

    let job = r#"{"Job":{"ID":"fwdops","TaskGroups":[{"Name":"g","Count":1,"Tasks":[
        {"Name":"box","Driver":"raw_exec","Config":{"command":"/bin/sh","args":["-c","trap 'echo got-usr1 > $NOMAD_ALLOC_DIR/usr1-box' USR1; while true; do sleep 1; done"]},"Resources":{"CPU":20,"MemoryMB":16}},
        {"Name":"raw","Driver":"raw_exec","Config":{"command":"/bin/sh","args":["-c","while true; do sleep 1; done"]},"Resources":{"CPU":20,"MemoryMB":16}}]}]}}"#;
    let base = server.url("").trim_end_matches('/').to_string();
    let _purge = PurgeOnDrop { base: base.clone(), job: "fwdops" };
    let (code, body) = http("PUT", &server.url("/v1/jobs"), Some(job)).unwrap();
    assert_eq!(code, 200, "{body}");
    let alloc = running_alloc(&base, "fwdops");
    let id = alloc["ID"].as_str().unwrap().to_string();
    let exec_root = dir.join("client").join("executors");

    // restart through the server
    let before = task_pid(&exec_root, &id, "box").expect("task pid");
    let (code, body) = post(&server.url(&format!("/v1/client/allocation/{id}/restart")), r#"{"TaskName":"box"}"#);
    assert_eq!(code, 200, "{body}\n{}", client_log());
    wait_until("the task to run again", Duration::from_secs(30), || {
        // The new pid file appears before the client's report of the restart reaches the server.
        let st = task_state(&base, &id, "box");
        task_pid(&exec_root, &id, "box").is_some_and(|p| p != before) && st["State"] == "running" && st["Restarts"] == 1
    });

    // signal through the server
    let (code, body) = post(&server.url(&format!("/v1/client/allocation/{id}/signal")), r#"{"Signal":"SIGUSR1","Task":"box"}"#);
    assert_eq!(code, 200, "{body}");
    let file = dir.join("client").join("alloc").join(&id).join("alloc").join("usr1-box");
    wait_until("the trap to write its file", Duration::from_secs(15), || file.exists());

    // stats and exec through the server
    let stats = get_json(&server.url(&format!("/v1/client/allocation/{id}/stats")));
    assert!(stats["Tasks"]["box"]["ResourceUsage"]["MemoryStats"]["Usage"].as_u64().unwrap_or(0) > 0, "{stats}");
    let out = cli(&base, &["alloc", "exec", "-task", "box", &id[..8], "sh", "-c", "echo fwd-$NOMAD_TASK_NAME; exit 5"]);
    assert_eq!(out.status.code(), Some(5), "{}\n{}", text(&out), client_log());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fwd-box\n");
    drop(_purge);
    let _ = std::fs::remove_dir_all(&dir);
}
