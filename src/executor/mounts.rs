//! Mounts the executor makes on the host: the container's overlayfs root, and unmounting everything under the state dir.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::error::ExecutorError;

/// Mounts an overlayfs at `target` with `lower` read-only and `upper` / `work` (created if missing) writable.
pub fn mount_overlay(lower: &Path, upper: &Path, work: &Path, target: &Path) -> Result<(), ExecutorError> {
    for dir in [upper, work, target] {
        std::fs::create_dir_all(dir).map_err(|e| ExecutorError::io(dir, e))?;
    }
    for p in [lower, upper, work] {
        let s = p.to_string_lossy();
        // overlayfs splits its options on ',' and lowerdir on ':'.
        if s.contains([',', ':', '\\']) || s.contains('\n') {
            return Err(ExecutorError::InvalidSpec(format!("path {} cannot be used in overlayfs options", p.display())));
        }
    }
    let data = format!("lowerdir={},upperdir={},workdir={}", lower.display(), upper.display(), work.display());
    mount(Some("overlay"), target, Some("overlay"), MsFlags::empty(), Some(data.as_str()))
        .map_err(|source| ExecutorError::Mount { target: target.to_path_buf(), source })
}

/// Mount points at or below `dir` in this mount namespace, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> =
        info.lines().filter_map(|l| l.split(' ').nth(4)).map(|m| PathBuf::from(unescape(m))).filter(|m| m.starts_with(dir)).collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found.dedup();
    found
}

/// Unmounts everything at or below `dir` (lazily if busy); returns the mount points that remain.
pub fn unmount_all_under(dir: &Path) -> Vec<PathBuf> {
    // Stacked mounts on one point need one unmount each: repeat while progress is made.
    for _ in 0..8 {
        let mounts = mounts_under(dir);
        if mounts.is_empty() {
            break;
        }
        for m in &mounts {
            match umount2(m, MntFlags::empty()) {
                Ok(()) => tracing::debug!(mount = %m.display(), "unmounted"),
                Err(e) => {
                    tracing::debug!(mount = %m.display(), error = %e, "unmount failed, detaching");
                    if let Err(e) = umount2(m, MntFlags::MNT_DETACH) {
                        tracing::warn!(mount = %m.display(), error = %e, "could not unmount");
                    }
                }
            }
        }
    }
    mounts_under(dir)
}

/// Decodes the octal escapes (`\040` etc.) of /proc/self/mountinfo paths.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        let value = octal.map(|d| d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0')));
        if let (b'\\', Some(v)) = (bytes[i], value.and_then(|v| u8::try_from(v).ok())) {
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(unescape("/a\\040b/c"), "/a b/c");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/tail\\04"), "/tail\\04");
    }
}
