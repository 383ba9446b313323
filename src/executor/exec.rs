//! `drover executor exec --state-dir DIR [--tty] -- CMD [ARGS…]`: runs a command inside a running task
//! (Nomad's `alloc exec`) with this process's stdin, stdout and stderr, and exits with its exit code.
//!
//! A container task is entered as libcontainer's tenant (youki's `exec`): the command joins the
//! container init's namespaces and cgroups, its root filesystem, environment, user and capabilities.
//! A raw_exec task's command runs in the task directory with the task's environment, user and cgroups.
//! Like the executor itself, this runs before any async runtime exists (libcontainer forks).

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{setgid, setgroups, setuid, Gid, Pid, Uid};

use super::cgroup::{self, task_cgroup_dir};
use super::container::RUNTIME_DIR;
use super::error::ExecutorError;
use super::netns;
use super::signals::SignalPipe;
use super::user::resolve_user;
use crate::driver::spec::{DriverKind, ExecSpec, EXIT_FILE, TASK_PID_FILE};

/// Exit code when the command could not be started (as shells report a command that cannot run).
pub const CANNOT_RUN: i32 = 126;

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecArgs {
    pub state_dir: PathBuf,
    pub tty: bool,
    pub command: Vec<String>,
}

/// Parses `--state-dir DIR [--tty] [--] CMD [ARGS…]` (everything from the command on is passed through).
pub fn parse_args(args: &[String]) -> Option<ExecArgs> {
    let mut state_dir = None;
    let mut tty = false;
    let mut it = args.iter();
    let mut command = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--state-dir" | "-state-dir" => state_dir = Some(PathBuf::from(it.next()?)),
            "--tty" | "-tty" => tty = true,
            "--" => {
                command.extend(it.by_ref().cloned());
                break;
            }
            _ => {
                command.push(a.clone());
                command.extend(it.by_ref().cloned());
                break;
            }
        }
    }
    if command.is_empty() {
        return None;
    }
    Some(ExecArgs { state_dir: state_dir?, tty, command })
}

/// Runs `drover executor exec …`; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let Some(a) = parse_args(args) else {
        let _ = writeln!(std::io::stderr(), "usage: drover executor exec --state-dir DIR [--tty] -- CMD [ARGS...]");
        return 2;
    };
    match exec(&a) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "failed to exec into task: {e}");
            CANNOT_RUN
        }
    }
}

fn exec(a: &ExecArgs) -> Result<i32, ExecutorError> {
    let spec = super::read_spec(&a.state_dir)?;
    if a.state_dir.join(EXIT_FILE).exists() || !a.state_dir.join(TASK_PID_FILE).exists() {
        return Err(ExecutorError::InvalidSpec("task is not running".into()));
    }
    match spec.driver {
        DriverKind::Container => container_exec(&spec, &a.state_dir, &a.command),
        DriverKind::RawExec => raw_exec(&spec, &a.command, a.tty),
    }
}

fn stdio(fd: i32) -> Result<OwnedFd, ExecutorError> {
    // SAFETY: fds 0-2 are open for the life of this process; the duplicate is owned by the caller.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    borrowed.try_clone_to_owned().map_err(|e| ExecutorError::io(format!("/proc/self/fd/{fd}"), e))
}

/// Joins the container as a tenant process and waits for it.
fn container_exec(spec: &ExecSpec, state_dir: &Path, command: &[String]) -> Result<i32, ExecutorError> {
    let runtime_root = state_dir.join(RUNTIME_DIR);
    let id = spec.id.as_str();
    let lc = |action: &'static str| {
        move |source: libcontainer::error::LibcontainerError| ExecutorError::Container {
            id: id.to_string(),
            action,
            source: Box::new(source),
        }
    };
    let pid = ContainerBuilder::new(spec.id.clone(), SyscallType::default())
        .with_root_path(&runtime_root)
        .map_err(lc("setting state directory"))?
        .with_stdin(stdio(0)?)
        .with_stdout(stdio(1)?)
        .with_stderr(stdio(2)?)
        .validate_id()
        .map_err(lc("validating id"))?
        .as_tenant()
        .with_container_args(command.to_vec())
        .with_detach(false)
        .build()
        .map_err(lc("starting command"))?;
    tracing::debug!(pid = pid.as_raw(), "exec process started");
    wait_forwarding(pid, false)
}

/// Waits for the command; a SIGTERM or SIGINT to this process (the session ended) kills it — its
/// process group with `group` — so no command outlives its session.
fn wait_forwarding(pid: Pid, group: bool) -> Result<i32, ExecutorError> {
    let signals = SignalPipe::install()?;
    let mut killed = false;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(source) => return Err(ExecutorError::Sys { action: "waiting for exec process", source }),
        }
        if !killed && signals.termination().is_some() {
            killed = true;
            let _ = if group { killpg(pid, Signal::SIGKILL) } else { kill(pid, Signal::SIGKILL) };
        }
        signals.wait(Duration::from_millis(200));
    }
}

/// Runs the command next to a raw_exec task: its directory, environment, user, cgroups and network namespace.
fn raw_exec(spec: &ExecSpec, command: &[String], tty: bool) -> Result<i32, ExecutorError> {
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]).env_clear().envs(&spec.env).current_dir(&spec.task_dir);
    if !tty {
        // Its own group, so that ending the session ends whatever the command started; on a terminal
        // the command leads a session of its own instead.
        cmd.process_group(0);
    }
    let identity = match spec.user.as_deref().filter(|u| !u.is_empty()) {
        Some(user) => {
            let u = resolve_user(Path::new("/"), Some(user))?;
            let groups: Vec<Gid> = u.additional_gids.iter().map(|g| Gid::from_raw(*g)).collect();
            Some((Uid::from_raw(u.uid), Gid::from_raw(u.gid), groups))
        }
        None => None,
    };
    let procs: Vec<std::fs::File> = ["memory", "cpu", "cpuacct", "pids"]
        .iter()
        .map(|c| task_cgroup_dir(c, &spec.id).join("cgroup.procs"))
        .filter_map(|p| std::fs::OpenOptions::new().write(true).open(p).ok())
        .collect();
    let fds = cgroup::raw_fds(&procs);
    let network = netns::open(spec)?;
    // SAFETY: the hook only makes async-signal-safe syscalls (signal, sigprocmask, write, setns, setsid, ioctl, setgroups,
    // setgid, setuid) on data prepared before fork.
    unsafe {
        cmd.pre_exec(move || {
            super::signals::reset_for_exec()?;
            cgroup::join_fds(&fds)?;
            if let Some(ns) = &network {
                netns::join(ns)?;
            }
            if tty {
                nix::unistd::setsid()?;
                if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some((uid, gid, groups)) = &identity {
                setgroups(groups)?;
                setgid(*gid)?;
                setuid(*uid)?;
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|source| ExecutorError::Spawn { command: command[0].clone(), source })?;
    drop(procs);
    wait_forwarding(Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX)), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_the_command_line() {
        let a = parse_args(&v(&["--state-dir", "/s", "--tty", "--", "sh", "-c", "exit 3"])).unwrap();
        assert_eq!(a, ExecArgs { state_dir: "/s".into(), tty: true, command: v(&["sh", "-c", "exit 3"]) });
        let a = parse_args(&v(&["--state-dir", "/s", "ls", "--tty"])).unwrap();
        assert_eq!((a.tty, a.command), (false, v(&["ls", "--tty"])));
        assert!(parse_args(&v(&["--state-dir", "/s"])).is_none());
        assert!(parse_args(&v(&["ls"])).is_none());
    }
}
