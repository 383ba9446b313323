//! End to end: Nomad's native service discovery through a real `drover agent -dev` and raw_exec jobs
//! with `provider = "nomad"` services. A job of count 2 registers exactly its two running allocations
//! (their ports and addresses); scaling to 3 and to 1 follows, the scale-down honouring
//! `shutdown_delay` (services gone first, tasks killed later); `job stop` leaves none. The raw API
//! (field names, X-Nomad-Index, a blocking query woken by a registration, `?choose=`, the job and
//! allocation views, a deletion, the event stream's Service topic) and `drover service list|info|delete`
//! with their exit codes. Checks
//! (http, tcp) run by the client, their results in `/v1/client/allocation/:id/checks`; `check_restart`
//! restarting an unhealthy task within its restart policy. A client-only
//! agent registering through a server, and its registrations removed when its node goes down.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::Value;

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `(status, response head, body)` of a request (replies without chunking).
fn call(agent: &DevAgent, method: &str, path: &str) -> (u16, String, String) {
    let (code, head, payload) = http_bytes(method, &agent.url(path), b"").unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (code, head, String::from_utf8_lossy(&payload).to_string())
}

fn nomad_index(head: &str) -> u64 {
    header(head, "X-Nomad-Index").and_then(|i| i.parse().ok()).unwrap_or(0)
}

const JOB: &str = r#"job "websvc" {
  group "g" {
    count          = 2
    shutdown_delay = "2s"
    network {
      port "http" {}
    }
    service {
      name     = "web"
      port     = "http"
      provider = "nomad"
      tags     = ["a"]
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

const OTHER: &str = r#"job "othersvc" {
  group "db" {
    network {
      port "db" {}
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 300"]
      }
      service {
        name     = "db"
        port     = "db"
        provider = "nomad"
        tags     = ["y", "x"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// Running allocations of a job (desired run, client running), by id.
fn running(agent: &DevAgent, job: &str) -> Vec<Value> {
    let allocs = get_json(&agent.url(&format!("/v1/job/{job}/allocations")));
    allocs.as_array().unwrap().iter().filter(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run").cloned().collect()
}

fn registrations(agent: &DevAgent, name: &str) -> Vec<Value> {
    get_json(&agent.url(&format!("/v1/service/{name}"))).as_array().unwrap().clone()
}

/// Waits until the service's registrations are exactly those of the job's running allocations, `n` of them.
fn wait_for_exactly(agent: &DevAgent, job: &str, name: &str, n: usize) -> Vec<Value> {
    let start = Instant::now();
    let mut regs = Vec::new();
    wait_until(&format!("{n} registrations of {name} matching the running allocations"), Duration::from_secs(60), || {
        regs = registrations(agent, name);
        let ids: BTreeSet<String> = running(agent, job).iter().map(|a| a["ID"].as_str().unwrap().to_string()).collect();
        let registered: BTreeSet<String> = regs.iter().map(|r| r["AllocID"].as_str().unwrap().to_string()).collect();
        regs.len() == n && ids.len() == n && ids == registered
    });
    eprintln!("timing: {n} registrations of {name} after {:?}", start.elapsed());
    regs
}

/// Each registration carries its allocation's allocated `label` port and host IP, and Nomad's id.
fn check_ports(agent: &DevAgent, regs: &[Value], label: &str, owner: &str) {
    for r in regs {
        let alloc_id = r["AllocID"].as_str().unwrap();
        let alloc = get_json(&agent.url(&format!("/v1/allocation/{alloc_id}")));
        let ports = alloc["AllocatedResources"]["Shared"]["Ports"].as_array().unwrap();
        let port = ports.iter().find(|p| p["Label"] == label).unwrap_or_else(|| panic!("no {label} port: {alloc}"));
        assert_eq!(r["Port"], port["Value"], "{r}");
        assert_eq!(r["Address"], port["HostIP"], "{r}");
        assert!(!r["Address"].as_str().unwrap().is_empty(), "{r}");
        assert_eq!(r["NodeID"], alloc["NodeID"], "{r}");
        assert_eq!(r["Datacenter"], "dc1", "{r}");
        let name = r["ServiceName"].as_str().unwrap();
        assert_eq!(r["ID"].as_str().unwrap(), format!("_nomad-task-{alloc_id}-{owner}-{name}-{label}"));
    }
}

#[test]
fn native_service_discovery() {
    let Some((agent, dir)) = dev_agent("e2e-services") else { return };
    let _purge = PurgeOnDrop { base: agent.addr(), job: "websvc" };
    let _purge_other = PurgeOnDrop { base: agent.addr(), job: "othersvc" };

    // Nothing registered yet: an empty list, an unknown service is an empty list, the CLI says so.
    let (code, head, body) = call(&agent, "GET", "/v1/services");
    assert_eq!((code, body.trim()), (200, "[]"), "{head}");
    assert!(nomad_index(&head) >= 1, "{head}");
    assert_eq!(get_json(&agent.url("/v1/service/web")), Value::Array(vec![]));
    let out = agent.cli(&["service", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "No service registrations found");

    // count = 2: exactly the two running allocations, with their ports and addresses.
    let file = dir.join("websvc.hcl");
    std::fs::write(&file, JOB).unwrap();
    let t = Instant::now();
    let out = agent.cli(&["job", "run", "-detach", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let regs = wait_for_exactly(&agent, "websvc", "web", 2);
    eprintln!("timing: job run to 2 registrations {:?}", t.elapsed());
    check_ports(&agent, &regs, "http", "group-g");

    // The raw reply: Nomad's field names only, and an index at least each registration's.
    let (code, head, body) = call(&agent, "GET", "/v1/service/web");
    assert_eq!(code, 200, "{body}");
    let raw: Value = serde_json::from_str(&body).unwrap();
    let want: BTreeSet<&str> = [
        "ID",
        "ServiceName",
        "Namespace",
        "NodeID",
        "Datacenter",
        "JobID",
        "AllocID",
        "Tags",
        "Address",
        "Port",
        "CreateIndex",
        "ModifyIndex",
    ]
    .into();
    for r in raw.as_array().unwrap() {
        let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, want, "{r}");
        assert_eq!(
            (r["ServiceName"].as_str(), r["Namespace"].as_str(), r["JobID"].as_str()),
            (Some("web"), Some("default"), Some("websvc"))
        );
        assert_eq!(r["Tags"], serde_json::json!(["a"]));
        assert!(r["CreateIndex"].as_u64().unwrap() > 0 && r["ModifyIndex"].as_u64() >= r["CreateIndex"].as_u64(), "{r}");
    }
    let index = nomad_index(&head);
    assert!(raw.as_array().unwrap().iter().all(|r| r["ModifyIndex"].as_u64().unwrap() <= index), "index {index}: {body}");
    assert_eq!(header(&head, "X-Nomad-KnownLeader").as_deref(), Some("true"));
    let (_, _, body) = call(&agent, "GET", "/v1/services");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        serde_json::json!([{ "Namespace": "default", "Services": [{ "ServiceName": "web", "Tags": ["a"] }] }])
    );

    // A blocking query on the service parks until a registration changes it: scale to 3.
    let url = agent.url(&format!("/v1/service/web?index={index}&wait=30s"));
    let waiter = std::thread::spawn(move || {
        let t = Instant::now();
        let r = http_bytes("GET", &url, b"").unwrap();
        (r, t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!waiter.is_finished(), "the blocking query returned before anything changed");
    let t = Instant::now();
    let out = agent.cli(&["job", "scale", "websvc", "g", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    let ((code, head, _), waited) = waiter.join().unwrap();
    assert_eq!(code, 200);
    assert!(nomad_index(&head) > index, "{head}");
    eprintln!("timing: blocking query woke after {waited:?}");
    let regs = wait_for_exactly(&agent, "websvc", "web", 3);
    eprintln!("timing: scale to 3 → 3 registrations {:?}", t.elapsed());
    check_ports(&agent, &regs, "http", "group-g");

    // ?choose=<n>|<key>: n instances, the same ones for the same key; a malformed one is refused.
    let pick = |key: &str| -> Vec<String> {
        let v = get_json(&agent.url(&format!("/v1/service/web?choose=2%7C{key}")));
        v.as_array().unwrap().iter().map(|r| r["ID"].as_str().unwrap().to_string()).collect()
    };
    let chosen = pick("client-1");
    assert_eq!(chosen.len(), 2);
    assert_eq!(chosen, pick("client-1"));
    assert!((0..8).map(|i| pick(&format!("k{i}"))).any(|c| c != chosen), "every key picked the same instances");
    assert_eq!(call(&agent, "GET", "/v1/service/web?choose=two").0, 400);

    // The job's and an allocation's views.
    let of_job = get_json(&agent.url("/v1/job/websvc/services"));
    assert_eq!(of_job.as_array().unwrap().len(), 3, "{of_job}");
    let one = regs[0]["AllocID"].as_str().unwrap();
    let of_alloc = get_json(&agent.url(&format!("/v1/allocation/{one}/services")));
    assert_eq!(of_alloc.as_array().unwrap().len(), 1, "{of_alloc}");
    assert_eq!(of_alloc[0]["AllocID"], one);
    assert_eq!(call(&agent, "GET", "/v1/job/nosuchjob/services").0, 404);

    // A second job with a task-level service; the CLI lists both, and shows their registrations.
    let other = dir.join("othersvc.hcl");
    std::fs::write(&other, OTHER).unwrap();
    let out = agent.cli(&["job", "run", "-detach", other.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let db = wait_for_exactly(&agent, "othersvc", "db", 1);
    check_ports(&agent, &db, "db", "t");
    let out = agent.cli(&["service", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(lines, ["Service Name Tags", "db [x,y]", "web [a]"], "{}", text(&out));
    let out = agent.cli(&["service", "info", "web"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>().join(" "), "Job ID Address Tags Health Node ID Alloc ID", "{stdout}");
    assert_eq!(lines.len(), 4, "{stdout}");
    for r in &regs {
        let row = format!("{}:{}", r["Address"].as_str().unwrap(), r["Port"]);
        let alloc_short = &r["AllocID"].as_str().unwrap()[..8];
        assert!(
            lines.iter().any(|l| l.contains(&row) && l.contains(alloc_short) && l.contains("[a]") && l.starts_with("websvc")),
            "{row}: {stdout}"
        );
    }
    let out = agent.cli(&["service", "info", "-verbose", "db"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let id = db[0]["ID"].as_str().unwrap();
    for want in
        [format!("ID           = {id}"), "Service Name = db".into(), "Job ID       = othersvc".into(), "Tags         = [y,x]".into()]
    {
        assert!(stdout.contains(&want), "{want:?} missing: {stdout}");
    }
    let out = agent.cli(&["service", "info", "-json", "db"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()[0]["ID"], id);

    // Delete: an unknown registration fails with one line and exit 1; the real one goes.
    let out = agent.cli(&["service", "delete", "db", "_nomad-task-nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim().lines().count(), 1, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"), "{}", text(&out));
    let (code, _, _) = call(&agent, "DELETE", "/v1/service/web/_nomad-task-nope");
    assert_eq!(code, 404);
    let out = agent.cli(&["service", "delete", "db", id]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Successfully deleted service registration");
    assert!(registrations(&agent, "db").is_empty());

    // Scale to 1: two registrations go at once, their tasks are killed only after shutdown_delay (2s).
    let t = Instant::now();
    let out = agent.cli(&["job", "scale", "websvc", "g", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("one registration", Duration::from_secs(30), || registrations(&agent, "web").len() == 1);
    let gone = t.elapsed();
    let stopping: Vec<String> = get_json(&agent.url("/v1/job/websvc/allocations"))
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["DesiredStatus"] == "stop")
        .map(|a| a["ID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stopping.len(), 2);
    for id in &stopping {
        let a = get_json(&agent.url(&format!("/v1/allocation/{id}")));
        assert_eq!(a["ClientStatus"], "running", "the task was killed before the shutdown delay passed: {a}");
    }
    wait_until("the stopped allocations to complete", Duration::from_secs(30), || {
        stopping.iter().all(|id| get_json(&agent.url(&format!("/v1/allocation/{id}")))["ClientStatus"] == "complete")
    });
    let killed = t.elapsed();
    eprintln!("timing: scale to 1: registrations gone after {gone:?}, tasks ended after {killed:?}");
    assert!(killed >= gone + Duration::from_millis(1500), "shutdown_delay not honoured: gone {gone:?}, killed {killed:?}");
    wait_for_exactly(&agent, "websvc", "web", 1);

    // job stop: none left, and the list is empty again.
    let t = Instant::now();
    let out = agent.cli(&["job", "stop", "-detach", "websvc"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("no registrations", Duration::from_secs(30), || registrations(&agent, "web").is_empty());
    eprintln!("timing: job stop → no registrations {:?}", t.elapsed());
    let out = agent.cli(&["job", "stop", "-detach", "othersvc"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("an empty service list", Duration::from_secs(30), || get_json(&agent.url("/v1/services")) == Value::Array(vec![]));
    let out = agent.cli(&["service", "info", "web"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "No service registrations found");

    // The event stream's Service topic replays the registrations and their removals.
    let events = first_bytes(&agent.url("/v1/event/stream?topic=Service:web&index=1"), "ServiceDeregistration");
    assert!(events.contains("\"Topic\":\"Service\"") && events.contains("\"Type\":\"ServiceRegistration\""), "{events}");
    assert!(events.contains("\"ServiceName\":\"web\"") && !events.contains("\"ServiceName\":\"db\""), "{events}");
}

const CHECKED: &str = r#"job "checksvc" {
  group "g" {
    network {
      port "http" {}
      port "spare" {}
    }
    service {
      name     = "api"
      port     = "http"
      provider = "nomad"
      check {
        name     = "api-http"
        type     = "http"
        path     = "/health"
        interval = "1s"
        timeout  = "1s"
      }
      check {
        name     = "nobody-listens"
        type     = "tcp"
        port     = "spare"
        interval = "1s"
        timeout  = "1s"
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "mkdir -p $NOMAD_TASK_DIR/www && echo ok > $NOMAD_TASK_DIR/www/health && exec busybox httpd -f -p $NOMAD_PORT_http -h $NOMAD_TASK_DIR/www"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// Checks of a native service run on the client: an http check that passes, a tcp check of a port
/// nobody listens on that fails, both in `GET /v1/client/allocation/:id/checks` in Nomad's shape.
#[test]
fn native_service_checks() {
    if std::process::Command::new("busybox").arg("true").status().map(|s| !s.success()).unwrap_or(true) {
        eprintln!("skipping: busybox (for its httpd) is not on the PATH");
        return;
    }
    let Some((agent, dir)) = dev_agent("e2e-checks") else { return };
    let _purge = PurgeOnDrop { base: agent.addr(), job: "checksvc" };
    let file = dir.join("checksvc.hcl");
    std::fs::write(&file, CHECKED).unwrap();
    let t = Instant::now();
    let out = agent.cli(&["job", "run", "-detach", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let regs = wait_for_exactly(&agent, "checksvc", "api", 1);
    let alloc = regs[0]["AllocID"].as_str().unwrap().to_string();
    let mut checks = Value::Null;
    wait_until("both checks to have a verdict", Duration::from_secs(30), || {
        let (code, _, body) = call(&agent, "GET", &format!("/v1/client/allocation/{alloc}/checks"));
        checks = serde_json::from_str(&body).unwrap_or(Value::Null);
        code == 200
            && checks.as_object().is_some_and(|m| m.len() == 2 && m.values().all(|c| c["Status"] == "success" || c["Status"] == "failure"))
    });
    eprintln!("timing: job run to both check verdicts {:?}", t.elapsed());
    let by_name =
        |name: &str| checks.as_object().unwrap().values().find(|c| c["Check"] == name).cloned().unwrap_or_else(|| panic!("{checks}"));
    let http = by_name("api-http");
    assert_eq!((http["Status"].as_str(), http["StatusCode"].as_u64()), (Some("success"), Some(200)), "{http}");
    assert_eq!((http["Service"].as_str(), http["Mode"].as_str(), http["Task"].as_str()), (Some("api"), Some("healthiness"), Some("")));
    assert_eq!(http["Group"], "checksvc.g[0]");
    assert!(http["Timestamp"].as_i64().unwrap() > 1_600_000_000, "{http}");
    let want: BTreeSet<&str> = ["ID", "Check", "Group", "Task", "Service", "Mode", "Status", "StatusCode", "Output", "Timestamp"].into();
    assert_eq!(http.as_object().unwrap().keys().map(String::as_str).collect::<BTreeSet<_>>(), want);
    let id = http["ID"].as_str().unwrap();
    assert_eq!(checks[id], http, "results are keyed by their ID");
    let tcp = by_name("nobody-listens");
    assert_eq!(tcp["Status"], "failure", "{tcp}");
    assert!(!tcp["Output"].as_str().unwrap().is_empty(), "{tcp}");
    assert_eq!(call(&agent, "GET", "/v1/client/allocation/00000000-0000-0000-0000-000000000000/checks").0, 404);

    // `alloc checks` by short id: Nomad's blocks, one per check.
    let out = agent.cli(&["alloc", "checks", &alloc[..8]]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.starts_with("Status of 2 Nomad Service Checks\n"), "{stdout}");
    for want in
        ["Name       = api-http", "Task       = (group)", "Status     = success", "Status     = failure", "Output     = nomad: http ok"]
    {
        assert!(stdout.contains(want), "{want:?} missing: {stdout}");
    }
    let out = agent.cli(&["alloc", "checks", "ffffffff"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// The `websvc` job with other services: `tags` for `web`, and an `admin` service when asked.
fn websvc_with(tags: &str, admin: bool) -> String {
    let admin = if admin {
        "    service {\n      name     = \"admin\"\n      port     = \"http\"\n      provider = \"nomad\"\n    }\n"
    } else {
        ""
    };
    JOB.replace("      tags     = [\"a\"]\n    }\n", &format!("      tags     = {tags}\n    }}\n{admin}"))
}

/// A change of services only (tags, one more service, one less) is an in-place update: the same
/// allocations and processes keep running, and their registrations follow the new version.
#[test]
fn an_in_place_update_re_registers_services() {
    let Some((agent, dir)) = dev_agent("e2e-inplace-services") else { return };
    let _purge = PurgeOnDrop { base: agent.addr(), job: "websvc" };
    let file = dir.join("websvc.hcl");
    let run = |spec: String| {
        std::fs::write(&file, spec).unwrap();
        let out = agent.cli(&["job", "run", "-detach", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out));
    };
    run(websvc_with("[\"a\"]", false));
    let regs = wait_for_exactly(&agent, "websvc", "web", 2);
    let allocs: BTreeSet<String> = regs.iter().map(|r| r["AllocID"].as_str().unwrap().to_string()).collect();
    let started_at = |agent: &DevAgent| -> BTreeSet<String> {
        running(agent, "websvc")
            .iter()
            .map(|a| {
                let full = get_json(&agent.url(&format!("/v1/allocation/{}", a["ID"].as_str().unwrap())));
                full["TaskStates"]["t"]["StartedAt"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    };
    let started = started_at(&agent);

    run(websvc_with("[\"b\", \"c\"]", true));
    wait_until("web re-tagged and admin registered, in place", Duration::from_secs(30), || {
        let web = registrations(&agent, "web");
        let admin = registrations(&agent, "admin");
        web.len() == 2
            && web.iter().all(|r| r["Tags"] == serde_json::json!(["b", "c"]))
            && admin.len() == 2
            && admin.iter().map(|r| r["AllocID"].as_str().unwrap().to_string()).collect::<BTreeSet<_>>() == allocs
    });
    let live: Vec<Value> = running(&agent, "websvc");
    assert_eq!(live.iter().map(|a| a["ID"].as_str().unwrap().to_string()).collect::<BTreeSet<_>>(), allocs, "not replaced");
    assert!(live.iter().all(|a| a["JobVersion"] == 1), "{live:?}");
    assert_eq!(started_at(&agent), started, "the tasks were not restarted");

    run(websvc_with("[\"b\"]", false));
    wait_until("admin deregistered, web re-tagged, in place", Duration::from_secs(30), || {
        let web = registrations(&agent, "web");
        registrations(&agent, "admin").is_empty()
            && web.len() == 2
            && web.iter().all(|r| r["Tags"] == serde_json::json!(["b"]))
            && web.iter().map(|r| r["AllocID"].as_str().unwrap().to_string()).collect::<BTreeSet<_>>() == allocs
    });
    assert_eq!(started_at(&agent), started, "the tasks were not restarted");
}

const UNHEALTHY: &str = r#"job "unhealthy" {
  group "g" {
    network {
      port "spare" {}
    }
    restart {
      attempts = 2
      interval = "10m"
      delay    = "200ms"
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      service {
        name     = "nobody-home"
        port     = "spare"
        provider = "nomad"
        check {
          name     = "dead-port"
          type     = "tcp"
          interval = "200ms"
          timeout  = "200ms"
          check_restart {
            limit = 2
            grace = "1s"
          }
        }
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// `check_restart`: a task whose check keeps failing is restarted after `limit` failures past the
/// grace, each restart a failure for the restart policy: 3 runs with attempts = 2 / mode = "fail",
/// then the task fails with Nomad's reason.
#[test]
fn check_restart_restarts_an_unhealthy_task_within_its_restart_policy() {
    let Some((agent, dir)) = dev_agent("e2e-checkrestart") else { return };
    let _purge = PurgeOnDrop { base: agent.addr(), job: "unhealthy" };
    let file = dir.join("unhealthy.hcl");
    std::fs::write(&file, UNHEALTHY).unwrap();
    let t = Instant::now();
    let out = agent.cli(&["job", "run", "-detach", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let mut alloc = Value::Null;
    wait_until("the allocation to fail", Duration::from_secs(60), || {
        let allocs = get_json(&agent.url("/v1/job/unhealthy/allocations"));
        alloc = allocs.as_array().unwrap().first().cloned().unwrap_or(Value::Null);
        alloc["ClientStatus"] == "failed"
    });
    eprintln!("timing: job run to the task failing after its check restarts {:?}", t.elapsed());
    let id = alloc["ID"].as_str().unwrap();
    let full = get_json(&agent.url(&format!("/v1/allocation/{id}")));
    let state = &full["TaskStates"]["t"];
    let events: Vec<(String, String)> = state["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["Type"].as_str().unwrap().to_string(), e["DisplayMessage"].as_str().unwrap_or_default().to_string()))
        .collect();
    // Nomad keeps a task's last 10 events: the third run's start, its check restart, its end.
    let kinds: Vec<&str> = events.iter().rev().take(4).rev().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["Started", "Restart Signaled", "Terminated", "Not Restarting"], "{events:?}");
    let signaled = &events[events.len() - 3];
    assert_eq!(signaled.1, "healthcheck: check \"dead-port\" unhealthy", "{events:?}");
    assert!(events.iter().any(|(k, _)| k == "Restarting"), "{events:?}");
    assert_eq!(events.last().unwrap().1, "Exceeded allowed attempts 2 in interval 10m0s and mode is \"fail\"");
    assert_eq!((state["State"].as_str(), state["Failed"].as_bool(), state["Restarts"].as_u64()), (Some("dead"), Some(true), Some(2)));
}

const ON_CLIENT: &str = r#"job "remote" {
  group "g" {
    network {
      port "http" {}
    }
    service {
      name     = "remote"
      port     = "http"
      provider = "nomad"
      check {
        type     = "tcp"
        interval = "1s"
        timeout  = "500ms"
      }
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 120"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// A server and a client-only agent: the client registers through client RPC, the server forwards
/// the checks endpoint to it; when the client dies its node goes down and its registrations go with
/// it; back up, the lost allocation stays unregistered (its surviving executor is stopped) and its
/// replacement registers.
#[test]
fn services_of_a_client_only_agent_and_a_node_that_goes_down() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real agents and needs root");
        return;
    }
    let c = common::cluster::Cluster::start_with_config("e2e-svc-node", 111, 1, Some("server {\n  heartbeat_grace = \"1s\"\n}\n"));
    let server = &c.servers[0];
    let dir = c.root.join("client");
    // Declared before the purge guard, so the guard (dropped first) finds the client alive.
    let mut client = Some(ClientAgent::start(&dir, "127.0.111.10", &server.rpc_addr(), &[]));
    let _purge = PurgeOnDrop { base: server.url(""), job: "remote" };
    wait_until("the client node to be ready", Duration::from_secs(30), || server.get("/v1/nodes").1.contains("\"ready\""));

    let file = dir.join("remote.hcl");
    std::fs::write(&file, ON_CLIENT).unwrap();
    let out =
        std::process::Command::new(bin()).args(["job", "run", "-detach"]).arg(&file).env("DROVER_ADDR", server.url("")).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let mut regs = Vec::new();
    wait_until("the registration from the client", Duration::from_secs(60), || {
        regs = remote_registrations(server);
        regs.len() == 1
    });
    let old = regs[0]["AllocID"].as_str().unwrap().to_string();
    let alloc = get_json(&server.url(&format!("/v1/allocation/{old}")));
    let port = &alloc["AllocatedResources"]["Shared"]["Ports"][0];
    assert_eq!((&regs[0]["Address"], &regs[0]["Port"]), (&port["HostIP"], &port["Value"]), "{}", regs[0]);
    assert_eq!(regs[0]["NodeID"], alloc["NodeID"]);
    eprintln!("registered from the client-only agent: {}:{}", regs[0]["Address"], regs[0]["Port"]);

    // The server forwards the checks endpoint to the client that runs the allocation.
    let mut checks = Value::Null;
    wait_until("the forwarded check result", Duration::from_secs(30), || {
        let (code, body) = server.get(&format!("/v1/client/allocation/{old}/checks"));
        checks = serde_json::from_str(&body).unwrap_or(Value::Null);
        code == 200 && checks.as_object().is_some_and(|m| m.values().any(|c| c["Status"] == "failure"))
    });
    let check = checks.as_object().unwrap().values().next().unwrap();
    assert_eq!(check["Check"], "service: \"remote\" check", "{check}");

    // The client dies: its node goes down after TTL + grace, and its registrations are gone with it.
    let t = std::time::Instant::now();
    drop(client.take());
    wait_until("the registration to go with the down node", Duration::from_secs(40), || server.get("/v1/service/remote").1.trim() == "[]");
    eprintln!("timing: client killed → registration gone after {:?}", t.elapsed());
    let nodes = get_json(&server.url("/v1/nodes"));
    assert_eq!(nodes[0]["Status"], "down", "{nodes}");

    // Back up: the lost allocation is not registered again; its replacement is.
    let t = std::time::Instant::now();
    client = Some(ClientAgent::start(&dir, "127.0.111.10", &server.rpc_addr(), &[]));
    wait_until("the replacement's registration", Duration::from_secs(60), || {
        regs = remote_registrations(server);
        regs.len() == 1
    });
    eprintln!("timing: client restarted → replacement registered after {:?}", t.elapsed());
    assert_ne!(regs[0]["AllocID"].as_str(), Some(old.as_str()), "the lost allocation was registered again");
    // The lost allocation's executor, which outlived the agent, is stopped by the restarted one.
    let t = Instant::now();
    wait_until("the lost allocation's executor to stop", Duration::from_secs(30), || processes_mentioning(&old).is_empty());
    eprintln!("timing: lost allocation's executor stopped {:?} after the replacement registered", t.elapsed());
    std::thread::sleep(Duration::from_secs(2));
    let regs = get_json(&server.url("/v1/service/remote"));
    assert_eq!(regs.as_array().unwrap().len(), 1, "{regs}");
    drop(_purge);
    assert!(client.is_some());
}

fn remote_registrations(server: &common::cluster::ServerProc) -> Vec<Value> {
    serde_json::from_str::<Value>(&server.get("/v1/service/remote").1).ok().and_then(|v| v.as_array().cloned()).unwrap_or_default()
}
