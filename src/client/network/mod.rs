//! Allocation networking on the client: Nomad's group `network { mode = … }`. `host` shares the
//! node's namespace (nothing to do); `none` gives the allocation a namespace with only `lo`;
//! `bridge` gives it a namespace connected to the node's bridge, an address leased from the bridge's
//! subnet and its ports published on the node. All of it is made here, in the agent, with `ip` and
//! `nft`, before the tasks start (they join the namespace through their executor), and removed when
//! the allocation's tasks have all ended. Setup and teardown are idempotent: a restarted agent sets
//! up a running allocation again and reuses its namespace; a teardown may run any number of times.

pub mod bridge;
pub mod command;
pub mod ipam;
pub mod netns;
pub mod ports;
pub mod veth;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::core::alloc::Allocation;

use bridge::Bridge;

/// Where leases are kept, one directory per bridge: host-wide, gone on reboot with the namespaces.
pub const LEASE_ROOT: &str = "/run/drover/network";

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("running {program}: {source}")]
    Spawn {
        program: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bridge subnet {0:?} is not an IPv4 network a.b.c.d/n with n from 8 to 30")]
    Subnet(String),
    #[error("bridge name {0:?} must be 1 to 15 letters, digits, '-' or '_'")]
    BridgeName(String),
    #[error("no free address left in the bridge subnet {subnet}")]
    Exhausted { subnet: String },
    #[error("network mode {0:?} is not supported (host, bridge or none)")]
    Mode(String),
}

/// An allocation's own network namespace, as its tasks join it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocNetwork {
    /// The namespace file (`/run/netns/drover-<alloc id>`).
    pub netns: PathBuf,
    /// The allocation's address on the bridge; `None` in mode `none`.
    pub ip: Option<Ipv4Addr>,
}

/// Setups and teardowns of this agent run one at a time: the bridge, `/run/netns` and the shared
/// nft table are made by whichever comes first, never by two at once.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The directory of `bridge`'s leases.
pub fn lease_dir(bridge: &Bridge) -> PathBuf {
    Path::new(LEASE_ROOT).join(&bridge.name)
}

/// Sets up the allocation's network for its mode; `None` for `host`. Safe to run again for an
/// allocation that is already set up (its namespace, address and tasks stay). A failed setup of a
/// namespace made by this call is undone.
pub fn setup(bridge: &Bridge, alloc: &Allocation) -> Result<Option<AllocNetwork>, NetworkError> {
    let mode: &str = &alloc.resources.network_mode;
    let bridged = match mode {
        "" | "host" => return Ok(None),
        "bridge" => true,
        "none" => false,
        other => return Err(NetworkError::Mode(other.to_string())),
    };
    let _one_at_a_time = serial();
    let id = alloc.id.as_str();
    let created = netns::ensure(id)?;
    let done =
        netns::ip_in(id, &["link", "set", "lo", "up"]).and_then(|_| if bridged { connect(bridge, alloc).map(Some) } else { Ok(None) });
    match done {
        Ok(ip) => {
            if created {
                tracing::info!(alloc_id = id, mode, ip = ?ip, "allocation network created");
            } else {
                tracing::info!(alloc_id = id, mode, ip = ?ip, "allocation network reused");
            }
            Ok(Some(AllocNetwork { netns: netns::path(id), ip }))
        }
        Err(e) => {
            if created {
                if let Err(undo) = teardown(bridge, id) {
                    tracing::warn!(alloc_id = id, error = %undo, "undoing a failed network setup");
                }
            }
            Err(e)
        }
    }
}

/// The bridge, the allocation's address, its veth pair and its published ports.
fn connect(bridge: &Bridge, alloc: &Allocation) -> Result<Ipv4Addr, NetworkError> {
    bridge.ensure()?;
    let ip = ipam::lease(&lease_dir(bridge), &bridge.subnet, &alloc.id)?;
    veth::ensure(&alloc.id, bridge, ip)?;
    ports::install(&alloc.id, ip, &ports::forwards(&alloc.resources.ports))?;
    Ok(ip)
}

/// Whether allocations of that network mode get a namespace of their own.
pub fn has_namespace(mode: &str) -> bool {
    matches!(mode, "bridge" | "none")
}

/// Whether the allocation still has a namespace (or its file) on this node.
pub fn exists(alloc_id: &str) -> bool {
    netns::path(alloc_id).exists() || command::link_exists(&veth::host_name(alloc_id))
}

/// Removes everything the allocation's network holds: its port forwards, its veth pair, its lease
/// (once no interface holds the address) and, last, its namespace, so that an agent that died
/// halfway still finds the namespace ([`exists`]) and tears down again. Every step runs (in order)
/// even when an earlier one failed; the first error is returned. Nothing to do for an allocation
/// without a network.
pub fn teardown(bridge: &Bridge, alloc_id: &str) -> Result<(), NetworkError> {
    let _one_at_a_time = serial();
    let steps = [ports::remove(alloc_id), veth::remove(alloc_id), ipam::release(&lease_dir(bridge), alloc_id), netns::remove(alloc_id)];
    let mut first = None;
    for r in steps {
        if let Err(e) = r {
            tracing::warn!(alloc_id, error = %e, "network teardown step failed");
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}
