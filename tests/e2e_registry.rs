//! End to end: a dev agent with an empty image dir pulls busybox from a local registry (Debian's
//! docker-registry, filled with skopeo) for a `docker` task, runs it and shows its output; a second pull of
//! the same image reuses the node's stored blobs (no blob is served twice); a missing image fails the task
//! with a Driver Failure event naming the image and the registry's error; a registry with htpasswd basic
//! auth is pulled from with the task's `auth { username, password }`; a registry on the node's own
//! (non-loopback) address is reached over https.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::agent::*;
use serde_json::Value;

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The registry binary (Debian names it docker-registry) and skopeo; `None` means skip (fails under CI).
fn tools() -> Option<(PathBuf, PathBuf)> {
    let registry = ["/usr/bin/registry", "/usr/bin/docker-registry"].into_iter().map(PathBuf::from).find(|p| p.is_file());
    let skopeo = Some(PathBuf::from("/usr/bin/skopeo")).filter(|p| p.is_file());
    match (registry, skopeo) {
        (Some(r), Some(s)) => Some((r, s)),
        _ => {
            let msg = "the registry test needs /usr/bin/registry (or docker-registry) and /usr/bin/skopeo: \
                       install the Debian packages docker-registry and skopeo (scripts/test does)";
            assert!(std::env::var_os("CI").is_none(), "{msg}");
            eprintln!("skipping: {msg}");
            None
        }
    }
}

/// A `registry serve` process on a free loopback port, storing into its own directory, logging to `log`.
struct Registry {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Registry {
    fn start(bin: &Path, dir: &Path, htpasswd: Option<&Path>) -> Self {
        Self::start_on(bin, dir, htpasswd, "127.0.0.1", None)
    }

    /// On `ip`; with `tls` (certificate, key) it serves https.
    fn start_on(bin: &Path, dir: &Path, htpasswd: Option<&Path>, ip: &str, tls: Option<(&Path, &Path)>) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: {ip}:{port}\n",
            dir.join("storage").display()
        );
        if let Some((cert, key)) = tls {
            config.push_str(&format!("  tls:\n    certificate: {}\n    key: {}\n", cert.display(), key.display()));
        }
        if let Some(h) = htpasswd {
            config.push_str(&format!("auth:\n  htpasswd:\n    realm: drover-test\n    path: {}\n", h.display()));
        }
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = dir.join("registry.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start the registry");
        let mut r = Self { child, port, log };
        wait_until("the registry to listen", Duration::from_secs(20), || {
            assert!(matches!(r.child.try_wait(), Ok(None)), "the registry exited:\n{}", r.log());
            match tls {
                None => matches!(http("GET", &format!("http://{ip}:{port}/v2/"), None), Ok((200 | 401, _))),
                Some(_) => std::net::TcpStream::connect((ip, port)).is_ok(),
            }
        });
        r
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Blob downloads the registry served (its access log's `GET /v2/<repo>/blobs/` lines).
    fn blob_gets(&self) -> usize {
        self.log().lines().filter(|l| l.contains("\"GET /v2/") && l.contains("/blobs/sha256:")).count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `skopeo copy` of the busybox layout to `<host>/<dest>`.
fn push(skopeo: &Path, layout_root: &Path, host: &str, dest: &str, creds: Option<&str>) {
    let mut cmd = Command::new(skopeo);
    cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
    if let Some(c) = creds {
        cmd.args(["--dest-creds", c]);
    }
    cmd.arg(format!("oci:{}:local", layout_root.join("busybox").display()));
    cmd.arg(format!("docker://{host}/{dest}"));
    let out = cmd.output().expect("run skopeo");
    assert!(out.status.success(), "skopeo copy to {dest} failed:\n{}", text(&out));
}

fn job(name: &str, image: &str, extra: &str) -> String {
    format!(
        r#"job "{name}" {{
  type = "batch"
  group "g" {{
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    reschedule {{
      attempts  = 0
      unlimited = false
    }}
    task "t" {{
      driver = "docker"
      config {{
        image   = "{image}"
        command = "/bin/sh"
        args    = ["-c", "echo hello from {name} on $(cat /etc/hostname 2>/dev/null || echo busybox)"]
{extra}      }}
      env {{
        REGISTRY_PASSWORD = "s3cret"
      }}
      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}
"#
    )
}

/// Registers the job and waits for its allocation to finish (complete or failed); returns it in full.
fn run_job(agent: &DevAgent, dir: &Path, name: &str, hcl: &str) -> Value {
    let path = dir.join(format!("{name}.hcl"));
    std::fs::write(&path, hcl).unwrap();
    let out = agent.cli(&["job", "run", "-detach", path.to_str().unwrap()]);
    assert!(out.status.success(), "job run {name} failed:\n{}\nagent log:\n{}", text(&out), agent.log());
    let mut found = Value::Null;
    wait_until(&format!("the allocation of {name} to finish"), Duration::from_secs(120), || {
        let Ok((200, body)) = http("GET", &agent.url(&format!("/v1/job/{name}/allocations")), None) else { return false };
        let allocs: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let Some(a) = allocs.as_array().and_then(|a| a.first()).cloned() else { return false };
        let done = a["ClientStatus"] == "complete" || a["ClientStatus"] == "failed";
        if done {
            found = get_json(&agent.url(&format!("/v1/allocation/{}", a["ID"].as_str().unwrap())));
        }
        done
    });
    found
}

fn events(alloc: &Value) -> Vec<(String, String)> {
    task_events(&alloc["TaskStates"]["t"])
}

fn logs(agent: &DevAgent, alloc: &Value) -> String {
    let id = alloc["ID"].as_str().unwrap();
    let out = agent.cli(&["alloc", "logs", id, "t"]);
    assert!(out.status.success(), "alloc logs failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `s` without ANSI colour sequences (`ESC [ … m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

/// The agent's "pulled image" log line for `alloc`, as (downloaded_blobs, reused_blobs).
fn pull_counts(agent: &DevAgent, alloc: &Value) -> (u64, u64) {
    let id = alloc["ID"].as_str().unwrap();
    let log = strip_ansi(&agent.log());
    let line = log
        .lines()
        .find(|l| l.contains("pulled image") && l.contains(id))
        .unwrap_or_else(|| panic!("no \"pulled image\" log line for {id}:\n{log}"));
    let field = |k: &str| -> u64 {
        let at = line.find(&format!("{k}=")).unwrap_or_else(|| panic!("{k} missing in {line}")) + k.len() + 1;
        line[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
    };
    (field("downloaded_blobs"), field("reused_blobs"))
}

/// This machine's first global IPv4 address (not loopback: those registries are spoken to over http).
fn global_ipv4() -> Option<String> {
    let out = Command::new("ip").args(["-4", "-o", "addr", "show", "scope", "global"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let inet = text.split_whitespace().skip_while(|w| *w != "inet").nth(1)?;
    Some(inet.split('/').next()?.to_string())
}

/// A self-signed certificate and key for `global_ipv4()`, made with openssl.
fn self_signed(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let ip = global_ipv4()?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=drover-test"])
        .arg("-addext")
        .arg(format!("subjectAltName=IP:{ip}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?;
    out.status.success().then_some((cert, key))
}

fn inode_and_mtime(p: &Path) -> (u64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.ino(), m.mtime_nsec() + m.mtime() * 1_000_000_000)
}

#[test]
fn docker_tasks_pull_from_a_registry_and_reuse_blobs() {
    if !is_root() {
        eprintln!("skipping: the end-to-end test runs real containers and needs root");
        return;
    }
    let Some((registry_bin, skopeo)) = tools() else { return };
    let t0 = Instant::now();
    let dir = temp_dir("registry");
    let source = dir.join("source");
    build_image(&source);
    let registry = Registry::start(&registry_bin, &dir.join("registry"), None);
    let port = registry.port;
    let local = format!("127.0.0.1:{port}");
    push(&skopeo, &source, &local, "busybox:1", None);
    push(&skopeo, &source, &local, "busybox:2", None);
    let pushed_gets = registry.blob_gets();

    // A self-signed certificate for this machine's own non-loopback address (https is used for every
    // registry that is not on loopback), trusted by the agent through SSL_CERT_FILE.
    let tls = global_ipv4().zip(self_signed(&dir));
    if let Some((_, (cert, _))) = &tls {
        std::env::set_var("SSL_CERT_FILE", cert);
    }

    let image_dir = dir.join("images");
    std::fs::create_dir_all(&image_dir).unwrap();
    let data_dir = dir.join("agent");
    let (http_port, rpc_port) = (free_port(), free_port());
    let agent = DevAgent::start(&data_dir, &image_dir, http_port, rpc_port);
    eprintln!("setup (image build, registry, push, agent): {:?}", t0.elapsed());

    // 1. Empty image dir: the task's image is pulled, then it runs and logs.
    let t1 = Instant::now();
    let image = format!("127.0.0.1:{port}/busybox:1");
    let a = run_job(&agent, &dir, "pull-one", &job("pull-one", &image, ""));
    assert_eq!(a["ClientStatus"], "complete", "{a}\nagent log:\n{}", agent.log());
    let ev = events(&a);
    assert!(ev.contains(&("Driver".into(), "Downloading image".into())), "{ev:?}");
    assert!(logs(&agent, &a).contains("hello from pull-one"), "{}", logs(&agent, &a));
    assert_eq!(pull_counts(&agent, &a), (2, 0), "config and layer downloaded");
    assert_eq!(registry.blob_gets() - pushed_gets, 2, "{}", registry.log());
    let layout = image_dir.join(format!("127.0.0.1:{port}")).join("busybox");
    assert!(layout.join("index.json").is_file(), "the pulled image is an OCI layout at {}", layout.display());
    let store = image_dir.join(".blobs/sha256");
    let stored: Vec<PathBuf> = std::fs::read_dir(&store).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(stored.len(), 3, "manifest, config and layer are stored: {stored:?}");
    let before: Vec<(u64, i64)> = stored.iter().map(|p| inode_and_mtime(p)).collect();
    eprintln!("first pull and run: {:?}", t1.elapsed());

    // 2. Another tag of the same image: the manifest is fetched, every blob is reused.
    let t2 = Instant::now();
    let a = run_job(&agent, &dir, "pull-two", &job("pull-two", &format!("127.0.0.1:{port}/busybox:2"), ""));
    assert_eq!(a["ClientStatus"], "complete", "{a}");
    assert!(logs(&agent, &a).contains("hello from pull-two"));
    assert_eq!(pull_counts(&agent, &a), (0, 2), "both blobs reused");
    // 3. force_pull re-resolves the manifest of a present image and still downloads no blob.
    let a = run_job(&agent, &dir, "pull-force", &job("pull-force", &image, "        force_pull = true\n"));
    assert_eq!(a["ClientStatus"], "complete", "{a}");
    assert!(events(&a).iter().any(|e| e.0 == "Driver"), "force_pull pulls again: {:?}", events(&a));
    assert_eq!(pull_counts(&agent, &a), (0, 2));
    // 4. A present image is not pulled at all.
    let a = run_job(&agent, &dir, "pull-none", &job("pull-none", &image, ""));
    assert_eq!(a["ClientStatus"], "complete", "{a}");
    assert!(!events(&a).iter().any(|e| e.0 == "Driver"), "no pull for a present image: {:?}", events(&a));
    assert_eq!(registry.blob_gets() - pushed_gets, 2, "no blob was served twice:\n{}", registry.log());
    let after: Vec<(u64, i64)> = stored.iter().map(|p| inode_and_mtime(p)).collect();
    assert_eq!(before, after, "stored blobs were not rewritten");
    eprintln!("reuse (other tag, force_pull, present): {:?}", t2.elapsed());

    // 5. A missing image fails the task with the image and the registry's error.
    let t3 = Instant::now();
    let missing = format!("127.0.0.1:{port}/nope:1");
    let a = run_job(&agent, &dir, "pull-missing", &job("pull-missing", &missing, ""));
    assert_eq!(a["ClientStatus"], "failed", "{a}");
    let ev = events(&a);
    let failure = ev.iter().find(|e| e.0 == "Driver Failure").unwrap_or_else(|| panic!("no Driver Failure event: {ev:?}"));
    assert!(failure.1.starts_with(&format!("Failed to pull `{missing}`: ")), "{failure:?}");
    assert!(failure.1.contains("unknown"), "the registry's error is named: {failure:?}");
    eprintln!("missing image event: {}: {}", failure.0, failure.1);
    eprintln!("missing image: {:?}", t3.elapsed());

    // 6. A registry behind htpasswd basic auth: refused without credentials, pulled with them.
    if !Path::new("/usr/bin/htpasswd").is_file() {
        eprintln!("skipping the basic-auth case: /usr/bin/htpasswd (apache2-utils) is missing");
        return;
    }
    let t4 = Instant::now();
    let htpasswd = dir.join("htpasswd");
    let out = Command::new("/usr/bin/htpasswd").args(["-Bbc", htpasswd.to_str().unwrap(), "alice", "s3cret"]).output().unwrap();
    assert!(out.status.success(), "htpasswd: {}", text(&out));
    let private = Registry::start(&registry_bin, &dir.join("private"), Some(&htpasswd));
    push(&skopeo, &source, &format!("127.0.0.1:{}", private.port), "team/busybox:1", Some("alice:s3cret"));
    let image = format!("127.0.0.1:{}/team/busybox:1", private.port);
    let a = run_job(&agent, &dir, "auth-none", &job("auth-none", &image, ""));
    assert_eq!(a["ClientStatus"], "failed", "{a}");
    let ev = events(&a);
    assert!(ev.iter().any(|e| e.0 == "Driver Failure" && e.1.contains("credentials")), "{ev:?}");
    eprintln!("no credentials: {:?}", ev.iter().find(|e| e.0 == "Driver Failure"));
    // Empty the blob store (the layouts keep their hard links) so the blobs are downloaded with credentials.
    std::fs::remove_dir_all(image_dir.join(".blobs")).unwrap();
    // The password is interpolated from the task's environment, as Nomad does for driver config.
    let auth = "        auth {\n          username = \"alice\"\n          password = \"${REGISTRY_PASSWORD}\"\n        }\n";
    let a = run_job(&agent, &dir, "auth-basic", &job("auth-basic", &image, auth));
    assert_eq!(a["ClientStatus"], "complete", "{a}\nagent log:\n{}", agent.log());
    assert!(logs(&agent, &a).contains("hello from auth-basic"));
    assert_eq!(pull_counts(&agent, &a), (2, 0), "config and layer downloaded with basic auth");
    assert_eq!(private.blob_gets(), 2, "{}", private.log());
    eprintln!("basic auth: {:?}", t4.elapsed());

    // 7. https: a registry on the node's own address with a certificate the agent trusts.
    match &tls {
        None => eprintln!("skipping the https case: no global IPv4 address or no /usr/bin/openssl"),
        Some((ip, (cert, key))) => {
            let t5 = Instant::now();
            let secure = Registry::start_on(&registry_bin, &dir.join("tls"), None, ip, Some((cert, key)));
            let host = format!("{ip}:{}", secure.port);
            push(&skopeo, &source, &host, "busybox:tls", None);
            let a = run_job(&agent, &dir, "pull-tls", &job("pull-tls", &format!("{host}/busybox:tls"), ""));
            assert_eq!(a["ClientStatus"], "complete", "{a}\nagent log:\n{}", agent.log());
            assert!(logs(&agent, &a).contains("hello from pull-tls"));
            assert!(secure.log().contains("GET /v2/busybox/manifests/tls"), "{}", secure.log());
            eprintln!("https: {:?}", t5.elapsed());
        }
    }
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}
