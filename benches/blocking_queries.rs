//! Blocking query benchmark: starts `drover agent -server -bootstrap-expect 1` on its own 127.0.x.y
//! address and data dir, registers a job, opens N concurrent `GET /v1/jobs?index=N&wait=5m` blocking
//! queries (5,000 when measuring), prints the agent's RSS before and after they are in flight, writes
//! a variable (another table: must wake none of them), then registers a second job and prints how
//! long until every query answered (p50/p99/max wake latency) against the targets (RSS growth
//! ≤ 200 MB, all answered within 1 s) — printed, never asserted.
//!
//! `cargo bench --profile release --bench blocking_queries` measures (`-- --drover-bin PATH`,
//! `--queries N`, `--keep`); under `cargo test` it runs 200 queries and asserts only correctness:
//! every query returns a higher index and the new job, and none returned after the variable write.

#[path = "common/bench_args.rs"]
mod bench_args;

use bench_args::BenchArgs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

const RSS_GROWTH_TARGET_MB: f64 = 200.0;
const WAKE_TARGET: Duration = Duration::from_secs(1);

struct Args {
    measuring: bool,
    queries: usize,
    bin: PathBuf,
    keep: bool,
    ip: &'static str,
}

fn args() -> Args {
    let a = BenchArgs::from_env();
    let measuring = a.measuring();
    Args {
        measuring,
        queries: a.number("--queries", if measuring { 5_000 } else { 200 }),
        bin: a.drover_bin(),
        keep: a.flag("--keep"),
        // The smoke run (under `cargo test`) must not collide with a measuring run on the same machine.
        ip: if measuring { "127.0.94.1" } else { "127.0.94.2" },
    }
}

/// Raises this process's open-files limit to its hard limit (each query holds a socket).
fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit on this process with a valid rlimit struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `/proc/<pid>/status` field in MB (`VmRSS`, `VmHWM`).
fn proc_status_mb(pid: u32, field: &str) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

fn job_body(id: &str) -> String {
    serde_json::json!({
        "Job": {
            "ID": id,
            "Type": "batch",
            "TaskGroups": [{ "Name": "g", "Count": 0, "Tasks": [{ "Name": "t", "Driver": "raw_exec", "Config": { "command": "/bin/true" } }] }]
        }
    })
    .to_string()
}

/// One answered blocking query.
struct Answer {
    at: Instant,
    status: u16,
    index: u64,
    body: String,
}

/// Sends one blocking query on its own connection and reads the whole answer.
/// At most `connecting` permits' worth of connections are being opened at once: more overflow the
/// agent's accept backlog, and a dropped SYN is retried only after a second.
async fn blocking_query(addr: String, path: String, sent: Arc<AtomicUsize>, connecting: Arc<Semaphore>) -> std::io::Result<Answer> {
    let permit = connecting.acquire_owned().await.expect("semaphore");
    let mut s = TcpStream::connect(&addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    sent.fetch_add(1, Ordering::Relaxed);
    drop(permit);
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let at = Instant::now();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let index = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("X-Nomad-Index")).map(|(_, v)| v.trim().to_string()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(Answer { at, status, index, body: body.to_string() })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    let a = args();
    let nofile = raise_nofile();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let root = PathBuf::from(format!("/var/tmp/drover-bench-blocking-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&root).expect("data dir");
    println!("drover binary: {}", a.bin.display());
    println!("data dir: {}, open files limit {nofile}", root.display());
    let ok = rt.block_on(run(&a, &root));
    if !a.keep {
        let _ = std::fs::remove_dir_all(&root);
    }
    if !ok {
        std::process::exit(1);
    }
}

async fn run(a: &Args, root: &Path) -> bool {
    let log = std::fs::File::create(root.join("agent.log")).expect("agent log");
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
    let addr = format!("{}:4646", a.ip);
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if Instant::now() > deadline || matches!(agent.0.try_wait(), Ok(Some(_))) {
            println!("the agent did not elect itself; see {}/agent.log", root.display());
            return false;
        }
        if let Ok(r) = http.get(format!("{base}/v1/status/leader")).send().await {
            if r.status().is_success() && r.text().await.is_ok_and(|t| t.contains(':')) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let put = |path: &str, body: String| {
        let req = http.put(format!("{base}{path}")).body(body);
        async move {
            let r = req.send().await.expect("PUT");
            assert!(r.status().is_success(), "PUT: {}", r.text().await.unwrap_or_default());
        }
    };
    put("/v1/jobs", job_body("bench-first")).await;
    let r = http.get(format!("{base}/v1/jobs")).send().await.expect("GET /v1/jobs");
    let index: u64 = r.headers()["X-Nomad-Index"].to_str().expect("index header").parse().expect("index");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_before, fds_before) = (proc_status_mb(pid, "VmRSS"), open_fds(pid));

    // Every query in flight: written, and its connection held by the agent.
    let n = a.queries;
    let sent = Arc::new(AtomicUsize::new(0));
    let t_open = Instant::now();
    let path = format!("/v1/jobs?index={index}&wait=5m");
    let connecting = Arc::new(Semaphore::new(128));
    let tasks: Vec<_> =
        (0..n).map(|_| tokio::spawn(blocking_query(addr.clone(), path.clone(), sent.clone(), connecting.clone()))).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (sent.load(Ordering::Relaxed) < n || open_fds(pid) < fds_before + n) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A moment for the last requests to be parsed and start waiting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let opened = t_open.elapsed();
    let (rss_after, fds_after) = (proc_status_mb(pid, "VmRSS"), open_fds(pid));
    let early = tasks.iter().filter(|t| t.is_finished()).count();
    println!(
        "{n} blocking queries in flight after {:.2} s ({} sent, agent fds {fds_before} -> {fds_after}, {early} answered early)",
        opened.as_secs_f64(),
        sent.load(Ordering::Relaxed)
    );
    println!(
        "agent RSS {rss_before:.1} MB -> {rss_after:.1} MB: +{:.1} MB ({:.1} KB per query)",
        rss_after - rss_before,
        (rss_after - rss_before) * 1024.0 / n as f64
    );

    // A write to another table wakes none of them.
    put("/v1/var/bench/other-table", r#"{"Items":{"a":"1"}}"#.into()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let woken_by_var = tasks.iter().filter(|t| t.is_finished()).count() - early;
    println!("answered after a variable write (another table): {woken_by_var}");

    let t0 = Instant::now();
    put("/v1/jobs", job_body("bench-second")).await;
    let put_took = t0.elapsed();
    let mut answers = Vec::with_capacity(n);
    let mut failures = 0;
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(60), t).await {
            Ok(Ok(Ok(ans))) => answers.push(ans),
            _ => failures += 1,
        }
    }
    let mut wake: Vec<Duration> = answers.iter().map(|x| x.at.saturating_duration_since(t0)).collect();
    wake.sort();
    let all = wake.last().copied().unwrap_or_default();
    let correct = answers.iter().filter(|x| x.status == 200 && x.index > index && x.body.contains("\"bench-second\"")).count();
    let hwm = proc_status_mb(pid, "VmHWM");
    println!(
        "second job registered in {:.1} ms; {} of {n} answered ({correct} with a higher index and the new job, {failures} failed)",
        put_took.as_secs_f64() * 1e3,
        answers.len()
    );
    println!(
        "wake latency from the write: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (agent VmHWM {hwm:.1} MB)",
        percentile(&wake, 0.50).as_secs_f64() * 1e3,
        percentile(&wake, 0.99).as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3
    );
    let verdict = |ok: bool| if ok { "MET" } else { "MISSED" };
    println!();
    println!("targets with {n} concurrent blocking queries");
    println!(
        "  agent RSS growth <= {RSS_GROWTH_TARGET_MB:.0} MB ({:.1} MB): {}",
        rss_after - rss_before,
        verdict(rss_after - rss_before <= RSS_GROWTH_TARGET_MB)
    );
    println!(
        "  all answered within {:.0} s of the write ({:.3} s): {}",
        WAKE_TARGET.as_secs_f64(),
        all.as_secs_f64(),
        verdict(answers.len() == n && all <= WAKE_TARGET)
    );
    println!("  no query woken by another table's write ({woken_by_var}): {}", verdict(woken_by_var == 0));
    if !a.measuring {
        println!("(smoke run with {n} queries; `cargo bench --profile release --bench blocking_queries` measures 5,000)");
        assert_eq!(early, 0, "queries answered before any write");
        assert_eq!(woken_by_var, 0, "a variable write woke job list blocking queries");
        assert_eq!(failures, 0, "queries failed");
        assert_eq!(correct, n, "every query returns a higher index and the new job");
    }
    true
}
