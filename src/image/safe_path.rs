//! Path safety inside a root filesystem: normalising archive paths and resolving symlinks without leaving the root.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path, PathBuf};

/// Most symlinks followed while resolving one path (as the kernel's MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

/// Normalises a path from an archive (relative to the root): drops `/`, `.` and resolves `..` lexically.
/// Returns `None` when `..` would climb above the root.
pub fn normalize(path: &Path) -> Option<Vec<OsString>> {
    let mut out: Vec<OsString> = Vec::new();
    for c in path.components() {
        match c {
            Component::Prefix(_) => return None,
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::Normal(n) => out.push(n.to_os_string()),
        }
    }
    Some(out)
}

/// Resolves `components` under `root` the way the kernel would after a `chroot(root)`: symlinks met on
/// the way are followed, absolute targets restart at `root` and `..` never climbs above it.
/// The last component is followed only when `follow_last` is set. The result always lies under `root`.
pub fn resolve_in_root(root: &Path, components: &[OsString], follow_last: bool) -> io::Result<PathBuf> {
    let mut pending: VecDeque<OsString> = components.iter().cloned().collect();
    let mut current: Vec<OsString> = Vec::new();
    let mut followed = 0usize;
    while let Some(c) = pending.pop_front() {
        if c == OsStr::new("..") {
            current.pop();
            continue;
        }
        if c == OsStr::new(".") || c.is_empty() {
            continue;
        }
        if pending.is_empty() && !follow_last {
            current.push(c);
            break;
        }
        let candidate = join(root, &current).join(&c);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                followed += 1;
                if followed > MAX_SYMLINKS {
                    return Err(io::Error::other(format!("too many levels of symbolic links resolving {}", candidate.display())));
                }
                let target = std::fs::read_link(&candidate)?;
                if target.is_absolute() {
                    current.clear();
                }
                for tc in target.components().rev() {
                    match tc {
                        Component::Normal(n) => pending.push_front(n.to_os_string()),
                        Component::ParentDir => pending.push_front(OsString::from("..")),
                        Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                    }
                }
            }
            _ => current.push(c),
        }
    }
    Ok(join(root, &current))
}

fn join(root: &Path, components: &[OsString]) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(components);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn comps(p: &str) -> Vec<OsString> {
        normalize(Path::new(p)).unwrap()
    }

    #[test]
    fn normalizes_and_refuses_escapes() {
        assert_eq!(comps("./a/./b/../c"), vec![OsString::from("a"), OsString::from("c")]);
        assert_eq!(comps("/etc/passwd"), vec![OsString::from("etc"), OsString::from("passwd")]);
        assert!(comps("./").is_empty());
        assert!(normalize(Path::new("../x")).is_none());
        assert!(normalize(Path::new("a/../../x")).is_none());
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("drover-safe-path-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("usr/lib")).unwrap();
        symlink("/usr/lib", dir.join("lib")).unwrap();
        symlink("../../../../..", dir.join("up")).unwrap();
        symlink("/etc", dir.join("hostetc")).unwrap();
        symlink("loop", dir.join("loop")).unwrap();

        let r = resolve_in_root(&dir, &comps("lib/x.so"), false).unwrap();
        assert_eq!(r, dir.join("usr/lib/x.so"));
        let r = resolve_in_root(&dir, &comps("up/etc/passwd"), false).unwrap();
        assert_eq!(r, dir.join("etc/passwd"));
        // `hostetc` -> `/etc` is re-rooted, never the host's /etc.
        let r = resolve_in_root(&dir, &comps("hostetc/shadow"), true).unwrap();
        assert_eq!(r, dir.join("etc/shadow"));
        let r = resolve_in_root(&dir, &comps("lib"), false).unwrap();
        assert_eq!(r, dir.join("lib"));
        assert!(resolve_in_root(&dir, &comps("loop/x"), false).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
