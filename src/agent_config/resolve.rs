//! The merged configuration into the agent's runtime configuration: the `-dev` base, defaults for what
//! nothing set, checks that span files and flags, and normalized addresses.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::agent::AgentConfig;
use crate::client::gc::GcConfig;
use crate::core::node::NodeReserved;
use crate::server::heartbeat::HeartbeatTtl;

use super::error::ConfigError;
use super::model::{FileConfig, Plugin};

/// What the configuration cannot say itself: the mode and the host's facts, gathered by the caller.
#[derive(Debug, Clone)]
pub struct Context {
    pub dev: bool,
    /// The default node name.
    pub hostname: String,
    /// The data directory `-dev` uses when none is set.
    pub dev_data_dir: PathBuf,
    pub image_dir: PathBuf,
}

pub const DEFAULT_HTTP_PORT: u16 = 4646;
pub const DEFAULT_RPC_PORT: u16 = 4647;
/// Nomad's default wait between join attempts.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(30);

/// What `-dev` sets before any file: both roles, a one-server cluster, and raw_exec.
pub fn dev_base() -> FileConfig {
    let mut c = FileConfig::default();
    c.server.enabled = Some(true);
    c.server.bootstrap_expect = Some(1);
    c.client.enabled = Some(true);
    c.plugins.insert("raw_exec".into(), Plugin { enabled: Some(true) });
    c
}

/// The `-dev` base (if any), then the files, then the flags, into the agent's configuration.
pub fn assemble(files: FileConfig, flags: FileConfig, cx: &Context) -> Result<AgentConfig, ConfigError> {
    let base = if cx.dev { dev_base() } else { FileConfig::default() };
    resolve(base.merge(files).merge(flags), cx)
}

/// A fully merged configuration into the agent's, with defaults for everything unset.
pub fn resolve(c: FileConfig, cx: &Context) -> Result<AgentConfig, ConfigError> {
    let data_dir = match (c.data_dir, cx.dev) {
        (Some(d), _) => PathBuf::from(d),
        (None, true) => cx.dev_data_dir.clone(),
        (None, false) => return invalid("a data directory is required: set data_dir in a config file or -data-dir, or use -dev".into()),
    };
    let (server, client) = (c.server, c.client);
    let join = server.server_join;
    if !join.retry_join.is_empty() {
        for (key, set) in [
            ("retry_join", !server.retry_join.is_empty()),
            ("retry_max", server.retry_max.is_some()),
            ("retry_interval", server.retry_interval.is_some()),
        ] {
            if set {
                return invalid(format!("server: server_join and {key} cannot both be defined; prefer setting the server_join block"));
            }
        }
    }
    let datacenter = c.datacenter.unwrap_or_else(|| "dc1".into());
    if datacenter.is_empty() || datacenter.contains(['\0', '*']) {
        return invalid(format!("datacenter \"{datacenter}\": must be non-empty and contain no '*' or NUL"));
    }
    let node_pool = client.node_pool.unwrap_or_else(|| "default".into());
    check_node_pool(&node_pool).or_else(|m| invalid(format!("node_pool \"{node_pool}\": {m}")))?;
    let (min_port, max_port) = (client.min_dynamic_port.unwrap_or(20000), client.max_dynamic_port.unwrap_or(32000));
    if min_port > max_port {
        return invalid(format!("client: min_dynamic_port ({min_port}) is greater than max_dynamic_port ({max_port})"));
    }
    let bind_addr = c.bind_addr.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let http_port = c.ports.http.unwrap_or(DEFAULT_HTTP_PORT);
    let rpc_port = c.ports.rpc.unwrap_or(DEFAULT_RPC_PORT);
    let mut servers = Vec::new();
    let mut seen = BTreeSet::new();
    for s in client.servers.iter().chain(&client.server_join.retry_join) {
        let s = with_port(s.trim(), DEFAULT_RPC_PORT);
        if seen.insert(s.clone()) {
            servers.push(s);
        }
    }
    let raw_exec_option = client.options.get("driver.raw_exec.enable").map(|v| matches!(v.as_str(), "1" | "true"));
    let raw_exec_plugin = c.plugins.get("raw_exec").and_then(|p| p.enabled);
    let reserved = client.reserved;
    Ok(AgentConfig {
        server: server.enabled.unwrap_or(false),
        client: client.enabled.unwrap_or(false),
        dev: cx.dev,
        data_dir,
        bind_addr,
        http_bind: c.addresses.http.unwrap_or(bind_addr),
        rpc_bind: c.addresses.rpc.unwrap_or(bind_addr),
        http_port,
        rpc_port,
        advertise_http: c.advertise.http.map(|a| with_port(&a, http_port)),
        advertise_rpc: c.advertise.rpc.map(|a| with_port(&a, rpc_port)),
        node_name: c.name.unwrap_or_else(|| cx.hostname.clone()),
        datacenter,
        region: c.region.unwrap_or_else(|| "global".into()),
        image_dir: cx.image_dir.clone(),
        log_level: c.log_level.unwrap_or_else(|| "info".into()),
        log_json: c.log_json.unwrap_or(false),
        bootstrap_expect: server.bootstrap_expect.unwrap_or(0),
        retry_join: if join.retry_join.is_empty() { server.retry_join } else { join.retry_join },
        retry_max: join.retry_max.or(server.retry_max).unwrap_or(0),
        retry_interval: join.retry_interval.or(server.retry_interval).unwrap_or(DEFAULT_RETRY_INTERVAL),
        heartbeat_grace: server.heartbeat_grace.unwrap_or(crate::server::heartbeat::HEARTBEAT_GRACE),
        heartbeat_ttl: {
            let d = HeartbeatTtl::default();
            HeartbeatTtl {
                min: server.min_heartbeat_ttl.unwrap_or(d.min),
                max_per_second: server.max_heartbeats_per_second.unwrap_or(d.max_per_second),
            }
        },
        num_schedulers: server.num_schedulers.map_or(crate::server::leader::WORKERS, |n| n as usize),
        raft_multiplier: server.raft_multiplier.unwrap_or(1),
        raft_snapshot_threshold: server.raft_snapshot_threshold,
        raft_snapshot_interval: server.raft_snapshot_interval,
        raft_trailing_logs: server.raft_trailing_logs,
        servers,
        raw_exec_enabled: raw_exec_plugin.or(raw_exec_option).unwrap_or(false),
        node_class: client.node_class.unwrap_or_default(),
        node_pool,
        node_meta: client.meta,
        client_options: client.options,
        reserved: NodeReserved {
            cpu_mhz: reserved.cpu.unwrap_or(0),
            memory_mb: reserved.memory_mb.unwrap_or(0),
            disk_mb: reserved.disk_mb.unwrap_or(0),
            ports: reserved.reserved_ports.unwrap_or_default(),
        },
        min_dynamic_port: min_port,
        max_dynamic_port: max_port,
        network_interface: client.network_interface.filter(|i| !i.is_empty()),
        cpu_total_compute: client.cpu_total_compute.filter(|n| *n > 0),
        memory_total_mb: client.memory_total_mb.filter(|n| *n > 0),
        host_volumes: client.host_volumes,
        bridge_network_name: client.bridge_network_name.unwrap_or_default(),
        bridge_network_subnet: client.bridge_network_subnet.unwrap_or_default(),
        client_gc: {
            let d = GcConfig::default();
            GcConfig {
                interval: client.gc_interval.unwrap_or(d.interval),
                max_allocs: client.gc_max_allocs.map_or(d.max_allocs, |n| usize::try_from(n).unwrap_or(usize::MAX)),
                disk_usage_threshold: client.gc_disk_usage_threshold.unwrap_or(d.disk_usage_threshold),
                inode_usage_threshold: client.gc_inode_usage_threshold.unwrap_or(d.inode_usage_threshold),
            }
        },
    })
}

fn invalid<T>(message: String) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid(message))
}

/// Nomad's node pool names: 1 to 128 letters, digits, `-` and `_`; `all` is reserved.
fn check_node_pool(p: &str) -> Result<(), String> {
    if p == "all" {
        return Err("a node cannot register in the built-in \"all\" pool".into());
    }
    if p.is_empty() || p.len() > 128 || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err("must be 1 to 128 letters, digits, '-' or '_'".into());
    }
    Ok(())
}

/// `addr` as `host:port`, adding `port` when it has none (`10.0.0.1`, `fe80::1`, `server1`).
pub(crate) fn with_port(addr: &str, port: u16) -> String {
    if addr.parse::<SocketAddr>().is_ok() {
        return addr.to_string();
    }
    if let Ok(ip) = addr.parse::<IpAddr>() {
        return SocketAddr::new(ip, port).to_string();
    }
    match addr.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') && p.parse::<u16>().is_ok() => addr.to_string(),
        _ => format!("{addr}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context { dev: false, hostname: "host1".into(), dev_data_dir: "/tmp/dev".into(), image_dir: "/images".into() }
    }

    #[test]
    fn addresses_get_default_ports() {
        assert_eq!(with_port("10.0.0.1", 4647), "10.0.0.1:4647");
        assert_eq!(with_port("10.0.0.1:5000", 4647), "10.0.0.1:5000");
        assert_eq!(with_port("fe80::1", 4647), "[fe80::1]:4647");
        assert_eq!(with_port("[fe80::1]:9", 4647), "[fe80::1]:9");
        assert_eq!(with_port("server1", 4647), "server1:4647");
        assert_eq!(with_port("server1:80", 4647), "server1:80");
    }

    #[test]
    fn defaults_without_files() {
        let e = resolve(FileConfig::default(), &context()).unwrap_err();
        assert!(e.to_string().contains("data directory is required"), "{e}");
        let c = FileConfig { data_dir: Some("/d".into()), ..FileConfig::default() };
        let a = resolve(c, &context()).unwrap();
        assert_eq!((a.node_name.as_str(), a.datacenter.as_str(), a.region.as_str()), ("host1", "dc1", "global"));
        assert_eq!((a.http_port, a.rpc_port, a.bootstrap_expect, a.num_schedulers), (4646, 4647, 0, crate::server::leader::WORKERS));
        assert_eq!((a.node_pool.as_str(), a.min_dynamic_port, a.max_dynamic_port), ("default", 20000, 32000));
        assert_eq!(a.http_bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(!a.server && !a.client && !a.raw_exec_enabled);
    }

    #[test]
    fn dev_base_is_a_one_server_cluster_with_raw_exec() {
        let cx = Context { dev: true, ..context() };
        let a = assemble(FileConfig::default(), FileConfig::default(), &cx).unwrap();
        assert!(a.server && a.client && a.raw_exec_enabled && a.dev);
        assert_eq!((a.bootstrap_expect, a.data_dir), (1, PathBuf::from("/tmp/dev")));
    }

    #[test]
    fn inconsistent_settings_are_refused() {
        let mut c = FileConfig { data_dir: Some("/d".into()), ..FileConfig::default() };
        c.server.server_join.retry_join = vec!["a".into()];
        c.server.retry_join = vec!["b".into()];
        let e = resolve(c.clone(), &context()).unwrap_err().to_string();
        assert_eq!(e, "server: server_join and retry_join cannot both be defined; prefer setting the server_join block");
        c.server.retry_join.clear();
        c.client.min_dynamic_port = Some(30000);
        c.client.max_dynamic_port = Some(25000);
        assert!(resolve(c.clone(), &context()).unwrap_err().to_string().contains("min_dynamic_port (30000)"));
        c.client.max_dynamic_port = None;
        c.client.node_pool = Some("all".into());
        assert!(resolve(c.clone(), &context()).unwrap_err().to_string().contains("\"all\" pool"));
        c.client.node_pool = Some("bad pool".into());
        assert!(resolve(c, &context()).is_err());
    }
}
