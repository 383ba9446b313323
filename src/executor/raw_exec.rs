//! The raw_exec driver: a host process in its own process group and cgroup (and the allocation's
//! network namespace in `bridge` or `none` mode), with the task's env and logs.

use std::fs::File;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::{setgid, setgroups, setuid, Gid, Pid, Uid};

use super::cgroup::{self, Limits, MemoryEvents, TaskCgroup};
use super::error::ExecutorError;
use super::logs::open_log;
use super::netns;
use super::signals::{parse_signal, SignalPipe};
use super::status::{now_ms, write_pid};
use super::supervise::{supervise, Task, TaskExit};
use super::user::resolve_user;
use crate::driver::spec::{ExecSpec, ExitStatus, TASK_PID_FILE};

/// A running raw_exec process.
pub struct RawExecTask {
    child: Child,
    pid: Pid,
}

impl RawExecTask {
    /// Starts `command args...` in `task_dir` with exactly the spec's environment, stdout/stderr into the
    /// log files, as the leader of a new process group, inside `cgroup` (joined before exec).
    pub fn spawn(spec: &ExecSpec, stdout: File, stderr: File, cgroup: Option<&TaskCgroup>) -> Result<Self, ExecutorError> {
        let program = spec
            .command
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ExecutorError::InvalidSpec("raw_exec task has no command".into()))?;
        let mut cmd = Command::new(program);
        cmd.args(&spec.args)
            .env_clear()
            .envs(&spec.env)
            .current_dir(&spec.task_dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        // Identity switch happens in the hook, after joining the cgroup (which needs root).
        let identity = match spec.user.as_deref().filter(|u| !u.is_empty()) {
            Some(user) => {
                let u = resolve_user(Path::new("/"), Some(user))?;
                let groups: Vec<Gid> = u.additional_gids.iter().map(|g| Gid::from_raw(*g)).collect();
                Some((Uid::from_raw(u.uid), Gid::from_raw(u.gid), groups))
            }
            None => None,
        };
        let procs = match cgroup {
            Some(cg) => cg.open_procs()?,
            None => Vec::new(),
        };
        let fds = cgroup::raw_fds(&procs);
        let network = netns::open(spec)?;
        // SAFETY: the hook only makes async-signal-safe syscalls (signal, sigprocmask, write, setns, setgroups, setgid,
        // setuid) on data prepared before fork.
        unsafe {
            cmd.pre_exec(move || {
                super::signals::reset_for_exec()?;
                cgroup::join_fds(&fds)?;
                if let Some(ns) = &network {
                    netns::join(ns)?;
                }
                if let Some((uid, gid, groups)) = &identity {
                    setgroups(groups)?;
                    setgid(*gid)?;
                    setuid(*uid)?;
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|source| ExecutorError::Spawn { command: program.to_string(), source })?;
        drop(procs);
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
        Ok(Self { child, pid })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILLs whatever is left of the process group (children that outlived the main process).
    pub fn kill_group(&self) {
        match killpg(self.pid, Signal::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => {
                tracing::warn!(pgid = self.pid.as_raw(), error = %e, "killing process group failed")
            }
        }
    }
}

impl Task for RawExecTask {
    fn try_wait(&mut self) -> Result<Option<TaskExit>, ExecutorError> {
        let status = self.child.try_wait().map_err(|e| ExecutorError::io(format!("/proc/{}", self.pid), e))?;
        Ok(status.map(|s| TaskExit::from_parts(s.code(), s.signal())))
    }

    fn signal(&mut self, sig: Signal) -> Result<(), ExecutorError> {
        // The whole group first (shell pipelines, workers); the leader alone if the group is gone.
        match killpg(self.pid, sig) {
            Ok(()) => Ok(()),
            Err(Errno::ESRCH) => match kill(self.pid, sig) {
                Ok(()) | Err(Errno::ESRCH) => Ok(()),
                Err(source) => Err(ExecutorError::Sys { action: "signalling task", source }),
            },
            Err(source) => Err(ExecutorError::Sys { action: "signalling task group", source }),
        }
    }
}

/// Runs a raw_exec task to completion, then kills what is left of it and removes its cgroups.
pub fn run(spec: &ExecSpec, state_dir: &Path, signals: &SignalPipe) -> ExitStatus {
    cgroup::remove_everywhere(&spec.id);
    let mut status = ExitStatus::default();
    let limits = Limits::from_task(spec.memory_mb, spec.memory_max_mb, spec.cpu_mhz, spec.pids_limit);
    let result = TaskCgroup::create(&spec.id, &limits).and_then(|cg| {
        let outcome = start_and_wait(spec, state_dir, signals, &cg, &mut status);
        let events = cg.memory_dir().map(MemoryEvents::read).unwrap_or_default();
        cg.remove();
        outcome.map(|exit| (exit, events))
    });
    match result {
        Ok((exit, events)) => {
            status.exit_code = exit.exit_code;
            status.signal = exit.signal;
            status.oom_killed = events.oom_killed(exit.signal);
            tracing::info!(exit_code = exit.exit_code, signal = exit.signal, oom_killed = status.oom_killed, "process exited");
        }
        Err(e) => {
            tracing::error!(error = %e, "raw_exec task failed");
            status.error = Some(e.to_string());
            status.exit_code = -1;
        }
    }
    cgroup::remove_everywhere(&spec.id);
    status.finished_at_ms = now_ms();
    if status.started_at_ms == 0 {
        status.started_at_ms = status.finished_at_ms;
    }
    status
}

fn start_and_wait(
    spec: &ExecSpec,
    state_dir: &Path,
    signals: &SignalPipe,
    cg: &TaskCgroup,
    status: &mut ExitStatus,
) -> Result<TaskExit, ExecutorError> {
    let stdout = open_log(&spec.stdout_path)?;
    let stderr = open_log(&spec.stderr_path)?;
    if signals.termination().is_some() {
        return Err(ExecutorError::StoppedBeforeStart);
    }
    let mut task = RawExecTask::spawn(spec, stdout, stderr, Some(cg))?;
    status.started_at_ms = now_ms();
    if let Err(e) = write_pid(state_dir, TASK_PID_FILE, task.pid()) {
        tracing::warn!(error = %e, "writing task pid file");
    }
    tracing::info!(pid = task.pid(), "process started");
    let exit = supervise(&mut task, signals, parse_signal(&spec.kill_signal), Duration::from_millis(spec.kill_timeout_ms));
    task.kill_group();
    exit
}
