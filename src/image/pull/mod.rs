//! Pulling images from OCI distribution (v2) registries into the image dir, in the client agent (async HTTP;
//! nothing here touches libcontainer). The executor then finds the pulled image like any local layout.
//!
//! `pull` resolves the reference's manifest (choosing this machine's linux manifest from an index), stores
//! the config and layer blobs in the node's shared blob store (`blob_store`: a blob already there is not
//! downloaded again), and tags the manifest in the layout `<image_dir>/<name>/` (`layout_writer`).

pub mod blob_store;
pub mod challenge;
pub mod error;
pub mod layout_writer;
pub mod manifest;
pub mod registry;
pub mod remote;

use std::path::Path;

pub use error::PullError;
pub use registry::Credentials;

use blob_store::{digest_of, BlobStore};
use layout_writer::{write_layout, TaggedManifest};
use manifest::{classify, select_platform, ManifestKind};
use registry::Registry;
use remote::{RemoteRef, Selector};

use super::oci::{self, Index, Manifest};

/// What one pull moved over the network and what it found already stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullStats {
    pub manifest_digest: String,
    pub downloaded_blobs: u64,
    pub downloaded_bytes: u64,
    pub reused_blobs: u64,
    pub reused_bytes: u64,
}

/// Whether `reference` already resolves in the image dir (its manifest and config are present and valid).
pub fn is_present(image_dir: &Path, reference: &str) -> bool {
    super::resolve(image_dir, reference).is_ok()
}

/// Pulls `reference` into `image_dir` so that `image::resolve(image_dir, reference)` finds it.
pub async fn pull(
    http: reqwest::Client,
    image_dir: &Path,
    reference: &str,
    credentials: Option<Credentials>,
) -> Result<PullStats, PullError> {
    let remote = RemoteRef::parse(reference)?;
    let store = BlobStore::new(image_dir);
    store.remove_stale_temps();
    let registry = Registry::new(http, remote.clone(), credentials);
    let arch = oci::host_architecture();

    // The layout's `ref.name` annotation: the tag, or the digest itself for digest references.
    let ref_name = remote.selected().to_string();
    let (mut body, ct) = registry.manifest(&ref_name).await?;
    if let Selector::Digest(d) = &remote.selector {
        check_digest(&body, d, "manifest")?;
    }
    let (mut kind, mut media_type) = classify(ct.as_deref(), &body)?;
    if kind == ManifestKind::Index {
        let index: Index = serde_json::from_slice(&body).map_err(|source| PullError::Json { what: "image index".into(), source })?;
        let desc = select_platform(&index, arch)?;
        let (b, ct) = registry.manifest(&desc.digest).await?;
        check_digest(&b, &desc.digest, "manifest")?;
        (kind, media_type) = classify(ct.as_deref(), &b)?;
        body = b;
        if kind != ManifestKind::Image {
            return Err(PullError::UnsupportedManifest(media_type));
        }
    }
    let manifest_digest = digest_of(&body);
    let parsed: Manifest = serde_json::from_slice(&body).map_err(|source| PullError::Json { what: "manifest".into(), source })?;
    store.put_bytes(&manifest_digest, &body).await?;

    let mut stats = PullStats { manifest_digest: manifest_digest.clone(), ..Default::default() };
    let mut blobs = vec![manifest_digest.clone()];
    for desc in std::iter::once(&parsed.config).chain(parsed.layers.iter()) {
        blob_store::sha256_hex(&desc.digest)?;
        if store.has(&desc.digest, desc.size) {
            stats.reused_blobs += 1;
            stats.reused_bytes += desc.size;
        } else {
            let tmp = store.temp_path(&desc.digest).await?;
            let n = registry.blob_to_file(&desc.digest, desc.size, &tmp).await?;
            store.commit(&tmp, &desc.digest).await?;
            stats.downloaded_blobs += 1;
            stats.downloaded_bytes += n;
        }
        blobs.push(desc.digest.clone());
    }

    let tagged = TaggedManifest { media_type, digest: manifest_digest, size: body.len() as u64, ref_name, architecture: arch.to_string() };
    let layout = remote.local().layout_dir(image_dir);
    tokio::task::spawn_blocking(move || write_layout(&layout, &store, &blobs, &tagged))
        .await
        .map_err(|e| PullError::Http(format!("layout writer: {e}")))??;
    Ok(stats)
}

fn check_digest(body: &[u8], expected: &str, what: &str) -> Result<(), PullError> {
    let actual = digest_of(body);
    if actual != expected {
        return Err(PullError::DigestMismatch { what: what.to_string(), expected: expected.to_string(), actual });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
