//! The container driver's life cycle: image → overlay root → bundle → libcontainer → wait → cleanup.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::bundle::{build_spec, write_config, ROOTFS_DIR};
use super::cgroup::{self, task_cgroup_dir, Limits, MemoryEvents};
use super::error::ExecutorError;
use super::logs::open_log;
use super::mounts::{mount_overlay, unmount_all_under};
use super::netns;
use super::process::container_process;
use super::runtime::{self, ContainerTask};
use super::signals::{parse_signal, SignalPipe};
use super::status::{now_ms, write_pid};
use super::supervise::{supervise, TaskExit};
use crate::driver::spec::{ExecSpec, ExitStatus, TASK_PID_FILE};
use crate::image;

/// libcontainer's state root, inside the state dir.
pub const RUNTIME_DIR: &str = "runtime";
/// overlayfs upper and work directories, inside the state dir.
pub const OVERLAY_DIR: &str = "overlay";

/// Runs a container task to completion and cleans up after it; never leaves a process, mount or cgroup.
pub fn run(spec: &ExecSpec, state_dir: &Path, signals: &SignalPipe) -> ExitStatus {
    let runtime_root = state_dir.join(RUNTIME_DIR);
    // Whatever an earlier executor on this state dir left behind.
    cleanup(spec, state_dir, &runtime_root);
    let mut status = ExitStatus::default();
    match start_and_wait(spec, state_dir, &runtime_root, signals, &mut status) {
        Ok(exit) => {
            status.exit_code = exit.exit_code;
            status.signal = exit.signal;
            tracing::info!(exit_code = exit.exit_code, signal = exit.signal, oom_killed = status.oom_killed, "container exited");
        }
        Err(e) => {
            tracing::error!(error = %e, "container task failed");
            status.error = Some(e.to_string());
            status.exit_code = -1;
        }
    }
    cleanup(spec, state_dir, &runtime_root);
    status.finished_at_ms = now_ms();
    if status.started_at_ms == 0 {
        status.started_at_ms = status.finished_at_ms;
    }
    status
}

fn start_and_wait(
    spec: &ExecSpec,
    state_dir: &Path,
    runtime_root: &Path,
    signals: &SignalPipe,
    status: &mut ExitStatus,
) -> Result<TaskExit, ExecutorError> {
    let network = netns::namespace_path(spec)?;
    let reference =
        spec.image.as_deref().filter(|i| !i.is_empty()).ok_or_else(|| ExecutorError::InvalidSpec("container task has no image".into()))?;
    let (image, lower) = image::prepare(&spec.image_dir, reference)?;
    let lower = fs::canonicalize(&lower).map_err(|e| ExecutorError::io(&lower, e))?;
    let rootfs = state_dir.join(ROOTFS_DIR);
    let overlay = state_dir.join(OVERLAY_DIR);
    mount_overlay(&lower, &overlay.join("upper"), &overlay.join("work"), &rootfs)?;
    tracing::info!(image = %image.reference, digest = %image.manifest_digest, "root filesystem mounted");

    let process = container_process(spec, &image.config, &rootfs)?;
    prepare_task_dirs(spec)?;
    let limits = Limits::from_task(spec.memory_mb, spec.memory_max_mb, spec.cpu_mhz, spec.pids_limit);
    write_config(state_dir, &build_spec(spec, &process, &limits, network))?;
    let stdout = open_log(&spec.stdout_path)?;
    let stderr = open_log(&spec.stderr_path)?;

    if signals.termination().is_some() {
        return Err(ExecutorError::StoppedBeforeStart);
    }
    let mut task = ContainerTask::start(&spec.id, state_dir, runtime_root, stdout, stderr)?;
    status.started_at_ms = now_ms();
    if let Err(e) = write_pid(state_dir, TASK_PID_FILE, task.pid()) {
        tracing::warn!(error = %e, "writing task pid file");
    }
    tracing::info!(pid = task.pid(), args = ?process.args, "container started");

    let exit = supervise(&mut task, signals, parse_signal(&spec.kill_signal), Duration::from_millis(spec.kill_timeout_ms));
    // Read before the cgroup goes away with the container.
    let events = MemoryEvents::read(&task_cgroup_dir("memory", &spec.id));
    if let Err(e) = task.delete(&spec.id) {
        tracing::warn!(error = %e, "deleting container");
    }
    let exit = exit?;
    status.oom_killed = events.oom_killed(exit.signal);
    Ok(exit)
}

/// Creates the host directories bound into the container; a fresh `tmp` gets mode 1777.
fn prepare_task_dirs(spec: &ExecSpec) -> Result<(), ExecutorError> {
    for dir in [spec.alloc_dir.clone(), spec.task_dir.join("local"), spec.task_dir.join("secrets")] {
        fs::create_dir_all(&dir).map_err(|e| ExecutorError::io(&dir, e))?;
    }
    let tmp = spec.task_dir.join("tmp");
    if !tmp.is_dir() {
        fs::create_dir_all(&tmp).map_err(|e| ExecutorError::io(&tmp, e))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).map_err(|e| ExecutorError::io(&tmp, e))?;
    }
    Ok(())
}

/// Deletes the container, unmounts everything under the state dir, removes the task's cgroups and,
/// once nothing is mounted any more, the overlay directories.
fn cleanup(spec: &ExecSpec, state_dir: &Path, runtime_root: &Path) {
    runtime::delete_leftover(runtime_root, &spec.id);
    let remaining = unmount_all_under(state_dir);
    cgroup::remove_everywhere(&spec.id);
    if !remaining.is_empty() {
        tracing::error!(mounts = ?remaining, "mounts remain under the state dir");
        return;
    }
    let overlay = state_dir.join(OVERLAY_DIR);
    if overlay.exists() {
        if let Err(e) = fs::remove_dir_all(&overlay) {
            tracing::warn!(path = %overlay.display(), error = %e, "removing overlay directories");
        }
    }
    let rootfs = state_dir.join(ROOTFS_DIR);
    if rootfs.exists() {
        // Only an empty mount point: never recurse into what might be an image root.
        if let Err(e) = fs::remove_dir(&rootfs) {
            tracing::warn!(path = %rootfs.display(), error = %e, "removing rootfs mount point");
        }
    }
    // Empty once the container is deleted; keep it if anything else is in there.
    let _ = fs::remove_dir(runtime_root);
}
