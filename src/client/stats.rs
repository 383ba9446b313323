//! Resource usage of a running allocation's tasks (Nomad's `AllocResourceUsage`), read from each
//! task's cgroup: cgroup v1 (`memory`, `cpuacct`, `cpu` hierarchies under `drover/<id>`) or cgroup v2
//! (`drover/<id>` in the unified hierarchy). CPU percentages come from the difference to the previous
//! reading (or, on the first reading of a task, to one taken 100 ms earlier).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::driver::spec::{ExecSpec, SPEC_FILE};
use crate::executor::cgroup::{task_cgroup_dir, CGROUP_PARENT, CGROUP_ROOT};
use crate::server::clock::now_ns;

use super::control::{ClientControl, ControlError};

const V1_MEMORY_MEASURED: [&str; 7] = ["RSS", "Cache", "Swap", "Usage", "Max Usage", "Kernel Usage", "Kernel Max Usage"];
const V2_MEMORY_MEASURED: [&str; 5] = ["RSS", "Cache", "Swap", "Usage", "Max Usage"];
const CPU_MEASURED: [&str; 5] = ["System Mode", "User Mode", "Throttled Periods", "Throttled Time", "Percent"];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryUsage {
    pub rss: u64,
    pub cache: u64,
    pub swap: u64,
    pub usage: u64,
    pub max_usage: u64,
    pub kernel_usage: u64,
    pub kernel_max_usage: u64,
    pub measured: Vec<&'static str>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuUsage {
    /// Percent of one core spent in the kernel / in user space since the previous reading.
    pub system_mode: f64,
    pub user_mode: f64,
    /// MHz consumed (Percent of one core's MHz).
    pub total_ticks: f64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
    pub percent: f64,
    pub measured: Vec<&'static str>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskUsage {
    pub memory: MemoryUsage,
    pub cpu: CpuUsage,
    /// Unix nanoseconds.
    pub timestamp: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllocUsage {
    /// The tasks' usage added up.
    pub total: TaskUsage,
    pub tasks: BTreeMap<String, TaskUsage>,
    pub timestamp: i64,
}

/// One reading of a task's cumulative CPU counters.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    pub at: Instant,
    pub total_ns: u64,
    pub user_ns: u64,
    pub system_ns: u64,
}

/// What a task's cgroup says at one moment.
#[derive(Debug, Clone, Default)]
struct Raw {
    memory: MemoryUsage,
    total_ns: u64,
    user_ns: u64,
    system_ns: u64,
    throttled_periods: u64,
    throttled_ns: u64,
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// `key value` lines (memory.stat, cpu.stat, cpuacct.stat).
fn read_kv(p: &Path) -> BTreeMap<String, u64> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// The v2 cgroup of a task, if the unified hierarchy holds it.
fn v2_dir(id: &str) -> Option<PathBuf> {
    [Path::new(CGROUP_ROOT).to_path_buf(), Path::new(CGROUP_ROOT).join("unified")]
        .into_iter()
        .map(|root| root.join(CGROUP_PARENT).join(id))
        .find(|d| d.join("memory.current").is_file())
}

fn read_v1(id: &str) -> Option<Raw> {
    let mem = task_cgroup_dir("memory", id);
    let usage = read_u64(&mem.join("memory.usage_in_bytes"))?;
    let stat = read_kv(&mem.join("memory.stat"));
    let pick = |total: &str, local: &str| stat.get(total).or_else(|| stat.get(local)).copied().unwrap_or(0);
    let memory = MemoryUsage {
        rss: pick("total_rss", "rss"),
        cache: pick("total_cache", "cache"),
        swap: pick("total_swap", "swap"),
        usage,
        max_usage: read_u64(&mem.join("memory.max_usage_in_bytes")).unwrap_or(0),
        kernel_usage: read_u64(&mem.join("memory.kmem.usage_in_bytes")).unwrap_or(0),
        kernel_max_usage: read_u64(&mem.join("memory.kmem.max_usage_in_bytes")).unwrap_or(0),
        measured: V1_MEMORY_MEASURED.to_vec(),
    };
    // cpuacct may be co-mounted with cpu (`cpu,cpuacct`); both names resolve to the same directory then.
    let acct = ["cpuacct", "cpu,cpuacct", "cpu"].iter().map(|c| task_cgroup_dir(c, id)).find(|d| d.join("cpuacct.usage").is_file());
    // USER_HZ is 100 on Linux: cpuacct.stat counts in 10 ms ticks.
    let (total_ns, user_ns, system_ns) = match acct {
        Some(d) => {
            let ticks = read_kv(&d.join("cpuacct.stat"));
            (
                read_u64(&d.join("cpuacct.usage")).unwrap_or(0),
                ticks.get("user").copied().unwrap_or(0) * 10_000_000,
                ticks.get("system").copied().unwrap_or(0) * 10_000_000,
            )
        }
        None => (0, 0, 0),
    };
    let throttling = read_kv(&task_cgroup_dir("cpu", id).join("cpu.stat"));
    Some(Raw {
        memory,
        total_ns,
        user_ns,
        system_ns,
        throttled_periods: throttling.get("nr_throttled").copied().unwrap_or(0),
        throttled_ns: throttling.get("throttled_time").copied().unwrap_or(0),
    })
}

fn read_v2(dir: &Path) -> Option<Raw> {
    let usage = read_u64(&dir.join("memory.current"))?;
    let stat = read_kv(&dir.join("memory.stat"));
    let memory = MemoryUsage {
        rss: stat.get("anon").copied().unwrap_or(0),
        cache: stat.get("file").copied().unwrap_or(0),
        swap: read_u64(&dir.join("memory.swap.current")).unwrap_or(0),
        usage,
        max_usage: read_u64(&dir.join("memory.peak")).unwrap_or(0),
        kernel_usage: stat.get("kernel").copied().unwrap_or(0),
        kernel_max_usage: 0,
        measured: V2_MEMORY_MEASURED.to_vec(),
    };
    let cpu = read_kv(&dir.join("cpu.stat"));
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0) * 1000;
    Some(Raw {
        memory,
        total_ns: us("usage_usec"),
        user_ns: us("user_usec"),
        system_ns: us("system_usec"),
        throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
        throttled_ns: us("throttled_usec"),
    })
}

/// Reads a task's cgroup (v2 if the unified hierarchy holds it, else v1).
fn read_raw(id: &str) -> Option<Raw> {
    match v2_dir(id) {
        Some(d) => read_v2(&d),
        None => read_v1(id),
    }
}

fn sample(raw: &Raw, at: Instant) -> CpuSample {
    CpuSample { at, total_ns: raw.total_ns, user_ns: raw.user_ns, system_ns: raw.system_ns }
}

/// Percent of one core that `delta_ns` of CPU time is over `wall`.
fn percent(delta_ns: u64, wall: Duration) -> f64 {
    let wall_ns = wall.as_nanos() as f64;
    if wall_ns <= 0.0 {
        return 0.0;
    }
    delta_ns as f64 / wall_ns * 100.0
}

/// CPU usage from two readings of the counters.
fn cpu_usage(raw: &Raw, now: CpuSample, before: CpuSample, mhz_per_core: f64) -> CpuUsage {
    let wall = now.at.saturating_duration_since(before.at);
    let pct = percent(now.total_ns.saturating_sub(before.total_ns), wall);
    CpuUsage {
        system_mode: percent(now.system_ns.saturating_sub(before.system_ns), wall),
        user_mode: percent(now.user_ns.saturating_sub(before.user_ns), wall),
        total_ticks: pct / 100.0 * mhz_per_core,
        throttled_periods: raw.throttled_periods,
        throttled_time: raw.throttled_ns,
        percent: pct,
        measured: CPU_MEASURED.to_vec(),
    }
}

fn add(total: &mut TaskUsage, t: &TaskUsage) {
    let (m, tm) = (&mut total.memory, &t.memory);
    m.rss += tm.rss;
    m.cache += tm.cache;
    m.swap += tm.swap;
    m.usage += tm.usage;
    m.max_usage += tm.max_usage;
    m.kernel_usage += tm.kernel_usage;
    m.kernel_max_usage += tm.kernel_max_usage;
    if m.measured.is_empty() {
        m.measured = tm.measured.clone();
    }
    let (c, tc) = (&mut total.cpu, &t.cpu);
    c.system_mode += tc.system_mode;
    c.user_mode += tc.user_mode;
    c.total_ticks += tc.total_ticks;
    c.throttled_periods += tc.throttled_periods;
    c.throttled_time += tc.throttled_time;
    c.percent += tc.percent;
    if c.measured.is_empty() {
        c.measured = tc.measured.clone();
    }
    total.timestamp = total.timestamp.max(t.timestamp);
}

/// The container id (`ExecSpec::id`) of a running task, from its executor's spec.
fn task_id(state_dir: &Path) -> Option<String> {
    let spec: ExecSpec = serde_json::from_slice(&std::fs::read(state_dir.join(SPEC_FILE)).ok()?).ok()?;
    Some(spec.id)
}

/// The usage of every running task of an allocation on this client.
pub async fn alloc_usage(control: &ClientControl, alloc_id: &str) -> Result<AllocUsage, ControlError> {
    let names = control.tasks(alloc_id)?;
    let mut first: Vec<(String, String, Raw, Instant)> = Vec::new();
    for name in names {
        let Some(id) = task_id(&control.state_dir(alloc_id, &name)) else { continue };
        if let Some(raw) = read_raw(&id) {
            first.push((name, id, raw, Instant::now()));
        }
    }
    let need_second = {
        let samples = control.cpu_samples();
        first.iter().any(|(_, id, _, _)| !samples.contains_key(id))
    };
    let mut readings = Vec::with_capacity(first.len());
    if need_second {
        tokio::time::sleep(Duration::from_millis(100)).await;
        for (name, id, raw, at) in first {
            let before = sample(&raw, at);
            if let Some(now_raw) = read_raw(&id) {
                readings.push((name, id, now_raw, Instant::now(), Some(before)));
            }
        }
    } else {
        readings = first.into_iter().map(|(name, id, raw, at)| (name, id, raw, at, None)).collect();
    }
    let mut out = AllocUsage { timestamp: now_ns(), ..AllocUsage::default() };
    let mhz = control.mhz_per_core();
    let mut samples = control.cpu_samples();
    for (name, id, raw, at, fresh_before) in readings {
        let now = sample(&raw, at);
        let before = samples.get(&id).copied().filter(|b| now.at > b.at + Duration::from_millis(10)).or(fresh_before).unwrap_or(now);
        let usage = TaskUsage { cpu: cpu_usage(&raw, now, before, mhz), memory: raw.memory.clone(), timestamp: now_ns() };
        samples.insert(id, now);
        add(&mut out.total, &usage);
        out.tasks.insert(name, usage);
    }
    out.total.timestamp = out.timestamp;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percentages_from_two_samples() {
        let t0 = Instant::now();
        let before = CpuSample { at: t0, total_ns: 0, user_ns: 0, system_ns: 0 };
        let now = CpuSample { at: t0 + Duration::from_secs(1), total_ns: 500_000_000, user_ns: 400_000_000, system_ns: 100_000_000 };
        let raw = Raw { throttled_periods: 3, throttled_ns: 7, ..Raw::default() };
        let c = cpu_usage(&raw, now, before, 2000.0);
        assert!((c.percent - 50.0).abs() < 1e-9, "{c:?}");
        assert!((c.user_mode - 40.0).abs() < 1e-9 && (c.system_mode - 10.0).abs() < 1e-9, "{c:?}");
        assert!((c.total_ticks - 1000.0).abs() < 1e-9, "{c:?}");
        assert_eq!((c.throttled_periods, c.throttled_time), (3, 7));
        assert_eq!(cpu_usage(&raw, now, now, 2000.0).percent, 0.0);
    }

    #[test]
    fn usage_adds_up() {
        let t = TaskUsage {
            memory: MemoryUsage { rss: 10, usage: 20, measured: V1_MEMORY_MEASURED.to_vec(), ..Default::default() },
            cpu: CpuUsage { percent: 5.0, ..Default::default() },
            timestamp: 3,
        };
        let mut total = TaskUsage::default();
        add(&mut total, &t);
        add(&mut total, &t);
        assert_eq!((total.memory.rss, total.memory.usage, total.timestamp), (20, 40, 3));
        assert_eq!(total.cpu.percent, 10.0);
        assert_eq!(total.memory.measured.len(), 7);
    }
}
