//! OCI images on local disk: image layouts, references, and unpacking layers into a root filesystem.
//!
//! `<image_dir>/<name>/` is an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`); a reference
//! `name[:tag]` selects the manifest whose `org.opencontainers.image.ref.name` annotation is the tag.
//! Unpacked root filesystems are cached by manifest digest in `<image_dir>/.rootfs/`.

pub mod blob;
pub mod error;
pub mod layout;
pub mod oci;
pub mod pull;
pub mod reference;
pub mod safe_path;
pub mod store;
pub mod unpack;

use std::path::{Path, PathBuf};

pub use error::{ImageError, ImageErrorKind};
pub use layout::{resolve, ImageRunConfig, Layer, ResolvedImage};
pub use reference::ImageRef;
pub use store::ensure_rootfs;

/// Resolves `reference` under `image_dir` and returns it with its (cached) unpacked root filesystem.
pub fn prepare(image_dir: &Path, reference: &str) -> Result<(ResolvedImage, PathBuf), ImageError> {
    let image = resolve(image_dir, reference)?;
    let rootfs = ensure_rootfs(image_dir, &image)?;
    Ok((image, rootfs))
}

#[cfg(test)]
mod tests;
