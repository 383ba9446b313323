//! End-to-end tests of `drover executor`: raw_exec and container tasks run by the real binary (needs root).
//!
//! Run with `cargo test --test executor -- --test-threads=1`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use drover::driver::spec::{DriverKind, ExecSpec, ExitStatus, EXIT_FILE, SPEC_FILE, TASK_PID_FILE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const MIB: u64 = 1024 * 1024;

fn is_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("skipping: needs root");
    false
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("drover-executor-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Never recurse into something still mounted.
        if mounts_under(&self.0).is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The busybox image, built once per test binary with scripts/build-busybox-image. The directory is
/// reused across runs (the script replaces the layout; the unpacked rootfs is cached by digest).
fn image_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("drover-executor-test-images");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-busybox-image");
        let out = Command::new("bash").arg(&script).arg(&dir).output().expect("run build-busybox-image");
        assert!(out.status.success(), "build-busybox-image failed: {}", String::from_utf8_lossy(&out.stderr));
        assert!(dir.join("busybox/index.json").is_file());
        dir
    })
}

fn spec(name: &str, root: &Path, driver: DriverKind) -> ExecSpec {
    let alloc_id = format!("test{}", std::process::id());
    let alloc_dir = root.join("alloc");
    let task_dir = alloc_dir.join(name);
    ExecSpec {
        id: format!("{alloc_id}-{name}"),
        alloc_id,
        task_name: name.to_string(),
        driver,
        image: None,
        entrypoint: None,
        command: None,
        args: Vec::new(),
        env: BTreeMap::new(),
        work_dir: None,
        user: None,
        stdout_path: alloc_dir.join("logs").join(format!("{name}.stdout.0")),
        stderr_path: alloc_dir.join("logs").join(format!("{name}.stderr.0")),
        state_dir: root.join("state"),
        image_dir: image_dir().to_path_buf(),
        alloc_dir,
        task_dir,
        cpu_mhz: 100,
        memory_mb: 64,
        memory_max_mb: 0,
        pids_limit: 256,
        network_mode: "host".to_string(),
        network_namespace: None,
        hostname: None,
        kill_signal: "SIGTERM".to_string(),
        kill_timeout_ms: 2000,
    }
}

/// A running `drover executor`; stopped like a client would (SIGTERM) if a test fails midway.
struct Executor(Child);

impl Executor {
    fn pid(&self) -> Pid {
        Pid::from_raw(self.0.id() as i32)
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = kill(self.pid(), Signal::SIGTERM);
            let begun = Instant::now();
            while begun.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = self.0.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn start(spec: &ExecSpec) -> Executor {
    std::fs::create_dir_all(&spec.state_dir).expect("create state dir");
    std::fs::create_dir_all(&spec.task_dir).expect("create task dir");
    let json = serde_json::to_vec_pretty(spec).expect("encode spec");
    std::fs::write(spec.state_dir.join(SPEC_FILE), json).expect("write spec");
    let child = Command::new(env!("CARGO_BIN_EXE_drover"))
        .arg("executor")
        .arg("--state-dir")
        .arg(&spec.state_dir)
        .spawn()
        .expect("spawn drover executor");
    Executor(child)
}

/// Waits for the executor to exit (panics after `timeout`), returning its exit code and how long it took.
fn wait(executor: &mut Executor, timeout: Duration) -> (i32, Duration) {
    let child = &mut executor.0;
    let begun = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for executor") {
            return (status.code().unwrap_or(-1), begun.elapsed());
        }
        if begun.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("executor did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exit_status(spec: &ExecSpec) -> ExitStatus {
    let path = spec.state_dir.join(EXIT_FILE);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("decode exit.json")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    read(Path::new("/proc/self/mountinfo"))
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| Path::new(m).starts_with(&prefix))
        .collect()
}

fn leftover_cgroups(id: &str) -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .map(|d| d.flatten().map(|h| h.path().join("drover").join(id)).filter(|p| p.exists()).collect())
        .unwrap_or_default()
}

fn assert_clean(spec: &ExecSpec) {
    assert!(mounts_under(&spec.state_dir).is_empty(), "mounts left: {:?}", mounts_under(&spec.state_dir));
    assert!(leftover_cgroups(&spec.id).is_empty(), "cgroups left: {:?}", leftover_cgroups(&spec.id));
}

/// Waits for a non-empty file; fails early with exit.json if the executor finished instead.
fn wait_for_file(spec: &ExecSpec, path: &Path, timeout: Duration) -> String {
    let begun = Instant::now();
    while begun.elapsed() < timeout {
        let s = read(path);
        if !s.trim().is_empty() {
            return s;
        }
        let exit = read(&spec.state_dir.join(EXIT_FILE));
        if !exit.is_empty() {
            panic!(
                "executor finished before {} appeared: {exit}\nexecutor log:\n{}",
                path.display(),
                read(&spec.state_dir.join("executor.log"))
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} did not appear within {timeout:?}", path.display());
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("find a free port")
}

fn http_get(port: u16, timeout: Duration) -> String {
    let begun = Instant::now();
    loop {
        let attempt = TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        });
        match attempt {
            Ok(body) if !body.is_empty() => return body,
            _ if begun.elapsed() > timeout => {
                panic!("no http response on port {port}: {attempt:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn process_gone(pid: i32) -> bool {
    // A zombie still has /proc/<pid>; check its state too.
    let stat = read(Path::new(&format!("/proc/{pid}/stat")));
    stat.is_empty() || stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'))
}

#[test]
fn raw_exec_runs_a_command_with_logs_and_env() {
    if !is_root() {
        return;
    }
    let dir = TempDir::new("raw");
    let mut s = spec("raw", &dir.0, DriverKind::RawExec);
    s.command = Some("/bin/sh".into());
    s.args = vec!["-c".into(), "echo out; echo err >&2; echo \"foo=$FOO\"; pwd; exit 0".into()];
    s.env.insert("FOO".into(), "bar".into());
    let mut executor = start(&s);
    let (code, _) = wait(&mut executor, Duration::from_secs(30));
    assert_eq!(code, 0);
    let st = exit_status(&s);
    assert_eq!(st.error, None);
    assert_eq!((st.exit_code, st.signal, st.oom_killed), (0, 0, false));
    assert!(st.finished_at_ms >= st.started_at_ms && st.started_at_ms > 0);
    let out = read(&s.stdout_path);
    assert!(out.contains("out\n"), "stdout: {out:?}");
    assert!(out.contains("foo=bar\n"), "stdout: {out:?}");
    assert!(out.contains(&format!("{}\n", s.task_dir.display())), "stdout: {out:?}");
    assert!(read(&s.stderr_path).contains("err"), "stderr: {:?}", read(&s.stderr_path));
    assert!(s.state_dir.join("executor.pid").is_file());
    assert!(s.state_dir.join(TASK_PID_FILE).is_file());
    assert_clean(&s);
}

#[test]
fn raw_exec_is_stopped_with_its_kill_signal() {
    if !is_root() {
        return;
    }
    let dir = TempDir::new("rawstop");
    let mut s = spec("rawstop", &dir.0, DriverKind::RawExec);
    s.command = Some("/bin/sh".into());
    s.args = vec!["-c".into(), "trap 'echo got-int; exit 7' INT; echo ready; while true; do sleep 0.1; done".into()];
    s.kill_signal = "SIGINT".into();
    let mut executor = start(&s);
    let pid: i32 = wait_for_file(&s, &s.state_dir.join(TASK_PID_FILE), Duration::from_secs(10)).trim().parse().expect("task pid");
    wait_for_file(&s, &s.stdout_path, Duration::from_secs(10));
    kill(executor.pid(), Signal::SIGTERM).expect("signal executor");
    let (code, took) = wait(&mut executor, Duration::from_secs(15));
    assert_eq!(code, 0);
    assert!(took < Duration::from_millis(s.kill_timeout_ms), "trap should end the task before the kill timeout: {took:?}");
    let st = exit_status(&s);
    assert_eq!((st.exit_code, st.signal, st.error), (7, 0, None));
    assert!(read(&s.stdout_path).contains("got-int"));
    assert!(process_gone(pid), "task pid {pid} still exists");
    assert_clean(&s);
}

#[test]
fn container_exit_code_and_stdout() {
    if !is_root() {
        return;
    }
    let dir = TempDir::new("ctr");
    let mut s = spec("ctr", &dir.0, DriverKind::Container);
    s.image = Some("busybox:local".into());
    s.command = Some("/bin/sh".into());
    s.args = vec!["-c".into(), "echo hi; echo oops >&2; echo \"pid=$$ cwd=$(pwd)\"; exit 3".into()];
    let mut executor = start(&s);
    let (code, _) = wait(&mut executor, Duration::from_secs(60));
    assert_eq!(code, 0);
    let st = exit_status(&s);
    assert_eq!(st.error, None, "executor log: {}", read(&s.state_dir.join("executor.log")));
    assert_eq!((st.exit_code, st.signal, st.oom_killed), (3, 0, false));
    let out = read(&s.stdout_path);
    assert!(out.contains("hi\n"), "stdout: {out:?}");
    assert!(out.contains("pid=1 cwd=/\n"), "stdout: {out:?}");
    assert!(read(&s.stderr_path).contains("oops"));
    assert_clean(&s);
    assert!(!s.state_dir.join("rootfs").exists(), "rootfs mount point should be removed");
}

#[test]
fn container_serves_http_and_stops_on_sigterm() {
    if !is_root() {
        return;
    }
    let dir = TempDir::new("web");
    let mut s = spec("web", &dir.0, DriverKind::Container);
    let port = free_port();
    s.image = Some("busybox:local".into());
    s.command = Some("httpd".into());
    s.args = vec!["-f".into(), "-p".into(), format!("127.0.0.1:{port}"), "-h".into(), "/local".into()];
    std::fs::create_dir_all(s.task_dir.join("local")).unwrap();
    std::fs::write(s.task_dir.join("local/index.html"), "hello from drover\n").unwrap();
    let mut executor = start(&s);
    let pid: i32 = wait_for_file(&s, &s.state_dir.join(TASK_PID_FILE), Duration::from_secs(60)).trim().parse().expect("task pid");

    let response = http_get(port, Duration::from_secs(20));
    assert!(response.starts_with("HTTP/1."), "response: {response:?}");
    assert!(response.contains("hello from drover"), "response: {response:?}");

    kill(executor.pid(), Signal::SIGTERM).expect("signal executor");
    let (code, took) = wait(&mut executor, Duration::from_secs(30));
    assert_eq!(code, 0);
    assert!(took < Duration::from_millis(s.kill_timeout_ms) + Duration::from_secs(5), "executor took {took:?} to stop");
    let st = exit_status(&s);
    assert_eq!(st.error, None);
    // busybox httpd as pid 1 ignores SIGTERM, so the kill timeout ends it with SIGKILL.
    assert!(st.signal == 9 || st.signal == 15, "signal: {}", st.signal);
    assert!(process_gone(pid), "task pid {pid} still exists");
    assert_clean(&s);
}

#[test]
fn container_with_unknown_image_reports_error() {
    if !is_root() {
        return;
    }
    let dir = TempDir::new("nope");
    let mut s = spec("nope", &dir.0, DriverKind::Container);
    s.image = Some("busybox:nope".into());
    s.command = Some("/bin/true".into());
    let mut executor = start(&s);
    let (code, _) = wait(&mut executor, Duration::from_secs(30));
    assert_eq!(code, 0);
    let st = exit_status(&s);
    assert_eq!(st.exit_code, -1);
    let error = st.error.expect("an error in exit.json");
    assert!(error.contains("busybox:nope"), "error: {error}");
    assert!(error.contains("no manifest tagged nope"), "error: {error}");
    assert!(!s.state_dir.join(TASK_PID_FILE).exists());
    assert_clean(&s);
}

#[test]
fn container_memory_limit_is_in_its_cgroup() {
    if !is_root() {
        return;
    }
    let dir = TempDir::new("mem");
    let mut s = spec("mem", &dir.0, DriverKind::Container);
    s.image = Some("busybox:local".into());
    s.memory_mb = 32;
    s.memory_max_mb = 96;
    s.command = Some("/bin/sh".into());
    s.args = vec!["-c".into(), "echo started; exec sleep 60".into()];
    s.kill_timeout_ms = 1000;
    let mut executor = start(&s);
    wait_for_file(&s, &s.state_dir.join(TASK_PID_FILE), Duration::from_secs(60));
    let cgroup = Path::new("/sys/fs/cgroup/memory/drover").join(&s.id);
    let limit = read(&cgroup.join("memory.limit_in_bytes"));
    let soft = read(&cgroup.join("memory.soft_limit_in_bytes"));
    let shares = read(&Path::new("/sys/fs/cgroup/cpu/drover").join(&s.id).join("cpu.shares"));

    kill(executor.pid(), Signal::SIGTERM).expect("signal executor");
    let (code, _) = wait(&mut executor, Duration::from_secs(30));
    assert_eq!(code, 0);
    assert_eq!(limit.trim(), (96 * MIB).to_string(), "memory.limit_in_bytes");
    assert_eq!(soft.trim(), (32 * MIB).to_string(), "memory.soft_limit_in_bytes");
    assert_eq!(shares.trim(), "100", "cpu.shares");
    let st = exit_status(&s);
    assert_eq!(st.error, None);
    assert!(!st.oom_killed);
    assert_clean(&s);
}
