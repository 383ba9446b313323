//! The link between an allocation's namespace and the bridge: a veth pair whose host end
//! (`dv<first 13 hex digits of the alloc id>`) is a port of the bridge and whose other end is the
//! namespace's `eth0`, holding the allocation's address, with the default route via the gateway.

use std::net::Ipv4Addr;

use super::bridge::Bridge;
use super::command::{ip, link_exists};
use super::netns;
use super::NetworkError;

/// The host end's name (at most 15 bytes, as the kernel allows).
pub fn host_name(alloc_id: &str) -> String {
    let hex: String = alloc_id.chars().filter(char::is_ascii_alphanumeric).take(13).collect();
    format!("dv{hex}")
}

/// Connects the allocation's namespace to the bridge with `ip`; each step is idempotent, so a
/// restarted agent runs it again over a live allocation without disturbing it.
pub fn ensure(alloc_id: &str, bridge: &Bridge, addr: Ipv4Addr) -> Result<(), NetworkError> {
    let host = host_name(alloc_id);
    if !link_exists(&host) {
        // An interrupted setup may have left an `eth0` whose peer is gone.
        if netns::ip_in(alloc_id, &["link", "show", "eth0"]).is_ok() {
            netns::ip_in(alloc_id, &["link", "delete", "eth0"])?;
        }
        ip(&["link", "add", &host, "type", "veth", "peer", "name", "eth0", "netns", &netns::name(alloc_id)])?;
    }
    ip(&["link", "set", &host, "master", &bridge.name, "up"])?;
    let cidr = format!("{addr}/{}", bridge.subnet.prefix());
    netns::ip_in(alloc_id, &["addr", "replace", &cidr, "dev", "eth0"])?;
    netns::ip_in(alloc_id, &["link", "set", "eth0", "up"])?;
    netns::ip_in(alloc_id, &["route", "replace", "default", "via", &bridge.subnet.gateway().to_string()])?;
    Ok(())
}

/// Removes the pair (deleting one end deletes both); nothing to do when it is gone.
pub fn remove(alloc_id: &str) -> Result<(), NetworkError> {
    let host = host_name(alloc_id);
    if !link_exists(&host) {
        return Ok(());
    }
    match ip(&["link", "delete", &host]) {
        // gone meanwhile, with its namespace
        Err(_) if !link_exists(&host) => Ok(()),
        r => r.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_names_fit_the_kernel_limit() {
        assert_eq!(super::host_name("0a1b2c3d-aaaa-bbbb-cccc-123456789012"), "dv0a1b2c3daaaab");
        assert!(super::host_name("0a1b2c3d-aaaa-bbbb-cccc-123456789012").len() <= 15);
    }
}
