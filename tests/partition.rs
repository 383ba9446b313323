//! A network partition of the leader, with real network namespaces: three `drover agent -server`
//! processes, each in its own namespace behind a veth pair on one bridge. Cutting the leader's link
//! isolates it; the majority elects a leader and takes writes, the old leader takes none, and after
//! healing all three converge.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::agent::{bin, http, is_root, temp_dir, wait_until};
use common::cluster::job_body;

const NET: &str = "10.231.0";
const BRIDGE: &str = "drvbr0";

fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn must(args: &[&str]) {
    assert!(ip(args), "ip {} failed", args.join(" "));
}

/// The namespaces, links and processes of the test; all removed on drop.
struct Net {
    n: usize,
    procs: Vec<Option<std::process::Child>>,
}

impl Net {
    fn new(n: usize) -> Net {
        let net = Net { n, procs: Vec::new() };
        net.teardown();
        must(&["link", "add", BRIDGE, "type", "bridge"]);
        must(&["addr", "add", &format!("{NET}.254/24"), "dev", BRIDGE]);
        must(&["link", "set", BRIDGE, "up"]);
        for i in 1..=n {
            let (ns, host, peer) = (format!("drvp{i}"), format!("drvh{i}"), format!("drvn{i}"));
            must(&["netns", "add", &ns]);
            must(&["link", "add", &host, "type", "veth", "peer", "name", &peer]);
            must(&["link", "set", &peer, "netns", &ns]);
            must(&["link", "set", &host, "master", BRIDGE]);
            must(&["link", "set", &host, "up"]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
            must(&["-n", &ns, "addr", "add", &format!("{NET}.{i}/24"), "dev", &peer]);
            must(&["-n", &ns, "link", "set", &peer, "up"]);
        }
        net
    }

    fn teardown(&self) {
        for i in 1..=self.n {
            ip(&["netns", "del", &format!("drvp{i}")]);
            ip(&["link", "del", &format!("drvh{i}")]);
        }
        ip(&["link", "del", BRIDGE]);
    }

    fn cut(&self, i: usize) {
        must(&["link", "set", &format!("drvh{i}"), "down"]);
    }

    fn heal(&self, i: usize) {
        must(&["link", "set", &format!("drvh{i}"), "up"]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for p in self.procs.iter_mut().flatten() {
            let _ = p.kill();
            let _ = p.wait();
        }
        self.teardown();
    }
}

fn url(i: usize, path: &str) -> String {
    format!("http://{NET}.{i}:4646{path}")
}

fn leader_of(i: usize) -> Option<String> {
    let (code, body) = http("GET", &url(i, "/v1/status/leader"), None).ok()?;
    let addr: String = serde_json::from_str(&body).ok()?;
    (code == 200 && !addr.is_empty()).then_some(addr)
}

fn jobs_on(i: usize) -> Vec<String> {
    let Ok((200, body)) = http("GET", &url(i, "/v1/jobs?stale"), None) else { return Vec::new() };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v.as_array().into_iter().flatten().filter_map(|j| j["ID"].as_str().map(String::from)).collect()
}

#[test]
fn partitioned_leader_takes_no_writes_and_the_cluster_converges_after_healing() {
    if !is_root() || !ip(&["netns", "list"]) {
        eprintln!("skipping: needs root and iproute2 network namespaces (as CI runs it)");
        return;
    }
    let n = 3;
    let mut net = Net::new(n);
    let root = temp_dir("partition");
    let peers: Vec<String> = (1..=n).map(|i| format!("{NET}.{i}:4647")).collect();
    for i in 1..=n {
        let dir = root.join(format!("s{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("agent.log")).unwrap();
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &format!("drvp{i}"),
            bin(),
            "agent",
            "-server",
            "-bootstrap-expect",
            "3",
            "-bind",
            &format!("{NET}.{i}"),
        ])
        .arg("-data-dir")
        .arg(&dir);
        for p in &peers {
            cmd.args(["-retry-join", p]);
        }
        net.procs.push(Some(cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().unwrap()));
    }
    let logs = || {
        (1..=n)
            .map(|i| std::fs::read_to_string(root.join(format!("s{i}/agent.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n====\n")
    };
    let mut leader = String::new();
    wait_until("a leader all three agree on", Duration::from_secs(60), || {
        let seen: Vec<Option<String>> = (1..=n).map(leader_of).collect();
        let agreed = seen[0].is_some() && seen.iter().all(|l| *l == seen[0]);
        if agreed {
            leader = seen[0].clone().unwrap();
        }
        agreed
    });
    let old = (1..=n).find(|i| leader == format!("{NET}.{i}:4647")).expect("leader is one of ours");
    let (code, body) = http("PUT", &url(old, "/v1/jobs"), Some(&job_body("before"))).unwrap();
    assert_eq!(code, 200, "{body}");

    // Cut the leader off.
    net.cut(old);
    let cut_at = Instant::now();
    let others: Vec<usize> = (1..=n).filter(|i| *i != old).collect();
    let mut new_leader = String::new();
    wait_until("the majority to elect a new leader", Duration::from_secs(30), || {
        let seen: Vec<Option<String>> = others.iter().map(|i| leader_of(*i)).collect();
        let ok = seen[0].is_some() && seen.iter().all(|l| *l == seen[0]) && seen[0].as_deref() != Some(leader.as_str());
        if ok {
            new_leader = seen[0].clone().unwrap();
        }
        ok
    });
    println!("partitioned leader {leader}; new leader {new_leader} after {:?}", cut_at.elapsed());
    for (k, i) in others.iter().enumerate() {
        let (code, body) = http("PUT", &url(*i, "/v1/jobs"), Some(&job_body(&format!("majority-{k}")))).unwrap();
        assert_eq!(code, 200, "the majority must take writes: {body}\n{}", logs());
    }

    // The old leader, reached from inside its namespace, takes no write.
    let job_file = root.join("minority.json");
    std::fs::write(&job_file, job_body("minority")).unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &format!("drvp{old}"), bin(), "job", "run", "-detach", "-address", &format!("http://{NET}.{old}:4646")])
        .arg(&job_file)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "the partitioned old leader accepted a write: {text}");
    assert!(text.to_lowercase().contains("no cluster leader"), "{text}");

    // Heal: all three converge on the majority's history; the minority's write never happened.
    net.heal(old);
    wait_until("all three to converge", Duration::from_secs(30), || {
        let seen: Vec<Option<String>> = (1..=n).map(leader_of).collect();
        let agreed = seen[0].is_some() && seen.iter().all(|l| *l == seen[0]);
        agreed
            && (1..=n).all(|i| {
                let jobs = jobs_on(i);
                jobs.contains(&"before".to_string()) && jobs.contains(&"majority-0".to_string()) && jobs.contains(&"majority-1".to_string())
            })
    });
    for i in 1..=n {
        assert!(!jobs_on(i).contains(&"minority".to_string()), "server {i} applied the minority's write");
    }
    assert!(!logs().contains("panicked"), "{}", logs());
    drop(net);
    let _ = std::fs::remove_dir_all(&root);
}
