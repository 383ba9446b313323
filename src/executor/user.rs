//! Resolving a task's `user` (`uid[:gid]` or `name[:group]`) against a root filesystem's /etc/passwd and /etc/group.

use std::ffi::OsString;
use std::path::Path;

use super::error::ExecutorError;
use crate::image::safe_path::resolve_in_root;

/// The identity a task runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// Home directory from /etc/passwd, when the user has an entry.
    pub home: Option<String>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `user` inside `rootfs` (`/` for the host). Empty means root. A numeric uid without a passwd
/// entry runs with gid 0; a user or group name must exist in the root filesystem.
pub fn resolve_user(rootfs: &Path, user: Option<&str>) -> Result<ResolvedUser, ExecutorError> {
    let spec = user.map(str::trim).unwrap_or("");
    let passwd = read_passwd(rootfs);
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let err = |reason: String| ExecutorError::User { user: spec.to_string(), reason };
    let entry = if user_part.is_empty() {
        passwd.iter().find(|p| p.uid == 0)
    } else if let Ok(uid) = user_part.parse::<u32>() {
        passwd.iter().find(|p| p.uid == uid)
    } else {
        let found = passwd.iter().find(|p| p.name == user_part);
        if found.is_none() {
            return Err(err(format!("no such user in {}", rootfs.join("etc/passwd").display())));
        }
        found
    };
    let uid = match (user_part.parse::<u32>(), entry) {
        (Ok(uid), _) => uid,
        (Err(_), Some(e)) => e.uid,
        (Err(_), None) => 0,
    };
    let groups = read_groups(rootfs);
    let gid = match group_part {
        Some(g) if !g.is_empty() => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => groups
                .iter()
                .find(|e| e.name == g)
                .map(|e| e.gid)
                .ok_or_else(|| err(format!("no such group {g:?} in {}", rootfs.join("etc/group").display())))?,
        },
        _ => entry.map_or(0, |e| e.gid),
    };
    let additional_gids = match entry {
        Some(e) => groups.iter().filter(|g| g.gid != gid && g.members.iter().any(|m| m == &e.name)).map(|g| g.gid).collect(),
        None => Vec::new(),
    };
    Ok(ResolvedUser { uid, gid, additional_gids, home: entry.map(|e| e.home.clone()).filter(|h| !h.is_empty()) })
}

fn read_in_root(rootfs: &Path, rel: &[&str]) -> String {
    let comps: Vec<OsString> = rel.iter().map(OsString::from).collect();
    resolve_in_root(rootfs, &comps, true).and_then(std::fs::read_to_string).unwrap_or_default()
}

fn read_passwd(rootfs: &Path) -> Vec<PasswdEntry> {
    read_in_root(rootfs, &["etc", "passwd"])
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 || line.starts_with('#') {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f.get(5).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

fn read_groups(rootfs: &Path) -> Vec<GroupEntry> {
    read_in_root(rootfs, &["etc", "group"])
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 3 || line.starts_with('#') {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f.get(3).map(|m| m.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()).unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_and_numbers() {
        let dir = std::env::temp_dir().join(format!("drover-user-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
            .unwrap();
        std::fs::write(dir.join("etc/group"), "root:x:0:\nnobody:x:65534:\nwww:x:33:nobody\n").unwrap();

        let root = resolve_user(&dir, None).unwrap();
        assert_eq!((root.uid, root.gid, root.home.as_deref()), (0, 0, Some("/root")));
        let nobody = resolve_user(&dir, Some("nobody")).unwrap();
        assert_eq!((nobody.uid, nobody.gid), (65534, 65534));
        assert_eq!(nobody.additional_gids, vec![33]);
        let numeric = resolve_user(&dir, Some("1000:33")).unwrap();
        assert_eq!((numeric.uid, numeric.gid, numeric.home), (1000, 33, None));
        let named_group = resolve_user(&dir, Some("0:www")).unwrap();
        assert_eq!(named_group.gid, 33);
        assert!(resolve_user(&dir, Some("alice")).is_err());
        assert!(resolve_user(&dir, Some("0:nogroup")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
