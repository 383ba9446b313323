//! Named network namespaces of allocations: `/run/netns/drover-<alloc id>`, a bind mount of the
//! namespace that keeps it alive while no task runs in it, made and removed with `ip netns`.

use std::path::{Path, PathBuf};

use super::command::ip;
use super::NetworkError;

/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// The namespace name of an allocation.
pub fn name(alloc_id: &str) -> String {
    format!("drover-{alloc_id}")
}

/// The namespace file of an allocation, which tasks join.
pub fn path(alloc_id: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name(alloc_id))
}

/// Whether `path` is a mount point (a live namespace file, not a leftover empty file).
fn mounted(path: &Path) -> bool {
    let target = path.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default().lines().any(|l| l.split(' ').nth(4) == Some(target.as_str()))
}

/// Creates the allocation's namespace unless it exists; true when it was created (a restarted
/// agent finds it and reuses it, with the tasks still in it).
pub fn ensure(alloc_id: &str) -> Result<bool, NetworkError> {
    let file = path(alloc_id);
    if mounted(&file) {
        return Ok(false);
    }
    if file.exists() {
        // An interrupted create or delete left the file without its namespace.
        std::fs::remove_file(&file).map_err(|source| NetworkError::Io { path: file.clone(), source })?;
    }
    ip(&["netns", "add", &name(alloc_id)])?;
    tracing::info!(alloc_id, netns = %file.display(), "created network namespace");
    Ok(true)
}

/// Runs `ip -n <ns> args…` inside the allocation's namespace.
pub fn ip_in(alloc_id: &str, args: &[&str]) -> Result<String, NetworkError> {
    let ns = name(alloc_id);
    let mut all = vec!["-n", ns.as_str()];
    all.extend_from_slice(args);
    ip(&all)
}

/// Removes the allocation's namespace (its interfaces go with it); nothing to do when it is gone.
pub fn remove(alloc_id: &str) -> Result<(), NetworkError> {
    let file = path(alloc_id);
    if mounted(&file) {
        ip(&["netns", "delete", &name(alloc_id)])?;
        tracing::info!(alloc_id, netns = %file.display(), "removed network namespace");
    }
    match std::fs::remove_file(&file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(NetworkError::Io { path: file, source }),
    }
}
