//! Merging configurations as Nomad merges agent files (and the command line over them): a value set later
//! replaces an earlier one, maps merge key by key, `client.servers` and the old `server.retry_join` append,
//! a non-empty `server_join.retry_join` replaces, host volumes and plugins replace by name.

use super::model::{Addresses, Advertise, ClientFile, FileConfig, Ports, Reserved, ServerFile, ServerJoin};

fn set<T>(into: &mut Option<T>, from: Option<T>) {
    if from.is_some() {
        *into = from;
    }
}

impl FileConfig {
    /// `self` with `over` merged on top of it.
    pub fn merge(mut self, over: FileConfig) -> FileConfig {
        set(&mut self.name, over.name);
        set(&mut self.region, over.region);
        set(&mut self.datacenter, over.datacenter);
        set(&mut self.data_dir, over.data_dir);
        set(&mut self.bind_addr, over.bind_addr);
        set(&mut self.log_level, over.log_level);
        set(&mut self.log_json, over.log_json);
        self.ports.merge(over.ports);
        self.addresses.merge(over.addresses);
        self.advertise.merge(over.advertise);
        self.server.merge(over.server);
        self.client.merge(over.client);
        self.plugins.extend(over.plugins);
        self
    }
}

impl Ports {
    fn merge(&mut self, over: Ports) {
        set(&mut self.http, over.http);
        set(&mut self.rpc, over.rpc);
    }
}

impl Addresses {
    fn merge(&mut self, over: Addresses) {
        set(&mut self.http, over.http);
        set(&mut self.rpc, over.rpc);
    }
}

impl Advertise {
    fn merge(&mut self, over: Advertise) {
        set(&mut self.http, over.http);
        set(&mut self.rpc, over.rpc);
    }
}

impl ServerJoin {
    fn merge(&mut self, over: ServerJoin) {
        if !over.retry_join.is_empty() {
            self.retry_join = over.retry_join;
        }
        set(&mut self.retry_max, over.retry_max);
        set(&mut self.retry_interval, over.retry_interval);
    }
}

impl ServerFile {
    fn merge(&mut self, over: ServerFile) {
        set(&mut self.enabled, over.enabled);
        set(&mut self.bootstrap_expect, over.bootstrap_expect);
        self.server_join.merge(over.server_join);
        self.retry_join.extend(over.retry_join);
        set(&mut self.retry_max, over.retry_max);
        set(&mut self.retry_interval, over.retry_interval);
        set(&mut self.heartbeat_grace, over.heartbeat_grace);
        set(&mut self.min_heartbeat_ttl, over.min_heartbeat_ttl);
        set(&mut self.max_heartbeats_per_second, over.max_heartbeats_per_second);
        set(&mut self.num_schedulers, over.num_schedulers);
        set(&mut self.raft_multiplier, over.raft_multiplier);
        set(&mut self.raft_snapshot_threshold, over.raft_snapshot_threshold);
        set(&mut self.raft_snapshot_interval, over.raft_snapshot_interval);
        set(&mut self.raft_trailing_logs, over.raft_trailing_logs);
    }
}

impl Reserved {
    fn merge(&mut self, over: Reserved) {
        set(&mut self.cpu, over.cpu);
        set(&mut self.memory_mb, over.memory_mb);
        set(&mut self.disk_mb, over.disk_mb);
        set(&mut self.reserved_ports, over.reserved_ports);
    }
}

impl ClientFile {
    fn merge(&mut self, over: ClientFile) {
        set(&mut self.enabled, over.enabled);
        self.servers.extend(over.servers);
        self.server_join.merge(over.server_join);
        set(&mut self.node_class, over.node_class);
        set(&mut self.node_pool, over.node_pool);
        self.meta.extend(over.meta);
        self.options.extend(over.options);
        self.reserved.merge(over.reserved);
        set(&mut self.min_dynamic_port, over.min_dynamic_port);
        set(&mut self.max_dynamic_port, over.max_dynamic_port);
        set(&mut self.network_interface, over.network_interface);
        set(&mut self.cpu_total_compute, over.cpu_total_compute);
        set(&mut self.memory_total_mb, over.memory_total_mb);
        self.host_volumes.extend(over.host_volumes);
        set(&mut self.bridge_network_name, over.bridge_network_name);
        set(&mut self.bridge_network_subnet, over.bridge_network_subnet);
        set(&mut self.gc_interval, over.gc_interval);
        set(&mut self.gc_max_allocs, over.gc_max_allocs);
        set(&mut self.gc_disk_usage_threshold, over.gc_disk_usage_threshold);
        set(&mut self.gc_inode_usage_threshold, over.gc_inode_usage_threshold);
    }
}
