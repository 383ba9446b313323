//! One task's life: build the executor spec, start (or re-attach to) its `drover executor`, follow it,
//! apply the restart policy, and stop it with kill_signal → kill_timeout → SIGKILL; restart it in place or
//! signal it when asked (`client::control`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use crate::core::alloc::{Allocation, TaskEvent, TaskState, TaskStateKind};
use crate::core::job::{Job, Task, TaskGroup};
use crate::core::node::Node;
use crate::core::text::Text;
use crate::driver::spec::{DriverKind, ExecSpec, ExitStatus, EXECUTOR_PID_FILE, EXIT_FILE, SPEC_FILE, TASK_PID_FILE};
use crate::server::clock::now_ns;

use super::alloc_dir::AllocDir;
use super::cgroup_warm;
use super::config::ClientConfig;
use super::control::{signal_task, ControlError, TaskCommand, TaskCommandRx};
use super::env::{self, TaskDirs};
use super::image_pull;
use super::interpolate::Interpolator;
use super::launcher;
use super::network::AllocNetwork;
use super::restart::{Decision, RestartTracker};

/// Everything a task runner needs.
pub struct TaskContext {
    pub alloc: Allocation,
    pub job: Job,
    pub group: TaskGroup,
    pub task: Task,
    pub node: Node,
    pub cfg: Arc<ClientConfig>,
    /// The allocation's own network namespace (`bridge` or `none` mode), set up before its tasks start.
    pub network: Option<AllocNetwork>,
}

pub type StateTx = mpsc::UnboundedSender<(String, TaskState)>;

struct Runner {
    ctx: TaskContext,
    state: TaskState,
    tx: StateTx,
}

impl Runner {
    fn event(&mut self, kind: &str, message: impl Into<String>) {
        self.push(TaskEvent {
            kind: Text::from(kind.to_string()),
            time: now_ns(),
            message: Text::from(message.into()),
            ..Default::default()
        });
    }

    /// The task cannot start: it is dead and failed, with an event saying why.
    fn fail(&mut self, kind: &str, message: String) {
        self.state.state = TaskStateKind::Dead;
        self.state.failed = true;
        self.state.finished_at = now_ns();
        self.push(TaskEvent {
            kind: Text::from(kind.to_string()),
            time: now_ns(),
            message: message.into(),
            failed: true,
            ..Default::default()
        });
    }

    fn push(&mut self, e: TaskEvent) {
        self.state.events.push(e);
        if self.state.events.len() > 10 {
            self.state.events.remove(0);
        }
        let _ = self.tx.send((self.ctx.task.name.clone(), self.state.clone()));
    }
}

fn state_dir(cfg: &ClientConfig, alloc_id: &str, task: &str) -> PathBuf {
    cfg.executor_root().join(alloc_id).join(task)
}

fn str_list(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(a)) => a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Builds the executor spec (driver config and env interpolated) and, for container tasks, how to pull the image.
pub fn build_spec(ctx: &TaskContext) -> Result<(ExecSpec, Option<image_pull::PullSettings>), String> {
    let t = &ctx.task;
    let driver = match t.driver.as_str() {
        "container" | "docker" => DriverKind::Container,
        "raw_exec" if ctx.cfg.raw_exec_enabled => DriverKind::RawExec,
        "raw_exec" => return Err("driver raw_exec is disabled on this client".into()),
        other => return Err(format!("driver {other} is not available on this client")),
    };
    let dirs = AllocDir::new(&ctx.cfg.alloc_root(), &ctx.alloc.id);
    let task_dir = dirs.task(&t.name);
    let seen = match driver {
        DriverKind::Container => {
            TaskDirs { alloc_dir: "/alloc".into(), task_dir: "/local".into(), secrets_dir: "/secrets".into(), tmp_dir: "/tmp".into() }
        }
        DriverKind::RawExec => TaskDirs {
            alloc_dir: dirs.shared().display().to_string(),
            task_dir: task_dir.join("local").display().to_string(),
            secrets_dir: task_dir.join("secrets").display().to_string(),
            tmp_dir: task_dir.join("tmp").display().to_string(),
        },
    };
    let mut envs = env::build(&ctx.alloc, &ctx.job, &ctx.group, t, &ctx.node, &seen, ctx.network.as_ref());
    let base = envs.clone();
    let interp = Interpolator { env: &base, node: &ctx.node };
    for (k, v) in &t.env {
        envs.insert(k.clone(), interp.apply(v));
    }
    let interp = Interpolator { env: &envs, node: &ctx.node };
    let config: serde_json::Value = interp.apply_json(&serde_json::to_value(&t.config).map_err(|e| e.to_string())?);
    let get = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_string).filter(|s| !s.is_empty());
    let res = ctx.alloc.resources.tasks.get(t.name.as_str()).cloned().unwrap_or_default();
    let state_dir = state_dir(&ctx.cfg, &ctx.alloc.id, &t.name);
    let image = get("image");
    if driver == DriverKind::Container && image.is_none() {
        return Err(format!("task \"{}\": driver {} needs config.image", t.name, t.driver));
    }
    let pull = match (driver, image.as_deref()) {
        (DriverKind::Container, Some(image)) => {
            Some(image_pull::settings(&config, image).map_err(|e| format!("task \"{}\": {e}", t.name))?)
        }
        _ => None,
    };
    if driver == DriverKind::RawExec && get("command").is_none() {
        return Err(format!("task \"{}\": driver raw_exec needs config.command", t.name));
    }
    let entrypoint = config.get("entrypoint").map(|v| str_list(Some(v))).filter(|v| !v.is_empty());
    let spec = ExecSpec {
        id: format!("{}-{}", ctx.alloc.id, t.name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "_")),
        alloc_id: ctx.alloc.id.to_string(),
        task_name: t.name.clone(),
        driver,
        image,
        entrypoint,
        command: get("command"),
        args: str_list(config.get("args")),
        env: envs,
        work_dir: get("work_dir"),
        user: Some(t.user.clone()).filter(|u| !u.is_empty()),
        alloc_dir: dirs.shared(),
        task_dir,
        stdout_path: dirs.logs().join(format!("{}.stdout.0", t.name)),
        stderr_path: dirs.logs().join(format!("{}.stderr.0", t.name)),
        state_dir,
        image_dir: ctx.cfg.image_dir.clone(),
        cpu_mhz: res.cpu,
        memory_mb: res.memory_mb,
        memory_max_mb: res.memory_max_mb,
        pids_limit: 4096,
        network_mode: ctx.alloc.resources.network_mode.to_string(),
        network_namespace: ctx.network.as_ref().map(|n| n.netns.clone()),
        hostname: None,
        kill_signal: if t.kill_signal.is_empty() { "SIGTERM".into() } else { t.kill_signal.clone() },
        kill_timeout_ms: (t.kill_timeout.max(0) / 1_000_000) as u64,
    };
    Ok((spec, pull))
}

/// A dispatched job's payload, written to the task's `dispatch_payload` file under `local/`.
fn write_payload(ctx: &TaskContext) -> std::io::Result<()> {
    let Some(dp) = ctx.task.dispatch_payload.as_ref().filter(|d| !d.file.is_empty()) else { return Ok(()) };
    if ctx.job.payload.is_empty() {
        return Ok(());
    }
    let path = AllocDir::new(&ctx.cfg.alloc_root(), &ctx.alloc.id).write_local(&ctx.task.name, &dp.file, &ctx.job.payload)?;
    info!(alloc_id = %ctx.alloc.id, task = %ctx.task.name, path = %path.display(), bytes = ctx.job.payload.len(), "wrote dispatch payload");
    Ok(())
}

pub(crate) fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` runs: it exists and is not a zombie (an executor the agent did not fork is reaped
/// by whoever inherited it, maybe late).
pub(crate) fn alive(pid: i32) -> bool {
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
        return false;
    }
    // The state follows the command name, which is in parentheses and may contain anything.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

fn read_exit(dir: &Path) -> Option<ExitStatus> {
    serde_json::from_slice(&std::fs::read(dir.join(EXIT_FILE)).ok()?).ok()
}

/// Starts the executor for `spec`, in its own session so it outlives the agent: forked by the
/// launcher (`None`: followed by its pid file), or, when the launcher fails, exec'd as a child.
async fn start_executor(cfg: &ClientConfig, spec: &ExecSpec) -> std::io::Result<Option<tokio::process::Child>> {
    std::fs::create_dir_all(&spec.state_dir)?;
    let _ = std::fs::remove_file(spec.state_dir.join(EXIT_FILE));
    let _ = std::fs::remove_file(spec.state_dir.join(TASK_PID_FILE));
    let _ = std::fs::remove_file(spec.state_dir.join(EXECUTOR_PID_FILE));
    let json = serde_json::to_vec_pretty(spec).map_err(std::io::Error::other)?;
    std::fs::write(spec.state_dir.join(SPEC_FILE), json)?;
    match launcher::shared(&cfg.executor_bin).launch(&spec.state_dir).await {
        Ok(pid) => {
            debug!(alloc_id = %spec.alloc_id, task = %spec.task_name, pid, "executor forked by the launcher");
            return Ok(None);
        }
        Err(e) => warn!(alloc_id = %spec.alloc_id, task = %spec.task_name, error = %e, "executor launcher failed; exec'ing the executor"),
    }
    spawn_executor(cfg, spec).map(Some)
}

/// Exec's the executor for `spec` as a child of the agent, in its own session.
fn spawn_executor(cfg: &ClientConfig, spec: &ExecSpec) -> std::io::Result<tokio::process::Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(spec.state_dir.join("executor.log"))?;
    let mut cmd = tokio::process::Command::new(&cfg.executor_bin);
    cmd.arg("executor").arg("--state-dir").arg(&spec.state_dir);
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(log);
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(std::io::Error::from));
    }
    cmd.kill_on_drop(false);
    cmd.spawn()
}

/// Pulls a container task's image when it is missing (or `force_pull`), with Nomad's task events.
/// `Ok(false)`: the task was killed while pulling; `Err`: the pull failed (the Driver Failure message).
async fn ensure_image(
    r: &mut Runner,
    spec: &ExecSpec,
    settings: Option<&image_pull::PullSettings>,
    kill: &mut watch::Receiver<bool>,
) -> Result<bool, String> {
    let Some(settings) = settings else {
        return Ok(true);
    };
    if !image_pull::needs_pull(&spec.image_dir, settings).await {
        return Ok(true);
    }
    r.event("Driver", "Downloading image");
    let pull = image_pull::pull_image(spec.image_dir.clone(), settings, &spec.alloc_id, &spec.task_name);
    tokio::select! {
        res = pull => res.map(|_| true).inspect_err(|e| warn!(alloc_id = %spec.alloc_id, task = %spec.task_name, error = %e, "image pull failed")),
        _ = kill.wait_for(|k| *k) => Ok(false),
    }
}

enum Ended {
    Exited(ExitStatus),
    Killed(ExitStatus),
    /// Stopped for a user-requested restart; the reply is sent once the task runs again.
    Restarted(ExitStatus, Reply),
    /// Stopped because a check found it unhealthy (`check_restart`): a failure for the restart policy.
    Unhealthy(ExitStatus),
}

/// The answer to a `TaskCommand`.
type Reply = oneshot::Sender<Result<(), ControlError>>;

/// A restart under way: asked for by a user (answered once the task runs again), or by a failing check.
enum Restart {
    User(Reply),
    Unhealthy,
}

/// How a followed task ended: killed (a pending restart is then refused), stopped for a restart, or exited.
fn ended(status: ExitStatus, killing: bool, restarting: Option<(Instant, Restart)>, task: &str) -> Ended {
    match (killing, restarting) {
        (true, Some((_, Restart::User(reply)))) => {
            let _ = reply.send(Err(ControlError::Gone(task.to_string())));
            Ended::Killed(status)
        }
        (true, _) => Ended::Killed(status),
        (false, Some((_, Restart::User(reply)))) => Ended::Restarted(status, reply),
        (false, Some((_, Restart::Unhealthy))) => Ended::Unhealthy(status),
        (false, None) => Ended::Exited(status),
    }
}

/// Sends SIGTERM to the executor in `dir` (it stops the task with kill_signal, then SIGKILL).
/// How long a starting task is watched closely (every 2 ms) for its start.
const FAST_START_WATCH: Duration = Duration::from_secs(5);

/// Asks the executor to stop its task; false when it has not written its pid yet (ask again later).
fn stop_executor(dir: &Path) -> bool {
    match read_pid(&dir.join(EXECUTOR_PID_FILE)) {
        Some(pid) => {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
            true
        }
        None => false,
    }
}

/// Follows a running executor until the task ends; `kill` asks it to stop, `cmds` to restart or signal
/// it. A `reattached` executor's task counts as started if its pid file is there; a new one's is
/// reported started (the "Started" event) when the file appears.
async fn follow(
    r: &mut Runner,
    dir: &Path,
    mut child: Option<tokio::process::Child>,
    reattached: bool,
    kill: &mut watch::Receiver<bool>,
    cmds: &mut Option<TaskCommandRx>,
) -> Ended {
    let mut started = reattached && read_pid(&dir.join(TASK_PID_FILE)).is_some();
    let mut killing: Option<Instant> = None;
    let mut stop_sent = false;
    let following_since = Instant::now();
    let mut restarting: Option<(Instant, Restart)> = None;
    let kill_timeout = Duration::from_nanos(r.ctx.task.kill_timeout.max(0) as u64) + Duration::from_secs(15);
    let task_name = r.ctx.task.name.clone();
    loop {
        if *kill.borrow() && killing.is_none() {
            killing = Some(Instant::now());
            r.event("Killing", format!("Sent interrupt. Waiting {}s before force killing", r.ctx.task.kill_timeout / 1_000_000_000));
            stop_sent = stop_executor(dir);
        }
        // A stop that came while the executor was still starting (no pid file yet) is sent once it can be.
        if killing.is_some() && !stop_sent {
            stop_sent = stop_executor(dir);
        }
        if !started && read_pid(&dir.join(TASK_PID_FILE)).is_some() {
            started = true;
            r.state.state = TaskStateKind::Running;
            r.state.started_at = now_ns();
            r.event("Started", "Task started by client");
        }
        if let Some(status) = read_exit(dir) {
            if let Some(c) = child.as_mut() {
                let _ = c.wait().await;
            }
            return ended(status, killing.is_some(), restarting, &task_name);
        }
        let executor_gone = match child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(Some(_)) | Err(_)),
            None => read_pid(&dir.join(EXECUTOR_PID_FILE)).is_none_or(|p| !alive(p)),
        };
        if executor_gone && read_exit(dir).is_none() {
            let status =
                ExitStatus { exit_code: -1, error: Some("executor exited without reporting a status".into()), ..Default::default() };
            return ended(status, killing.is_some(), restarting, &task_name);
        }
        let stopping_since = killing.into_iter().chain(restarting.as_ref().map(|(t, _)| *t)).min();
        if let Some(t) = stopping_since {
            if t.elapsed() > kill_timeout {
                // The executor did not stop its task in time: kill the task's process group first (a
                // raw_exec task leads its own group), then the executor, so that no task is orphaned.
                use nix::sys::signal::{kill, Signal};
                use nix::unistd::Pid;
                if let Some(pid) = read_pid(&dir.join(TASK_PID_FILE)).filter(|p| *p > 1) {
                    warn!(alloc_id = %r.ctx.alloc.id, task = %task_name, pid, "executor did not stop its task in time; killing the task");
                    let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
                if let Some(pid) = read_pid(&dir.join(EXECUTOR_PID_FILE)) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
        // Until the task has started (for its first seconds), look often: the start is what the
        // operator waits for. A task that takes longer to start is looked at as a running one is.
        let poll =
            if started || following_since.elapsed() > FAST_START_WATCH { Duration::from_millis(50) } else { Duration::from_millis(2) };
        let cmd = tokio::select! {
            _ = tokio::time::sleep(poll) => None,
            _ = kill.changed() => None,
            cmd = async {
                match cmds.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                if cmd.is_none() {
                    *cmds = None;
                }
                cmd
            }
        };
        let running = started && killing.is_none() && restarting.is_none();
        if let Some(restart) = cmd.and_then(|c| r.command(dir, c, running)) {
            restarting = Some((Instant::now(), restart));
        }
    }
}

impl Runner {
    /// Carries out a command on the running task (`running`: started, and not being stopped). Returns the
    /// restart that has begun: the executor was told to stop, and a user's reply waits for the new run.
    fn command(&mut self, dir: &Path, cmd: TaskCommand, running: bool) -> Option<Restart> {
        match cmd {
            TaskCommand::Signal { reply, .. } | TaskCommand::Restart { reply } if !running => {
                let _ = reply.send(Err(ControlError::NotRunning));
                None
            }
            TaskCommand::CheckRestart { .. } if !running => None,
            TaskCommand::CheckRestart { reason } => {
                warn!(alloc_id = %self.ctx.alloc.id, task = %self.ctx.task.name, %reason, "restarting an unhealthy task");
                self.push(restart_signaled(&reason));
                stop_executor(dir);
                Some(Restart::Unhealthy)
            }
            TaskCommand::Signal { signal, reply } => {
                let mut details = std::collections::BTreeMap::new();
                details.insert("signal".to_string(), signal.to_string());
                self.push(TaskEvent {
                    kind: "Signaling".into(),
                    time: now_ns(),
                    message: Text::from(format!("Task being sent signal {signal}")),
                    details: Some(Box::new(details)),
                    ..Default::default()
                });
                let _ = reply.send(signal_task(dir, signal));
                None
            }
            TaskCommand::Restart { reply } => {
                info!(alloc_id = %self.ctx.alloc.id, task = %self.ctx.task.name, "restarting task on request");
                self.push(restart_signaled(USER_RESTART));
                stop_executor(dir);
                Some(Restart::User(reply))
            }
        }
    }
}

/// Nomad's `Restart Signaled` event, with its reason.
fn restart_signaled(reason: &str) -> TaskEvent {
    let mut details = std::collections::BTreeMap::new();
    details.insert("restart_reason".to_string(), reason.to_string());
    TaskEvent {
        kind: "Restart Signaled".into(),
        time: now_ns(),
        message: Text::from(reason.to_string()),
        details: Some(Box::new(details)),
        ..Default::default()
    }
}

/// Nomad's restart reason for `alloc restart`.
const USER_RESTART: &str = "User requested restart";

fn monotonic_ms(origin: Instant) -> u64 {
    origin.elapsed().as_millis() as u64
}

/// Runs the task until it is done, failed, or killed. Task states go to `tx` as they change.
pub async fn run(ctx: TaskContext, mut kill: watch::Receiver<bool>, tx: StateTx, previous: Option<TaskState>, cmds: TaskCommandRx) {
    let mut cmds = Some(cmds);
    // A user-requested restart waiting for the task to run again.
    let mut restart_reply: Option<Reply> = None;
    let policy = ctx.task.restart_policy.clone().unwrap_or_else(|| ctx.group.restart_policy.clone());
    let origin = Instant::now();
    let mut tracker = RestartTracker::new(policy, ctx.job.job_type, 0);
    let alloc_id = ctx.alloc.id.clone();
    let task_name = ctx.task.name.clone();
    let dir = state_dir(&ctx.cfg, &alloc_id, &task_name);
    let mut r = Runner { ctx, state: previous.unwrap_or_default(), tx };
    // Re-attach to an executor that survived an agent restart.
    let mut attach = read_pid(&dir.join(EXECUTOR_PID_FILE)).is_some_and(alive) && read_exit(&dir).is_none();
    if attach {
        info!(alloc_id = %alloc_id, task = %task_name, "re-attaching to running executor");
    } else {
        r.state = TaskState::default();
        r.event("Received", "Task received by client");
    }
    // A failed image pull: the run ends before an executor starts.
    let mut pulled: Option<Ended> = None;
    loop {
        // A re-attached task may be running already; a started one is not until its pid file appears
        // (a forked executor can start its task before it is followed).
        let reattached = std::mem::take(&mut attach);
        let child = if reattached {
            None
        } else {
            if *kill.borrow() {
                if let Some(reply) = restart_reply.take() {
                    let _ = reply.send(Err(ControlError::Gone(task_name.clone())));
                }
                break;
            }
            r.event("Task Setup", "Building Task Directory");
            cgroup_warm::warm();
            if let Err(e) = write_payload(&r.ctx) {
                r.fail("Setup Failure", format!("failed to write the dispatch payload: {e}"));
                return;
            }
            let (spec, pull) = match build_spec(&r.ctx) {
                Ok(s) => s,
                Err(e) => {
                    r.fail("Failed Validation", e);
                    return;
                }
            };
            match ensure_image(&mut r, &spec, pull.as_ref(), &mut kill).await {
                Ok(true) => {}
                // Killed while pulling.
                Ok(false) => continue,
                Err(message) => {
                    let status = ExitStatus { exit_code: -1, error: Some(message), ..Default::default() };
                    pulled = Some(Ended::Exited(status));
                }
            }
            if pulled.is_some() {
                None
            } else {
                match start_executor(&r.ctx.cfg, &spec).await {
                    Ok(c) => {
                        if let Some(reply) = restart_reply.take() {
                            let _ = reply.send(Ok(()));
                        }
                        c
                    }
                    Err(e) => {
                        r.state.state = TaskStateKind::Dead;
                        r.state.failed = true;
                        r.push(TaskEvent {
                            kind: "Driver Failure".into(),
                            time: now_ns(),
                            message: format!("failed to start executor: {e}").into(),
                            failed: true,
                            ..Default::default()
                        });
                        return;
                    }
                }
            }
        };
        let ended = match pulled.take() {
            Some(e) => e,
            None => follow(&mut r, &dir, child, reattached, &mut kill, &mut cmds).await,
        };
        let _ = std::fs::remove_dir_all(&dir);
        let mut unhealthy = false;
        let (status, killed) = match ended {
            Ended::Exited(s) => (s, false),
            Ended::Killed(s) => (s, true),
            Ended::Restarted(s, reply) => {
                restart_reply = Some(reply);
                (s, false)
            }
            Ended::Unhealthy(s) => {
                unhealthy = true;
                (s, false)
            }
        };
        if let Some(err) = &status.error {
            r.push(TaskEvent {
                kind: "Driver Failure".into(),
                time: now_ns(),
                message: err.clone().into(),
                failed: true,
                ..Default::default()
            });
        } else {
            let kind = if status.oom_killed { "OOM Killed" } else { "Terminated" };
            let mut details = std::collections::BTreeMap::new();
            details.insert("exit_code".to_string(), status.exit_code.to_string());
            details.insert("signal".to_string(), status.signal.to_string());
            details.insert("oom_killed".to_string(), status.oom_killed.to_string());
            let message = format!(
                "Exit Code: {}{}",
                status.exit_code,
                if status.signal > 0 { format!(", Signal: {}", status.signal) } else { String::new() }
            );
            r.push(TaskEvent {
                kind: kind.into(),
                time: now_ns(),
                message: message.into(),
                exit_code: status.exit_code,
                signal: status.signal,
                details: Some(Box::new(details)),
                ..Default::default()
            });
        }
        if killed || *kill.borrow() {
            if let Some(reply) = restart_reply.take() {
                let _ = reply.send(Err(ControlError::Gone(task_name.clone())));
            }
            r.state.state = TaskStateKind::Dead;
            r.state.finished_at = now_ns();
            r.event("Killed", "Task successfully killed");
            return;
        }
        if restart_reply.is_some() {
            // In place, at once, and not counted against the restart policy.
            r.state.restarts += 1;
            r.state.last_restart = now_ns();
            r.state.state = TaskStateKind::Pending;
            let mut details = std::collections::BTreeMap::new();
            details.insert("restart_reason".to_string(), USER_RESTART.to_string());
            r.push(TaskEvent {
                kind: "Restarting".into(),
                time: now_ns(),
                message: Text::from(format!("{USER_RESTART} - Task restarting in 0ms")),
                details: Some(Box::new(details)),
                ..Default::default()
            });
            continue;
        }
        let success = !unhealthy && status.error.is_none() && status.exit_code == 0 && status.signal == 0;
        match tracker.next(success, monotonic_ms(origin)) {
            Decision::Done => {
                r.state.state = TaskStateKind::Dead;
                r.state.finished_at = now_ns();
                r.event("Not Restarting", "Restart unnecessary as task terminated successfully");
                return;
            }
            Decision::Fail => {
                r.state.state = TaskStateKind::Dead;
                r.state.failed = true;
                r.state.finished_at = now_ns();
                // Nomad's reasons, word for word.
                let p = &tracker.policy;
                let message = if p.attempts == 0 {
                    "Policy allows no restarts".to_string()
                } else {
                    format!(
                        "Exceeded allowed attempts {} in interval {} and mode is \"{}\"",
                        p.attempts,
                        crate::jobspec::duration::format_duration(p.interval),
                        p.mode
                    )
                };
                r.push(TaskEvent {
                    kind: "Not Restarting".into(),
                    time: now_ns(),
                    message: Text::from(message),
                    failed: true,
                    ..Default::default()
                });
                warn!(alloc_id = %alloc_id, task = %task_name, "task failed: restart attempts exhausted");
                return;
            }
            Decision::Restart(delay) => {
                r.state.restarts += 1;
                r.state.last_restart = now_ns();
                r.state.state = TaskStateKind::Pending;
                r.event("Restarting", format!("Task restarting in {}ms", delay.as_millis()));
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = kill.changed() => {}
                }
            }
        }
    }
    r.state.state = TaskStateKind::Dead;
    r.state.finished_at = now_ns();
    r.event("Killed", "Task successfully killed");
}
