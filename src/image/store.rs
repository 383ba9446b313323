//! The unpacked root filesystem cache `<image_dir>/.rootfs/<manifest hex>/`, shared read-only by containers.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::blob;
use super::error::{ImageError, ImageErrorKind};
use super::layout::ResolvedImage;
use super::unpack::apply_layer;

/// Directory under the image dir holding unpacked root filesystems.
pub const ROOTFS_CACHE_DIR: &str = ".rootfs";

/// Returns the unpacked root filesystem of `image`, unpacking its layers first if no executor has yet.
///
/// Layers are applied into a private temporary directory next to the cache entry, which is then renamed
/// into place, so concurrent callers never see a partial tree; the loser of a race discards its copy.
pub fn ensure_rootfs(image_dir: &Path, image: &ResolvedImage) -> Result<PathBuf, ImageError> {
    let err = |kind| ImageError::new(image.reference.to_string(), kind);
    let hex = blob::sha256_hex(&image.manifest_digest, &image.layout_dir).map_err(err)?;
    let cache = image_dir.join(ROOTFS_CACHE_DIR);
    let target = cache.join(hex);
    if target.is_dir() {
        return Ok(target);
    }
    fs::create_dir_all(&cache).map_err(|e| err(ImageErrorKind::io(&cache, e)))?;
    remove_stale_temps(&cache);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let tmp = cache.join(format!(".tmp-{hex}-{}-{nanos}", std::process::id()));
    fs::create_dir(&tmp).map_err(|e| err(ImageErrorKind::io(&tmp, e)))?;
    tracing::info!(image = %image.reference, layers = image.layers.len(), rootfs = %target.display(), "unpacking image");
    let result = unpack_all(image, &tmp).and_then(|()| match fs::rename(&tmp, &target) {
        Ok(()) => Ok(()),
        // Another executor finished first: use its tree.
        Err(_) if target.is_dir() => {
            let _ = fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => Err(ImageErrorKind::io(&target, e)),
    });
    if let Err(kind) = result {
        if let Err(e) = fs::remove_dir_all(&tmp) {
            tracing::warn!(path = %tmp.display(), error = %e, "could not remove partial rootfs");
        }
        return Err(err(kind));
    }
    Ok(target)
}

/// Removes `.tmp-<hex>-<pid>-<nanos>` directories whose unpacking process no longer exists.
fn remove_stale_temps(cache: &Path) {
    let Ok(entries) = fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(".tmp-") else {
            continue;
        };
        let pid = rest.split('-').nth(1).and_then(|p| p.parse::<i32>().ok());
        let alive = pid.is_some_and(|p| kill(Pid::from_raw(p), None).is_ok());
        if !alive {
            tracing::info!(path = %entry.path().display(), "removing stale partial rootfs");
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn unpack_all(image: &ResolvedImage, root: &Path) -> Result<(), ImageErrorKind> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).map_err(|e| ImageErrorKind::io(root, e))?;
    for layer in &image.layers {
        apply_layer(layer, root)?;
    }
    Ok(())
}
