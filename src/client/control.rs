//! Operations on this client's running allocations (Nomad's `alloc restart`, `alloc signal`): the
//! registry of task runners by allocation, the commands a task runner accepts, and signalling a task's
//! process through its executor's state directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::{mpsc, oneshot};

use crate::driver::spec::{DriverKind, ExecSpec, EXIT_FILE, SPEC_FILE, TASK_PID_FILE};

use super::checks::CheckResult;
use super::config::ClientConfig;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("Unknown allocation \"{0}\"")]
    UnknownAlloc(String),
    #[error("Failed to find task \"{task}\" in allocation; tasks: {tasks}")]
    UnknownTask { task: String, tasks: String },
    #[error("Task not running")]
    NotRunning,
    #[error("invalid signal \"{0}\"")]
    BadSignal(String),
    #[error("signalling task \"{task}\": {message}")]
    Signal { task: String, message: String },
    #[error("task \"{0}\" stopped before the operation completed")]
    Gone(String),
}

/// What a task runner can be asked to do while its task runs.
#[derive(Debug)]
pub enum TaskCommand {
    /// Stop the task and start it again at once, without counting it against the restart policy.
    /// Answered once the new run has been started.
    Restart { reply: oneshot::Sender<Result<(), ControlError>> },
    /// Send `signal` to the task's process.
    Signal { signal: Signal, reply: oneshot::Sender<Result<(), ControlError>> },
    /// A `check_restart` found the task unhealthy: restart it, counted as a failure against the
    /// restart policy. Ignored unless the task is running.
    CheckRestart { reason: String },
}

pub type TaskCommandTx = mpsc::UnboundedSender<TaskCommand>;
pub type TaskCommandRx = mpsc::UnboundedReceiver<TaskCommand>;

/// The client's handle on its allocations, shared with its HTTP API.
#[derive(Clone)]
pub struct ClientControl {
    inner: Arc<Inner>,
}

struct Inner {
    executor_root: PathBuf,
    executor_bin: PathBuf,
    /// Per-core MHz, for Nomad's `TotalTicks`.
    mhz_per_core: f64,
    /// allocation id → task name → command channel of its runner (task order kept by the group).
    allocs: Mutex<BTreeMap<String, Vec<(String, TaskCommandTx)>>>,
    /// Task id → the previous CPU sample, for `Percent`.
    pub(crate) cpu_samples: Mutex<BTreeMap<String, super::stats::CpuSample>>,
    /// allocation id → check id → the latest result of its native service checks.
    checks: Mutex<BTreeMap<String, BTreeMap<String, CheckResult>>>,
}

impl ClientControl {
    pub fn new(cfg: &ClientConfig) -> Self {
        let (cores, mhz) = super::fingerprint::cpu();
        let total = cfg.cpu_total_compute.unwrap_or(mhz) as f64;
        Self {
            inner: Arc::new(Inner {
                executor_root: cfg.executor_root(),
                executor_bin: cfg.executor_bin.clone(),
                mhz_per_core: total / f64::from(cores.max(1)),
                allocs: Mutex::new(BTreeMap::new()),
                cpu_samples: Mutex::new(BTreeMap::new()),
                checks: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Registers an allocation's task runners (called by its alloc runner).
    pub fn register(&self, alloc_id: &str, tasks: Vec<(String, TaskCommandTx)>) {
        self.lock().insert(alloc_id.to_string(), tasks);
    }

    /// Forgets an allocation once its runner has ended.
    pub fn unregister(&self, alloc_id: &str) {
        self.lock().remove(alloc_id);
        let prefix = format!("{alloc_id}-");
        if let Ok(mut s) = self.inner.cpu_samples.lock() {
            s.retain(|id, _| !id.starts_with(&prefix));
        }
        self.checks_lock().remove(alloc_id);
    }

    fn checks_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, CheckResult>>> {
        self.inner.checks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a check's latest result (ignored once the allocation is gone).
    pub fn set_check(&self, alloc_id: &str, r: CheckResult) {
        if self.has_alloc(alloc_id) {
            self.checks_lock().entry(alloc_id.to_string()).or_default().insert(r.id.clone(), r);
        }
    }

    /// Forgets an allocation's check results (its checks are replaced by those of a new version).
    pub fn clear_checks(&self, alloc_id: &str) {
        self.checks_lock().remove(alloc_id);
    }

    /// The latest results of an allocation's checks, by check id (empty when it has none).
    pub fn checks(&self, alloc_id: &str) -> Result<BTreeMap<String, CheckResult>, ControlError> {
        if !self.has_alloc(alloc_id) {
            return Err(ControlError::UnknownAlloc(alloc_id.into()));
        }
        Ok(self.checks_lock().get(alloc_id).cloned().unwrap_or_default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<(String, TaskCommandTx)>>> {
        self.inner.allocs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn executor_bin(&self) -> &Path {
        &self.inner.executor_bin
    }

    pub fn mhz_per_core(&self) -> f64 {
        self.inner.mhz_per_core
    }

    pub(crate) fn cpu_samples(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, super::stats::CpuSample>> {
        self.inner.cpu_samples.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The executor state directory of one task of an allocation.
    pub fn state_dir(&self, alloc_id: &str, task: &str) -> PathBuf {
        self.inner.executor_root.join(alloc_id).join(task)
    }

    /// Whether this client runs the allocation.
    pub fn has_alloc(&self, alloc_id: &str) -> bool {
        self.lock().contains_key(alloc_id)
    }

    /// The allocation's task names, in group order.
    pub fn tasks(&self, alloc_id: &str) -> Result<Vec<String>, ControlError> {
        let allocs = self.lock();
        let tasks = allocs.get(alloc_id).ok_or_else(|| ControlError::UnknownAlloc(alloc_id.to_string()))?;
        Ok(tasks.iter().map(|(n, _)| n.clone()).collect())
    }

    /// The runners that `task` names (all of them when `None`).
    fn targets(&self, alloc_id: &str, task: Option<&str>) -> Result<Vec<(String, TaskCommandTx)>, ControlError> {
        let allocs = self.lock();
        let tasks = allocs.get(alloc_id).ok_or_else(|| ControlError::UnknownAlloc(alloc_id.to_string()))?;
        match task.filter(|t| !t.is_empty()) {
            None => Ok(tasks.clone()),
            Some(name) => match tasks.iter().find(|(n, _)| n == name) {
                Some(t) => Ok(vec![t.clone()]),
                None => Err(ControlError::UnknownTask {
                    task: name.to_string(),
                    tasks: tasks.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
                }),
            },
        }
    }

    /// Restarts one task, or every running task when `task` is `None` (`AllTasks`: tasks whose runner has
    /// ended cannot be started again in place, so it restarts the running ones too).
    pub async fn restart(&self, alloc_id: &str, task: Option<&str>) -> Result<(), ControlError> {
        let targets = self.targets(alloc_id, task)?;
        let single = task.is_some_and(|t| !t.is_empty());
        let mut restarted = 0;
        for (name, tx) in targets {
            let (reply, rx) = oneshot::channel();
            let outcome = match tx.send(TaskCommand::Restart { reply }) {
                Ok(()) => rx.await.unwrap_or_else(|_| Err(ControlError::Gone(name.clone()))),
                Err(_) => Err(ControlError::NotRunning),
            };
            match outcome {
                Ok(()) => restarted += 1,
                Err(ControlError::NotRunning | ControlError::Gone(_)) if !single => {}
                Err(e) => return Err(e),
            }
        }
        if restarted == 0 {
            return Err(ControlError::NotRunning);
        }
        Ok(())
    }

    /// Asks a task's runner to restart it because a check failed (`check_restart`); nothing happens
    /// when the allocation or task is gone.
    pub fn restart_unhealthy(&self, alloc_id: &str, task: &str, reason: String) {
        if let Ok(targets) = self.targets(alloc_id, Some(task)) {
            for (_, tx) in targets {
                let _ = tx.send(TaskCommand::CheckRestart { reason: reason.clone() });
            }
        }
    }

    /// Sends `signal` (a name such as `SIGUSR1` or `HUP`) to one task, or to every running task.
    pub async fn signal(&self, alloc_id: &str, task: Option<&str>, signal: &str) -> Result<(), ControlError> {
        let sig = parse_signal(signal)?;
        let targets = self.targets(alloc_id, task)?;
        let single = task.is_some_and(|t| !t.is_empty());
        let mut sent = 0;
        for (name, tx) in targets {
            let (reply, rx) = oneshot::channel();
            let outcome = match tx.send(TaskCommand::Signal { signal: sig, reply }) {
                Ok(()) => rx.await.unwrap_or_else(|_| Err(ControlError::Gone(name.clone()))),
                Err(_) => Err(ControlError::NotRunning),
            };
            match outcome {
                Ok(()) => sent += 1,
                Err(ControlError::NotRunning | ControlError::Gone(_)) if !single => {}
                Err(e) => return Err(e),
            }
        }
        if sent == 0 {
            return Err(ControlError::NotRunning);
        }
        Ok(())
    }
}

/// A signal name (`SIGUSR1`, `usr1`) or number; unknown names are an error (not a fallback).
pub fn parse_signal(name: &str) -> Result<Signal, ControlError> {
    let trimmed = name.trim();
    if let Ok(n) = trimmed.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| ControlError::BadSignal(name.to_string()));
    }
    let upper = trimmed.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    full.parse::<Signal>().map_err(|_| ControlError::BadSignal(name.to_string()))
}

/// Sends `sig` to the running task of the executor in `state_dir`: the container's init process, or a
/// raw_exec task's process group. The pid is taken from `task.pid` and checked to still belong to the
/// task's cgroup (`drover/<id>`), so a recycled pid is never signalled.
pub fn signal_task(state_dir: &Path, sig: Signal) -> Result<(), ControlError> {
    let task = state_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if state_dir.join(EXIT_FILE).exists() {
        return Err(ControlError::NotRunning);
    }
    let spec: ExecSpec =
        std::fs::read(state_dir.join(SPEC_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(ControlError::NotRunning)?;
    let pid: i32 =
        std::fs::read_to_string(state_dir.join(TASK_PID_FILE)).ok().and_then(|s| s.trim().parse().ok()).ok_or(ControlError::NotRunning)?;
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).map_err(|_| ControlError::NotRunning)?;
    let marker = format!("/{}/{}", crate::executor::cgroup::CGROUP_PARENT, spec.id);
    if !cgroups.lines().any(|l| l.ends_with(&marker) || l.contains(&format!("{marker}/"))) {
        tracing::warn!(pid, task = %task, "task pid is not in the task's cgroup; not signalling it");
        return Err(ControlError::NotRunning);
    }
    let pid = Pid::from_raw(pid);
    let result = match spec.driver {
        DriverKind::Container => kill(pid, sig),
        DriverKind::RawExec => match killpg(pid, sig) {
            Err(Errno::ESRCH) => kill(pid, sig),
            other => other,
        },
    };
    match result {
        Ok(()) => {
            tracing::info!(pid = pid.as_raw(), task = %task, signal = %sig, "signalled task");
            Ok(())
        }
        Err(Errno::ESRCH) => Err(ControlError::NotRunning),
        Err(e) => Err(ControlError::Signal { task, message: e.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        assert_eq!(parse_signal("SIGUSR1"), Ok(Signal::SIGUSR1));
        assert_eq!(parse_signal("hup"), Ok(Signal::SIGHUP));
        assert_eq!(parse_signal("9"), Ok(Signal::SIGKILL));
        assert!(matches!(parse_signal("SIGNOPE"), Err(ControlError::BadSignal(_))));
    }
}
