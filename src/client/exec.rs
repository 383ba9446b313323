//! The agent's side of `alloc exec`: starts `drover executor exec` for a running task (the namespace
//! entry happens in that child, never in the async agent) with pipes, or a pseudo-terminal when a TTY
//! is asked for, and hands its input, output and exit status to the caller.

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::process::{Child, Command};

use crate::driver::spec::{EXIT_FILE, TASK_PID_FILE};

use super::control::{ClientControl, ControlError};

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("command must not be empty")]
    EmptyCommand,
    #[error("allocating a terminal: {0}")]
    Pty(nix::Error),
    #[error("starting exec process: {0}")]
    Spawn(std::io::Error),
}

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// A started command: its input, its output streams (one when on a terminal) and the process.
pub struct ExecSession {
    pub child: Child,
    pub stdin: Writer,
    pub stdout: Reader,
    pub stderr: Option<Reader>,
    /// The terminal's master side, for window size changes.
    pub pty: Option<OwnedFd>,
}

/// Sets a terminal's window size.
pub fn resize(master: &OwnedFd, rows: u16, cols: u16) {
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads one winsize from a valid pointer; the fd is our open pty master.
    unsafe {
        libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
    }
}

/// Starts `command` inside `task` of the allocation (which must be running on this client).
pub fn start(control: &ClientControl, alloc_id: &str, task: &str, command: &[String], tty: bool) -> Result<ExecSession, ExecError> {
    if command.is_empty() || command[0].is_empty() {
        return Err(ExecError::EmptyCommand);
    }
    let tasks = control.tasks(alloc_id)?;
    if !tasks.iter().any(|t| t == task) {
        return Err(ControlError::UnknownTask { task: task.to_string(), tasks: tasks.join(", ") }.into());
    }
    let dir = control.state_dir(alloc_id, task);
    if dir.join(EXIT_FILE).exists() || !dir.join(TASK_PID_FILE).exists() {
        return Err(ControlError::NotRunning.into());
    }
    let mut cmd = Command::new(control.executor_bin());
    cmd.arg("executor").arg("exec").arg("--state-dir").arg(&dir);
    if tty {
        cmd.arg("--tty");
    }
    cmd.arg("--").args(command).kill_on_drop(true);
    tracing::info!(alloc_id, task, command = ?command, tty, "exec into task");
    if !tty {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(ExecError::Spawn)?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take()) else {
            return Err(ExecError::Spawn(std::io::Error::other("missing stdio pipes")));
        };
        return Ok(ExecSession { child, stdin: Box::new(stdin), stdout: Box::new(stdout), stderr: Some(Box::new(stderr)), pty: None });
    }
    let pty = nix::pty::openpty(None, None).map_err(ExecError::Pty)?;
    let slave = std::fs::File::from(pty.slave);
    let dup = |f: &std::fs::File| f.try_clone().map_err(ExecError::Spawn);
    cmd.stdin(Stdio::from(dup(&slave)?)).stdout(Stdio::from(dup(&slave)?)).stderr(Stdio::from(slave));
    let child = cmd.spawn().map_err(ExecError::Spawn)?;
    let master = std::fs::File::from(pty.master);
    let reader = tokio::fs::File::from_std(dup(&master)?);
    let writer = tokio::fs::File::from_std(dup(&master)?);
    Ok(ExecSession { child, stdin: Box::new(writer), stdout: Box::new(reader), stderr: None, pty: Some(OwnedFd::from(master)) })
}
