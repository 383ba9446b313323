//! The node's bridge for `bridge` mode allocations (Nomad's `nomad` bridge; Drover's is `drover`,
//! 172.26.64.0/20): the Linux bridge holding the gateway address, IPv4 forwarding, and the bridge's
//! own nft table (`drover-bridge-<name>`): outbound NAT of the subnet and forwarding through the
//! bridge. Shared by every allocation on the node; set up idempotently before each one, never torn
//! down with one.

use super::command::{ip, link_exists, nft, sysctl};
use super::ipam::Ipv4Net;
use super::NetworkError;

/// Nomad's default subnet for its bridge, kept for Drover's.
pub const DEFAULT_SUBNET: &str = "172.26.64.0/20";
/// Drover's default bridge name (Nomad's is `nomad`).
pub const DEFAULT_NAME: &str = "drover";

/// The bridge and its subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub name: String,
    pub subnet: Ipv4Net,
}

impl Bridge {
    /// From the agent's `bridge_network_name` and `bridge_network_subnet` (empty: the defaults).
    pub fn from_config(name: &str, subnet: &str) -> Result<Self, NetworkError> {
        let name = if name.is_empty() { DEFAULT_NAME } else { name };
        // IFNAMSIZ less the terminating NUL.
        if name.len() > 15 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(NetworkError::BridgeName(name.to_string()));
        }
        let subnet = Ipv4Net::parse(if subnet.is_empty() { DEFAULT_SUBNET } else { subnet })?;
        Ok(Self { name: name.to_string(), subnet })
    }

    /// The name of the bridge's nft table.
    pub fn table(&self) -> String {
        format!("drover-bridge-{}", self.name)
    }

    /// The bridge's nft table, replaced as a whole in one transaction: masquerade what leaves the
    /// subnet through another interface, what reaches an allocation from the host's loopback (a
    /// published port called on 127.0.0.1), and what an allocation sends to a port published by
    /// another one on this node; accept forwarding to and from the bridge.
    pub fn rules(&self) -> String {
        let (table, br, net) = (self.table(), &self.name, self.subnet);
        format!(
            "add table ip {table}\ndelete table ip {table}\ntable ip {table} {{\n\
             \tchain postrouting {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\
             \t\tip saddr {net} oifname != \"{br}\" masquerade\n\
             \t\toifname \"{br}\" ip saddr 127.0.0.0/8 masquerade\n\
             \t\toifname \"{br}\" ip saddr {net} ct status dnat masquerade\n\t}}\n\
             \tchain forward {{\n\t\ttype filter hook forward priority filter; policy accept;\n\
             \t\tiifname \"{br}\" accept\n\t\toifname \"{br}\" accept\n\t}}\n}}\n"
        )
    }

    /// Creates the bridge (or finds it), gives it the gateway address, brings it up, turns on
    /// forwarding and loopback routing to it, and installs its nft table.
    pub fn ensure(&self) -> Result<(), NetworkError> {
        if !link_exists(&self.name) {
            // Another agent on this host may create it at the same moment.
            if let Err(e) = ip(&["link", "add", &self.name, "type", "bridge"]) {
                if !link_exists(&self.name) {
                    return Err(e);
                }
            }
        }
        let gateway = format!("{}/{}", self.subnet.gateway(), self.subnet.prefix());
        ip(&["addr", "replace", &gateway, "dev", &self.name])?;
        ip(&["link", "set", &self.name, "up"])?;
        sysctl("net/ipv4/ip_forward", "1")?;
        // Lets DNAT'ed connections to 127.0.0.1:<port> be routed to the bridge.
        sysctl(&format!("net/ipv4/conf/{}/route_localnet", self.name), "1")?;
        nft(&self.rules())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_names() {
        let b = Bridge::from_config("", "").unwrap();
        assert_eq!((b.name.as_str(), b.subnet.to_string()), ("drover", "172.26.64.0/20".to_string()));
        assert_eq!(b.table(), "drover-bridge-drover");
        assert!(Bridge::from_config("a-very-long-bridge-name", "").is_err());
        assert!(Bridge::from_config("br 0", "").is_err());
        assert!(Bridge::from_config("br0", "10.0.0.0/33").is_err());
        let rules = Bridge::from_config("br0", "10.5.0.0/24").unwrap().rules();
        assert!(rules.starts_with("add table ip drover-bridge-br0\ndelete table ip drover-bridge-br0\n"), "{rules}");
        assert!(rules.contains("ip saddr 10.5.0.0/24 oifname != \"br0\" masquerade"), "{rules}");
    }
}
