//! Nomad's `HostStats` JSON (`/v1/client/stats`).

use serde_json::{json, Value};

use crate::client::host_stats::{HostDisk, HostStats};

fn disk_json(d: &HostDisk) -> Value {
    json!({
        "Device": "",
        "Mountpoint": d.mountpoint,
        "Size": d.size,
        "Used": d.used,
        "Available": d.available,
        "UsedPercent": d.used_percent,
        "InodesUsedPercent": d.inodes_used_percent,
    })
}

pub fn host_stats_out(h: &HostStats) -> Value {
    json!({
        "Memory": { "Total": h.memory.total, "Available": h.memory.available, "Used": h.memory.used, "Free": h.memory.free },
        "CPU": h.cpus.iter().map(|c| json!({ "CPU": c.name, "User": c.user, "System": c.system, "Idle": c.idle, "Total": c.total })).collect::<Vec<_>>(),
        "CPUTicksConsumed": h.cpu_ticks_consumed,
        "DiskStats": [disk_json(&h.alloc_dir)],
        "AllocDirStats": disk_json(&h.alloc_dir),
        "DeviceStats": [],
        "Uptime": h.uptime_secs,
        "Timestamp": h.timestamp,
    })
}
