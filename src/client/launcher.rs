//! The client's side of the executor launcher (`executor::launcher`): one `drover executor
//! launcher` process per agent, started on first use, asked for an executor per task.
//!
//! A launcher that died or answers nonsense is started again once; when that fails too the caller
//! exec's the executor itself, as it did before the launcher existed.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

/// The agent's launcher; every client of this process runs the same binary.
static LAUNCHER: OnceLock<Launcher> = OnceLock::new();

/// The launcher of this process, for the `drover` binary at `bin` (the first caller's).
pub fn shared(bin: &Path) -> &'static Launcher {
    LAUNCHER.get_or_init(|| Launcher { bin: bin.to_path_buf(), proc: Mutex::new(None) })
}

pub struct Launcher {
    bin: PathBuf,
    proc: Mutex<Option<Running>>,
}

struct Running {
    // Killed when dropped; executors it forked are not its children and live on.
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Launcher {
    /// Starts the executor of the task whose `spec.json` is in `state_dir`; returns its pid (also
    /// in its `executor.pid`).
    pub async fn launch(&self, state_dir: &Path) -> io::Result<u32> {
        let dir =
            state_dir.to_str().filter(|d| !d.contains('\n')).ok_or_else(|| io::Error::other("state dir is not a one-line UTF-8 path"))?;
        let mut proc = self.proc.lock().await;
        let mut last = io::Error::other("launcher not started");
        for _ in 0..2 {
            let running = match proc.as_mut() {
                Some(running) => running,
                None => proc.insert(self.start()?),
            };
            match ask(running, dir).await {
                Ok(Ok(pid)) => return Ok(pid),
                // The launcher works; this task's executor could not be started.
                Ok(Err(reason)) => return Err(io::Error::other(reason)),
                Err(e) => {
                    tracing::warn!(error = %e, "executor launcher failed; starting it again");
                    *proc = None;
                    last = e;
                }
            }
        }
        Err(last)
    }

    fn start(&self) -> io::Result<Running> {
        let mut child = Command::new(&self.bin)
            // The blank last argument is room for each executor's own command line.
            .args(["executor", "launcher", &" ".repeat(crate::executor::launcher::CMDLINE_ROOM)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| io::Error::other("launcher has no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| io::Error::other("launcher has no stdout"))?;
        tracing::debug!(pid = child.id(), "executor launcher started");
        Ok(Running { _child: child, stdin, stdout: BufReader::new(stdout) })
    }
}

/// One request: `Ok(Ok(pid))`, `Ok(Err(reason))` when the launcher could not start this executor,
/// `Err` when the launcher itself is unusable.
async fn ask(running: &mut Running, dir: &str) -> io::Result<Result<u32, String>> {
    running.stdin.write_all(format!("{dir}\n").as_bytes()).await?;
    running.stdin.flush().await?;
    let mut line = String::new();
    if running.stdout.read_line(&mut line).await? == 0 {
        return Err(io::Error::other("launcher exited"));
    }
    let line = line.trim_end();
    if let Some(reason) = line.strip_prefix("error ") {
        return Ok(Err(reason.to_string()));
    }
    line.parse().map(Ok).map_err(|_| io::Error::other(format!("launcher answered {line:?}")))
}
