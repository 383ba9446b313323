//! The agent configuration file model: what one file (or the command line) sets, every value optional so
//! that files and flags can be merged before defaults are applied.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::client::config::HostVolume;

/// One configuration file, the merge of several, or the overlay the command-line flags make.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileConfig {
    pub name: Option<String>,
    pub region: Option<String>,
    pub datacenter: Option<String>,
    pub data_dir: Option<String>,
    pub bind_addr: Option<IpAddr>,
    pub log_level: Option<String>,
    pub log_json: Option<bool>,
    pub ports: Ports,
    pub addresses: Addresses,
    pub advertise: Advertise,
    pub server: ServerFile,
    pub client: ClientFile,
    /// `plugin "name" { … }` blocks; a later block for the same plugin replaces the earlier one.
    pub plugins: BTreeMap<String, Plugin>,
}

/// `ports { http, rpc }` (`serf` is accepted and ignored: Drover has no gossip layer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ports {
    pub http: Option<u16>,
    pub rpc: Option<u16>,
}

/// `addresses { http, rpc }`: per-listener bind addresses that override `bind_addr`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addresses {
    pub http: Option<IpAddr>,
    pub rpc: Option<IpAddr>,
}

/// `advertise { http, rpc }`: how other agents reach this one, `host` or `host:port`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertise {
    pub http: Option<String>,
    pub rpc: Option<String>,
}

/// `server_join { retry_join, retry_max, retry_interval }`, in a server or a client block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerJoin {
    pub retry_join: Vec<String>,
    pub retry_max: Option<u32>,
    pub retry_interval: Option<Duration>,
}

/// The `server` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerFile {
    pub enabled: Option<bool>,
    pub bootstrap_expect: Option<u32>,
    pub server_join: ServerJoin,
    /// The pre-0.10 form, `server { retry_join = [...] }`; it appends across files as in Nomad.
    pub retry_join: Vec<String>,
    pub retry_max: Option<u32>,
    pub retry_interval: Option<Duration>,
    pub heartbeat_grace: Option<Duration>,
    pub min_heartbeat_ttl: Option<Duration>,
    pub max_heartbeats_per_second: Option<f64>,
    pub num_schedulers: Option<u32>,
    pub raft_multiplier: Option<u32>,
    /// Applied entries between Raft snapshots.
    pub raft_snapshot_threshold: Option<u64>,
    /// How often a server checks whether `raft_snapshot_threshold` entries were applied since its last snapshot.
    pub raft_snapshot_interval: Option<Duration>,
    /// Entries kept in the log behind a snapshot for followers that lag a little.
    pub raft_trailing_logs: Option<u64>,
}

/// `client { reserved { … } }`: capacity held back from scheduling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reserved {
    /// MHz.
    pub cpu: Option<u64>,
    pub memory_mb: Option<u64>,
    pub disk_mb: Option<u64>,
    /// Expanded from Nomad's `"22,80,8000-8100"` form.
    pub reserved_ports: Option<Vec<u16>>,
}

/// The `client` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientFile {
    pub enabled: Option<bool>,
    /// Server RPC addresses; lists from several files append, as in Nomad.
    pub servers: Vec<String>,
    pub server_join: ServerJoin,
    pub node_class: Option<String>,
    pub node_pool: Option<String>,
    pub meta: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub reserved: Reserved,
    pub min_dynamic_port: Option<u16>,
    pub max_dynamic_port: Option<u16>,
    pub network_interface: Option<String>,
    pub cpu_total_compute: Option<u64>,
    pub memory_total_mb: Option<u64>,
    pub host_volumes: BTreeMap<String, HostVolume>,
    pub bridge_network_name: Option<String>,
    pub bridge_network_subnet: Option<String>,
    pub gc_interval: Option<std::time::Duration>,
    pub gc_max_allocs: Option<u64>,
    pub gc_disk_usage_threshold: Option<f64>,
    pub gc_inode_usage_threshold: Option<f64>,
}

/// A `plugin "name" { config { … } }` block; only `raw_exec`'s `enabled` has an effect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plugin {
    /// `config { enabled = … }`, for the drivers that have that switch.
    pub enabled: Option<bool>,
}
