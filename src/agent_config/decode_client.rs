//! The `client` block: enabling the role, servers to register with, the node's identity (class, pool, meta),
//! options, reserved and overridden capacity, the dynamic port range, host volumes, and the bridge
//! of `bridge` mode allocations.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::client::config::HostVolume;
use crate::jobspec::{Cx, ErrorKind};

use super::decode_server::{server_join, SERVER_JOIN};
use super::keys::{Block, Keys};
use super::model::{ClientFile, Reserved};

pub(crate) const CLIENT: Keys = Keys {
    used: &[
        "enabled",
        "servers",
        "server_join",
        "node_class",
        "node_pool",
        "meta",
        "options",
        "reserved",
        "min_dynamic_port",
        "max_dynamic_port",
        "network_interface",
        "cpu_total_compute",
        "memory_total_mb",
        "host_volume",
        "bridge_network_name",
        "bridge_network_subnet",
        "gc_interval",
        "gc_max_allocs",
        "gc_disk_usage_threshold",
        "gc_inode_usage_threshold",
    ],
    ignored: &[
        "state_dir",
        "alloc_dir",
        "alloc_mounts_dir",
        "chroot_env",
        "preferred_address_family",
        "network_speed",
        "disk_total_mb",
        "disk_free_mb",
        "reservable_cores",
        "max_kill_timeout",
        "client_max_port",
        "client_min_port",
        "gc_parallel_destroys",
        "no_host_uuid",
        "disable_remote_exec",
        "template",
        "cni_path",
        "cni_config_dir",
        "bridge_network_subnet_ipv6",
        "bridge_network_hairpin_mode",
        "host_network",
        "bind_wildcard_default_host_network",
        "cgroup_parent",
        "nomad_service_discovery",
        "artifact",
        "drain_on_shutdown",
        "users",
    ],
};

const RESERVED: Keys = Keys { used: &["cpu", "memory", "disk", "reserved_ports"], ignored: &["cores"] };
const HOST_VOLUME: Keys = Keys { used: &["path", "read_only"], ignored: &[] };

pub(crate) fn client(cx: &mut Cx<'_>, b: &Block<'_>, c: &mut ClientFile) {
    c.enabled = b.get(cx, "enabled").or(c.enabled);
    c.servers.extend(b.get::<Vec<String>>(cx, "servers").unwrap_or_default());
    b.block(cx, "server_join", &SERVER_JOIN, |cx, j| server_join(cx, j, &mut c.server_join));
    c.node_class = b.get(cx, "node_class").or(c.node_class.take());
    c.node_pool = b.get(cx, "node_pool").or(c.node_pool.take());
    c.meta.extend(b.string_map(cx, "meta"));
    c.options.extend(b.string_map(cx, "options"));
    b.block(cx, "reserved", &RESERVED, |cx, r| reserved(cx, r, &mut c.reserved));
    c.min_dynamic_port = b.checked(cx, "min_dynamic_port", nonzero).or(c.min_dynamic_port);
    c.max_dynamic_port = b.checked(cx, "max_dynamic_port", nonzero).or(c.max_dynamic_port);
    c.network_interface = b.get(cx, "network_interface").or(c.network_interface.take());
    c.cpu_total_compute = b.get(cx, "cpu_total_compute").or(c.cpu_total_compute);
    c.memory_total_mb = b.get(cx, "memory_total_mb").or(c.memory_total_mb);
    c.bridge_network_name = b.get(cx, "bridge_network_name").or(c.bridge_network_name.take());
    c.bridge_network_subnet = b.get(cx, "bridge_network_subnet").or(c.bridge_network_subnet.take());
    c.gc_interval = b.duration(cx, "gc_interval").or(c.gc_interval);
    c.gc_max_allocs =
        b.checked(cx, "gc_max_allocs", |n: &u64| if *n == 0 { Err("must be at least 1".into()) } else { Ok(()) }).or(c.gc_max_allocs);
    c.gc_disk_usage_threshold = b.checked(cx, "gc_disk_usage_threshold", percent).or(c.gc_disk_usage_threshold);
    c.gc_inode_usage_threshold = b.checked(cx, "gc_inode_usage_threshold", percent).or(c.gc_inode_usage_threshold);
    for (name, v) in b.labeled(cx, "host_volume", &HOST_VOLUME) {
        if c.host_volumes.contains_key(&name) {
            cx.error(v.node.at, &b.path, ErrorKind::Invalid(format!("host volume \"{name}\" is defined more than once")));
            continue;
        }
        let Some(path) = v.get::<String>(cx, "path") else {
            if !v.node.entries().iter().any(|e| e.key == "path") {
                cx.error(v.node.at, &v.path, ErrorKind::MissingAttribute("path".into()));
            }
            continue;
        };
        let read_only = v.get(cx, "read_only").unwrap_or(false);
        c.host_volumes.insert(name, HostVolume { path: PathBuf::from(path), read_only });
    }
}

fn percent(p: &f64) -> Result<(), String> {
    if (0.0..=100.0).contains(p) {
        Ok(())
    } else {
        Err(format!("must be a percentage from 0 to 100, got {p}"))
    }
}

fn nonzero(p: &u16) -> Result<(), String> {
    if *p == 0 {
        Err("must be a port number from 1 to 65535".into())
    } else {
        Ok(())
    }
}

fn reserved(cx: &mut Cx<'_>, b: &Block<'_>, r: &mut Reserved) {
    r.cpu = b.get(cx, "cpu").or(r.cpu);
    r.memory_mb = b.get(cx, "memory").or(r.memory_mb);
    r.disk_mb = b.get(cx, "disk").or(r.disk_mb);
    r.reserved_ports = b.parsed(cx, "reserved_ports", port_ranges).or(r.reserved_ports.take());
}

/// Nomad's port list syntax, `"22,80,8000-8100"`, into sorted distinct ports.
pub(crate) fn port_ranges(s: &str) -> Result<Vec<u16>, String> {
    let mut out = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let port = |p: &str| match p.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("invalid port \"{}\" in \"{s}\"", p.trim())),
            Ok(n) => Ok(n),
        };
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (port(lo)?, port(hi)?);
                if lo > hi {
                    return Err(format!("invalid range \"{part}\": the first port is greater than the last"));
                }
                out.extend(lo..=hi);
            }
            None => {
                out.insert(port(part)?);
            }
        }
    }
    Ok(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::port_ranges;

    #[test]
    fn nomad_port_ranges() {
        assert_eq!(port_ranges("22, 80,8000-8002,80"), Ok(vec![22, 80, 8000, 8001, 8002]));
        assert_eq!(port_ranges(""), Ok(vec![]));
        assert!(port_ranges("80-70").is_err());
        assert!(port_ranges("http").is_err());
        assert!(port_ranges("70000").is_err());
        assert!(port_ranges("0").is_err());
    }
}
