//! Server memory and restart benchmark: builds a server data dir holding 100,000 allocations through
//! Raft commands (an in-process single-voter `RaftNode`: nodes, jobs, plans, client updates, then a
//! snapshot), starts `drover agent -server` on it, and prints the time from spawn until it serves
//! every allocation and its RSS, then restarts it (after SIGTERM, after SIGKILL) and prints the same.
//! Figures are printed against the targets (RSS ≤ 200 MB, restart-to-serving ≤ 5 s), never asserted.
//!
//! `cargo bench --profile release --bench server_memory` measures the release binary
//! (`-- --drover-bin PATH`, `--allocs N`, `--data-dir DIR` to reuse a built dir, `--keep`); under
//! `cargo test` it runs with 1,000 allocations as a smoke check.

#[path = "common/bench_args.rs"]
mod bench_args;

use bench_args::BenchArgs;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use drover::core::alloc::{Allocation, ClientAllocUpdate, ClientStatus, TaskEvent, TaskState, TaskStateKind};
use drover::core::command::{Command, PlanResult};
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::job::{Job, JobType, Task, TaskGroup};
use drover::core::node::{DriverInfo, Node, NodeResources, NodeStatus};
use drover::core::resources::{AllocatedPort, AllocatedResources, NetworkResource, Port, Resources, TaskResources};
use drover::core::state::ClusterState;
use drover::core::text::Text;
use drover::core::vec_map::VecMap;
use drover::raft::{RaftConfig, RaftNode};

/// Counts live heap bytes, so the benchmark can tell how much of a server's RSS its state is.
struct CountingAlloc;

static LIVE_HEAP: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_HEAP.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_HEAP.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_HEAP.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_HEAP.fetch_add(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const NODES: usize = 100;
const JOBS: usize = 100;
const RSS_TARGET_MB: f64 = 200.0;
const RESTART_TARGET: Duration = Duration::from_secs(5);
/// The Unix time every command is stamped with (the state machine reads no clock).
const NOW: i64 = 1_750_000_000_000_000_000;

struct Args {
    measuring: bool,
    allocs: usize,
    bin: PathBuf,
    data_dir: Option<PathBuf>,
    keep: bool,
    ip: &'static str,
}

fn args() -> Args {
    let a = BenchArgs::from_env();
    let measuring = a.measuring();
    Args {
        measuring,
        allocs: a.number("--allocs", if measuring { 100_000 } else { 1_000 }),
        bin: a.drover_bin(),
        data_dir: a.value("--data-dir").map(PathBuf::from),
        keep: a.flag("--keep"),
        // The smoke run (under `cargo test`) must not collide with a measuring run on the same machine.
        ip: if measuring { "127.0.92.1" } else { "127.0.92.2" },
    }
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    // Under /var/tmp, not a tmpfs: the data dir's pages must not count as anyone's memory.
    let root =
        a.data_dir.clone().unwrap_or_else(|| PathBuf::from(format!("/var/tmp/drover-bench-memory-{}", uuid::Uuid::new_v4().simple())));
    let built = !root.join("server/raft").exists();
    println!("drover binary: {}", a.bin.display());
    println!("data dir: {}", root.display());
    if built {
        let t = Instant::now();
        let built = rt.block_on(populate(&root, a.ip, a.allocs));
        let state_bytes = built.state_json.len() as u64;
        println!(
            "built through raft in {:.1} s: {} commands, {} allocations, serialized state {:.1} MB ({} bytes per allocation), raft dir {:.1} MB on disk",
            t.elapsed().as_secs_f64(),
            built.commands,
            a.allocs,
            mb(state_bytes),
            state_bytes / a.allocs.max(1) as u64,
            mb(dir_size(&root.join("server/raft"))),
        );
        // The state as a server holds it after loading that snapshot: decoded, then indexed.
        let before = LIVE_HEAP.load(Ordering::Relaxed);
        let mut state: ClusterState = serde_json::from_slice(&built.state_json).expect("decode the state");
        let decoded = LIVE_HEAP.load(Ordering::Relaxed);
        state.after_restore();
        let indexed = LIVE_HEAP.load(Ordering::Relaxed);
        println!(
            "in-memory state (live heap): {:.1} MB decoded ({} bytes per allocation) + {:.1} MB secondary indexes",
            mb((decoded - before) as u64),
            (decoded - before) / a.allocs.max(1),
            mb((indexed - decoded) as u64),
        );
        drop(state);
    } else {
        println!("reusing the data dir as built before");
    }
    // The server's own start path in this process: how much of its memory is live Rust heap.
    let (heap, rss) = (LIVE_HEAP.load(Ordering::Relaxed), proc_status_mb(std::process::id(), "VmRSS"));
    let node = rt.block_on(RaftNode::open(raft_config(&root, a.ip))).expect("open raft");
    let (heap_open, rss_open) = (LIVE_HEAP.load(Ordering::Relaxed), proc_status_mb(std::process::id(), "VmRSS"));
    rt.block_on(node.shutdown());
    drop(node);
    println!(
        "RaftNode::open on it in this process: live Rust heap +{:.1} MB, RSS +{:.1} MB (the rest is RocksDB's and freed-but-kept memory)",
        mb(heap_open.saturating_sub(heap) as u64),
        rss_open - rss
    );
    let mut runs = Vec::new();
    // Each run is stopped the way the next one's label says; the last one with SIGTERM.
    for (label, stop) in
        [("start on the built data dir", libc::SIGTERM), ("restart after SIGTERM", libc::SIGKILL), ("restart after SIGKILL", libc::SIGTERM)]
    {
        let Some(mut run) = rt.block_on(start_and_measure(&a, &root, label)) else {
            println!("{label}: the server did not serve {} allocations; see {}/agent.log", a.allocs, root.display());
            std::process::exit(1);
        };
        run.agent.stop(stop);
        runs.push(run.figures);
    }
    println!();
    println!(
        "{:<30} {:>9} {:>10} {:>13} {:>13} {:>13} {:>11}",
        "", "leader s", "serving s", "RSS leader MB", "RSS served MB", "RSS idle MB", "VmHWM MB"
    );
    for f in &runs {
        println!(
            "{:<30} {:>9.2} {:>10.2} {:>13.1} {:>13.1} {:>13.1} {:>11.1}",
            f.label,
            f.leader_at.as_secs_f64(),
            f.serving.as_secs_f64(),
            f.rss_at_leader_mb,
            f.rss_served_mb,
            f.rss_idle_mb,
            f.hwm_mb
        );
    }
    if let Some(last) = runs.last() {
        println!("smaps_rollup of the last run, idle: {}", last.smaps);
    }
    let worst_restart = runs.iter().map(|f| f.serving).max().unwrap_or_default();
    let worst_idle = runs.iter().map(|f| f.rss_idle_mb).fold(0.0, f64::max);
    let worst_hwm = runs.iter().map(|f| f.hwm_mb).fold(0.0, f64::max);
    let verdict = |ok: bool| if ok { "MET" } else { "MISSED" };
    println!();
    println!("targets with {} allocations in state", a.allocs);
    println!(
        "  server RSS <= {RSS_TARGET_MB:.0} MB (idle after serving, worst run {worst_idle:.1} MB): {}",
        verdict(worst_idle <= RSS_TARGET_MB)
    );
    println!("  (peak VmHWM, worst run {worst_hwm:.1} MB: {})", verdict(worst_hwm <= RSS_TARGET_MB));
    println!(
        "  restart-to-serving <= {:.0} s (worst run {:.2} s): {}",
        RESTART_TARGET.as_secs_f64(),
        worst_restart.as_secs_f64(),
        verdict(worst_restart <= RESTART_TARGET)
    );
    if !a.measuring {
        println!("(smoke run with {} allocations; `cargo bench --profile release --bench server_memory` measures 100,000)", a.allocs);
    }
    if !a.keep && a.data_dir.is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

// ---- building the data dir through Raft ---------------------------------------------------------

struct Built {
    commands: usize,
    /// The state as serde_json, as a snapshot holds it.
    state_json: Vec<u8>,
}

fn bench_node(i: usize) -> Node {
    let mut n = Node {
        id: uuid::Uuid::new_v4().to_string(),
        name: format!("client-{i:03}"),
        datacenter: "dc1".into(),
        node_pool: "default".into(),
        status: NodeStatus::Ready,
        eligible: true,
        resources: NodeResources {
            cpu_mhz: 400_000,
            cpu_cores: 64,
            memory_mb: 512_000,
            disk_mb: 2_000_000,
            ip: format!("10.0.{}.{}", i / 250, i % 250 + 1),
            ..Default::default()
        },
        http_addr: format!("10.0.{}.{}:4646", i / 250, i % 250 + 1),
        status_updated_at: NOW,
        ..Default::default()
    };
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.attributes.insert("cpu.arch".into(), "amd64".into());
    n.drivers.insert("container".into(), DriverInfo { detected: true, healthy: true, health_description: "Healthy".into() });
    n
}

fn bench_job(j: usize, count: u32) -> Job {
    let mut job = Job {
        id: format!("service-{j:03}"),
        job_type: JobType::Service,
        task_groups: vec![TaskGroup {
            name: "web".into(),
            count,
            networks: vec![NetworkResource {
                dynamic_ports: vec![Port { label: "http".into(), ..Default::default() }],
                ..Default::default()
            }],
            tasks: vec![Task {
                name: "srv".into(),
                driver: "container".into(),
                resources: Resources { cpu: 100, memory_mb: 64, ..Default::default() },
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    job.canonicalize();
    job
}

/// What the scheduler places for one allocation (ids, name, node, reserved resources, a dynamic port).
fn bench_alloc(job: &Job, eval_id: &str, index: usize, node: &Node) -> Allocation {
    let tasks = VecMap::from([("srv".into(), TaskResources { cpu: 100, memory_mb: 64, ..Default::default() })]);
    Allocation {
        id: Text::unique(&uuid::Uuid::new_v4().to_string()),
        namespace: job.namespace.clone().into(),
        eval_id: eval_id.into(),
        name: Text::unique(&format!("{}.web[{index}]", job.id)),
        node_id: node.id.as_str().into(),
        node_name: node.name.as_str().into(),
        job_id: job.id.as_str().into(),
        job_version: job.version,
        task_group: "web".into(),
        resources: AllocatedResources {
            tasks,
            disk_mb: 300,
            ports: vec![AllocatedPort {
                label: "http".into(),
                value: 20_000 + (index % 12_000) as u16,
                to: 0,
                host_ip: node.resources.ip.as_str().into(),
            }],
            network_mode: "host".into(),
        },
        ..Default::default()
    }
}

/// A running task as a client reports it: Received, Task Setup, Started.
fn running_task(t: i64) -> VecMap<Text, TaskState> {
    let event = |kind: &'static str, message: &'static str, dt: i64| TaskEvent {
        kind: kind.into(),
        time: t + dt,
        message: message.into(),
        ..Default::default()
    };
    let state = TaskState {
        state: TaskStateKind::Running,
        started_at: t + 2_000_000,
        events: vec![
            event("Received", "Task received by client", 0),
            event("Task Setup", "Building Task Directory", 1_000_000),
            event("Started", "Task started by client", 2_000_000),
        ],
        ..Default::default()
    };
    VecMap::from([("srv".into(), state)])
}

fn eval_for(job: &Job, status: EvalStatus) -> Evaluation {
    Evaluation {
        id: uuid::Uuid::new_v4().to_string(),
        namespace: job.namespace.clone(),
        priority: job.priority,
        job_type: "service".into(),
        triggered_by: "job-register".into(),
        job_id: job.id.clone(),
        status,
        ..Default::default()
    }
}

async fn propose(node: &RaftNode, cmd: Command) {
    let name = cmd.name();
    let r = node.propose(cmd).await.unwrap_or_else(|e| panic!("propose {name}: {e}"));
    assert!(r.error.is_none(), "{name} rejected: {:?}", r.error);
}

/// The Raft configuration the agent uses on `root` (its data dir) at `ip`, with node id 1.
fn raft_config(root: &Path, ip: &str) -> RaftConfig {
    RaftConfig { node_id: 1, rpc_addr: format!("{ip}:4647"), data_dir: root.join("server"), ..Default::default() }
}

/// Builds `root/server` (Raft database and node id) as a single-voter server at `ip:4647` would.
async fn populate(root: &Path, ip: &str, allocs: usize) -> Built {
    let server_dir = root.join("server");
    std::fs::create_dir_all(&server_dir).expect("create the data dir");
    // The id the agent reads back (`server/node-id`); the membership names it at `ip:4647`.
    std::fs::write(server_dir.join("node-id"), "1\n").expect("write node-id");
    let rpc_addr = format!("{ip}:4647");
    let node = RaftNode::open(raft_config(root, ip)).await.expect("open raft");
    node.bootstrap(BTreeMap::from([(1, rpc_addr)])).await.expect("bootstrap");
    let mut leadership = node.leadership();
    tokio::time::timeout(Duration::from_secs(20), leadership.wait_for(|l| *l)).await.expect("leader in time").expect("leadership");

    let mut commands = 0;
    let nodes: Vec<Node> = (0..NODES).map(bench_node).collect();
    for (i, n) in nodes.iter().enumerate() {
        propose(&node, Command::RegisterNode { node: n.clone(), evals: vec![], now: NOW + i as i64 }).await;
        commands += 1;
    }
    // Jobs of `per_job` allocations, spread over the nodes; each placed by one plan.
    let per_job = allocs.div_ceil(JOBS);
    let mut placed = 0;
    let mut by_node: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for j in 0..JOBS {
        let count = per_job.min(allocs - placed);
        if count == 0 {
            break;
        }
        let job = bench_job(j, count as u32);
        let eval = eval_for(&job, EvalStatus::Pending);
        propose(&node, Command::RegisterJob { job: job.clone(), eval: Some(eval.clone()), now: NOW + 1_000 + j as i64 }).await;
        let placements: Vec<Allocation> = (0..count).map(|k| bench_alloc(&job, &eval.id, k, &nodes[(placed + k) % nodes.len()])).collect();
        for a in &placements {
            by_node.entry(a.node_id.to_string()).or_default().push(a.id.to_string());
        }
        let result = PlanResult {
            allocs: placements.into_iter().map(Into::into).collect(),
            eval: Some(Evaluation { status: EvalStatus::Complete, ..eval }),
            ..Default::default()
        };
        propose(&node, Command::ApplyPlan { result, now: NOW + 2_000 + j as i64 }).await;
        commands += 2;
        placed += count;
    }
    // Every client reports its allocations running.
    for (i, (node_id, ids)) in by_node.into_iter().enumerate() {
        let t = NOW + 3_000_000_000 + i as i64;
        let updates = ids
            .into_iter()
            .map(|id| ClientAllocUpdate {
                id,
                client_status: ClientStatus::Running,
                client_description: "Tasks are running".into(),
                task_states: running_task(t),
                deployment_status: None,
            })
            .collect();
        propose(&node, Command::UpdateAllocsFromClient { node_id, updates, evals: vec![], now: t }).await;
        commands += 1;
    }
    let state_json = {
        let state = node.state();
        let state = state.read().expect("state lock");
        assert_eq!(state.allocs.len(), allocs);
        serde_json::to_vec(&*state).expect("serialize")
    };
    // A long-lived server has a snapshot (one per 8,192 entries, checked every 120 s); take it so a start loads it.
    let applied = *node.applied_index().borrow();
    node.raft().trigger().snapshot().await.expect("trigger snapshot");
    let mut metrics = node.raft().metrics();
    tokio::time::timeout(Duration::from_secs(120), metrics.wait_for(|m| m.snapshot.is_some_and(|s| s.index >= applied)))
        .await
        .expect("snapshot in time")
        .expect("metrics");
    node.shutdown().await;
    Built { commands, state_json }
}

// ---- running the agent on it ----------------------------------------------------------------------

struct Agent(Child);

impl Agent {
    fn stop(&mut self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.0.id() as i32, signal) };
        let _ = self.0.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Figures {
    label: &'static str,
    /// From spawn until `/v1/status/leader` answered.
    leader_at: Duration,
    serving: Duration,
    rss_at_leader_mb: f64,
    rss_served_mb: f64,
    rss_idle_mb: f64,
    hwm_mb: f64,
    smaps: String,
}

struct Run {
    agent: Agent,
    figures: Figures,
}

/// A `/proc/<pid>/status` field in MB (`VmRSS`, `VmHWM`).
fn proc_status_mb(pid: u32, field: &str) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn smaps_rollup(pid: u32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .filter(|l| ["Rss:", "Anonymous:", "Pss_Anon:", "Pss_File:"].iter().any(|k| l.starts_with(k)))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Starts the agent, and measures from spawn until it names a leader and lists all `allocs` allocations.
async fn start_and_measure(a: &Args, root: &Path, label: &'static str) -> Option<Run> {
    let allocs = a.allocs;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(root.join("agent.log")).expect("agent log");
    let base = format!("http://{}:4646", a.ip);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("http client");
    let started = Instant::now();
    let child = Process::new(&a.bin)
        .args(["agent", "-server", "-bootstrap-expect", "1", "-bind", a.ip, "-data-dir"])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start drover agent -server");
    let mut agent = Agent(child);
    let pid = agent.0.id();
    let deadline = started + Duration::from_secs(120);
    // A leader first (cheap to poll), then the whole allocation list (consistent read).
    loop {
        if Instant::now() > deadline || matches!(agent.0.try_wait(), Ok(Some(_))) {
            return None;
        }
        if let Ok(r) = http.get(format!("{base}/v1/status/leader")).timeout(Duration::from_secs(1)).send().await {
            if r.status().is_success() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let leader_at = started.elapsed();
    let rss_at_leader_mb = proc_status_mb(pid, "VmRSS");
    loop {
        if Instant::now() > deadline {
            return None;
        }
        if let Ok(r) = http.get(format!("{base}/v1/allocations")).send().await {
            if r.status().is_success() {
                let body = r.bytes().await.unwrap_or_default();
                let n = serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&body).map_or(0, |v| v.len());
                if n == allocs {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let serving = started.elapsed();
    let rss_served_mb = proc_status_mb(pid, "VmRSS");
    // Idle for a while: what the server holds once the listing's buffers are gone.
    tokio::time::sleep(if a.measuring { Duration::from_secs(3) } else { Duration::from_millis(200) }).await;
    let figures = Figures {
        label,
        leader_at,
        serving,
        rss_at_leader_mb,
        rss_served_mb,
        rss_idle_mb: proc_status_mb(pid, "VmRSS"),
        hwm_mb: proc_status_mb(pid, "VmHWM"),
        smaps: smaps_rollup(pid),
    };
    println!(
        "{label}: leader after {:.2} s, serving {} allocations after {:.2} s; RSS {:.1} MB at leader, {:.1} MB served, {:.1} MB idle; VmHWM {:.1} MB",
        figures.leader_at.as_secs_f64(),
        allocs,
        serving.as_secs_f64(),
        figures.rss_at_leader_mb,
        figures.rss_served_mb,
        figures.rss_idle_mb,
        figures.hwm_mb
    );
    Some(Run { agent, figures })
}
