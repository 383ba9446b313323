//! The OCI runtime bundle for a container task: `config.json` (built with oci-spec) next to the `rootfs` mount.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    get_default_mounts, Capability, Linux, LinuxCapabilities, LinuxCpu, LinuxDeviceCgroup, LinuxMemory, LinuxNamespace, LinuxNamespaceType,
    LinuxPids, LinuxResources, Mount, Process, Root, Spec, User,
};

use super::cgroup::{Limits, CGROUP_PARENT, CGROUP_ROOT};
use super::error::ExecutorError;
use super::process::ContainerProcess;
use crate::driver::spec::ExecSpec;

/// The bundle's root filesystem directory name (relative to the bundle).
pub const ROOTFS_DIR: &str = "rootfs";

/// Docker's default capability set.
const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// The cgroup path (relative to each hierarchy's root) of a container task.
pub fn cgroups_path(id: &str) -> PathBuf {
    Path::new("/").join(CGROUP_PARENT).join(id)
}

/// Host directories bound into the container: `(source, destination, read_only)`.
pub fn bind_mounts(spec: &ExecSpec) -> Vec<(PathBuf, &'static str, bool)> {
    let mut binds = vec![
        (spec.alloc_dir.clone(), "/alloc", false),
        (spec.task_dir.join("local"), "/local", false),
        (spec.task_dir.join("secrets"), "/secrets", false),
        (spec.task_dir.join("tmp"), "/tmp", false),
    ];
    if let Some(resolv) = resolv_conf(spec.network_namespace.is_some()) {
        binds.push((resolv, "/etc/resolv.conf", true));
    }
    if Path::new("/etc/hosts").is_file() {
        binds.push((PathBuf::from("/etc/hosts"), "/etc/hosts", true));
    }
    binds
}

/// systemd-resolved's list of the upstream servers (its stub at 127.0.0.53 is not reachable from
/// another network namespace).
const RESOLVED_UPSTREAM: &str = "/run/systemd/resolve/resolv.conf";

/// The resolver configuration bound into a container: the host's, unless the container has a
/// network namespace of its own and the host's names only loopback servers; then resolved's
/// upstream list when there is one.
fn resolv_conf(own_network: bool) -> Option<PathBuf> {
    let host = Path::new("/etc/resolv.conf");
    if !host.is_file() {
        return None;
    }
    if own_network && only_loopback_servers(&std::fs::read_to_string(host).unwrap_or_default()) && Path::new(RESOLVED_UPSTREAM).is_file() {
        return Some(PathBuf::from(RESOLVED_UPSTREAM));
    }
    Some(host.to_path_buf())
}

/// Whether a resolv.conf names nameservers and all of them are loopback addresses.
fn only_loopback_servers(text: &str) -> bool {
    let servers: Vec<&str> = text.lines().filter_map(|l| l.trim().strip_prefix("nameserver")).map(str::trim).collect();
    !servers.is_empty() && servers.iter().all(|s| s.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()))
}

/// Builds the runtime spec: pid/ipc/uts/mount namespaces, the host network or the allocation's
/// network namespace (`network`, joined by path), standard /proc, /dev and read-only /sys mounts, the
/// task's cgroups (read-only), the task binds, resource limits and cgroup `/drover/<id>`.
pub fn build_spec(spec: &ExecSpec, process: &ContainerProcess, limits: &Limits, network: Option<&Path>) -> Spec {
    let mut oci = Spec::default();

    let mut root = Root::default();
    root.set_path(PathBuf::from(ROOTFS_DIR)).set_readonly(Some(false));
    oci.set_root(Some(root));
    oci.set_hostname(spec.hostname.clone().filter(|h| !h.is_empty()));
    oci.set_annotations(None);

    let mut user = User::default();
    user.set_uid(process.user.uid).set_gid(process.user.gid);
    if !process.user.additional_gids.is_empty() {
        user.set_additional_gids(Some(process.user.additional_gids.clone()));
    }
    let caps: HashSet<Capability> = DEFAULT_CAPABILITIES.into_iter().collect();
    let mut capabilities = LinuxCapabilities::default();
    capabilities
        .set_bounding(Some(caps.clone()))
        .set_effective(Some(caps.clone()))
        .set_permitted(Some(caps))
        .set_inheritable(None)
        .set_ambient(None);
    let mut proc_ = Process::default();
    proc_
        .set_terminal(Some(false))
        .set_args(Some(process.args.clone()))
        .set_env(Some(process.env.clone()))
        .set_cwd(PathBuf::from(&process.cwd))
        .set_user(user)
        .set_no_new_privileges(Some(false))
        .set_capabilities(Some(capabilities))
        // No rlimits: the task inherits the executor's (as Docker tasks inherit the daemon's).
        .set_rlimits(None);
    oci.set_process(Some(proc_));

    // The default cgroup mount would give the task writable cgroup files (it could lift its own
    // limits); the task's own cgroups are bound read-only instead.
    let mut mounts: Vec<Mount> = get_default_mounts().into_iter().filter(|m| m.typ().as_deref() != Some("cgroup")).collect();
    mounts.extend(cgroup_mounts(&spec.id));
    for (source, destination, read_only) in bind_mounts(spec) {
        mounts.push(bind(source, PathBuf::from(destination), read_only));
    }
    oci.set_mounts(Some(mounts));

    let mut namespaces: Vec<LinuxNamespace> =
        [LinuxNamespaceType::Pid, LinuxNamespaceType::Ipc, LinuxNamespaceType::Uts, LinuxNamespaceType::Mount]
            .into_iter()
            .map(|typ| {
                let mut ns = LinuxNamespace::default();
                ns.set_typ(typ);
                ns
            })
            .collect();
    if let Some(path) = network {
        let mut ns = LinuxNamespace::default();
        ns.set_typ(LinuxNamespaceType::Network).set_path(Some(path.to_path_buf()));
        namespaces.push(ns);
    }
    let mut linux = Linux::default();
    linux.set_namespaces(Some(namespaces)).set_cgroups_path(Some(cgroups_path(&spec.id))).set_resources(Some(resources(limits)));
    oci.set_linux(Some(linux));
    oci
}

fn bind(source: PathBuf, destination: PathBuf, read_only: bool) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination)
        .set_typ(Some("bind".to_string()))
        .set_source(Some(source))
        .set_options(Some(["rbind", if read_only { "ro" } else { "rw" }, "nosuid", "nodev"].map(str::to_string).to_vec()));
    m
}

/// cgroup v1 controllers libcontainer creates `drover/<id>` in.
const V1_CONTROLLERS: [&str; 12] =
    ["cpu", "cpuacct", "cpuset", "devices", "hugetlb", "memory", "pids", "perf_event", "blkio", "net_prio", "net_cls", "freezer"];

/// The v1 controllers a task sees its own cgroup of: those runtimes read their limits from (a JVM's
/// or Go's memory limit, CPU quota and cpuset; pids). Every bind mount costs a container start about
/// a millisecond, so the others (blkio, devices, freezer, ...) are not shown.
const TASK_VISIBLE: [&str; 5] = ["cpu", "cpuacct", "cpuset", "memory", "pids"];

/// A tmpfs at /sys/fs/cgroup with, for each v1 hierarchy on the host that has a controller of
/// [`TASK_VISIBLE`], the task's own cgroup bound read-only at `/sys/fs/cgroup/<hierarchy>` (as Docker
/// shows them). Empty on a v2-only host.
pub fn cgroup_mounts(id: &str) -> Vec<Mount> {
    let Ok(entries) = std::fs::read_dir(CGROUP_ROOT) else {
        return Vec::new();
    };
    let mut hierarchies: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.split(',').all(|c| V1_CONTROLLERS.contains(&c)) && name.split(',').any(|c| TASK_VISIBLE.contains(&c)))
        .collect();
    if hierarchies.is_empty() {
        return Vec::new();
    }
    hierarchies.sort();
    let mut tmpfs = Mount::default();
    tmpfs
        .set_destination(PathBuf::from(CGROUP_ROOT))
        .set_typ(Some("tmpfs".to_string()))
        .set_source(Some(PathBuf::from("tmpfs")))
        .set_options(Some(["nosuid", "noexec", "nodev", "mode=755"].map(str::to_string).to_vec()));
    let mut mounts = vec![tmpfs];
    for h in hierarchies {
        let host = Path::new(CGROUP_ROOT).join(&h).join(CGROUP_PARENT).join(id);
        mounts.push(bind(host, Path::new(CGROUP_ROOT).join(&h), true));
    }
    mounts
}

fn resources(limits: &Limits) -> LinuxResources {
    let mut deny_all = LinuxDeviceCgroup::default();
    deny_all.set_allow(false).set_access(Some("rwm".to_string()));
    let mut res = LinuxResources::default();
    res.set_devices(Some(vec![deny_all]));
    if limits.memory_bytes > 0 {
        let bytes = i64::try_from(limits.memory_bytes).unwrap_or(i64::MAX);
        let mut mem = LinuxMemory::default();
        // swap = limit: no swap beyond the memory limit.
        mem.set_limit(Some(bytes)).set_swap(Some(bytes));
        if limits.memory_reservation_bytes > 0 {
            mem.set_reservation(Some(i64::try_from(limits.memory_reservation_bytes).unwrap_or(i64::MAX)));
        }
        res.set_memory(Some(mem));
    }
    let mut cpu = LinuxCpu::default();
    cpu.set_shares(Some(limits.cpu_shares));
    res.set_cpu(Some(cpu));
    if limits.pids_max > 0 {
        let mut pids = LinuxPids::default();
        pids.set_limit(limits.pids_max);
        res.set_pids(Some(pids));
    }
    res
}

/// Writes `<bundle>/config.json`.
pub fn write_config(bundle: &Path, oci: &Spec) -> Result<(), ExecutorError> {
    let path = bundle.join("config.json");
    oci.save(&path).map_err(|e| ExecutorError::Bundle { path, reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_resolvers() {
        assert!(only_loopback_servers("# stub\nnameserver 127.0.0.53\noptions edns0\n"));
        assert!(only_loopback_servers("nameserver ::1\n"));
        assert!(!only_loopback_servers("nameserver 127.0.0.53\nnameserver 10.0.0.2\n"));
        assert!(!only_loopback_servers("nameserver 10.255.255.53\n"));
        assert!(!only_loopback_servers("search example.com\n"));
    }
}
