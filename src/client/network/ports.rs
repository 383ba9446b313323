//! Published ports of a `bridge` allocation: one nft table per allocation (`drover-alloc-<id>`)
//! whose rules DNAT each allocated host port, on every address of the node, to `<alloc ip>:<to>`,
//! for traffic arriving from outside (prerouting) and from the node itself (output). A table per
//! allocation is replaced and removed whole, in one transaction, without touching anything else.

use std::fmt::Write;
use std::net::Ipv4Addr;

use crate::core::resources::AllocatedPort;

use super::command::nft;
use super::NetworkError;

/// One published port: the node's port and the port inside the allocation's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    pub host: u16,
    pub to: u16,
}

/// The allocation's forwards: each allocated port to its `to` (to its own number when `to` is unset
/// or -1, as Nomad maps them).
pub fn forwards(ports: &[AllocatedPort]) -> Vec<Forward> {
    ports
        .iter()
        .filter(|p| p.value > 0)
        .map(|p| Forward { host: p.value, to: u16::try_from(p.to).ok().filter(|t| *t > 0).unwrap_or(p.value) })
        .collect()
}

/// The name of an allocation's nft table.
pub fn table(alloc_id: &str) -> String {
    format!("drover-alloc-{alloc_id}")
}

/// The script that replaces the allocation's table with its forwards (tcp and udp each).
pub fn rules(alloc_id: &str, ip: Ipv4Addr, forwards: &[Forward]) -> String {
    let table = table(alloc_id);
    let mut dnat = String::new();
    for f in forwards {
        for proto in ["tcp", "udp"] {
            let _ = writeln!(dnat, "\t\tfib daddr type local {proto} dport {} dnat to {ip}:{}", f.host, f.to);
        }
    }
    let mut s = format!("add table ip {table}\ndelete table ip {table}\ntable ip {table} {{\n");
    for (chain, hook) in [("prerouting", "prerouting"), ("output", "output")] {
        let _ = write!(s, "\tchain {chain} {{\n\t\ttype nat hook {hook} priority -100; policy accept;\n{dnat}\t}}\n");
    }
    s.push_str("}\n");
    s
}

/// Installs (or replaces) the allocation's forwards.
pub fn install(alloc_id: &str, ip: Ipv4Addr, forwards: &[Forward]) -> Result<(), NetworkError> {
    nft(&rules(alloc_id, ip, forwards))
}

/// Removes the allocation's table; nothing to do when it is gone.
pub fn remove(alloc_id: &str) -> Result<(), NetworkError> {
    let table = table(alloc_id);
    nft(&format!("add table ip {table}\ndelete table ip {table}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(value: u16, to: i32) -> AllocatedPort {
        AllocatedPort { label: "p".into(), value, to, host_ip: "127.0.0.1".into() }
    }

    #[test]
    fn forwards_map_to_the_inside_port() {
        let f = forwards(&[port(23000, 8080), port(23001, 0), port(23002, -1)]);
        assert_eq!(f, vec![Forward { host: 23000, to: 8080 }, Forward { host: 23001, to: 23001 }, Forward { host: 23002, to: 23002 }]);
        let s = rules("a1", Ipv4Addr::new(10, 0, 0, 2), &f[..1]);
        assert!(s.starts_with("add table ip drover-alloc-a1\ndelete table ip drover-alloc-a1\n"), "{s}");
        assert_eq!(s.matches("fib daddr type local tcp dport 23000 dnat to 10.0.0.2:8080").count(), 2, "{s}");
        assert_eq!(s.matches("udp dport 23000 dnat to 10.0.0.2:8080").count(), 2, "{s}");
        assert!(s.contains("type nat hook output priority -100"), "{s}");
    }
}
