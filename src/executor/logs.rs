//! The executor's files for output: the task's stdout/stderr logs and its own tracing log.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use super::error::ExecutorError;
use crate::driver::spec::EXECUTOR_LOG_FILE;

/// Opens a task log for appending, creating it and its parent directories.
pub fn open_log(path: &Path) -> Result<File, ExecutorError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ExecutorError::io(parent, e))?;
    }
    OpenOptions::new().create(true).append(true).open(path).map_err(|e| ExecutorError::io(path, e))
}

/// Sends the executor's tracing output to `<state_dir>/executor.log` (falls back to stderr).
/// The filter comes from `RUST_LOG`, defaulting to `info`, with libcontainer at `warn` and libcgroups at `error`
/// (it warns about every controller this machine lacks).
pub fn init_tracing(state_dir: &Path) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,libcontainer=warn,libcgroups=error"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false);
    let file = std::fs::create_dir_all(state_dir)
        .and_then(|()| OpenOptions::new().create(true).append(true).open(state_dir.join(EXECUTOR_LOG_FILE)));
    // Another subscriber (e.g. in a test harness) wins; that is fine.
    let _ = match file {
        Ok(f) => builder.with_writer(Mutex::new(f)).try_init(),
        Err(_) => builder.with_writer(std::io::stderr).try_init(),
    };
}
