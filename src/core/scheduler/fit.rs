//! Resource fit: what a group asks for, what a node has free, and port assignment.

use std::collections::BTreeSet;

use crate::core::alloc::Allocation;
use crate::core::job::TaskGroup;
use crate::core::node::Node;
use crate::core::resources::{AllocatedPort, AllocatedResources, TaskResources};
use crate::core::rng::SeededRng;
use crate::core::state::ClusterState;
use crate::core::text::Text;

/// Dimensions named in placement metrics, as Nomad names them.
pub const DIM_CPU: &str = "cpu";
pub const DIM_MEMORY: &str = "memory";
pub const DIM_DISK: &str = "disk";
pub const DIM_PORT_COLLISION: &str = "network: reserved port collision";
pub const DIM_PORT_EXHAUSTED: &str = "network: dynamic port selection failed";

/// What one allocation of a group needs on a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ask {
    pub cpu: u64,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub static_ports: Vec<u16>,
    pub dynamic_ports: usize,
}

impl Ask {
    pub fn of_group(g: &TaskGroup) -> Self {
        let ports = g.networks.iter().chain(g.tasks.iter().flat_map(|t| &t.resources.networks));
        let (mut static_ports, mut dynamic_ports) = (Vec::new(), 0);
        for n in ports {
            static_ports.extend(n.reserved_ports.iter().map(|p| p.value));
            dynamic_ports += n.dynamic_ports.len();
        }
        Self {
            cpu: g.tasks.iter().map(|t| t.resources.cpu).sum(),
            memory_mb: g.tasks.iter().map(|t| t.resources.memory_mb).sum(),
            disk_mb: g.ephemeral_disk.size_mb,
            static_ports,
            dynamic_ports,
        }
    }
}

/// What is in use on a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub cpu: u64,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub ports: BTreeSet<u16>,
}

impl Usage {
    pub fn add(&mut self, r: &AllocatedResources) {
        self.cpu += r.cpu();
        self.memory_mb += r.memory_mb();
        self.disk_mb += r.disk_mb;
        self.ports.extend(r.ports.iter().map(|p| p.value));
    }

    /// Takes an allocation's resources off (it is evicted).
    pub fn remove(&mut self, r: &AllocatedResources) {
        self.cpu = self.cpu.saturating_sub(r.cpu());
        self.memory_mb = self.memory_mb.saturating_sub(r.memory_mb());
        self.disk_mb = self.disk_mb.saturating_sub(r.disk_mb);
        for p in &r.ports {
            self.ports.remove(&p.value);
        }
    }

    /// Usage on `node_id` by allocations that hold resources, except those in `exclude`.
    pub fn of_node(state: &ClusterState, node_id: &str, exclude: &BTreeSet<&str>) -> Self {
        let mut u = Usage::default();
        for a in state.allocs_on_node(node_id) {
            if a.holds_resources() && !exclude.contains(a.id.as_str()) {
                u.add(&a.resources);
            }
        }
        u
    }
}

/// Free capacity check; the error is the exhausted dimension.
pub fn fits(node: &Node, used: &Usage, ask: &Ask) -> Result<(), &'static str> {
    let r = &node.resources;
    let v = &node.reserved;
    if used.cpu + ask.cpu > r.cpu_mhz.saturating_sub(v.cpu_mhz) {
        return Err(DIM_CPU);
    }
    if used.memory_mb + ask.memory_mb > r.memory_mb.saturating_sub(v.memory_mb) {
        return Err(DIM_MEMORY);
    }
    if r.disk_mb > 0 && used.disk_mb + ask.disk_mb > r.disk_mb.saturating_sub(v.disk_mb) {
        return Err(DIM_DISK);
    }
    let mut seen = BTreeSet::new();
    for p in &ask.static_ports {
        if used.ports.contains(p) || v.ports.contains(p) || !seen.insert(*p) {
            return Err(DIM_PORT_COLLISION);
        }
    }
    let range = u64::from(r.max_dynamic_port.saturating_sub(r.min_dynamic_port)) + 1;
    let taken = used.ports.iter().filter(|p| (r.min_dynamic_port..=r.max_dynamic_port).contains(p)).count() as u64;
    if ask.dynamic_ports as u64 + taken > range {
        return Err(DIM_PORT_EXHAUSTED);
    }
    Ok(())
}

/// Builds the allocation's resources on `node`: per-task cpu/memory, disk, and its ports with
/// dynamic ones drawn from the node's range (a seeded start, then the next free port).
pub fn allocate(node: &Node, used: &Usage, group: &TaskGroup, rng: &mut SeededRng) -> Result<AllocatedResources, &'static str> {
    let mut res = AllocatedResources {
        disk_mb: group.ephemeral_disk.size_mb,
        network_mode: Text::from(group.networks.first().map(|n| n.mode.clone()).unwrap_or_else(|| "host".into())),
        ..Default::default()
    };
    for t in &group.tasks {
        let r = &t.resources;
        res.tasks.insert(
            Text::from(&t.name),
            TaskResources { cpu: r.cpu, cores: r.cores, memory_mb: r.memory_mb, memory_max_mb: r.memory_max_mb },
        );
    }
    let mut taken: BTreeSet<u16> = used.ports.iter().chain(&node.reserved.ports).copied().collect();
    let (lo, hi) = (node.resources.min_dynamic_port, node.resources.max_dynamic_port);
    let networks = group.networks.iter().chain(group.tasks.iter().flat_map(|t| &t.resources.networks));
    for n in networks {
        for p in &n.reserved_ports {
            taken.insert(p.value);
            res.ports.push(AllocatedPort {
                label: Text::from(&p.label),
                value: p.value,
                to: p.to,
                host_ip: Text::from(&node.resources.ip),
            });
        }
        for p in &n.dynamic_ports {
            let span = u64::from(hi.saturating_sub(lo)) + 1;
            let start = rng.below(span);
            let value = (0..span).map(|i| lo + ((start + i) % span) as u16).find(|v| !taken.contains(v)).ok_or(DIM_PORT_EXHAUSTED)?;
            taken.insert(value);
            res.ports.push(AllocatedPort { label: Text::from(&p.label), value, to: p.to, host_ip: Text::from(&node.resources.ip) });
        }
    }
    Ok(res)
}

/// Whether adding `allocs` to `node` on top of `used` keeps it within capacity with no port used twice.
pub fn still_fits(node: &Node, used: &Usage, allocs: &[&Allocation]) -> bool {
    let mut u = used.clone();
    for a in allocs {
        for p in &a.resources.ports {
            if u.ports.contains(&p.value) || node.reserved.ports.contains(&p.value) {
                return false;
            }
            u.ports.insert(p.value);
        }
        u.cpu += a.resources.cpu();
        u.memory_mb += a.resources.memory_mb();
        u.disk_mb += a.resources.disk_mb;
    }
    let r = &node.resources;
    let v = &node.reserved;
    u.cpu <= r.cpu_mhz.saturating_sub(v.cpu_mhz)
        && u.memory_mb <= r.memory_mb.saturating_sub(v.memory_mb)
        && (r.disk_mb == 0 || u.disk_mb <= r.disk_mb.saturating_sub(v.disk_mb))
}
