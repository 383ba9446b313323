//! The executor contract: the spec a client writes for one task, and the status files the executor writes back.
//!
//! Protocol (all files live in `ExecSpec::state_dir`):
//! - the client writes `spec.json` (this struct), then spawns `drover executor --state-dir <dir>`
//!   in its own session (setsid) so it outlives the agent;
//! - the executor writes `executor.pid` at once, `task.pid` when the task's process runs,
//!   and `exit.json` ([`ExitStatus`]) when the task has ended and everything is cleaned up;
//! - to stop the task the client sends SIGTERM to the executor, which sends `kill_signal` to the task,
//!   waits `kill_timeout_ms`, then SIGKILLs it, cleans up (container, cgroup, mounts) and writes `exit.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    /// An OCI image run as a container through libcontainer (`container` / `docker`).
    Container,
    /// A plain host process (`raw_exec`).
    RawExec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecSpec {
    /// Unique per task run, used as the container id: `<alloc_id>-<task>`.
    pub id: String,
    pub alloc_id: String,
    pub task_name: String,
    pub driver: DriverKind,
    /// Container only: image reference, e.g. `busybox:local`.
    pub image: Option<String>,
    /// Container only: replaces the image's Entrypoint when set.
    pub entrypoint: Option<Vec<String>>,
    /// The command; for containers, replaces the image's Cmd when set (with `args`).
    pub command: Option<String>,
    pub args: Vec<String>,
    /// Task environment (already interpolated); for containers merged over the image's Env.
    pub env: BTreeMap<String, String>,
    pub work_dir: Option<String>,
    pub user: Option<String>,
    /// `<alloc dir>`; mounted at `/alloc` in containers.
    pub alloc_dir: PathBuf,
    /// `<alloc dir>/<task>`; its `local`, `secrets` and `tmp` are mounted at `/local`, `/secrets`, `/tmp`.
    pub task_dir: PathBuf,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    /// The executor's own directory (spec, pid and exit files, libcontainer state, bundle).
    pub state_dir: PathBuf,
    /// Where OCI image layouts are found: `<image_dir>/<name>/` holding `index.json`, `blobs/`.
    pub image_dir: PathBuf,
    /// CPU in MHz (turned into a cpu weight / shares).
    pub cpu_mhz: u64,
    pub memory_mb: u64,
    /// Hard memory limit; 0 = `memory_mb`.
    pub memory_max_mb: u64,
    pub pids_limit: i64,
    /// `host` shares the node's network namespace; `bridge` and `none` join `network_namespace`.
    pub network_mode: String,
    /// The allocation's network namespace file (`/run/netns/drover-<alloc id>`), made by the client
    /// before the task starts; `None` in `host` mode.
    #[serde(default)]
    pub network_namespace: Option<PathBuf>,
    pub hostname: Option<String>,
    /// Signal name, e.g. `SIGTERM`, `SIGINT`.
    pub kill_signal: String,
    pub kill_timeout_ms: u64,
}

/// What the executor writes to `exit.json` once the task has ended and been cleaned up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ExitStatus {
    pub exit_code: i32,
    /// The signal that killed the task, 0 if none.
    pub signal: i32,
    pub oom_killed: bool,
    /// Set when the task could not be started or the driver failed; a readable sentence.
    /// `exit_code` is then -1.
    pub error: Option<String>,
    /// Unix milliseconds.
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
}

pub const SPEC_FILE: &str = "spec.json";
pub const EXECUTOR_PID_FILE: &str = "executor.pid";
pub const TASK_PID_FILE: &str = "task.pid";
pub const EXIT_FILE: &str = "exit.json";
/// The executor's own log (tracing output), in the state dir.
pub const EXECUTOR_LOG_FILE: &str = "executor.log";
