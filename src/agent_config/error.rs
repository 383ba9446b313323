//! Agent configuration errors: a file that cannot be read, positioned problems inside files
//! (`file:line:column: block path: message`, shared with the jobspec), and settings that do not fit together.

use crate::jobspec::JobspecErrors;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// Every problem found in the files, in file order.
    #[error("{0}")]
    Files(JobspecErrors),
    /// The merged configuration (files and flags) is inconsistent.
    #[error("{0}")]
    Invalid(String),
}
