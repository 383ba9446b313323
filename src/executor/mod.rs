//! `drover executor`: the per-task child process that owns one task (container or process), its logs and its cleanup.
//!
//! The executor is synchronous (no async runtime: libcontainer forks). It reads `spec.json`, writes
//! `executor.pid`, runs the task with the driver the spec names, stops it on SIGTERM/SIGINT, cleans up
//! (container, mounts, cgroups) and finally writes `exit.json`. See [`crate::driver::spec`] for the protocol.

pub mod bundle;
pub mod cgroup;
pub mod container;
pub mod error;
pub mod exec;
pub mod launcher;
pub mod logs;
pub mod mounts;
pub mod netns;
pub mod process;
pub mod raw_exec;
pub mod runtime;
pub mod signals;
pub mod status;
pub mod supervise;
pub mod user;

use std::path::{Path, PathBuf};

pub use error::ExecutorError;

use crate::driver::spec::{DriverKind, ExecSpec, ExitStatus, EXECUTOR_PID_FILE, SPEC_FILE};
use signals::SignalPipe;
use status::{now_ms, write_exit, write_pid};

/// Runs the executor for the task described in `<state_dir>/spec.json`; returns the process exit code:
/// 0 once `exit.json` is written (whatever the task did), non-zero if the spec could not be read or
/// `exit.json` could not be written.
pub fn run(state_dir: &Path) -> i32 {
    let state_dir = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    logs::init_tracing(&state_dir);
    if let Err(e) = write_pid(&state_dir, EXECUTOR_PID_FILE, std::process::id()) {
        tracing::warn!(error = %e, "writing executor pid file");
    }
    let begun = now_ms();
    let spec = match read_spec(&state_dir) {
        Ok(spec) => spec,
        Err(e) => {
            tracing::error!(error = %e, "cannot read task spec");
            let status = ExitStatus {
                exit_code: -1,
                error: Some(e.to_string()),
                started_at_ms: begun,
                finished_at_ms: now_ms(),
                ..ExitStatus::default()
            };
            let _ = write_exit(&state_dir, &status);
            return 1;
        }
    };
    let _span = tracing::info_span!("executor", alloc_id = %spec.alloc_id, task = %spec.task_name).entered();
    if canonical(&spec.state_dir) != state_dir {
        tracing::warn!(spec_state_dir = %spec.state_dir.display(), state_dir = %state_dir.display(), "spec names another state dir; using the one given");
    }
    tracing::info!(driver = ?spec.driver, id = %spec.id, "executor starting");

    let status = match SignalPipe::install() {
        Ok(signals) => match spec.driver {
            DriverKind::RawExec => raw_exec::run(&spec, &state_dir, &signals),
            DriverKind::Container => container::run(&spec, &state_dir, &signals),
        },
        Err(e) => ExitStatus {
            exit_code: -1,
            error: Some(e.to_string()),
            started_at_ms: begun,
            finished_at_ms: now_ms(),
            ..ExitStatus::default()
        },
    };
    match write_exit(&state_dir, &status) {
        Ok(()) => {
            tracing::info!(
                exit_code = status.exit_code,
                signal = status.signal,
                error = status.error.as_deref().unwrap_or(""),
                "executor done"
            );
            0
        }
        Err(e) => {
            tracing::error!(error = %e, "writing exit status");
            1
        }
    }
}

/// Reads and parses `<state_dir>/spec.json`.
pub fn read_spec(state_dir: &Path) -> Result<ExecSpec, ExecutorError> {
    let path = state_dir.join(SPEC_FILE);
    let bytes = std::fs::read(&path).map_err(|source| ExecutorError::ReadSpec { path: path.clone(), source })?;
    serde_json::from_slice(&bytes).map_err(|source| ExecutorError::ParseSpec { path, source })
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
