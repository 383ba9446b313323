//! The container runtime calls (libcontainer): create + start an init container from a bundle, reap it, delete it.

use std::fs::File;
use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::error::LibcontainerError;
use libcontainer::syscall::syscall::SyscallType;
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::error::ExecutorError;
use super::supervise::{Task, TaskExit};

/// A started container whose init process is a child of this executor.
pub struct ContainerTask {
    container: Container,
    init_pid: Pid,
}

fn lc_err<'a>(id: &'a str, action: &'static str) -> impl FnOnce(LibcontainerError) -> ExecutorError + 'a {
    move |source| ExecutorError::Container { id: id.to_string(), action, source: Box::new(source) }
}

impl ContainerTask {
    /// Creates the container from `<bundle>/config.json` (state under `runtime_root`) with the given
    /// stdio, and starts its process. On failure libcontainer has already cleaned up what it created.
    pub fn start(id: &str, bundle: &Path, runtime_root: &Path, stdout: File, stderr: File) -> Result<Self, ExecutorError> {
        std::fs::create_dir_all(runtime_root).map_err(|e| ExecutorError::io(runtime_root, e))?;
        let stdin = File::open("/dev/null").map_err(|e| ExecutorError::io("/dev/null", e))?;
        let mut container = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .with_root_path(runtime_root)
            .map_err(lc_err(id, "setting state directory"))?
            .with_stdin(stdin)
            .with_stdout(stdout)
            .with_stderr(stderr)
            .validate_id()
            .map_err(lc_err(id, "validating id"))?
            .as_init(bundle)
            .with_systemd(false)
            .with_detach(false)
            .build()
            .map_err(lc_err(id, "creating container"))?;
        if let Err(e) = container.start() {
            let err = lc_err(id, "starting container")(e);
            if let Err(e) = container.delete(true) {
                tracing::warn!(error = %e, "deleting container after failed start");
            }
            return Err(err);
        }
        let init_pid = container.pid().ok_or_else(|| ExecutorError::InvalidSpec(format!("container {id}: started but has no init pid")))?;
        Ok(Self { container, init_pid })
    }

    pub fn pid(&self) -> u32 {
        self.init_pid.as_raw().unsigned_abs()
    }

    /// Force-deletes the container: kills what is left, removes its cgroups and runtime state.
    pub fn delete(mut self, id: &str) -> Result<(), ExecutorError> {
        self.container.delete(true).map_err(lc_err(id, "deleting container"))
    }
}

impl Task for ContainerTask {
    fn try_wait(&mut self) -> Result<Option<TaskExit>, ExecutorError> {
        match waitpid(self.init_pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => Ok(Some(TaskExit::from_parts(Some(code), None))),
            Ok(WaitStatus::Signaled(_, sig, _)) => Ok(Some(TaskExit::from_parts(None, Some(sig as i32)))),
            Ok(_) => Ok(None),
            Err(Errno::EINTR) => Ok(None),
            Err(Errno::ECHILD) => {
                tracing::warn!(pid = self.init_pid.as_raw(), "container init was reaped elsewhere; exit status unknown");
                Ok(Some(TaskExit::from_parts(None, None)))
            }
            Err(source) => Err(ExecutorError::Sys { action: "waiting for container init", source }),
        }
    }

    fn signal(&mut self, sig: Signal) -> Result<(), ExecutorError> {
        match kill(self.init_pid, sig) {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(source) => Err(ExecutorError::Sys { action: "signalling container init", source }),
        }
    }
}

/// Force-deletes a container left in `runtime_root` (e.g. by a crashed executor or a failed start).
pub fn delete_leftover(runtime_root: &Path, id: &str) {
    let dir: PathBuf = runtime_root.join(id);
    if !dir.exists() {
        return;
    }
    match Container::load(dir.clone()) {
        Ok(mut c) => {
            if let Err(e) = c.delete(true) {
                tracing::warn!(container = id, error = %e, "deleting leftover container");
            }
        }
        Err(e) => tracing::warn!(container = id, error = %e, "loading leftover container state"),
    }
    if dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(path = %dir.display(), error = %e, "removing leftover container state");
        }
    }
}
