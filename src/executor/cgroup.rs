//! cgroup v1 for raw_exec tasks (`/sys/fs/cgroup/{memory,cpu,cpuacct,pids}/drover/<id>`), OOM detection and
//! removal of any `drover/<id>` cgroup left in any hierarchy.

use std::fs;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::error::ExecutorError;

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// Parent of every task cgroup, in each hierarchy.
pub const CGROUP_PARENT: &str = "drover";
const MIB: u64 = 1024 * 1024;

/// Resource limits applied to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Hard memory limit in bytes (0 = none).
    pub memory_bytes: u64,
    /// Soft limit (reservation) in bytes when lower than the hard limit (0 = none).
    pub memory_reservation_bytes: u64,
    pub cpu_shares: u64,
    /// 0 or less = no limit.
    pub pids_max: i64,
}

impl Limits {
    /// Nomad semantics: `memory_max_mb` is the hard limit (0 = `memory_mb`); cpu shares = MHz (min 2).
    pub fn from_task(memory_mb: u64, memory_max_mb: u64, cpu_mhz: u64, pids_limit: i64) -> Self {
        let hard_mb = if memory_max_mb > 0 { memory_max_mb } else { memory_mb };
        let reservation = if memory_max_mb > memory_mb && memory_mb > 0 { memory_mb * MIB } else { 0 };
        Self {
            memory_bytes: hard_mb.saturating_mul(MIB),
            memory_reservation_bytes: reservation,
            cpu_shares: cpu_mhz.clamp(2, 262_144),
            pids_max: pids_limit,
        }
    }
}

/// The path of a task's cgroup in one v1 hierarchy.
pub fn task_cgroup_dir(controller: &str, id: &str) -> PathBuf {
    Path::new(CGROUP_ROOT).join(controller).join(CGROUP_PARENT).join(id)
}

/// The cgroups a raw_exec task runs in (only hierarchies present on this machine).
#[derive(Debug)]
pub struct TaskCgroup {
    dirs: Vec<PathBuf>,
    memory: Option<PathBuf>,
}

impl TaskCgroup {
    /// Creates `drover/<id>` in the memory, cpu and pids hierarchies that exist, and applies `limits`.
    pub fn create(id: &str, limits: &Limits) -> Result<Self, ExecutorError> {
        let mut cg = Self { dirs: Vec::new(), memory: None };
        // cpuacct only accounts (no limits): `alloc status -stats` reads the task's CPU time from it.
        for controller in ["memory", "cpu", "cpuacct", "pids"] {
            if !Path::new(CGROUP_ROOT).join(controller).join("cgroup.procs").is_file() {
                tracing::debug!(controller, "cgroup v1 controller not mounted, skipping");
                continue;
            }
            let dir = task_cgroup_dir(controller, id);
            fs::create_dir_all(&dir).map_err(|e| cgroup_err(&dir, e))?;
            cg.dirs.push(dir.clone());
            if let Err(e) = apply(controller, &dir, limits) {
                cg.remove();
                return Err(e);
            }
            if controller == "memory" {
                cg.memory = Some(dir);
            }
        }
        Ok(cg)
    }

    /// Opens every `cgroup.procs` for writing; the child writes `0` to each before exec (see raw_exec).
    pub fn open_procs(&self) -> Result<Vec<fs::File>, ExecutorError> {
        self.dirs
            .iter()
            .map(|d| {
                let p = d.join("cgroup.procs");
                fs::OpenOptions::new().write(true).open(&p).map_err(|e| cgroup_err(&p, e))
            })
            .collect()
    }

    pub fn memory_dir(&self) -> Option<&Path> {
        self.memory.as_deref()
    }

    /// Kills whatever is still in the cgroups and removes them; logs what it could not remove.
    pub fn remove(&self) {
        for dir in &self.dirs {
            if let Err(e) = kill_and_remove(dir) {
                tracing::warn!(cgroup = %dir.display(), error = %e, "could not remove cgroup");
            }
        }
    }
}

fn apply(controller: &str, dir: &Path, l: &Limits) -> Result<(), ExecutorError> {
    match controller {
        "memory" if l.memory_bytes > 0 => {
            write(dir, "memory.limit_in_bytes", l.memory_bytes)?;
            // No swap beyond the limit, when swap accounting exists.
            if dir.join("memory.memsw.limit_in_bytes").exists() {
                write(dir, "memory.memsw.limit_in_bytes", l.memory_bytes)?;
            }
            if l.memory_reservation_bytes > 0 {
                write(dir, "memory.soft_limit_in_bytes", l.memory_reservation_bytes)?;
            }
        }
        "cpu" => write(dir, "cpu.shares", l.cpu_shares)?,
        "pids" if l.pids_max > 0 => write(dir, "pids.max", l.pids_max)?,
        _ => {}
    }
    Ok(())
}

fn write(dir: &Path, file: &str, value: impl ToString) -> Result<(), ExecutorError> {
    let p = dir.join(file);
    fs::write(&p, value.to_string()).map_err(|e| cgroup_err(&p, e))
}

fn cgroup_err(path: &Path, source: std::io::Error) -> ExecutorError {
    ExecutorError::Cgroup { path: path.to_path_buf(), source }
}

/// Pre-exec hook body: moves the calling process into each cgroup by writing `0` to the given fds.
/// Async-signal-safe (only write(2)); returns the first error.
pub fn join_fds(fds: &[RawFd]) -> std::io::Result<()> {
    for &fd in fds {
        // SAFETY: writing one byte from a static buffer to an open fd.
        if unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) } != 1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Raw fds of opened `cgroup.procs` files, for [`join_fds`].
pub fn raw_fds(files: &[fs::File]) -> Vec<RawFd> {
    files.iter().map(AsRawFd::as_raw_fd).collect()
}

/// What the memory cgroup saw: OOM kills (kernel ≥ 4.13) and limit hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryEvents {
    pub oom_kills: Option<u64>,
    pub failcnt: u64,
}

impl MemoryEvents {
    /// Reads `memory.oom_control` and `memory.failcnt` of a v1 memory cgroup (zeros if unreadable).
    pub fn read(memory_dir: &Path) -> Self {
        let oom_kills = fs::read_to_string(memory_dir.join("memory.oom_control"))
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("oom_kill ").and_then(|v| v.trim().parse().ok())));
        let failcnt = fs::read_to_string(memory_dir.join("memory.failcnt")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        Self { oom_kills, failcnt }
    }

    /// Whether the task was OOM-killed, given the signal that ended it (0 if none).
    pub fn oom_killed(&self, signal: i32) -> bool {
        match self.oom_kills {
            Some(n) => n > 0,
            None => self.failcnt > 0 && signal == Signal::SIGKILL as i32,
        }
    }
}

/// Pids listed in a cgroup's `cgroup.procs`.
pub fn procs(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs")).map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect()).unwrap_or_default()
}

/// SIGKILLs every process in the cgroup until it is empty (up to 5 s), then removes the directory.
pub fn kill_and_remove(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pids = procs(dir);
        for pid in &pids {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(if pids.is_empty() { 20 } else { 50 })),
        }
    }
}

/// Removes `drover/<id>` from every hierarchy under /sys/fs/cgroup (what libcontainer may have left).
pub fn remove_everywhere(id: &str) {
    let Ok(hierarchies) = fs::read_dir(CGROUP_ROOT) else {
        return;
    };
    for h in hierarchies.flatten() {
        // Skip the symlinks of co-mounted controllers (cpu -> cpu,cpuacct): the real dir is visited too.
        if h.file_type().map(|t| t.is_symlink()).unwrap_or(true) {
            continue;
        }
        let dir = h.path().join(CGROUP_PARENT).join(id);
        if dir.exists() {
            match kill_and_remove(&dir) {
                Ok(()) => tracing::info!(cgroup = %dir.display(), "removed leftover cgroup"),
                Err(e) => {
                    tracing::warn!(cgroup = %dir.display(), error = %e, "could not remove cgroup")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_nomad() {
        let l = Limits::from_task(256, 0, 500, 0);
        assert_eq!(l.memory_bytes, 256 * MIB);
        assert_eq!(l.memory_reservation_bytes, 0);
        assert_eq!(l.cpu_shares, 500);
        let l = Limits::from_task(128, 512, 0, 100);
        assert_eq!(l.memory_bytes, 512 * MIB);
        assert_eq!(l.memory_reservation_bytes, 128 * MIB);
        assert_eq!(l.cpu_shares, 2);
        assert_eq!(l.pids_max, 100);
    }

    #[test]
    fn oom_from_counter_or_failcnt() {
        let ev = MemoryEvents { oom_kills: Some(1), failcnt: 0 };
        assert!(ev.oom_killed(0));
        let ev = MemoryEvents { oom_kills: None, failcnt: 3 };
        assert!(ev.oom_killed(9));
        assert!(!ev.oom_killed(0));
    }
}
