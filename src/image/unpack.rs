//! Applying one layer (tar or tar+gzip) onto a root filesystem: OCI whiteouts, path safety, digest checks.

use std::collections::HashSet;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use tar::EntryType;

use super::blob::{self, HashingReader};
use super::error::ImageErrorKind;
use super::layout::Layer;
use super::safe_path::{normalize, resolve_in_root};

const WHITEOUT_PREFIX: &str = ".wh.";
const WHITEOUT_OPAQUE: &str = ".wh..wh..opq";

/// Applies `layer` on top of the tree at `root`, verifying the blob digest, size and diff_id.
pub fn apply_layer(layer: &Layer, root: &Path) -> Result<(), ImageErrorKind> {
    if layer.media_type.contains("zstd") {
        return Err(ImageErrorKind::Unsupported { path: layer.path.clone(), what: format!("layer media type {}", layer.media_type) });
    }
    let mut compressed = HashingReader::new(blob::open(&layer.path)?);
    let extracted = extract_stream(&mut compressed, layer, root);
    // The blob's own digest is checked even when unpacking failed: a corrupt blob is the likelier story.
    let (digest, size) = compressed.finish().map_err(|e| ImageErrorKind::io(&layer.path, e))?;
    if size != layer.size {
        return Err(ImageErrorKind::SizeMismatch { path: layer.path.clone(), expected: layer.size, actual: size });
    }
    if digest != layer.digest {
        return Err(ImageErrorKind::DigestMismatch {
            path: layer.path.clone(),
            what: "sha256",
            expected: layer.digest.clone(),
            actual: digest,
        });
    }
    let diff = extracted?;
    if let Some(diff_id) = &layer.diff_id {
        if &diff != diff_id {
            return Err(ImageErrorKind::DigestMismatch {
                path: layer.path.clone(),
                what: "diff_id",
                expected: diff_id.clone(),
                actual: diff,
            });
        }
    }
    Ok(())
}

/// Decompresses (gzip is detected by its magic bytes) and extracts the layer, reading the stream to its
/// end; returns the diff_id (sha256 of the uncompressed tar).
fn extract_stream<R: Read>(compressed: &mut HashingReader<R>, layer: &Layer, root: &Path) -> Result<String, ImageErrorKind> {
    let io_err = |e: io::Error| ImageErrorKind::io(&layer.path, e);
    let mut buffered = BufReader::with_capacity(64 * 1024, compressed);
    let gzip = buffered.fill_buf().map_err(io_err)?.starts_with(&[0x1f, 0x8b]);
    let diff = {
        let plain: Box<dyn Read + '_> = if gzip { Box::new(MultiGzDecoder::new(&mut buffered)) } else { Box::new(&mut buffered) };
        let mut uncompressed = HashingReader::new(plain);
        extract(&mut tar::Archive::new(&mut uncompressed), layer, root)?;
        uncompressed.finish().map_err(io_err)?.0
    };
    io::copy(&mut buffered, &mut io::sink()).map_err(io_err)?;
    Ok(diff)
}

fn extract<R: Read>(archive: &mut tar::Archive<R>, layer: &Layer, root: &Path) -> Result<(), ImageErrorKind> {
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    let layer_err = |entry: &str, e: io::Error| ImageErrorKind::Unpack { layer: layer.path.clone(), entry: entry.to_string(), source: e };
    // Paths this layer has written: an opaque whiteout hides only what lower layers left.
    let mut created: HashSet<PathBuf> = HashSet::new();
    for entry in archive.entries().map_err(|e| layer_err("", e))? {
        let mut entry = entry.map_err(|e| layer_err("", e))?;
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink) {
            continue;
        }
        let raw = entry.path().map_err(|e| layer_err("", e))?.into_owned();
        let name = raw.display().to_string();
        let unsafe_entry = || ImageErrorKind::UnsafeEntry { layer: layer.path.clone(), entry: name.clone() };
        let rel = normalize(&raw).ok_or_else(unsafe_entry)?;
        let Some((file_name, parent_rel)) = rel.split_last() else {
            // The root directory itself: only its metadata applies.
            if kind.is_dir() {
                entry.unpack(root).map_err(|e| layer_err(&name, e))?;
            }
            continue;
        };
        let parent = resolve_in_root(root, parent_rel, true).map_err(|e| layer_err(&name, e))?;
        let file_str = file_name.to_string_lossy();
        if file_str == WHITEOUT_OPAQUE {
            prune_lower(&parent, &created).map_err(|e| layer_err(&name, e))?;
            continue;
        }
        if let Some(hidden) = file_str.strip_prefix(WHITEOUT_PREFIX) {
            if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(unsafe_entry());
            }
            remove_any(&parent.join(hidden)).map_err(|e| layer_err(&name, e))?;
            continue;
        }
        create_dirs(&parent).map_err(|e| layer_err(&name, e))?;
        let dst = parent.join(file_name);
        write_entry(&mut entry, kind, &dst, root).map_err(|e| match e {
            WriteError::Unsafe => unsafe_entry(),
            WriteError::Io(e) => layer_err(&name, e),
        })?;
        created.insert(dst);
    }
    Ok(())
}

enum WriteError {
    Unsafe,
    Io(io::Error),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

fn write_entry<R: Read>(entry: &mut tar::Entry<'_, R>, kind: EntryType, dst: &Path, root: &Path) -> Result<(), WriteError> {
    // Replace whatever a lower layer left here, except a directory merging into a directory.
    if let Ok(existing) = fs::symlink_metadata(dst) {
        if !(existing.is_dir() && kind.is_dir()) {
            remove_any(dst)?;
        }
    }
    match kind {
        EntryType::Link => {
            let target = entry.link_name()?.ok_or_else(|| io::Error::other("hard link without a target"))?;
            let target_rel = normalize(&target).ok_or(WriteError::Unsafe)?;
            let src = resolve_in_root(root, &target_rel, false)?;
            fs::hard_link(&src, dst)?;
        }
        EntryType::Char | EntryType::Block | EntryType::Fifo => make_node(entry, kind, dst)?,
        _ => {
            entry.unpack(dst)?;
        }
    }
    Ok(())
}

fn make_node<R: Read>(entry: &tar::Entry<'_, R>, kind: EntryType, dst: &Path) -> io::Result<()> {
    use nix::sys::stat::{makedev, mknod, Mode, SFlag};
    let h = entry.header();
    let mode = h.mode()?;
    let flag = match kind {
        EntryType::Char => SFlag::S_IFCHR,
        EntryType::Block => SFlag::S_IFBLK,
        _ => SFlag::S_IFIFO,
    };
    let major = u64::from(h.device_major()?.unwrap_or(0));
    let minor = u64::from(h.device_minor()?.unwrap_or(0));
    mknod(dst, flag, Mode::from_bits_truncate(mode & 0o7777), makedev(major, minor)).map_err(io::Error::from)?;
    let uid = u32::try_from(h.uid()?).map_err(io::Error::other)?;
    let gid = u32::try_from(h.gid()?).map_err(io::Error::other)?;
    chown(dst, Some(uid), Some(gid))?;
    fs::set_permissions(dst, fs::Permissions::from_mode(mode & 0o7777))
}

/// Creates missing directories (mode 0755) down to `dir`, which already lies inside the root.
fn create_dirs(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
}

/// Removes a file, symlink or directory tree; a missing path is fine.
fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opaque whiteout: removes everything under `dir` that lower layers left, keeping this layer's entries.
fn prune_lower(dir: &Path, created: &HashSet<PathBuf>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let children: Vec<PathBuf> = entries.map(|e| e.map(|e| e.path())).collect::<io::Result<_>>()?;
    for child in children {
        if !created.contains(&child) {
            remove_any(&child)?;
        } else if fs::symlink_metadata(&child)?.is_dir() {
            prune_lower(&child, created)?;
        }
    }
    Ok(())
}
