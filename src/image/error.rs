//! The image module's error type: every failure names the image reference and the path that failed.

use std::path::PathBuf;

/// A failure resolving or unpacking one image; displays as `image <reference>: <kind>`.
#[derive(Debug, thiserror::Error)]
#[error("image {reference}: {kind}")]
pub struct ImageError {
    /// The reference as given (or normalised to `name:tag` once parsed).
    pub reference: String,
    pub kind: ImageErrorKind,
}

impl ImageError {
    pub fn new(reference: impl Into<String>, kind: ImageErrorKind) -> Self {
        Self { reference: reference.into(), kind }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageErrorKind {
    #[error("invalid reference: {0}")]
    InvalidReference(String),
    #[error("no image layout at {path} (index.json not found)")]
    LayoutMissing { path: PathBuf },
    #[error("no manifest tagged {tag} in {path}")]
    TagNotFound { tag: String, path: PathBuf },
    #[error("no manifest for linux/{arch} in {path}")]
    PlatformNotFound { arch: String, path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: unsupported {what}")]
    Unsupported { path: PathBuf, what: String },
    #[error("invalid digest {digest:?} in {path}")]
    InvalidDigest { digest: String, path: PathBuf },
    #[error("{path}: size mismatch (expected {expected} bytes, got {actual})")]
    SizeMismatch { path: PathBuf, expected: u64, actual: u64 },
    #[error("{path}: {what} mismatch (expected {expected}, got {actual})")]
    DigestMismatch { path: PathBuf, what: &'static str, expected: String, actual: String },
    #[error("layer {layer}: entry {entry:?} escapes the root filesystem")]
    UnsafeEntry { layer: PathBuf, entry: String },
    #[error("layer {layer}: entry {entry:?}: {source}")]
    Unpack {
        layer: PathBuf,
        entry: String,
        #[source]
        source: std::io::Error,
    },
}

impl ImageErrorKind {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
