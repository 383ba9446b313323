//! Why a pull failed; displays as one line naming the registry's own error where it gave one.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("invalid reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("{0}")]
    Http(String),
    /// The registry answered with an error status; `message` is its `errors[].message` (or the status).
    #[error("{message}")]
    Registry { status: u16, message: String },
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedManifest(String),
    #[error("no manifest for linux/{0} in the image index")]
    NoPlatform(String),
    #[error("parsing {what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what}: digest mismatch (expected {expected}, got {actual})")]
    DigestMismatch { what: String, expected: String, actual: String },
    #[error("{what}: size mismatch (expected {expected} bytes, got {actual})")]
    SizeMismatch { what: String, expected: u64, actual: u64 },
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {0}s")]
    Timeout(u64),
}

impl PullError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
