//! `resources` (cpu, cores, memory, devices, legacy task networks) and `network` blocks with their ports.

use std::collections::BTreeMap;

use crate::core::resources::{DnsConfig, NetworkResource, Port, RequestedDevice, Resources};

use super::cx::{Cx, Path};
use super::decode_placement::{affinities, constraints};
use super::decode_policy::open_single;
use super::opaque::block_to_json;
use super::reader::{BlockView, Reader, Schema};

const RESOURCES: Schema =
    Schema { attrs: &["cpu", "cores", "memory", "memory_max", "disk", "secrets", "iops"], blocks: &["network", "device", "numa"] };

/// A task's resources; what Drover does not support yet goes to `unsupported` (with a warning).
pub(crate) fn resources(cx: &mut Cx<'_>, r: &Reader<'_>, unsupported: &mut BTreeMap<String, serde_json::Value>) -> Option<Resources> {
    let b = open_single(cx, r, "resources", &RESOURCES)?;
    let mut res = Resources::default();
    if b.has("cores") && !b.has("cpu") {
        res.cpu = 0;
    }
    b.set(cx, "cpu", &mut res.cpu);
    b.set(cx, "cores", &mut res.cores);
    b.set(cx, "memory", &mut res.memory_mb);
    b.set(cx, "memory_max", &mut res.memory_max_mb);
    b.set(cx, "disk", &mut res.disk_mb);
    res.networks = networks(cx, &b, unsupported);
    for v in b.blocks(cx, "device") {
        res.devices.push(device(cx, v, &b.path));
    }
    for name in ["secrets", "iops"] {
        if let Some((v, at)) = b.value(cx, name) {
            cx.warn(at, &b.path, &format!("\"{name}\" is not supported by drover yet; it is kept but has no effect"));
            unsupported.insert(format!("resources.{name}"), super::types::to_json(&v));
        }
    }
    if let Some(v) = b.single(cx, "numa") {
        cx.warn(v.start, &b.path, "\"numa\" is not supported by drover yet; it is kept but has no effect");
        let path = b.path.child("numa", &[]);
        unsupported.insert("resources.numa".into(), serde_json::Value::Object(block_to_json(cx, &v, &path)));
    }
    Some(res)
}

const DEVICE: Schema = Schema { attrs: &["count"], blocks: &["constraint", "affinity"] };

fn device(cx: &mut Cx<'_>, v: BlockView<'_>, parent: &Path) -> RequestedDevice {
    let labels = v.labels.clone();
    let r = Reader::open(cx, v, parent.child("device", &labels), &DEVICE);
    let mut d = RequestedDevice { count: 1, ..RequestedDevice::default() };
    if r.labels(cx, 1) {
        d.name = labels[0].clone();
    }
    r.set(cx, "count", &mut d.count);
    d.constraints = constraints(cx, &r);
    d.affinities = affinities(cx, &r);
    d
}

const NETWORK: Schema =
    Schema { attrs: &["mode", "hostname", "mbits", "device", "cidr", "ip"], blocks: &["port", "reserved_ports", "dns", "cni"] };
const PORT: Schema = Schema { attrs: &["static", "to", "host_network", "ignore_collision"], blocks: &[] };
const DNS: Schema = Schema { attrs: &["servers", "searches", "options"], blocks: &[] };

/// The `network` blocks of a group or of a task's resources.
pub(crate) fn networks(cx: &mut Cx<'_>, r: &Reader<'_>, unsupported: &mut BTreeMap<String, serde_json::Value>) -> Vec<NetworkResource> {
    let mut out = Vec::new();
    for v in r.blocks(cx, "network") {
        let labels = v.labels.clone();
        let b = Reader::open(cx, v, r.path.child("network", &labels), &NETWORK);
        b.labels(cx, 0);
        let mut n = NetworkResource::default();
        b.set(cx, "mode", &mut n.mode);
        b.set(cx, "hostname", &mut n.hostname);
        b.set(cx, "mbits", &mut n.mbits);
        for name in ["device", "cidr", "ip"] {
            if let Some((val, at)) = b.value(cx, name) {
                cx.warn(at, &b.path, &format!("\"{name}\" is not supported by drover yet; it is kept but has no effect"));
                unsupported.insert(format!("network.{name}"), super::types::to_json(&val));
            }
        }
        if let Some(c) = b.single(cx, "cni") {
            cx.warn(c.start, &b.path, "\"cni\" is not supported by drover yet; it is kept but has no effect");
            let path = b.path.child("cni", &[]);
            unsupported.insert("network.cni".into(), serde_json::Value::Object(block_to_json(cx, &c, &path)));
        }
        if let Some(d) = open_single(cx, &b, "dns", &DNS) {
            let mut dns = DnsConfig::default();
            d.set(cx, "servers", &mut dns.servers);
            d.set(cx, "searches", &mut dns.searches);
            d.set(cx, "options", &mut dns.options);
            n.dns = Some(dns);
        }
        for kind in ["port", "reserved_ports"] {
            for pv in b.blocks(cx, kind) {
                let labels = pv.labels.clone();
                let p = Reader::open(cx, pv, b.path.child(kind, &labels), &PORT);
                if !p.labels(cx, 1) {
                    continue;
                }
                let mut port = Port { label: labels[0].clone(), ..Port::default() };
                p.set(cx, "static", &mut port.value);
                p.set(cx, "to", &mut port.to);
                p.set(cx, "host_network", &mut port.host_network);
                if p.get::<bool>(cx, "ignore_collision") == Some(true) {
                    cx.warn(p.view.start, &p.path, "\"ignore_collision\" is not supported by drover yet; it has no effect");
                }
                // As Nomad: a port with a static value is reserved, the others are dynamic.
                if port.value > 0 || kind == "reserved_ports" {
                    n.reserved_ports.push(port);
                } else {
                    n.dynamic_ports.push(port);
                }
            }
        }
        out.push(n);
    }
    out
}
