//! Addresses for allocations on the bridge: the subnet's arithmetic, and leases kept as one file per
//! address (`<dir>/<ip>` holding the allocation id) so that every agent on the host, and an agent
//! restarted over running allocations, sees which addresses are taken.

use std::fs;
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::path::Path;

use super::NetworkError;

/// An IPv4 network such as `172.26.64.0/20`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Net {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Net {
    /// Parses `a.b.c.d/n` (n from 8 to 30: room for a gateway and at least one allocation); the
    /// address is reduced to its network.
    pub fn parse(s: &str) -> Result<Self, NetworkError> {
        let bad = || NetworkError::Subnet(s.to_string());
        let (addr, prefix) = s.trim().split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if !(8..=30).contains(&prefix) {
            return Err(bad());
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Self { network: Ipv4Addr::from(u32::from(addr) & mask), prefix })
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The bridge's own address: the first host of the network.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// Addresses that can be leased to allocations: every host address after the gateway.
    pub fn leasable(&self) -> impl Iterator<Item = Ipv4Addr> {
        let first = u32::from(self.network) + 2;
        let broadcast = u32::from(self.network) | (u32::MAX >> self.prefix);
        (first..broadcast).map(Ipv4Addr::from)
    }
}

impl std::fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn io(path: &Path, source: std::io::Error) -> NetworkError {
    NetworkError::Io { path: path.to_path_buf(), source }
}

/// The address leased to `alloc_id` in `dir`, if it holds one.
pub fn find(dir: &Path, alloc_id: &str) -> Option<Ipv4Addr> {
    fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let holder = fs::read_to_string(e.path()).ok()?;
        if holder.trim() == alloc_id {
            e.file_name().to_str()?.parse().ok()
        } else {
            None
        }
    })
}

/// Leases an address of `net` to `alloc_id`: the one it already holds, else the lowest free one
/// (taken by creating its file exclusively, so two agents never take the same).
pub fn lease(dir: &Path, net: &Ipv4Net, alloc_id: &str) -> Result<Ipv4Addr, NetworkError> {
    fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    if let Some(ip) = find(dir, alloc_id) {
        return Ok(ip);
    }
    for ip in net.leasable() {
        let path = dir.join(ip.to_string());
        match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(alloc_id.as_bytes()).map_err(|e| io(&path, e))?;
                return Ok(ip);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&path, e)),
        }
    }
    Err(NetworkError::Exhausted { subnet: net.to_string() })
}

/// Frees every address `dir` holds for `alloc_id` (none is fine).
pub fn release(dir: &Path, alloc_id: &str) -> Result<(), NetworkError> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(()) };
    for e in entries.flatten() {
        if fs::read_to_string(e.path()).is_ok_and(|holder| holder.trim() == alloc_id) {
            match fs::remove_file(e.path()) {
                Ok(()) => {}
                Err(err) if err.kind() == ErrorKind::NotFound => {}
                Err(err) => return Err(io(&e.path(), err)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_arithmetic() {
        let n = Ipv4Net::parse("172.26.64.0/20").unwrap();
        assert_eq!(n.gateway(), Ipv4Addr::new(172, 26, 64, 1));
        assert_eq!(n.leasable().next(), Some(Ipv4Addr::new(172, 26, 64, 2)));
        assert_eq!(n.leasable().last(), Some(Ipv4Addr::new(172, 26, 79, 254)));
        assert_eq!(n.leasable().count(), 4096 - 3);
        assert_eq!(Ipv4Net::parse("10.1.2.3/24").unwrap().to_string(), "10.1.2.0/24");
        for bad in ["10.0.0.0", "10.0.0.0/31", "10.0.0.0/4", "x/24", "10.0.0.0/x"] {
            assert!(Ipv4Net::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn leases_are_exclusive_kept_and_freed() {
        let dir = std::env::temp_dir().join(format!("drover-ipam-{}", uuid::Uuid::new_v4()));
        let net = Ipv4Net::parse("10.9.0.0/30").unwrap();
        let a = lease(&dir, &net, "alloc-a").unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 9, 0, 2));
        // the same allocation keeps its address (a restarted agent sets it up again)
        assert_eq!(lease(&dir, &net, "alloc-a").unwrap(), a);
        // a /30 has room for one allocation only
        assert!(matches!(lease(&dir, &net, "alloc-b"), Err(NetworkError::Exhausted { .. })));
        release(&dir, "alloc-a").unwrap();
        release(&dir, "alloc-a").unwrap();
        assert_eq!(find(&dir, "alloc-a"), None);
        assert_eq!(lease(&dir, &net, "alloc-b").unwrap(), a);
        fs::remove_dir_all(&dir).unwrap();
    }
}
