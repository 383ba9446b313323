//! Writing a pulled image into the OCI image layout `<image_dir>/<name>/` that `image::resolve` reads:
//! blobs hard-linked from the shared store, and `index.json` updated (under a lock, replaced by rename)
//! so the manifest is tagged with the reference.

use std::fs;
use std::path::{Path, PathBuf};

use super::blob_store::{sha256_hex, BlobStore};
use super::error::PullError;
use crate::image::oci::ANNOTATION_REF_NAME;

/// The entry to tag in `index.json`.
#[derive(Debug, Clone)]
pub struct TaggedManifest {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// `org.opencontainers.image.ref.name`: the tag, or the digest for digest references.
    pub ref_name: String,
    pub architecture: String,
}

/// Links `blobs` (digests, all in `store`) into the layout at `layout` and tags `manifest` in its index.
pub fn write_layout(layout: &Path, store: &BlobStore, blobs: &[String], manifest: &TaggedManifest) -> Result<(), PullError> {
    let blob_dir = layout.join("blobs").join("sha256");
    fs::create_dir_all(&blob_dir).map_err(|e| PullError::io(&blob_dir, e))?;
    for digest in blobs {
        let dest = blob_dir.join(sha256_hex(digest)?);
        if dest.is_file() {
            continue;
        }
        let src = store.path(digest)?;
        match fs::hard_link(&src, &dest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // Another filesystem: copy (through a temp name, so a reader never sees half a blob).
            Err(_) => {
                let tmp = temp_name(&dest);
                fs::copy(&src, &tmp).map_err(|e| PullError::io(&tmp, e))?;
                fs::rename(&tmp, &dest).map_err(|e| PullError::io(&dest, e))?;
            }
        }
    }
    let oci_layout = layout.join("oci-layout");
    if !oci_layout.is_file() {
        write_atomic(&oci_layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    }

    let lock_path = layout.join(".index.lock");
    let lock_file =
        fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(|e| PullError::io(&lock_path, e))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| PullError::io(&lock_path, std::io::Error::from(e)))?;

    let index_path = layout.join("index.json");
    let mut index: serde_json::Value = match fs::read(&index_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| PullError::Json { what: index_path.display().to_string(), source })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [],
        }),
        Err(e) => return Err(PullError::io(&index_path, e)),
    };
    let entry = serde_json::json!({
        "mediaType": manifest.media_type,
        "digest": manifest.digest,
        "size": manifest.size,
        "platform": { "architecture": manifest.architecture, "os": "linux" },
        "annotations": { ANNOTATION_REF_NAME: manifest.ref_name },
    });
    let manifests = index.get_mut("manifests").and_then(|m| m.as_array_mut());
    let Some(manifests) = manifests else {
        return Err(PullError::io(&index_path, std::io::Error::other("index.json has no manifests array")));
    };
    manifests.retain(|m| {
        m.pointer(&format!("/annotations/{}", ANNOTATION_REF_NAME.replace('/', "~1"))).and_then(|v| v.as_str()) != Some(&manifest.ref_name)
    });
    manifests.push(entry);
    let bytes = serde_json::to_vec(&index).map_err(|source| PullError::Json { what: index_path.display().to_string(), source })?;
    write_atomic(&index_path, &bytes)
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".tmp-{name}-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PullError> {
    let tmp = temp_name(path);
    fs::write(&tmp, bytes).map_err(|e| PullError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        PullError::io(path, e)
    })
}
