//! The OCI runtime bundle for a container task: `config.json` (built with oci-spec) next to the `rootfs` mount.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    get_default_mounts, Capability, Linux, LinuxCapabilities, LinuxCpu, LinuxDeviceCgroup, LinuxMemory,
    LinuxNamespace, LinuxNamespaceType, LinuxPids, LinuxResources, Mount, PosixRlimitBuilder, PosixRlimitType, Process,
    Root, Spec, User,
};

use super::cgroup::{Limits, CGROUP_PARENT};
use super::error::ExecutorError;
use super::process::ContainerProcess;
use crate::driver::spec::ExecSpec;

/// The bundle's root filesystem directory name (relative to the bundle).
pub const ROOTFS_DIR: &str = "rootfs";
const NOFILE_LIMIT: u64 = 65_536;

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
    for host_file in ["/etc/resolv.conf", "/etc/hosts"] {
        if Path::new(host_file).is_file() {
            binds.push((PathBuf::from(host_file), host_file, true));
        }
    }
    binds
}

/// Builds the runtime spec: pid/ipc/uts/mount namespaces (host network), standard /proc, /dev and
/// read-only /sys mounts, the task binds, resource limits and cgroup `/drover/<id>`.
pub fn build_spec(spec: &ExecSpec, process: &ContainerProcess, limits: &Limits) -> Result<Spec, ExecutorError> {
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
    let nofile = PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .soft(NOFILE_LIMIT)
        .hard(NOFILE_LIMIT)
        .build()
        .map_err(|e| ExecutorError::Bundle {
            path: spec.state_dir.join("config.json"),
            reason: e.to_string(),
        })?;
    let mut proc_ = Process::default();
    proc_
        .set_terminal(Some(false))
        .set_args(Some(process.args.clone()))
        .set_env(Some(process.env.clone()))
        .set_cwd(PathBuf::from(&process.cwd))
        .set_user(user)
        .set_no_new_privileges(Some(false))
        .set_capabilities(Some(capabilities))
        .set_rlimits(Some(vec![nofile]));
    oci.set_process(Some(proc_));

    let mut mounts = get_default_mounts();
    for (source, destination, read_only) in bind_mounts(spec) {
        let mut m = Mount::default();
        m.set_destination(PathBuf::from(destination))
            .set_typ(Some("bind".to_string()))
            .set_source(Some(source))
            .set_options(Some(vec![
                "rbind".to_string(),
                if read_only { "ro" } else { "rw" }.to_string(),
            ]));
        mounts.push(m);
    }
    oci.set_mounts(Some(mounts));

    let namespaces = [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
    ]
    .into_iter()
    .map(|typ| {
        let mut ns = LinuxNamespace::default();
        ns.set_typ(typ);
        ns
    })
    .collect();
    let mut linux = Linux::default();
    linux
        .set_namespaces(Some(namespaces))
        .set_cgroups_path(Some(cgroups_path(&spec.id)))
        .set_resources(Some(resources(limits)));
    oci.set_linux(Some(linux));
    Ok(oci)
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
    oci.save(&path).map_err(|e| ExecutorError::Bundle {
        path,
        reason: e.to_string(),
    })
}
