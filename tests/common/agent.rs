//! A real `drover agent -dev` process for end-to-end tests, plus a minimal HTTP client.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_drover")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("drover-test-{tag}-{}", &uuid::Uuid::new_v4().to_string()[..8]));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Builds the busybox:local image into `dir` with the project's script.
pub fn build_image(dir: &Path) {
    let st = Command::new(repo().join("scripts/build-busybox-image")).arg(dir).status().expect("run scripts/build-busybox-image");
    assert!(st.success(), "scripts/build-busybox-image failed");
}

/// `(status, body)` of a plain HTTP request to 127.0.0.1.
pub fn http(method: &str, url: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Ok((status, if chunked { dechunk(payload) } else { payload.to_string() }))
}

/// `(status, response head, body)` of an HTTP request to 127.0.0.1 with a binary body.
pub fn http_bytes(method: &str, url: &str, body: &[u8]) -> std::io::Result<(u16, String, Vec<u8>)> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len())?;
    s.write_all(body)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let payload = buf.get(split + 4..).unwrap_or_default().to_vec();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "http_bytes does not decode chunked replies");
    Ok((status, head, payload))
}

/// A header's value in a response head (case-insensitive name).
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// What a streamed reply has sent within 10 s, or once it contains `want`.
pub fn first_bytes(url: &str, want: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    write!(s, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !String::from_utf8_lossy(&got).contains(want) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => continue,
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

pub fn get_json(url: &str) -> serde_json::Value {
    let (code, body) = http("GET", url, None).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(code, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// `(Type, DisplayMessage)` of a task state's events, oldest first.
pub fn task_events(state: &serde_json::Value) -> Vec<(String, String)> {
    state["Events"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| (e["Type"].as_str().unwrap_or("").to_string(), e["DisplayMessage"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub struct DevAgent {
    pub child: Child,
    pub data_dir: PathBuf,
    pub image_dir: PathBuf,
    pub http_port: u16,
    pub rpc_port: u16,
}

impl DevAgent {
    pub fn start(data_dir: &Path, image_dir: &Path, http_port: u16, rpc_port: u16) -> Self {
        let args: Vec<OsString> = vec![
            "agent".into(),
            "-dev".into(),
            "-data-dir".into(),
            data_dir.into(),
            "-image-dir".into(),
            image_dir.into(),
            "-http-port".into(),
            http_port.to_string().into(),
            "-rpc-port".into(),
            rpc_port.to_string().into(),
        ];
        let mut a = Self::start_with(&args, data_dir, image_dir, http_port);
        a.rpc_port = rpc_port;
        a
    }

    /// Starts `drover ARGS` (an agent whose HTTP API is on `http_port`), logging into `data_dir/agent.log`,
    /// and waits until it has registered a ready node.
    pub fn start_with(args: &[OsString], data_dir: &Path, image_dir: &Path, http_port: u16) -> Self {
        std::fs::create_dir_all(data_dir).unwrap();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("agent.log")).unwrap();
        let child =
            Command::new(bin()).args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().expect("start drover agent");
        let mut a = Self { child, data_dir: data_dir.into(), image_dir: image_dir.into(), http_port, rpc_port: 0 };
        wait_until("the agent to elect itself and register its node", Duration::from_secs(60), || {
            assert!(a.alive(), "the agent exited:\n{}", a.log());
            http("GET", &a.url("/v1/nodes"), None).map(|(c, b)| c == 200 && b.contains("\"ready\"")).unwrap_or(false)
        });
        a
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Runs the CLI against this agent.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin()).args(args).env("DROVER_ADDR", self.addr()).current_dir(repo()).output().expect("run drover cli")
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("agent.log")).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DevAgent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Processes whose command line mentions `needle` (other than this test process).
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()) && e.file_name().to_string_lossy() != me)
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(needle).then(|| format!("{}: {cmd}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// Mount points under `dir`.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let d = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default().lines().filter(|l| l.contains(&d)).map(str::to_string).collect()
}

/// Cgroup directories named after `id` under any controller.
pub fn cgroups_named(id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for ctrl in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
        for base in [ctrl.path().join("drover"), ctrl.path()] {
            for e in std::fs::read_dir(&base).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().contains(id) {
                    out.push(e.path().display().to_string());
                }
            }
        }
    }
    out
}

/// Purges a job when dropped — also when an assertion failed — and waits until its allocations have
/// ended, so that no task (they outlive their agent) outlives the test.
pub struct PurgeOnDrop {
    pub base: String,
    pub job: &'static str,
}

impl Drop for PurgeOnDrop {
    fn drop(&mut self) {
        let _ = http("DELETE", &format!("{}/v1/job/{}?purge=true", self.base, self.job), None);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            // All allocations, not the job's: a purged (or collected) job has no allocation list of its
            // own, while its tasks may still be stopping.
            let ended = match http("GET", &format!("{}/v1/allocations", self.base), None) {
                Ok((200, body)) => serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| {
                    v.as_array().is_some_and(|a| {
                        a.iter().filter(|x| x["JobID"] == self.job).all(|x| {
                            ["complete", "failed", "lost"].contains(&x["ClientStatus"].as_str().unwrap_or(""))
                                || (x["DesiredStatus"] != "run" && x["ClientStatus"] == "pending")
                        })
                    })
                }),
                _ => true,
            };
            if ended {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A dev agent (raw_exec only: no images) in a fresh directory; `None` (the test is skipped) without root.
pub fn dev_agent(tag: &str) -> Option<(DevAgent, PathBuf)> {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs a real agent and needs root");
        return None;
    }
    let dir = temp_dir(tag);
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    Some((DevAgent::start(&dir, &images, free_port(), free_port()), dir))
}

/// A client-only agent (`drover agent -client`, raw_exec enabled) with its data and log in `dir`,
/// bound to `ip`, joining the server RPC address `servers`; killed when dropped.
pub struct ClientAgent {
    pub child: Child,
    pub dir: PathBuf,
}

impl ClientAgent {
    pub fn start(dir: &Path, ip: &str, servers: &str, extra: &[&str]) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("client.hcl"), "plugin \"raw_exec\" {\n  config {\n    enabled = true\n  }\n}\n").unwrap();
        let log = std::fs::File::create(dir.join("agent.log")).unwrap();
        let child = Command::new(bin())
            .args(["agent", "-client", "-bind", ip, "-servers", servers, "-config"])
            .arg(dir.join("client.hcl"))
            .arg("-data-dir")
            .arg(dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start drover agent -client");
        Self { child, dir: dir.into() }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.log")).unwrap_or_default()
    }
}

impl Drop for ClientAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stops (SIGTERM: the executor stops its task and cleans up) any executor left under a test directory.
pub struct ReapExecutors(pub std::path::PathBuf);

impl Drop for ReapExecutors {
    fn drop(&mut self) {
        let dir = self.0.display().to_string();
        for p in processes_mentioning(&format!("executor --state-dir {dir}")) {
            if let Some(pid) = p.split(':').next().and_then(|p| p.parse::<i32>().ok()) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
            }
        }
        let _ = wait_for(|| processes_mentioning(&format!("executor --state-dir {dir}")).is_empty());
    }
}

fn wait_for(f: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A job `id` of raw_exec sleepers asking `memory` MB each; `group` goes first in its group block
/// (count, update, …) and `job` first in the job block (type, …).
pub fn sleeper(id: &str, job: &str, group: &str, memory: u64) -> String {
    format!(
        r#"job "{id}" {{
  {job}
  group "g" {{
    {group}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sleep"
        args    = ["300"]
      }}
      resources {{
        cpu    = 20
        memory = {memory}
      }}
    }}
  }}
}}
"#
    )
}
