//! Network interfaces: the address of the interface named by `client { network_interface = "…" }`.

use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The interface's IPv4 address, else its first IPv6 address that is not link-local.
pub fn interface_ip(name: &str) -> Result<IpAddr, String> {
    let addrs = interface_addrs().map_err(|e| format!("listing network interfaces: {e}"))?;
    let mine: Vec<IpAddr> = addrs.iter().filter(|(n, _)| n == name).filter_map(|(_, a)| *a).collect();
    let v4 = mine.iter().find(|a| a.is_ipv4());
    let v6 = mine.iter().find(|a| matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) != 0xfe80));
    if let Some(a) = v4.or(v6) {
        return Ok(*a);
    }
    if addrs.iter().any(|(n, _)| n == name) {
        return Err(format!("network interface \"{name}\" has no usable IP address"));
    }
    let mut names: Vec<&str> = Vec::new();
    for (n, _) in &addrs {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    Err(format!("no network interface \"{name}\" (interfaces: {})", names.join(", ")))
}

/// Every (interface name, address) pair, from getifaddrs(3).
fn interface_addrs() -> std::io::Result<Vec<(String, Option<IpAddr>)>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list that is only read below and freed once with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a non-null node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }.to_string_lossy().to_string();
        // SAFETY: ifa_addr, when non-null, points to a sockaddr whose family says which struct it is.
        let addr = unsafe { ifa.ifa_addr.as_ref() }.and_then(|sa| match i32::from(sa.sa_family) {
            libc::AF_INET => {
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))))
            }
            libc::AF_INET6 => {
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
            }
            _ => None,
        });
        out.push((name, addr));
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::interface_ip;

    #[test]
    fn loopback_and_missing_interfaces() {
        assert_eq!(interface_ip("lo"), Ok(std::net::IpAddr::from([127, 0, 0, 1])));
        let e = interface_ip("no-such-if0").unwrap_err();
        assert!(e.starts_with("no network interface \"no-such-if0\" (interfaces: "), "{e}");
    }
}
