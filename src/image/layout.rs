//! Resolving a reference in an OCI image layout: index.json → manifest → config, every blob verified.

use std::path::{Path, PathBuf};

use super::blob;
use super::error::{ImageError, ImageErrorKind};
use super::oci::{self, ConfigFile, Descriptor, Index, Manifest};
use super::reference::ImageRef;

/// How the image asks to be run (the `config` object of its configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageRunConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

/// One filesystem layer, in application order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Digest of the blob as stored (possibly compressed).
    pub digest: String,
    pub size: u64,
    pub media_type: String,
    /// Digest of the uncompressed tar (from the config's `rootfs.diff_ids`), when known.
    pub diff_id: Option<String>,
    /// `<layout>/blobs/sha256/<hex>`.
    pub path: PathBuf,
}

/// An image found in a local layout, with manifest and config verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    pub reference: ImageRef,
    pub layout_dir: PathBuf,
    /// `sha256:<hex>` of the manifest; names the unpacked root filesystem.
    pub manifest_digest: String,
    pub config: ImageRunConfig,
    pub layers: Vec<Layer>,
}

/// Finds `reference` (`name[:tag][@digest]`) under `image_dir` and reads its manifest and config.
pub fn resolve(image_dir: &Path, reference: &str) -> Result<ResolvedImage, ImageError> {
    let image_ref = ImageRef::parse(reference)?;
    let layout_dir = image_ref.layout_dir(image_dir);
    resolve_in(&image_ref, &layout_dir).map_err(|kind| ImageError::new(image_ref.to_string(), kind))
}

fn resolve_in(image_ref: &ImageRef, layout_dir: &Path) -> Result<ResolvedImage, ImageErrorKind> {
    let index_path = layout_dir.join("index.json");
    if !index_path.is_file() {
        return Err(ImageErrorKind::LayoutMissing { path: layout_dir.to_path_buf() });
    }
    let index_bytes = std::fs::read(&index_path).map_err(|e| ImageErrorKind::io(&index_path, e))?;
    let index: Index = parse_json(&index_bytes, &index_path)?;

    let selected = match image_ref.digest() {
        Some(d) => index.manifests.iter().find(|m| m.digest == d).cloned(),
        None => select_tagged(&index, image_ref.tag()),
    };
    let mut desc = selected.ok_or_else(|| ImageErrorKind::TagNotFound {
        tag: image_ref.digest().unwrap_or(image_ref.tag()).to_string(),
        path: index_path.clone(),
    })?;
    let mut found_in = index_path.clone();
    // A tag may name a multi-platform index; pick this machine's manifest (one level of nesting).
    if desc.is_index() {
        let bytes = blob::read_verified(layout_dir, &desc, &found_in)?;
        let nested_path = blob::blob_path(layout_dir, &desc, &found_in)?;
        let nested: Index = parse_json(&bytes, &nested_path)?;
        desc = select_platform(&nested)
            .ok_or_else(|| ImageErrorKind::PlatformNotFound { arch: oci::host_architecture().to_string(), path: nested_path.clone() })?;
        found_in = nested_path;
    }
    if !desc.media_type.is_empty() && desc.media_type != oci::MEDIA_OCI_MANIFEST && desc.media_type != oci::MEDIA_DOCKER_MANIFEST {
        return Err(ImageErrorKind::Unsupported { path: found_in, what: format!("manifest media type {}", desc.media_type) });
    }

    let manifest_bytes = blob::read_verified(layout_dir, &desc, &found_in)?;
    let manifest_path = blob::blob_path(layout_dir, &desc, &found_in)?;
    let manifest: Manifest = parse_json(&manifest_bytes, &manifest_path)?;

    let config_bytes = blob::read_verified(layout_dir, &manifest.config, &manifest_path)?;
    let config_path = blob::blob_path(layout_dir, &manifest.config, &manifest_path)?;
    let config_file: ConfigFile = parse_json(&config_bytes, &config_path)?;

    let diff_ids = config_file.rootfs.map(|r| r.diff_ids).unwrap_or_default();
    if !diff_ids.is_empty() && diff_ids.len() != manifest.layers.len() {
        return Err(ImageErrorKind::Unsupported {
            path: config_path,
            what: format!("config with {} diff_ids for {} layers", diff_ids.len(), manifest.layers.len()),
        });
    }
    let mut layers = Vec::with_capacity(manifest.layers.len());
    for (i, l) in manifest.layers.iter().enumerate() {
        let diff_id = match diff_ids.get(i) {
            Some(d) => {
                blob::sha256_hex(d, &config_path)?;
                Some(d.clone())
            }
            None => None,
        };
        layers.push(Layer {
            digest: l.digest.clone(),
            size: l.size,
            media_type: l.media_type.clone(),
            diff_id,
            path: blob::blob_path(layout_dir, l, &manifest_path)?,
        });
    }

    let rc = config_file.config.unwrap_or_default();
    Ok(ResolvedImage {
        reference: image_ref.clone(),
        layout_dir: layout_dir.to_path_buf(),
        manifest_digest: desc.digest.clone(),
        config: ImageRunConfig {
            entrypoint: rc.entrypoint.unwrap_or_default(),
            cmd: rc.cmd.unwrap_or_default(),
            env: rc.env.unwrap_or_default(),
            working_dir: rc.working_dir.filter(|w| !w.is_empty()),
            user: rc.user.filter(|u| !u.is_empty()),
        },
        layers,
    })
}

/// The manifest whose `org.opencontainers.image.ref.name` is `tag`; a lone unannotated manifest also matches.
fn select_tagged(index: &Index, tag: &str) -> Option<Descriptor> {
    if let Some(d) = index.manifests.iter().find(|d| d.annotation(oci::ANNOTATION_REF_NAME) == Some(tag)) {
        return Some(d.clone());
    }
    match index.manifests.as_slice() {
        [only] if only.annotation(oci::ANNOTATION_REF_NAME).is_none() => Some(only.clone()),
        _ => None,
    }
}

/// The linux manifest for this machine's architecture in a multi-platform index.
fn select_platform(index: &Index) -> Option<Descriptor> {
    let arch = oci::host_architecture();
    index
        .manifests
        .iter()
        .find(|d| !d.is_index() && d.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == arch))
        .cloned()
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T, ImageErrorKind> {
    serde_json::from_slice(bytes).map_err(|source| ImageErrorKind::Json { path: path.to_path_buf(), source })
}
