//! Real multi-process server clusters for tests: `drover agent -server` processes on 127.0.x.y
//! addresses (ports 4646/4647 on each), started, killed with SIGKILL, restarted on their data dirs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::agent::{bin, http, temp_dir, wait_until};

pub struct ServerProc {
    pub ip: String,
    pub data_dir: PathBuf,
    pub child: Option<Child>,
    pub peers: Vec<String>,
    pub expect: usize,
    /// Extra flags (e.g. `-config FILE`).
    pub extra: Vec<String>,
}

impl ServerProc {
    pub fn rpc_addr(&self) -> String {
        format!("{}:4647", self.ip)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}:4646{path}", self.ip)
    }

    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.data_dir.join("agent.log")).unwrap();
        let mut cmd = Command::new(bin());
        cmd.args(["agent", "-server", "-data-dir"]).arg(&self.data_dir).args([
            "-bind",
            &self.ip,
            "-node",
            &format!("server-{}", self.ip),
            "-bootstrap-expect",
            &self.expect.to_string(),
        ]);
        for p in &self.peers {
            cmd.args(["-retry-join", p]);
        }
        cmd.args(&self.extra);
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().expect("start drover agent -server");
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown, no flush beyond what was already durable.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("agent.log")).unwrap_or_default()
    }

    /// `GET` returning (status, body); (0, error) when unreachable.
    pub fn get(&self, path: &str) -> (u16, String) {
        http("GET", &self.url(path), None).unwrap_or_else(|e| (0, e.to_string()))
    }

    /// The leader's RPC address as this server sees it.
    pub fn leader(&self) -> Option<String> {
        let (code, body) = self.get("/v1/status/leader");
        let addr: String = serde_json::from_str(&body).ok()?;
        (code == 200 && !addr.is_empty()).then_some(addr)
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub struct Cluster {
    pub servers: Vec<ServerProc>,
    pub root: PathBuf,
}

impl Cluster {
    /// `n` servers on 127.0.`net`.1 … 127.0.`net`.n, all expecting `n` and joining through each other.
    pub fn start(tag: &str, net: u8, n: usize) -> Cluster {
        Self::start_with_config(tag, net, n, None)
    }

    /// As [`Cluster::start`], each server also reading `config` (agent configuration HCL) with `-config`.
    pub fn start_with_config(tag: &str, net: u8, n: usize, config: Option<&str>) -> Cluster {
        let root = temp_dir(tag);
        let ips: Vec<String> = (1..=n).map(|i| format!("127.0.{net}.{i}")).collect();
        let peers: Vec<String> = ips.iter().map(|ip| format!("{ip}:4647")).collect();
        let mut servers = Vec::new();
        for ip in &ips {
            let data_dir = root.join(ip);
            std::fs::create_dir_all(&data_dir).unwrap();
            let mut extra = Vec::new();
            if let Some(text) = config {
                let file = data_dir.join("agent.hcl");
                std::fs::write(&file, text).unwrap();
                extra = vec!["-config".to_string(), file.display().to_string()];
            }
            let mut s = ServerProc { ip: ip.clone(), data_dir, child: None, peers: peers.clone(), expect: n, extra };
            s.start();
            servers.push(s);
        }
        let c = Cluster { servers, root };
        c.wait_leader_everywhere(Duration::from_secs(60));
        c
    }

    /// Waits until every live server names the same leader, and returns its index in `servers`.
    pub fn wait_leader_everywhere(&self, timeout: Duration) -> usize {
        self.wait_leader_other_than(None, timeout)
    }

    /// As [`Cluster::wait_leader_everywhere`], for a leader other than `old` (after `old` was killed).
    pub fn wait_leader_other_than(&self, old: Option<&str>, timeout: Duration) -> usize {
        let mut found = None;
        wait_until("every live server to agree on a leader", timeout, || {
            let seen: Vec<Option<String>> = self.servers.iter().filter(|s| s.child.is_some()).map(|s| s.leader()).collect();
            let first = seen.first().cloned().flatten();
            let agreed = first.is_some() && seen.iter().all(|l| *l == first) && first.as_deref() != old;
            if agreed {
                found = first;
            }
            agreed
        });
        let addr = found.unwrap();
        self.servers.iter().position(|s| s.rpc_addr() == addr).unwrap_or_else(|| panic!("leader {addr} is not one of ours"))
    }

    pub fn logs(&self) -> String {
        self.servers.iter().map(|s| format!("==== {} ====\n{}", s.ip, tail(&s.log(), 40))).collect()
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for s in &mut self.servers {
            s.kill9();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// A minimal job (a batch job with no allocations to place: count 0) as Nomad's register body.
pub fn job_body(id: &str) -> String {
    serde_json::json!({
        "Job": {
            "ID": id,
            "Type": "batch",
            "TaskGroups": [{ "Name": "g", "Count": 0, "Tasks": [{ "Name": "t", "Driver": "raw_exec", "Config": { "command": "/bin/true" } }] }]
        }
    })
    .to_string()
}

pub fn job_ids(s: &ServerProc, stale: bool) -> Option<Vec<String>> {
    let (code, body) = s.get(if stale { "/v1/jobs?stale" } else { "/v1/jobs" });
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some(v.as_array()?.iter().filter_map(|j| j["ID"].as_str().map(String::from)).collect())
}

pub fn data_dir_of(c: &Cluster, i: usize) -> &Path {
    &c.servers[i].data_dir
}
