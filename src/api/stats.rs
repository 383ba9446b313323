//! Nomad's `AllocResourceUsage` JSON (`/v1/client/allocation/:id/stats`), from the client's usage readings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client::stats::{AllocUsage, CpuUsage, MemoryUsage, TaskUsage};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiMemoryStats {
    #[serde(rename = "RSS")]
    pub rss: u64,
    pub cache: u64,
    pub swap: u64,
    pub usage: u64,
    pub max_usage: u64,
    pub kernel_usage: u64,
    pub kernel_max_usage: u64,
    pub measured: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiCpuStats {
    pub system_mode: f64,
    pub user_mode: f64,
    pub total_ticks: f64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
    pub percent: f64,
    pub measured: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiResourceUsage {
    pub memory_stats: ApiMemoryStats,
    pub cpu_stats: ApiCpuStats,
    pub device_stats: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTaskResourceUsage {
    pub resource_usage: ApiResourceUsage,
    pub timestamp: i64,
    /// Per-process usage; Drover measures whole tasks (`null`, as Nomad's cgroup-based drivers send).
    pub pids: Option<BTreeMap<String, ApiResourceUsage>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAllocResourceUsage {
    pub resource_usage: ApiResourceUsage,
    pub tasks: BTreeMap<String, ApiTaskResourceUsage>,
    pub timestamp: i64,
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn memory_out(m: &MemoryUsage) -> ApiMemoryStats {
    ApiMemoryStats {
        rss: m.rss,
        cache: m.cache,
        swap: m.swap,
        usage: m.usage,
        max_usage: m.max_usage,
        kernel_usage: m.kernel_usage,
        kernel_max_usage: m.kernel_max_usage,
        measured: names(&m.measured),
    }
}

fn cpu_out(c: &CpuUsage) -> ApiCpuStats {
    ApiCpuStats {
        system_mode: c.system_mode,
        user_mode: c.user_mode,
        total_ticks: c.total_ticks,
        throttled_periods: c.throttled_periods,
        throttled_time: c.throttled_time,
        percent: c.percent,
        measured: names(&c.measured),
    }
}

fn usage_out(t: &TaskUsage) -> ApiResourceUsage {
    ApiResourceUsage { memory_stats: memory_out(&t.memory), cpu_stats: cpu_out(&t.cpu), device_stats: Vec::new() }
}

pub fn alloc_usage_out(u: &AllocUsage) -> ApiAllocResourceUsage {
    ApiAllocResourceUsage {
        resource_usage: usage_out(&u.total),
        tasks: u
            .tasks
            .iter()
            .map(|(name, t)| (name.clone(), ApiTaskResourceUsage { resource_usage: usage_out(t), timestamp: t.timestamp, pids: None }))
            .collect(),
        timestamp: u.timestamp,
    }
}
