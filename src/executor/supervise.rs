//! Waiting for a running task: reaping it, and on SIGTERM/SIGINT stopping it with its kill signal,
//! then SIGKILL once the kill timeout passes.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::error::ExecutorError;
use super::signals::SignalPipe;

/// How the task's main process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskExit {
    pub exit_code: i32,
    /// The signal that killed it, 0 if it exited.
    pub signal: i32,
}

impl TaskExit {
    /// From a wait status: an exit code, or a signal (reported as exit code 128 + signal, like shells).
    pub fn from_parts(code: Option<i32>, signal: Option<i32>) -> Self {
        match (code, signal) {
            (Some(exit_code), _) => Self { exit_code, signal: 0 },
            (None, Some(signal)) => Self { exit_code: 128 + signal, signal },
            (None, None) => Self { exit_code: -1, signal: 0 },
        }
    }
}

/// A started task the supervisor can poll and signal.
pub trait Task {
    /// Reaps the task's main process if it has ended; never blocks.
    fn try_wait(&mut self) -> Result<Option<TaskExit>, ExecutorError>;
    /// Sends `sig` to the task (its process group or container).
    fn signal(&mut self, sig: Signal) -> Result<(), ExecutorError>;
}

/// Longest sleep between checks, in case a SIGCHLD wake-up is coalesced away.
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// Runs until the task ends. The first SIGTERM/SIGINT to the executor sends `kill_signal`; after
/// `kill_timeout` the task gets SIGKILL.
pub fn supervise(
    task: &mut dyn Task,
    signals: &SignalPipe,
    kill_signal: Signal,
    kill_timeout: Duration,
) -> Result<TaskExit, ExecutorError> {
    let mut kill_deadline: Option<Instant> = None;
    let mut killed = false;
    loop {
        if let Some(exit) = task.try_wait()? {
            return Ok(exit);
        }
        let now = Instant::now();
        if kill_deadline.is_none() {
            if let Some(received) = signals.termination() {
                tracing::info!(received = %received, kill_signal = %kill_signal, timeout_ms = kill_timeout.as_millis() as u64, "stopping task");
                if let Err(e) = task.signal(kill_signal) {
                    tracing::warn!(error = %e, "sending kill signal failed");
                }
                kill_deadline = Some(now + kill_timeout);
                killed = kill_signal == Signal::SIGKILL;
            }
        }
        let mut sleep = MAX_SLEEP;
        if let (Some(deadline), false) = (kill_deadline, killed) {
            if now >= deadline {
                tracing::info!("kill timeout passed, sending SIGKILL");
                if let Err(e) = task.signal(Signal::SIGKILL) {
                    tracing::warn!(error = %e, "sending SIGKILL failed");
                }
                killed = true;
            } else {
                sleep = sleep.min(deadline - now);
            }
        }
        signals.wait(sleep);
    }
}
