//! `client::network` against the real kernel, without an agent, on a bridge and subnet of its own:
//! a `bridge` setup run twice gives the same namespace, address and forwards (what a restarted agent
//! does), a second allocation gets the next address, the host port reaches a server inside (from the
//! node, and from another namespace standing in for another machine), and a leftover namespace file
//! does not stop a setup; a teardown run twice removes everything, then has nothing to do; `none` has
//! only `lo`; `host` makes nothing; an unknown mode is refused.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use common::agent::*;
use drover::client::network::bridge::Bridge;
use drover::client::network::{self, netns, ports, veth, NetworkError};
use drover::core::alloc::Allocation;
use drover::core::resources::AllocatedPort;

fn alloc(mode: &'static str, ports: Vec<AllocatedPort>) -> Allocation {
    let mut a = Allocation { id: uuid::Uuid::new_v4().to_string().into(), ..Default::default() };
    a.resources.network_mode = mode.into();
    a.resources.ports = ports;
    a
}

/// Removes the test's bridge, its table and leases, and the allocations' leftovers when dropped;
/// stops the server started in a namespace first.
struct Cleanup {
    bridge: Bridge,
    allocs: Vec<String>,
    server: Option<Child>,
    /// The namespace standing in for another machine.
    outside: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        for id in &self.allocs {
            let _ = network::teardown(&self.bridge, id);
        }
        let table = self.bridge.table();
        let _ = network::command::nft(&format!("add table ip {table}\ndelete table ip {table}\n"));
        let _ = Command::new("ip").args(["link", "delete", &self.bridge.name]).output();
        let _ = std::fs::remove_dir_all(network::lease_dir(&self.bridge));
        let _ = Command::new("ip").args(["netns", "delete", &self.outside]).output();
    }
}

/// Runs `ip args…`, failing the test with its stderr.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// A namespace `name` standing in for another machine: linked to the host by a veth pair (the host
/// end `<name>h` at 10.215.<octet>.1/30, its own at .2), with its default route via the host.
/// Returns the host's address on that link.
fn outside_machine(name: &str, octet: u8) -> String {
    let host_end = format!("{name}h");
    ip(&["netns", "add", name]);
    ip(&["link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", name]);
    ip(&["addr", "add", &format!("10.215.{octet}.1/30"), "dev", &host_end]);
    ip(&["link", "set", &host_end, "up"]);
    ip(&["-n", name, "addr", "add", &format!("10.215.{octet}.2/30"), "dev", "eth0"]);
    ip(&["-n", name, "link", "set", "eth0", "up"]);
    ip(&["-n", name, "route", "add", "default", "via", &format!("10.215.{octet}.1")]);
    format!("10.215.{octet}.1")
}

fn nft_tables() -> String {
    String::from_utf8_lossy(&Command::new("nft").args(["list", "tables"]).output().unwrap().stdout).into_owned()
}

/// Interface names inside the allocation's namespace.
fn interfaces_in(alloc_id: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "exec", &netns::name(alloc_id), "cat", "/proc/net/dev"]).output().unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, _)| n.trim().to_string())
        .filter(|n| !n.contains('|'))
        .collect();
    names.sort();
    names
}

#[test]
fn setup_is_repeatable_and_teardown_idempotent() {
    if !is_root() {
        eprintln!("skipping: network namespaces need root");
        return;
    }
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let octet = u8::from_str_radix(&tag[..2], 16).unwrap();
    let bridge = Bridge::from_config(&format!("drvn{tag}"), &format!("10.214.{octet}.0/24")).unwrap();
    let host_port = free_port();
    let bridged = alloc("bridge", vec![AllocatedPort { label: "http".into(), value: host_port, to: 8080, host_ip: "127.0.0.1".into() }]);
    let none = alloc("none", Vec::new());
    let outside = format!("drvo{tag}");
    let mut cleanup = Cleanup {
        bridge: bridge.clone(),
        allocs: vec![bridged.id.to_string(), none.id.to_string()],
        server: None,
        outside: outside.clone(),
    };

    // bridge: twice, the same namespace (same inode) and address
    let first = network::setup(&bridge, &bridged).unwrap().expect("a bridge allocation has a namespace");
    let ip = first.ip.expect("a bridge allocation has an address");
    assert_eq!(ip.to_string(), format!("10.214.{octet}.2"));
    let inode = std::fs::metadata(&first.netns).unwrap().ino();
    let again = network::setup(&bridge, &bridged).unwrap().unwrap();
    assert_eq!(again, first);
    assert_eq!(std::fs::metadata(&again.netns).unwrap().ino(), inode, "the namespace was made again");
    assert_eq!(interfaces_in(&bridged.id), ["eth0", "lo"]);
    // another allocation gets the next address, and gives it back
    let other = alloc("bridge", Vec::new());
    cleanup.allocs.push(other.id.to_string());
    assert_eq!(network::setup(&bridge, &other).unwrap().unwrap().ip.map(|i| i.to_string()), Some(format!("10.214.{octet}.3")));
    network::teardown(&bridge, &other.id).unwrap();

    // the host port reaches a server inside, from 127.0.0.1
    let www = temp_dir("network-www");
    std::fs::write(www.join("index.html"), "inside\n").unwrap();
    cleanup.server = Some(
        Command::new("ip")
            .args(["netns", "exec", &netns::name(&bridged.id), "busybox", "httpd", "-f", "-p", "8080", "-h"])
            .arg(&www)
            .spawn()
            .unwrap(),
    );
    wait_until("the server inside to answer on the host port", Duration::from_secs(10), || {
        http("GET", &format!("http://127.0.0.1:{host_port}/"), None).is_ok_and(|(c, b)| c == 200 && b.trim() == "inside")
    });
    // and from another machine, through the node's address on the link to it (prerouting, forwarding)
    let node_addr = outside_machine(&outside, octet);
    let out = Command::new("ip")
        .args(["netns", "exec", &outside, "curl", "-sS", "-m", "5", &format!("http://{node_addr}:{host_port}/")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "inside", "from outside: {}", String::from_utf8_lossy(&out.stderr));
    let mut server = cleanup.server.take().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    // teardown, twice: everything goes, then there is nothing left to do
    network::teardown(&bridge, &bridged.id).unwrap();
    network::teardown(&bridge, &bridged.id).unwrap();
    assert!(!netns::path(&bridged.id).exists());
    assert!(!Path::new("/sys/class/net").join(veth::host_name(&bridged.id)).exists());
    assert!(!nft_tables().contains(&ports::table(&bridged.id)));
    assert!(std::fs::read_dir(network::lease_dir(&bridge)).unwrap().next().is_none(), "a lease is left");
    assert!(!network::exists(&bridged.id));
    // the bridge and its table stay for the next allocation
    assert!(Path::new("/sys/class/net").join(&bridge.name).exists());
    assert!(nft_tables().contains(&bridge.table()));

    // an interrupted teardown left the namespace's file behind: setup replaces it
    std::fs::write(netns::path(&bridged.id), b"").unwrap();
    let redone = network::setup(&bridge, &bridged).unwrap().unwrap();
    assert_eq!(redone.ip, Some(ip));
    assert_eq!(interfaces_in(&bridged.id), ["eth0", "lo"]);
    network::teardown(&bridge, &bridged.id).unwrap();
    assert!(!network::exists(&bridged.id));

    // none: only lo, no address, no veth
    let n = network::setup(&bridge, &none).unwrap().unwrap();
    assert_eq!(n.ip, None);
    assert_eq!(interfaces_in(&none.id), ["lo"]);
    assert!(!Path::new("/sys/class/net").join(veth::host_name(&none.id)).exists());
    network::teardown(&bridge, &none.id).unwrap();
    network::teardown(&bridge, &none.id).unwrap();
    assert!(!netns::path(&none.id).exists());

    // host: nothing to make; an unknown mode is refused before anything is made
    let host = alloc("host", Vec::new());
    assert_eq!(network::setup(&bridge, &host).unwrap(), None);
    assert!(!network::exists(&host.id));
    let cni = alloc("cni/mynet", Vec::new());
    assert!(matches!(network::setup(&bridge, &cni), Err(NetworkError::Mode(m)) if m == "cni/mynet"));
    assert!(!network::exists(&cni.id));
}
