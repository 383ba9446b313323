//! Synchronous signal handling for the executor: a self-pipe woken by SIGCHLD, SIGTERM and SIGINT.
//!
//! Signals are caught by a handler (not blocked), so processes the executor starts inherit an ordinary
//! signal mask; handlers are reset to their defaults by `execve` in those children.

use std::os::fd::{AsRawFd, OwnedFd};
use std::str::FromStr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use super::error::ExecutorError;

/// Write end of the self-pipe, read by the handler (-1 before installation).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// The last termination signal received (0 = none).
static TERMINATION: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work here: atomics and write(2), preserving errno.
    let saved = nix::errno::Errno::last_raw();
    if sig != libc::SIGCHLD {
        TERMINATION.store(sig, Ordering::SeqCst);
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: writing one byte from a valid local buffer to a non-blocking pipe fd.
        unsafe {
            libc::write(fd, std::ptr::addr_of!(byte).cast(), 1);
        }
    }
    nix::errno::Errno::set_raw(saved);
}

/// In a forked child before `execve`: every signal back to its default action and none blocked, so
/// a task can trap what it likes even when the agent was started with signals ignored (`nohup`
/// ignores SIGHUP, and a shell cannot trap a signal ignored on entry). Only async-signal-safe calls.
///
/// # Safety
/// Call only in a `pre_exec` hook (between fork and exec).
pub unsafe fn reset_for_exec() -> std::io::Result<()> {
    for sig in 1..libc::SIGRTMIN() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: sigaction-backed signal(2) is async-signal-safe; failures (invalid numbers) are ignored.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
    let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set before sigprocmask reads it.
    unsafe {
        libc::sigemptyset(empty.as_mut_ptr());
        if libc::sigprocmask(libc::SIG_SETMASK, empty.as_ptr(), std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The installed handlers and the pipe they wake.
pub struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
}

impl SignalPipe {
    /// Installs handlers for SIGCHLD, SIGTERM and SIGINT. Call once, before starting the task.
    pub fn install() -> Result<Self, ExecutorError> {
        let sys = |action: &'static str| move |source| ExecutorError::Sys { action, source };
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(sys("creating signal pipe"))?;
        WAKE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
        let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP, SigSet::empty());
        for sig in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT] {
            // SAFETY: the handler only touches atomics and calls write(2).
            unsafe { sigaction(sig, &action) }.map_err(sys("installing signal handler"))?;
        }
        Ok(Self { read, _write: write })
    }

    /// The termination signal (SIGTERM / SIGINT) received so far, if any.
    pub fn termination(&self) -> Option<Signal> {
        match TERMINATION.load(Ordering::SeqCst) {
            0 => None,
            n => Signal::try_from(n).ok(),
        }
    }

    /// Sleeps until a signal arrives or `timeout` passes, then drains the pipe.
    pub fn wait(&self, timeout: Duration) {
        let mut pfd = libc::pollfd { fd: self.read.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd; EINTR and errors just end the wait early.
        unsafe {
            libc::poll(&mut pfd, 1, ms);
        }
        let mut buf = [0u8; 64];
        // SAFETY: reading into a local buffer from our own non-blocking pipe.
        while unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        WAKE_FD.store(-1, Ordering::SeqCst);
    }
}

/// Parses a signal name (`SIGTERM`, `TERM`, `sigint`) or number; unknown names fall back to SIGTERM.
pub fn parse_signal(name: &str) -> Signal {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Signal::SIGTERM;
    }
    if let Ok(n) = trimmed.parse::<i32>() {
        if let Ok(sig) = Signal::try_from(n) {
            return sig;
        }
    }
    let upper = trimmed.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    Signal::from_str(&full).unwrap_or_else(|_| {
        tracing::warn!(kill_signal = name, "unknown kill signal, using SIGTERM");
        Signal::SIGTERM
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signal_names() {
        assert_eq!(parse_signal("SIGINT"), Signal::SIGINT);
        assert_eq!(parse_signal("quit"), Signal::SIGQUIT);
        assert_eq!(parse_signal("SIGHUP"), Signal::SIGHUP);
        assert_eq!(parse_signal("SIGKILL"), Signal::SIGKILL);
        assert_eq!(parse_signal("9"), Signal::SIGKILL);
        assert_eq!(parse_signal(""), Signal::SIGTERM);
        assert_eq!(parse_signal("SIGBOGUS"), Signal::SIGTERM);
    }
}
