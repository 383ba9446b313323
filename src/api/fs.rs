//! Nomad's `AllocFileInfo`: one entry of an allocation directory, as `/v1/client/fs/ls` and `stat` return it.

use serde::{Deserialize, Serialize};

/// One file or directory, as Nomad's `AllocFileInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocFileInfo {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    /// Go's `os.FileMode` string: `drwxr-xr-x`, `-rw-r--r--`, `Lrwxrwxrwx`, …
    pub file_mode: String,
    /// RFC 3339 with nanoseconds, UTC.
    pub mod_time: String,
    /// Set by `stat` only, as Nomad does: sniffed from the first 512 bytes.
    pub content_type: String,
}
