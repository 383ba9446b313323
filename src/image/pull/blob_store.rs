//! The node's content-addressed blob store `<image_dir>/.blobs/sha256/<hex>`, shared by every pulled image.
//!
//! A blob is written to a private temporary file next to its final name and renamed into place only once its
//! digest is verified, so concurrent pulls never see (or corrupt) a partial blob; the loser of a race just
//! renames an identical file over the winner's. Image layouts hard-link the blobs they use.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::error::PullError;
use crate::image::blob::{hex, sha256_hex_of};

/// Directory under the image dir holding the shared blobs (a name no image reference can take).
pub const BLOB_STORE_DIR: &str = ".blobs";

#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

/// Validates `sha256:<64 lowercase hex>` and returns the hex part.
pub fn sha256_hex(digest: &str) -> Result<&str, PullError> {
    sha256_hex_of(digest).ok_or_else(|| PullError::InvalidDigest(digest.to_string()))
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

impl BlobStore {
    pub fn new(image_dir: &Path) -> Self {
        Self { dir: image_dir.join(BLOB_STORE_DIR).join("sha256") }
    }

    pub fn path(&self, digest: &str) -> Result<PathBuf, PullError> {
        Ok(self.dir.join(sha256_hex(digest)?))
    }

    /// Whether the blob is stored with the expected size (its digest was verified when it was stored).
    pub fn has(&self, digest: &str, size: u64) -> bool {
        self.path(digest).ok().and_then(|p| std::fs::metadata(p).ok()).is_some_and(|m| m.is_file() && m.len() == size)
    }

    /// A fresh temporary path in the store's directory (created first), for one download of `digest`.
    pub async fn temp_path(&self, digest: &str) -> Result<PathBuf, PullError> {
        let hex = sha256_hex(digest)?;
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| PullError::io(&self.dir, e))?;
        Ok(self.dir.join(format!(".tmp-{hex}-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple())))
    }

    /// Removes `.tmp-<hex>-<pid>-<id>` files left by downloads whose process is gone (a crashed agent).
    pub fn remove_stale_temps(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(".tmp-") else { continue };
            let pid = rest.split('-').nth(1).and_then(|p| p.parse::<i32>().ok());
            let alive = pid.is_some_and(|p| nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok());
            if !alive {
                tracing::info!(path = %entry.path().display(), "removing a stale partial blob");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Moves a verified temporary file into place.
    pub async fn commit(&self, tmp: &Path, digest: &str) -> Result<PathBuf, PullError> {
        let dest = self.path(digest)?;
        if let Err(e) = tokio::fs::rename(tmp, &dest).await {
            let _ = tokio::fs::remove_file(tmp).await;
            return Err(PullError::io(&dest, e));
        }
        Ok(dest)
    }

    /// Stores a small blob held in memory after checking its digest.
    pub async fn put_bytes(&self, digest: &str, bytes: &[u8]) -> Result<PathBuf, PullError> {
        let actual = digest_of(bytes);
        if actual != digest {
            return Err(PullError::DigestMismatch { what: "blob".into(), expected: digest.to_string(), actual });
        }
        if self.has(digest, bytes.len() as u64) {
            return self.path(digest);
        }
        let tmp = self.temp_path(digest).await?;
        tokio::fs::write(&tmp, bytes).await.map_err(|e| PullError::io(&tmp, e))?;
        self.commit(&tmp, digest).await
    }
}
