//! Keeps the kernel's cgroup-migration lock in its fast mode while tasks start, so moving a new
//! task into its cgroups does not wait for an RCU grace period.
//!
//! Every write to a `cgroup.procs` takes the kernel's global `cgroup_threadgroup_rwsem` for writing.
//! When no migration happened within the last RCU grace period, taking it first waits for one
//! (`rcu_sync_enter` → `synchronize_rcu`): 7–8 ms on this project's test machines, measured with
//! `perf` inside libcontainer's intermediate process, where it was a fifth of a container's start.
//! Within a grace period after the last migration the same write takes ~0.1 ms.
//!
//! So when a task is about to start, the client starts this warmer: a thread that moves the agent
//! into the cgroup it already is in (a migration that changes nothing) every few milliseconds until
//! a short while after the last start. The first such write pays the grace period while the task is
//! still being set up (its directories, spec, executor, root filesystem); the executor's and the
//! runtime's own writes then find the lock warm. Best effort: where the write is refused (a cgroup
//! v2 inner node, no permission) the warmer stops and starts cost what they did before.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::executor::cgroup::CGROUP_ROOT;

/// How often the warmer migrates: well inside one grace period, so the lock never goes cold.
const INTERVAL: Duration = Duration::from_millis(3);
/// How long after the last start the warmer keeps going (a task's start is 20–50 ms).
const LINGER: Duration = Duration::from_millis(150);

/// `Some(deadline)` while the warmer thread runs; `None` when it is stopped.
static DEADLINE: Mutex<Option<Instant>> = Mutex::new(None);
/// Set once the write was refused: this agent does not warm again.
static REFUSED: AtomicBool = AtomicBool::new(false);

/// Warms the lock for a task about to start: starts the warmer, or extends its run.
pub fn warm() {
    if REFUSED.load(Ordering::Relaxed) {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut current = DEADLINE.lock().unwrap_or_else(|e| e.into_inner());
    let running = current.is_some();
    *current = Some(deadline);
    if running {
        return;
    }
    drop(current);
    let spawned = std::thread::Builder::new().name("cgroup-warm".into()).spawn(run);
    if spawned.is_err() {
        *DEADLINE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn run() {
    // Found and opened once for the agent's life; every run writes to it.
    static PROCS: OnceLock<Option<File>> = OnceLock::new();
    let procs = PROCS.get_or_init(|| own_procs_file().and_then(|path| OpenOptions::new().write(true).open(path).ok()));
    let Some(mut file) = procs.as_ref() else {
        stop();
        return;
    };
    let pid = std::process::id().to_string();
    loop {
        if file.write_all(pid.as_bytes()).is_err() {
            tracing::debug!("cgroup warmer: moving the agent into its own cgroup was refused; stopping");
            stop();
            return;
        }
        std::thread::sleep(INTERVAL);
        let mut deadline = DEADLINE.lock().unwrap_or_else(|e| e.into_inner());
        if deadline.is_some_and(|d| Instant::now() >= d) {
            *deadline = None;
            return;
        }
    }
}

fn stop() {
    REFUSED.store(true, Ordering::Relaxed);
    *DEADLINE.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The `cgroup.procs` of the agent's own cgroup: of its cgroup v1 `pids` hierarchy (any hierarchy
/// takes the same lock), or of the unified hierarchy on cgroup v2.
fn own_procs_file() -> Option<PathBuf> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    procs_file_from(&cgroups)
}

fn procs_file_from(proc_self_cgroup: &str) -> Option<PathBuf> {
    let mut unified = None;
    for line in proc_self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let rel = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "pids") {
            return Some(Path::new(CGROUP_ROOT).join("pids").join(rel).join("cgroup.procs"));
        }
        if controllers.is_empty() {
            unified = Some(Path::new(CGROUP_ROOT).join(rel).join("cgroup.procs"));
        }
    }
    unified.filter(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pids_hierarchy_is_preferred_on_v1() {
        let v1 = "9:name=systemd:/\n8:pids:/system.slice/drover.service\n0::/\n";
        assert_eq!(procs_file_from(v1), Some(PathBuf::from("/sys/fs/cgroup/pids/system.slice/drover.service/cgroup.procs")));
    }

    #[test]
    fn a_missing_unified_hierarchy_gives_nothing() {
        assert_eq!(procs_file_from("0::/no/such/cgroup/here\n"), None);
    }
}
