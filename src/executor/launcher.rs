//! `drover executor launcher`: a small process, started once by a client, that forks an executor
//! per task on request instead of the agent exec'ing the whole `drover` binary for each one.
//!
//! Exec'ing the agent's binary costs ~10 ms before the executor runs a line of its own (mapping and
//! relocating the binary and its shared libraries, their static initialisers, forking the agent's
//! large address space). The launcher pays that once; each executor is then a fork of a process
//! that has done nothing but wait, so it starts in a fraction of a millisecond, runs exactly the
//! code an exec'd executor runs ([`super::run`]) and, like it, never shares a process with an async
//! runtime.
//!
//! A forked executor shows the command line an exec'd one has (`drover executor --state-dir <dir>`),
//! written over its inherited arguments, so `ps` and whatever looks for an allocation's executors by
//! it find it as before.
//!
//! Protocol, one line each way: the client writes a task's state dir; the launcher answers with the
//! executor's pid (also written to its `executor.pid`), or `error <reason>`. The executor is forked
//! through an intermediate child that starts a new session and exits at once: the executor belongs to
//! no process of the agent's (it outlives the agent and the launcher, as an exec'd executor does) and
//! the launcher leaves no zombie behind. The launcher exits when its input closes (its agent went
//! away).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::wait::waitpid;
use nix::unistd::{dup2, fork, pipe, setsid, ForkResult};

use crate::driver::spec::EXECUTOR_PID_FILE;

use super::status::write_pid;

/// The launcher's main loop; returns its exit code.
pub fn serve() -> i32 {
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        line.clear();
        // Neither stdin's nor stdout's lock is held across a fork.
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => return 0,
            Ok(_) => {}
        }
        let dir = line.trim_end_matches('\n');
        let reply = match launch(Path::new(dir)) {
            Ok(pid) => pid.to_string(),
            Err(e) => format!("error {}", e.replace('\n', " ")),
        };
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() {
            return 0;
        }
    }
}

/// Forks the executor for `state_dir` (the client created it and wrote its spec there); returns its
/// pid once its pid file is written.
fn launch(state_dir: &Path) -> Result<u32, String> {
    let log_path = state_dir.join("executor.log");
    let log = OpenOptions::new().create(true).append(true).open(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let null = File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
    let (pid_rx, pid_tx) = pipe().map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: the launcher is single-threaded (no other thread can hold a lock the child needs).
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            drop(pid_rx);
            intermediate(state_dir, pid_tx, &log, &null)
        }
        ForkResult::Parent { child } => {
            drop(pid_tx);
            let mut buf = [0u8; 4];
            let read = File::from(pid_rx).read_exact(&mut buf);
            let _ = waitpid(child, None);
            read.map_err(|e| format!("the executor was not started: {e}"))?;
            let pid = u32::from_ne_bytes(buf);
            write_pid(state_dir, EXECUTOR_PID_FILE, pid).map_err(|e| e.to_string())?;
            Ok(pid)
        }
    }
}

/// The intermediate child: a new session, the executor forked into it, its pid sent, then gone.
fn intermediate(state_dir: &Path, pid_tx: OwnedFd, log: &File, null: &File) -> ! {
    let _ = setsid();
    // SAFETY: still single-threaded.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            let pid = child.as_raw().unsigned_abs();
            let _ = File::from(pid_tx).write_all(&pid.to_ne_bytes());
            // SAFETY: _exit ends this copy at once, without running the launcher's exit handlers.
            unsafe { libc::_exit(0) }
        }
        Ok(ForkResult::Child) => {
            drop(pid_tx);
            // The executor's stdio as an exec'd one has it: nothing in, its log for stderr.
            let ok = dup2(null.as_raw_fd(), 0).and_then(|_| dup2(null.as_raw_fd(), 1)).and_then(|_| dup2(log.as_raw_fd(), 2));
            if ok.is_err() {
                // SAFETY: as above.
                unsafe { libc::_exit(1) }
            }
            set_cmdline(state_dir);
            std::process::exit(super::run(state_dir))
        }
        // SAFETY: as above; the parent reads no pid and reports the failure.
        Err(_) => unsafe { libc::_exit(1) },
    }
}

/// Room the client leaves in the launcher's command line (a blank last argument) for an executor's.
pub const CMDLINE_ROOM: usize = 2048;

/// Rewrites this process's command line (`/proc/self/cmdline`, `ps`) in place to `drover executor
/// --state-dir <dir>`, as `setproctitle` does: the kernel shows the memory the process was started
/// with its arguments in, which the launcher's blank last argument made large enough. Needs no
/// privilege; a state dir too long for the room leaves the launcher's command line.
fn set_cmdline(state_dir: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Some((start, end)) = argument_area() else { return };
    let mut args = Vec::new();
    for a in [b"drover".as_slice(), b"executor", b"--state-dir", state_dir.as_os_str().as_bytes()] {
        args.extend_from_slice(a);
        args.push(0);
    }
    let room = end - start;
    if args.len() > room {
        return;
    }
    args.resize(room, 0);
    // SAFETY: [start, end) is this process's own argument strings (from /proc/self/stat), writable
    // memory above main's stack frame that nothing of the executor reads again.
    unsafe { std::ptr::copy_nonoverlapping(args.as_ptr(), start as *mut u8, room) }
}

/// This process's argument strings' addresses (`arg_start`, `arg_end` of /proc/self/stat).
fn argument_area() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (in parentheses, which it may contain) start at field 3; arg_start is field 48.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(45);
    let start: usize = fields.next()?.parse().ok()?;
    let end: usize = fields.next()?.parse().ok()?;
    (end > start).then_some((start, end))
}
