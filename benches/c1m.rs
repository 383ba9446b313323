//! Scale benchmark in the manner of Nomad's C1M: 3 real `drover agent -server` processes (Raft on
//! RocksDB, fsync on) on 127.0.151.1-3, thousands of simulated clients that register, heartbeat,
//! watch their allocations and report them running through the real client RPC (gRPC, as a real
//! client does), and many jobs of many allocations registered through the HTTP API. Prints the total
//! wall time from the first registration to every allocation reported running, placements per second
//! over time, the Raft entries written and the peak RSS of the leader (and of every server), against
//! the targets (≤ 150 s for 1,000 jobs × 1,000 allocations on 5,000 clients; leader RSS ≤ 2.5 GiB);
//! it asserts no timing.
//!
//! `cargo bench --profile release --bench c1m` (or `scripts/bench-c1m`) runs the full size;
//! `--clients N`, `--jobs N`, `--count N` change it, `--drover-bin PATH` names the binary, `--keep`
//! keeps the data dirs. Under `cargo test` it runs the small preset (100 jobs × 100 allocations on
//! 500 clients) as a test: every allocation must be placed once and reported running, on a client
//! with room for it.

#[path = "common/bench_args.rs"]
mod bench_args;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_args::BenchArgs;
use drover::core::alloc::{ClientAllocUpdate, ClientStatus, DesiredStatus, TaskEvent, TaskState, TaskStateKind};
use drover::core::node::{DriverInfo, Node, NodeResources, NodeStatus};
use drover::core::text::Text;
use drover::core::vec_map::VecMap;
use drover::rpc::client::ServerClient;
use drover::rpc::pb;
use drover::rpc::pb::client_rpc_client::ClientRpcClient;
use tonic::transport::Channel;

const NET: &str = "127.0.151";
/// Simulated clients sharing one gRPC connection (HTTP/2 streams), as many agents behind one proxy would.
const CLIENTS_PER_CONNECTION: usize = 50;
/// Each allocation asks for this much cpu (MHz) and memory (MB); each client has room for its share twice over.
const ASK: u64 = 10;

struct Size {
    clients: usize,
    jobs: usize,
    count: usize,
}

/// What the simulated clients have seen and done, counted across all of them.
#[derive(Default)]
struct Counters {
    registered: AtomicU64,
    /// Allocations received by their client (placed).
    received: AtomicU64,
    /// Allocations reported running and acknowledged by a server.
    running: AtomicU64,
    /// Clients given more allocations than they have room for (an over-committed node).
    errors: AtomicU64,
}

/// The three servers; killed and (unless kept) removed on drop.
struct Servers {
    procs: Vec<Child>,
    root: PathBuf,
    keep: bool,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.kill();
            let _ = p.wait();
        }
        if self.keep {
            println!("data dirs kept in {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn ip(i: usize) -> String {
    format!("{NET}.{}", i + 1)
}

fn start_servers(bin: &Path, root: &Path, keep: bool, raft_multiplier: usize) -> Servers {
    let mut procs = Vec::new();
    for i in 0..3 {
        let dir = root.join(format!("server{i}"));
        std::fs::create_dir_all(&dir).expect("server data dir");
        let config = dir.join("server.hcl");
        std::fs::write(&config, format!("server {{\n  raft_multiplier = {raft_multiplier}\n}}\n")).expect("server config");
        let log = std::fs::File::create(dir.join("agent.log")).expect("server log");
        let mut cmd = Process::new(bin);
        cmd.args(["agent", "-server", "-data-dir"]).arg(&dir).args(["-bind", &ip(i), "-node", &format!("c1m-server-{i}")]);
        cmd.args(["-bootstrap-expect", "3", "-config"]).arg(&config);
        for j in (0..3).filter(|j| *j != i) {
            cmd.args(["-retry-join", &format!("{}:4647", ip(j))]);
        }
        procs.push(cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().expect("start drover agent -server"));
    }
    Servers { procs, root: root.to_path_buf(), keep }
}

fn sim_node(i: usize, share: usize) -> Node {
    let room = (share as u64 * ASK * 2).max(1000);
    let mut n = Node {
        id: uuid::Uuid::new_v4().to_string(),
        name: format!("sim-{i:05}"),
        datacenter: "dc1".into(),
        node_pool: "default".into(),
        status: NodeStatus::Ready,
        eligible: true,
        resources: NodeResources {
            cpu_mhz: room,
            cpu_cores: 8,
            memory_mb: room,
            disk_mb: 1_000_000,
            ip: format!("10.{}.{}.{}", i / 65_536, (i / 256) % 256, i % 256),
            ..Default::default()
        },
        ..Default::default()
    };
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.attributes.insert("cpu.arch".into(), "amd64".into());
    n.drivers.insert("raw_exec".into(), DriverInfo { detected: true, healthy: true, health_description: "Healthy".into() });
    n
}

fn running_state(now: i64) -> VecMap<Text, TaskState> {
    let mut states = VecMap::new();
    let started = TaskEvent { kind: "Started".into(), time: now, message: "Task started by client".into(), ..Default::default() };
    states.insert("t".into(), TaskState { state: TaskStateKind::Running, started_at: now, events: vec![started], ..Default::default() });
    states
}

fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// One simulated client: registers, heartbeats at the TTL the servers give, and reports every
/// allocation it is given running (once).
///
/// It watches its allocations through the real `WatchAllocations` RPC (`watch`, on the same server
/// as `rpc`) but reads only each assignment's id and desired status: it leaves the allocation and
/// job documents, which a real client decodes on its own machine, undecoded, so the 5,000 clients
/// sharing this machine with the servers take less of its two cores.
async fn sim_client(mut rpc: ServerClient, mut watch: ClientRpcClient<Channel>, node: Node, counters: Arc<Counters>) {
    let ttl = loop {
        match rpc.register(&node).await {
            Ok(h) => break h.ttl,
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    counters.registered.fetch_add(1, Ordering::Relaxed);
    let mut beat = rpc.clone();
    let node_id = node.id.clone();
    tokio::spawn(async move {
        let mut ttl = ttl;
        loop {
            tokio::time::sleep(ttl / 2).await;
            // As a real client: a failed heartbeat is retried within a second (it re-registers),
            // not half a TTL later, when the node may already have been marked down.
            loop {
                match beat.heartbeat(&node_id).await {
                    Ok(h) => break ttl = h.ttl,
                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
        }
    });
    let cap = node.resources.cpu_mhz / ASK;
    let mut seen: HashSet<String> = HashSet::new();
    let mut index = 0;
    loop {
        let req = pb::WatchAllocationsRequest { node_id: node.id.clone(), min_index: index, max_wait_ms: 30_000, changes_only: true };
        let reply = match watch.watch_allocations(req).await {
            Ok(r) => r.into_inner(),
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        index = reply.index;
        let now = now_ns();
        let run = DesiredStatus::Run.as_str();
        let updates: Vec<ClientAllocUpdate> = reply
            .allocations
            .into_iter()
            .filter(|a| a.desired_status == run && seen.insert(a.id.clone()))
            .map(|a| ClientAllocUpdate {
                id: a.id,
                client_status: ClientStatus::Running,
                client_description: "Tasks are running".into(),
                task_states: running_state(now),
                deployment_status: None,
            })
            .collect();
        if updates.is_empty() {
            continue;
        }
        counters.received.fetch_add(updates.len() as u64, Ordering::Relaxed);
        if seen.len() as u64 > cap {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        loop {
            match rpc.update_allocations(&node.id, &updates).await {
                Ok(_) => break,
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
        counters.running.fetch_add(updates.len() as u64, Ordering::Relaxed);
    }
}

fn job_json(j: usize, count: usize) -> serde_json::Value {
    serde_json::json!({ "Job": {
        "ID": format!("c1m-{j:04}"),
        "Type": "service",
        "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "g",
            "Count": count,
            "Tasks": [{
                "Name": "t",
                "Driver": "raw_exec",
                "Config": { "command": "/bin/sleep", "args": ["3600"] },
                "Resources": { "CPU": ASK, "MemoryMB": ASK }
            }]
        }]
    }})
}

async fn leader(http: &reqwest::Client) -> Option<String> {
    for i in 0..3 {
        let url = format!("http://{}:4646/v1/status/leader", ip(i));
        if let Ok(r) = http.get(&url).send().await {
            if let Ok(l) = r.json::<String>().await {
                if !l.is_empty() {
                    return Some(l.split(':').next().unwrap_or_default().to_string());
                }
            }
        }
    }
    None
}

async fn raft_last_index(http: &reqwest::Client, ip: &str) -> u64 {
    let Ok(r) = http.get(format!("http://{ip}:4646/v1/metrics")).send().await else { return 0 };
    let Ok(m) = r.json::<serde_json::Value>().await else { return 0 };
    m["Gauges"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["Name"] == "nomad.raft.lastIndex"))
        .and_then(|g| g["Value"].as_f64())
        .unwrap_or(0.0) as u64
}

/// Peak resident memory (VmHWM) of a process, in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0.0);
    kb / 1024.0
}

fn main() {
    if !nix::unistd::Uid::effective().is_root() {
        // 127.0.151.x addresses need no root, but the suite's other multi-process tests do; keep the same rule.
        eprintln!("skipping: the C1M benchmark starts real servers and is run as root");
        return;
    }
    let a = BenchArgs::from_env();
    let size = if a.measuring() {
        Size { clients: a.number("--clients", 5_000), jobs: a.number("--jobs", 1_000), count: a.number("--count", 1_000) }
    } else {
        Size { clients: a.number("--clients", 500), jobs: a.number("--jobs", 100), count: a.number("--count", 100) }
    };
    // Nomad's raft_multiplier: 1 (its default, the fastest timing) when measuring; the smoke run is
    // a debug build sharing two cores with the rest of the suite, so it gets Raft timing 5x as patient.
    let multiplier = a.number("--raft-multiplier", if a.measuring() { 1 } else { 5 });
    let total = (size.jobs * size.count) as u64;
    let bin = a.drover_bin();
    let root = PathBuf::from(format!("/var/tmp/drover-bench-c1m-{}", uuid::Uuid::new_v4().simple()));
    println!("drover binary: {}", bin.display());
    println!(
        "{} jobs x {} allocations = {total} allocations on {} simulated clients; 3 servers on {NET}.1-3 (fsync on, raft_multiplier {})",
        size.jobs, size.count, size.clients, multiplier
    );
    let servers = start_servers(&bin, &root, a.flag("--keep"), multiplier);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let outcome = rt.block_on(run(&size, &servers));
    drop(servers);
    match outcome {
        Ok(()) => {}
        Err(e) if a.measuring() => println!("benchmark did not complete: {e}"),
        Err(e) => panic!("C1M small preset: {e}"),
    }
}

async fn run(size: &Size, servers: &Servers) -> Result<(), String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().map_err(|e| e.to_string())?;
    let t = Instant::now();
    let leader_ip = loop {
        if let Some(l) = leader(&http).await {
            break l;
        }
        if t.elapsed() > Duration::from_secs(60) {
            return Err("no leader after 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("leader {leader_ip} elected after {:.1} s", t.elapsed().as_secs_f64());
    let raft_before = raft_last_index(&http, &leader_ip).await;

    // The clients, spread over the three servers, CLIENTS_PER_CONNECTION to a connection.
    let counters = Arc::new(Counters::default());
    let share = (size.jobs * size.count).div_ceil(size.clients.max(1));
    let t = Instant::now();
    for c in 0..size.clients.div_ceil(CLIENTS_PER_CONNECTION) {
        let first = c % 3;
        let order: Vec<String> = (0..3).map(|k| format!("{}:4647", ip((first + k) % 3))).collect();
        let watch = ClientRpcClient::new(Channel::from_shared(format!("http://{}", order[0])).map_err(|e| e.to_string())?.connect_lazy());
        let mut rpc = ServerClient::new(order);
        let _ = rpc.heartbeat("warm-up").await; // opens the shared connection
        for i in c * CLIENTS_PER_CONNECTION..((c + 1) * CLIENTS_PER_CONNECTION).min(size.clients) {
            tokio::spawn(sim_client(rpc.clone(), watch.clone(), sim_node(i, share), counters.clone()));
        }
    }
    while counters.registered.load(Ordering::Relaxed) < size.clients as u64 {
        if t.elapsed() > Duration::from_secs(300) {
            return Err(format!("only {} of {} clients registered after 300 s", counters.registered.load(Ordering::Relaxed), size.clients));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("{} clients registered in {:.1} s", size.clients, t.elapsed().as_secs_f64());

    // The jobs, 16 registrations in flight, to the servers in turn (followers forward to the leader).
    let total = (size.jobs * size.count) as u64;
    let t0 = Instant::now();
    let submit = {
        let http = http.clone();
        let jobs = size.jobs;
        let count = size.count;
        tokio::spawn(async move {
            let sem = Arc::new(tokio::sync::Semaphore::new(16));
            let mut handles = Vec::new();
            for j in 0..jobs {
                let permit = sem.clone().acquire_owned().await.expect("semaphore");
                let http = http.clone();
                handles.push(tokio::spawn(async move {
                    let url = format!("http://{}:4646/v1/jobs", ip(j % 3));
                    let r = http.put(&url).json(&job_json(j, count)).send().await;
                    drop(permit);
                    match r {
                        Ok(r) if r.status().is_success() => Ok(()),
                        Ok(r) => Err(format!("job {j}: HTTP {}", r.status())),
                        Err(e) => Err(format!("job {j}: {e}")),
                    }
                }));
            }
            for h in handles {
                h.await.map_err(|e| e.to_string())??;
            }
            Ok::<Duration, String>(t0.elapsed())
        })
    };
    let limit = Duration::from_secs(if size.jobs * size.count > 100_000 { 1_800 } else { 600 });
    let mut timeline: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut last = (0u64, 0u64);
    let mut peak: BTreeMap<usize, f64> = BTreeMap::new();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let secs = t0.elapsed().as_secs();
        let now = (counters.received.load(Ordering::Relaxed), counters.running.load(Ordering::Relaxed));
        timeline.insert(secs, now);
        if secs % 10 == 0 || now.1 >= total {
            println!(
                "  t={secs:>4}s placed {:>8} running {:>8}  (+{} placements/s over the last second)",
                now.0,
                now.1,
                now.0.saturating_sub(last.0)
            );
        }
        last = now;
        for (i, p) in servers.procs.iter().enumerate() {
            peak.insert(i, peak_rss_mib(p.id()));
        }
        if now.1 >= total {
            break;
        }
        if t0.elapsed() > limit {
            return Err(format!("only {} of {total} allocations running after {} s", now.1, limit.as_secs()));
        }
    }
    let wall = t0.elapsed();
    let submitted = submit.await.map_err(|e| e.to_string())??;
    let raft_after = raft_last_index(&http, &leader_ip).await;
    let errors = counters.errors.load(Ordering::Relaxed);
    let received = counters.received.load(Ordering::Relaxed);

    println!("==> results");
    println!(
        "  all {total} allocations running after {:.1} s (all jobs submitted after {:.1} s)",
        wall.as_secs_f64(),
        submitted.as_secs_f64()
    );
    println!("  placements/s: mean {:.0}", total as f64 / wall.as_secs_f64());
    let (mut prev_s, mut prev_placed) = (0u64, 0u64);
    for (s, v) in timeline.iter().filter(|(s, _)| *s % 10 == 0 || **s == wall.as_secs()) {
        let rate = v.0.saturating_sub(prev_placed) as f64 / s.saturating_sub(prev_s).max(1) as f64;
        println!("    t={s:>4}s {:>8} placed ({rate:.0}/s since the previous line)", v.0);
        (prev_s, prev_placed) = (*s, v.0);
    }
    println!("  raft entries written: {}", raft_after.saturating_sub(raft_before));
    let leader_idx = (0..3).find(|i| ip(*i) == leader_ip).unwrap_or(0);
    for (i, mib) in &peak {
        println!("  server {} peak RSS {:.0} MiB{}", ip(*i), mib, if *i == leader_idx { " (leader)" } else { "" });
    }
    let verdict = |ok: bool| if ok { "MET" } else { "MISSED" };
    let full = size.jobs >= 1_000 && size.count >= 1_000 && size.clients >= 5_000;
    println!(
        "==> targets{}",
        if full { "" } else { " (they are set for 1,000 jobs x 1,000 allocations on 5,000 clients; this run is smaller)" }
    );
    println!("  total <= 150 s ({:.1} s): {}", wall.as_secs_f64(), verdict(wall.as_secs_f64() <= 150.0));
    let leader_rss = peak.get(&leader_idx).copied().unwrap_or(0.0);
    println!("  leader RSS <= 2.5 GiB ({leader_rss:.0} MiB): {}", verdict(leader_rss <= 2560.0));
    if received != total || errors > 0 {
        return Err(format!("{received} placements received for {total} allocations; {errors} clients given more than they have room for"));
    }
    Ok(())
}
