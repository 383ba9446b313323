//! The executor's status files in the state dir: pid files and the atomically written `exit.json`.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::ExecutorError;
use crate::driver::spec::{ExitStatus, EXIT_FILE};

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or_default()
}

/// Writes `bytes` to `path` via a temporary file in the same directory and a rename, so a reader
/// sees the old file or the new one, whatever process crashes. Not fsynced: the files describe
/// processes of this boot, which a power loss ends with them (an fsync here was a millisecond of
/// every container start).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExecutorError> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ExecutorError::io(path, e)
    })
}

/// Writes a pid file (`executor.pid`, `task.pid`) in `state_dir`.
pub fn write_pid(state_dir: &Path, file: &str, pid: u32) -> Result<(), ExecutorError> {
    write_atomic(&state_dir.join(file), format!("{pid}\n").as_bytes())
}

/// Writes `exit.json` in `state_dir`.
pub fn write_exit(state_dir: &Path, status: &ExitStatus) -> Result<(), ExecutorError> {
    let path = state_dir.join(EXIT_FILE);
    let json = serde_json::to_vec_pretty(status).map_err(|e| ExecutorError::io(&path, e.into()))?;
    write_atomic(&path, &json)
}
