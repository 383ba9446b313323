//! The task's network namespace: the host's in `host` mode, else the allocation's namespace file
//! the client made (`ExecSpec::network_namespace`), which containers name in their OCI spec and
//! raw_exec processes join with setns(2) before exec.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nix::sched::{setns, CloneFlags};

use super::error::ExecutorError;
use crate::driver::spec::ExecSpec;

/// The namespace file the task joins; `None` to stay in the host's. Refuses unknown modes, and
/// `bridge` or `none` without a namespace.
pub fn namespace_path(spec: &ExecSpec) -> Result<Option<&Path>, ExecutorError> {
    match spec.network_mode.as_str() {
        "" | "host" => Ok(None),
        "bridge" | "none" => match spec.network_namespace.as_deref() {
            Some(p) => Ok(Some(p)),
            None => {
                Err(ExecutorError::InvalidSpec(format!("network mode {:?} needs the allocation's network namespace", spec.network_mode)))
            }
        },
        other => Err(ExecutorError::InvalidSpec(format!("network mode {other:?} is not supported (host, bridge or none)"))),
    }
}

/// Opens the namespace file (before fork: the child only calls [`join`]).
pub fn open(spec: &ExecSpec) -> Result<Option<File>, ExecutorError> {
    namespace_path(spec)?.map(|p| File::open(p).map_err(|e| ExecutorError::io(p, e))).transpose()
}

/// Moves the calling process into the namespace (async-signal-safe: one syscall).
pub fn join(ns: &File) -> std::io::Result<()> {
    setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
}
