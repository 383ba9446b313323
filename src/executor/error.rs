//! The executor's error type; its `Display` becomes `ExitStatus::error` when a task cannot run.

use std::path::PathBuf;

use crate::image::ImageError;

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("reading spec {path}: {source}")]
    ReadSpec {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing spec {path}: {source}")]
    ParseSpec {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("task was stopped before it started")]
    StoppedBeforeStart,
    #[error("invalid task spec: {0}")]
    InvalidSpec(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("starting command {command:?}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("user {user:?}: {reason}")]
    User { user: String, reason: String },
    #[error("cgroup {path}: {source}")]
    Cgroup {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("mounting {target}: {source}")]
    Mount {
        target: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("container {id}: {action}: {source}")]
    Container {
        id: String,
        action: &'static str,
        #[source]
        source: Box<libcontainer::error::LibcontainerError>,
    },
    #[error("writing container bundle {path}: {reason}")]
    Bundle { path: PathBuf, reason: String },
    #[error("{action}: {source}")]
    Sys {
        action: &'static str,
        #[source]
        source: nix::Error,
    },
}

impl ExecutorError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
