//! Network modes `bridge` and `none` through a real `drover agent -dev` (on a bridge and subnet of
//! its own, from `client { bridge_network_name, bridge_network_subnet }`). A bridge group — a busybox
//! httpd container on `to = 8080` and a raw_exec httpd on `to = 9090` — answers on the node's host
//! ports from the host, on 127.0.0.1 and on the node's other addresses; inside, both tasks (and
//! `alloc exec`) share one namespace with `eth0` in the subnet and see Nomad's port variables; its
//! native service advertises the host address and port; the API and `alloc status` show the mode
//! and `host port -> to`. A `none` group (container and raw_exec) sees only `lo`. After the agent is
//! killed and restarted, the allocation keeps its namespace, address and task. `job stop` leaves no
//! namespace, veth, nft table, lease, mount, cgroup or process behind.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::Value;

const BRIDGED: &str = r#"job "bridged" {
  group "g" {
    network {
      mode = "bridge"
      port "http" {
        to = 8080
      }
      port "raw" {
        to = 9090
      }
    }
    service {
      name     = "bridged-web"
      port     = "http"
      provider = "nomad"
    }
    task "web" {
      driver = "container"
      config {
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "date +%s%N >> /alloc/web-starts; cat /proc/net/dev > /alloc/web-dev; ip -4 -o addr show dev eth0 > /alloc/web-ip; readlink /proc/self/ns/net > /alloc/web-ns; env > /alloc/web-env; mkdir -p /local/www && echo bridged > /local/www/index.html && exec httpd -f -p 8080 -h /local/www"]
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
        args    = ["-c", "cd $NOMAD_ALLOC_DIR && readlink /proc/self/ns/net > raw-ns && env > raw-env && mkdir -p $NOMAD_TASK_DIR/www && echo raw > $NOMAD_TASK_DIR/www/index.html && exec busybox httpd -f -p 9090 -h $NOMAD_TASK_DIR/www"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"#;

const ISOLATED: &str = r#"job "isolated" {
  group "g" {
    network {
      mode = "none"
    }
    task "c" {
      driver = "container"
      config {
        image   = "busybox:local"
        command = "/bin/sh"
        args    = ["-c", "cat /proc/net/dev > /alloc/c-dev; exec sleep 300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
    task "r" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat /proc/net/dev > $NOMAD_ALLOC_DIR/r-dev; exec sleep 300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// The test's bridge, its nft table and its leases, and whatever the allocations left behind:
/// removed when dropped (after the jobs' purge guards, declared later, have stopped the tasks).
struct NetworkCleanup {
    bridge: String,
    allocs: std::cell::RefCell<Vec<String>>,
}

impl Drop for NetworkCleanup {
    fn drop(&mut self) {
        let mut script = String::new();
        for id in self.allocs.borrow().iter() {
            let _ = Command::new("ip").args(["netns", "delete", &format!("drover-{id}")]).output();
            let _ = Command::new("ip").args(["link", "delete", &veth(id)]).output();
            let table = drover::client::network::ports::table(id);
            script.push_str(&format!("add table ip {table}\ndelete table ip {table}\n"));
        }
        let table = format!("drover-bridge-{}", self.bridge);
        script.push_str(&format!("add table ip {table}\ndelete table ip {table}\n"));
        let _ = run_with_stdin("nft", &["-f", "-"], &script);
        let _ = Command::new("ip").args(["link", "delete", &self.bridge]).output();
        let _ = std::fs::remove_dir_all(leases(&self.bridge));
    }
}

fn run_with_stdin(program: &str, args: &[&str], stdin: &str) -> std::io::Result<std::process::Output> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().unwrap().write_all(stdin.as_bytes())?;
    child.wait_with_output()
}

fn veth(alloc_id: &str) -> String {
    drover::client::network::veth::host_name(alloc_id)
}

fn leases(bridge: &str) -> PathBuf {
    Path::new(drover::client::network::LEASE_ROOT).join(bridge)
}

fn stdout(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one allocation of `job` once its client status is `running`.
fn running_alloc(agent: &DevAgent, job: &str) -> Value {
    let mut found = Value::Null;
    wait_until(&format!("job {job} running"), Duration::from_secs(60), || {
        let allocs = get_json(&agent.url(&format!("/v1/job/{job}/allocations")));
        let a = allocs.as_array().unwrap().iter().find(|a| a["DesiredStatus"] == "run").cloned();
        if let Some(a) = &a {
            assert_ne!(a["ClientStatus"], "failed", "{a}\n{}", agent.log());
        }
        match a.filter(|a| a["ClientStatus"] == "running") {
            Some(a) => {
                found = get_json(&agent.url(&format!("/v1/allocation/{}", a["ID"].as_str().unwrap())));
                true
            }
            None => false,
        }
    });
    found
}

fn host_port(alloc: &Value, label: &str) -> u16 {
    let ports = alloc["AllocatedResources"]["Shared"]["Ports"].as_array().unwrap();
    let p = ports.iter().find(|p| p["Label"] == label).unwrap_or_else(|| panic!("no {label} port: {alloc}"));
    p["Value"].as_u64().unwrap() as u16
}

/// A file the allocation's tasks wrote into the shared alloc dir, once it is not empty.
fn alloc_file(agent: &DevAgent, alloc_id: &str, name: &str) -> String {
    let mut text = String::new();
    wait_until(&format!("{name} to be written"), Duration::from_secs(20), || {
        text = match http("GET", &agent.url(&format!("/v1/client/fs/cat/{alloc_id}?path=alloc/{name}")), None) {
            Ok((200, body)) => body,
            _ => String::new(),
        };
        !text.trim().is_empty()
    });
    text
}

/// The interface names in a copy of `/proc/net/dev`.
fn interfaces(dev: &str) -> BTreeSet<String> {
    dev.lines().filter_map(|l| l.split_once(':')).map(|(name, _)| name.trim().to_string()).filter(|n| !n.contains('|')).collect()
}

fn get(addr: &str) -> Option<String> {
    match http("GET", &format!("http://{addr}/"), None) {
        Ok((200, body)) => Some(body.trim().to_string()),
        _ => None,
    }
}

/// The node's first IPv4 address outside loopback and Drover's bridges, if it has one.
fn other_node_ip(bridge: &str) -> Option<String> {
    stdout("ip", &["-4", "-o", "addr", "show"]).lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let dev = f.nth(1)?;
        let addr = f.nth(1)?.split('/').next()?;
        (dev != "lo" && dev != bridge && !dev.starts_with("dv") && !dev.starts_with("drover")).then(|| addr.to_string())
    })
}

/// What the allocation still holds on the host, by kind; empty once it is all gone.
fn leftovers(alloc_id: &str, bridge: &str) -> Vec<String> {
    let mut out = Vec::new();
    if stdout("ip", &["netns", "list"]).contains(alloc_id) || Path::new(&format!("/run/netns/drover-{alloc_id}")).exists() {
        out.push("network namespace".into());
    }
    if Path::new("/sys/class/net").join(veth(alloc_id)).exists() {
        out.push(format!("veth {}", veth(alloc_id)));
    }
    if stdout("nft", &["list", "tables"]).contains(alloc_id) {
        out.push("nft table".into());
    }
    for e in std::fs::read_dir(leases(bridge)).into_iter().flatten().flatten() {
        if std::fs::read_to_string(e.path()).is_ok_and(|h| h.trim() == alloc_id) {
            out.push(format!("lease {}", e.file_name().to_string_lossy()));
        }
    }
    let mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(alloc_id))
        .map(String::from)
        .collect();
    if !mounts.is_empty() {
        out.push(format!("mounts {mounts:?}"));
    }
    let cgroups = cgroups_named(alloc_id);
    if !cgroups.is_empty() {
        out.push(format!("cgroups {cgroups:?}"));
    }
    let procs = processes_mentioning(alloc_id);
    if !procs.is_empty() {
        out.push(format!("processes {procs:?}"));
    }
    out
}

#[test]
fn bridge_and_none_networks() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test makes network namespaces and needs root");
        return;
    }
    let started = Instant::now();
    let dir = temp_dir("e2e-bridge");
    let images = dir.join("images");
    build_image(&images);
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let bridge = format!("drvt{tag}");
    let octet = u8::from_str_radix(&tag[..2], 16).unwrap();
    let subnet_prefix = format!("10.213.{octet}.");
    let config = dir.join("bridge.hcl");
    std::fs::write(
        &config,
        format!("client {{\n  bridge_network_name   = \"{bridge}\"\n  bridge_network_subnet = \"{subnet_prefix}0/24\"\n}}\n"),
    )
    .unwrap();
    let (http_port, rpc_port) = (free_port(), free_port());
    let args: Vec<std::ffi::OsString> = vec![
        "agent".into(),
        "-dev".into(),
        "-config".into(),
        config.clone().into(),
        "-data-dir".into(),
        dir.clone().into(),
        "-image-dir".into(),
        images.clone().into(),
        "-http-port".into(),
        http_port.to_string().into(),
        "-rpc-port".into(),
        rpc_port.to_string().into(),
    ];
    let mut agent = DevAgent::start_with(&args, &dir, &images, http_port);
    let cleanup = NetworkCleanup { bridge: bridge.clone(), allocs: Default::default() };
    let _purge = ["bridged", "isolated"].map(|j| PurgeOnDrop { base: agent.addr(), job: j });
    for (name, text) in [("bridged", BRIDGED), ("isolated", ISOLATED)] {
        let file = dir.join(format!("{name}.hcl"));
        std::fs::write(&file, text).unwrap();
        let out = agent.cli(&["job", "run", "-detach", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    let bridged = running_alloc(&agent, "bridged");
    let isolated = running_alloc(&agent, "isolated");
    let (b_id, i_id) = (bridged["ID"].as_str().unwrap().to_string(), isolated["ID"].as_str().unwrap().to_string());
    cleanup.allocs.borrow_mut().extend([b_id.clone(), i_id.clone()]);
    let (web, raw) = (host_port(&bridged, "http"), host_port(&bridged, "raw"));

    // From the host: the container on 127.0.0.1 and on the node's other address, the raw_exec task too.
    wait_until("the bridged tasks to answer on their host ports", Duration::from_secs(20), || {
        get(&format!("127.0.0.1:{web}")).as_deref() == Some("bridged") && get(&format!("127.0.0.1:{raw}")).as_deref() == Some("raw")
    });
    match other_node_ip(&bridge) {
        Some(ip) => {
            assert_eq!(get(&format!("{ip}:{web}")).as_deref(), Some("bridged"), "via {ip}:{web}");
            assert_eq!(get(&format!("{ip}:{raw}")).as_deref(), Some("raw"), "via {ip}:{raw}");
            eprintln!("answered on 127.0.0.1 and {ip}");
        }
        None => eprintln!("the node has no address but loopback: only 127.0.0.1 tried"),
    }

    // Inside: one namespace for both tasks, eth0 in the subnet, Nomad's port variables.
    let dev = alloc_file(&agent, &b_id, "web-dev");
    assert_eq!(interfaces(&dev), ["eth0", "lo"].map(String::from).into(), "{dev}");
    let ip_line = alloc_file(&agent, &b_id, "web-ip");
    let alloc_ip = ip_line.split_whitespace().nth(3).and_then(|a| a.split('/').next()).unwrap_or("").to_string();
    assert!(alloc_ip.starts_with(&subnet_prefix), "eth0's address {alloc_ip:?} is not in {subnet_prefix}0/24: {ip_line}");
    assert_eq!(
        alloc_file(&agent, &b_id, "web-ns").trim(),
        alloc_file(&agent, &b_id, "raw-ns").trim(),
        "the tasks are in different namespaces"
    );
    let env = alloc_file(&agent, &b_id, "web-env");
    for want in [
        "NOMAD_PORT_http=8080".to_string(),
        format!("NOMAD_HOST_PORT_http={web}"),
        format!("NOMAD_HOST_ADDR_http=127.0.0.1:{web}"),
        format!("NOMAD_ALLOC_IP_http={alloc_ip}"),
        format!("NOMAD_ALLOC_ADDR_http={alloc_ip}:8080"),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} missing from the container's env:\n{env}");
    }
    let raw_env = alloc_file(&agent, &b_id, "raw-env");
    assert!(raw_env.lines().any(|l| l == "NOMAD_PORT_raw=9090"), "{raw_env}");
    // `alloc exec` runs in the namespace too, next to a container task and next to a raw_exec one.
    for task in ["web", "raw"] {
        let out = agent.cli(&["alloc", "exec", "-task", task, &b_id, "cat", "/proc/net/dev"]);
        let dev = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            interfaces(&dev),
            ["eth0", "lo"].map(String::from).into(),
            "alloc exec in {task}: {dev}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The native service advertises the node's side, reachable from other nodes.
    let mut regs = Vec::new();
    wait_until("the bridged service registration", Duration::from_secs(20), || {
        regs = get_json(&agent.url("/v1/service/bridged-web")).as_array().unwrap().clone();
        !regs.is_empty()
    });
    assert_eq!((regs[0]["Address"].as_str(), regs[0]["Port"].as_u64()), (Some("127.0.0.1"), Some(u64::from(web))), "{:?}", regs);
    // The API and `alloc status` show the mode and where each host port leads.
    assert_eq!(bridged["AllocatedResources"]["Shared"]["Networks"][0]["Mode"], "bridge", "{bridged}");
    assert_eq!(isolated["AllocatedResources"]["Shared"]["Networks"][0]["Mode"], "none", "{isolated}");
    let status = agent.cli(&["alloc", "status", &b_id]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("Allocation Addresses (mode = \"bridge\")"), "{status}");
    assert!(status.contains(&format!("http: 127.0.0.1:{web} -> 8080")), "{status}");
    // The host side: the veth on the test's bridge, the allocation's table, its lease.
    let link = stdout("ip", &["-o", "link", "show", &veth(&b_id)]);
    assert!(link.contains(&format!("master {bridge}")), "{link}");
    assert!(stdout("nft", &["list", "table", "ip", &drover::client::network::ports::table(&b_id)])
        .contains(&format!("dnat to {alloc_ip}:8080")));
    assert_eq!(std::fs::read_to_string(leases(&bridge).join(&alloc_ip)).unwrap().trim(), b_id);

    // mode = "none": only lo, for the container and the raw_exec task.
    for f in ["c-dev", "r-dev"] {
        let dev = alloc_file(&agent, &i_id, f);
        assert_eq!(interfaces(&dev), ["lo"].map(String::from).into(), "{f}: {dev}");
    }
    assert!(!Path::new("/sys/class/net").join(veth(&i_id)).exists());

    // The agent dies and comes back: the allocation keeps its namespace, address and task.
    let ns_file = format!("/run/netns/drover-{b_id}");
    let ns_before = std::fs::metadata(&ns_file).map(|m| std::os::unix::fs::MetadataExt::ino(&m)).unwrap();
    agent.child.kill().unwrap();
    agent.child.wait().unwrap();
    assert_eq!(get(&format!("127.0.0.1:{web}")).as_deref(), Some("bridged"), "the task stopped answering with its agent dead");
    agent = DevAgent::start_with(&args, &dir, &images, http_port);
    let again = running_alloc(&agent, "bridged");
    assert_eq!(again["ID"].as_str(), Some(b_id.as_str()));
    wait_until("the restarted agent to set up the allocation's network again", Duration::from_secs(20), || {
        agent.log().lines().any(|l| l.contains("allocation network reused") && l.contains(&b_id))
    });
    let ns_after = std::fs::metadata(&ns_file).map(|m| std::os::unix::fs::MetadataExt::ino(&m)).unwrap();
    assert_eq!(ns_before, ns_after, "the namespace was made again");
    assert_eq!(get(&format!("127.0.0.1:{web}")).as_deref(), Some("bridged"));
    assert_eq!(alloc_file(&agent, &b_id, "web-starts").lines().count(), 1, "the container started again");
    assert_eq!(std::fs::read_to_string(leases(&bridge).join(&alloc_ip)).unwrap().trim(), b_id);

    // job stop + purge: nothing of either allocation is left.
    for job in ["bridged", "isolated"] {
        let out = agent.cli(&["job", "stop", "-purge", "-detach", job]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let left = loop {
        let left: Vec<String> =
            [&b_id, &i_id].iter().flat_map(|id| leftovers(id, &bridge).into_iter().map(move |l| format!("{id}: {l}"))).collect();
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(left.is_empty(), "left behind after job stop: {left:?}\n{}", agent.log());
    assert!(get(&format!("127.0.0.1:{web}")).is_none(), "the host port still answers");
    eprintln!("timing: whole test {:.1}s", started.elapsed().as_secs_f64());
}
