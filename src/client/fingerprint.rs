//! Fingerprinting: what this machine is and has (cpu, memory, disk, kernel, drivers), as node attributes,
//! with the configured totals and reservations applied.

use std::collections::BTreeMap;
use std::path::Path;

use crate::core::node::{DriverInfo, Node, NodeResources};

use super::config::ClientConfig;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// (cores, total MHz).
pub fn cpu() -> (u32, u64) {
    let info = read("/proc/cpuinfo");
    let mhz: Vec<f64> =
        info.lines().filter(|l| l.starts_with("cpu MHz")).filter_map(|l| l.split(':').nth(1)?.trim().parse().ok()).collect();
    let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1);
    let per_core = mhz.first().copied().filter(|m| *m > 0.0).unwrap_or(2000.0);
    (cores, (per_core * f64::from(cores)) as u64)
}

fn memory_mb() -> u64 {
    read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

fn disk_mb(path: &Path) -> u64 {
    nix::sys::statvfs::statvfs(path).map(|s| s.blocks_available() * s.fragment_size() / (1024 * 1024)).unwrap_or(0)
}

fn cgroup_version() -> &'static str {
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "v2"
    } else {
        "v1"
    }
}

/// The node this client registers as.
pub fn node(cfg: &ClientConfig, node_id: &str) -> Node {
    let (cores, detected_mhz) = cpu();
    let mhz = cfg.cpu_total_compute.unwrap_or(detected_mhz);
    let memory = cfg.memory_total_mb.unwrap_or_else(memory_mb);
    let uts = nix::sys::utsname::uname().ok();
    let field = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
        uts.as_ref().map(|u| f(u).to_string_lossy().to_string()).unwrap_or_default()
    };
    let mut attrs = BTreeMap::new();
    attrs.insert("kernel.name".into(), field(|u| u.sysname()).to_lowercase());
    attrs.insert("kernel.version".into(), field(|u| u.release()));
    attrs.insert("cpu.arch".into(), std::env::consts::ARCH.into());
    attrs.insert("cpu.numcores".into(), cores.to_string());
    attrs.insert("cpu.totalcompute".into(), mhz.to_string());
    attrs.insert("memory.totalbytes".into(), (memory * 1024 * 1024).to_string());
    attrs.insert("unique.hostname".into(), field(|u| u.nodename()));
    attrs.insert("unique.network.ip-address".into(), cfg.network_ip.clone());
    attrs.insert("os.name".into(), os_release("ID"));
    attrs.insert("os.version".into(), os_release("VERSION_ID"));
    attrs.insert("os.cgroups.version".into(), cgroup_version().into());
    attrs.insert("nomad.version".into(), "1.9.0".into());
    attrs.insert("drover.version".into(), env!("CARGO_PKG_VERSION").into());
    let mut drivers = BTreeMap::new();
    let root = nix::unistd::Uid::effective().is_root();
    let container = DriverInfo {
        detected: true,
        healthy: root,
        health_description: if root { "Healthy".into() } else { "the container driver needs root".into() },
    };
    drivers.insert("container".to_string(), container.clone());
    drivers.insert("docker".to_string(), container);
    if cfg.raw_exec_enabled {
        drivers.insert("raw_exec".to_string(), DriverInfo { detected: true, healthy: true, health_description: "Healthy".into() });
    }
    for (name, d) in &drivers {
        if d.detected {
            attrs.insert(format!("driver.{name}"), "1".into());
        }
    }
    Node {
        id: node_id.into(),
        name: cfg.node_name.clone(),
        datacenter: cfg.datacenter.clone(),
        node_class: cfg.node_class.clone(),
        node_pool: cfg.node_pool.clone(),
        eligible: true,
        attributes: attrs,
        meta: cfg.meta.clone(),
        resources: NodeResources {
            cpu_mhz: mhz,
            cpu_cores: cores,
            memory_mb: memory,
            disk_mb: disk_mb(&cfg.data_dir),
            min_dynamic_port: cfg.min_dynamic_port,
            max_dynamic_port: cfg.max_dynamic_port,
            ip: cfg.network_ip.clone(),
        },
        reserved: cfg.reserved.clone(),
        drivers,
        http_addr: cfg.http_addr.clone(),
        ..Default::default()
    }
}

fn os_release(key: &str) -> String {
    read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(|v| v.trim_matches('"').to_string()))
        .unwrap_or_default()
}

/// The node id stored in the client's data dir, if it has one yet.
pub fn stored_node_id(data_dir: &Path) -> Option<String> {
    let id = std::fs::read_to_string(data_dir.join("client").join("node-id")).ok()?;
    let id = id.trim().to_string();
    (!id.is_empty()).then_some(id)
}

/// The node id, kept in the data dir so a restarted client is the same node.
pub fn node_id(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join("client").join("node-id");
    if let Some(id) = stored_node_id(data_dir) {
        return Ok(id);
    }
    std::fs::create_dir_all(path.parent().unwrap_or(data_dir))?;
    let id = uuid::Uuid::new_v4().to_string();
    std::fs::write(&path, &id)?;
    Ok(id)
}
