//! The node's own resource usage (Nomad's `HostStats` of `/v1/client/stats`): memory from
//! `/proc/meminfo`, per-CPU busy/idle percentages from two `/proc/stat` readings 100 ms apart, uptime,
//! and the disk that holds the allocation directories.

use std::path::Path;
use std::time::Duration;

use crate::server::clock::now_ns;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostMemory {
    pub total: u64,
    pub available: u64,
    pub used: u64,
    pub free: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostCpu {
    pub name: String,
    pub user: f64,
    pub system: f64,
    pub idle: f64,
    pub total: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostDisk {
    pub mountpoint: String,
    pub size: u64,
    pub used: u64,
    pub available: u64,
    pub used_percent: f64,
    pub inodes_used_percent: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostStats {
    pub memory: HostMemory,
    pub cpus: Vec<HostCpu>,
    /// CPU time used across all cores in the sample, in MHz-equivalent ticks as Nomad reports it.
    pub cpu_ticks_consumed: f64,
    pub alloc_dir: HostDisk,
    pub uptime_secs: u64,
    pub timestamp: i64,
}

/// `/proc/meminfo` values in bytes.
pub fn parse_meminfo(text: &str) -> HostMemory {
    let kb = |name: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)?.strip_prefix(':').map(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().unwrap_or(0))
            })
            .unwrap_or(0)
            * 1024
    };
    let (total, available, free) = (kb("MemTotal"), kb("MemAvailable"), kb("MemFree"));
    HostMemory { total, available, used: total.saturating_sub(available), free }
}

/// Per-CPU jiffies from `/proc/stat`: (name, user+nice, system+irq+softirq, idle+iowait, total).
pub fn parse_proc_stat(text: &str) -> Vec<(String, u64, u64, u64, u64)> {
    text.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next()?.to_string();
            let v: Vec<u64> = parts.map(|p| p.parse().unwrap_or(0)).collect();
            let at = |i: usize| v.get(i).copied().unwrap_or(0);
            let user = at(0) + at(1);
            let system = at(2) + at(5) + at(6);
            let idle = at(3) + at(4);
            let total: u64 = v.iter().take(8).sum();
            Some((name, user, system, idle, total))
        })
        .collect()
}

/// Percentages of each CPU between two `/proc/stat` readings.
pub fn cpu_percentages(before: &[(String, u64, u64, u64, u64)], after: &[(String, u64, u64, u64, u64)]) -> Vec<HostCpu> {
    after
        .iter()
        .filter_map(|(name, u, s, i, t)| {
            let (_, u0, s0, i0, t0) = before.iter().find(|b| &b.0 == name)?;
            let dt = t.saturating_sub(*t0).max(1) as f64;
            let pct = |a: u64, b: u64| 100.0 * a.saturating_sub(b) as f64 / dt;
            let (user, system, idle) = (pct(*u, *u0), pct(*s, *s0), pct(*i, *i0));
            Some(HostCpu { name: name.clone(), user, system, idle, total: 100.0 - idle })
        })
        .collect()
}

pub(crate) fn disk(path: &Path) -> HostDisk {
    let Ok(st) = nix::sys::statvfs::statvfs(path) else {
        return HostDisk { mountpoint: path.display().to_string(), ..Default::default() };
    };
    let frag = st.fragment_size();
    let size = st.blocks() * frag;
    let available = st.blocks_available() * frag;
    let used = size.saturating_sub(st.blocks_free() * frag);
    let files = st.files();
    let inodes_used = files.saturating_sub(st.files_free());
    HostDisk {
        mountpoint: path.display().to_string(),
        size,
        used,
        available,
        used_percent: if size == 0 { 0.0 } else { 100.0 * used as f64 / size as f64 },
        inodes_used_percent: if files == 0 { 0.0 } else { 100.0 * inodes_used as f64 / files as f64 },
    }
}

/// Reads the node's stats now (busy CPU time is converted into Nomad's MHz ticks).
pub async fn read(alloc_root: &Path) -> HostStats {
    let cpu_mhz_total = super::fingerprint::cpu().1 as f64;
    let stat = || std::fs::read_to_string("/proc/stat").map(|t| parse_proc_stat(&t)).unwrap_or_default();
    let before = stat();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = stat();
    let cpus = cpu_percentages(&before, &after);
    let busy = if cpus.is_empty() { 0.0 } else { cpus.iter().map(|c| c.total).sum::<f64>() / cpus.len() as f64 };
    let uptime_secs = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|s| s.parse::<f64>().ok()))
        .unwrap_or(0.0) as u64;
    HostStats {
        memory: std::fs::read_to_string("/proc/meminfo").map(|t| parse_meminfo(&t)).unwrap_or_default(),
        cpus,
        cpu_ticks_consumed: busy / 100.0 * cpu_mhz_total,
        alloc_dir: disk(alloc_root),
        uptime_secs,
        timestamp: now_ns(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_and_cpu_percentages() {
        let m = parse_meminfo("MemTotal:       16000 kB\nMemFree:         4000 kB\nMemAvailable:    6000 kB\n");
        assert_eq!(m, HostMemory { total: 16000 * 1024, available: 6000 * 1024, used: 10000 * 1024, free: 4000 * 1024 });
        let before = parse_proc_stat("cpu  10 0 10 80 0 0 0 0\ncpu0 10 0 10 80 0 0 0 0 0 0\n");
        let after = parse_proc_stat("cpu  40 0 20 140 0 0 0 0\ncpu0 40 0 20 140 0 0 0 0 0 0\n");
        assert_eq!(before.len(), 1, "the aggregate line is not a CPU");
        let c = &cpu_percentages(&before, &after)[0];
        assert_eq!((c.name.as_str(), c.user, c.system, c.idle, c.total), ("cpu0", 30.0, 10.0, 60.0, 40.0));
    }
}
