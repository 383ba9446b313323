//! Ranking: Nomad's binpack score, job anti-affinity and the reschedule penalty.

use crate::core::node::Node;

use super::fit::{Ask, Usage};

/// Nomad's binpack score in [0, 1]: fuller nodes (after placing) score higher.
pub fn binpack(node: &Node, used: &Usage, ask: &Ask) -> f64 {
    let cpu_total = node.resources.cpu_mhz.saturating_sub(node.reserved.cpu_mhz).max(1) as f64;
    let mem_total = node.resources.memory_mb.saturating_sub(node.reserved.memory_mb).max(1) as f64;
    let free_cpu = (1.0 - (used.cpu + ask.cpu) as f64 / cpu_total).clamp(0.0, 1.0);
    let free_mem = (1.0 - (used.memory_mb + ask.memory_mb) as f64 / mem_total).clamp(0.0, 1.0);
    let total = 10f64.powf(free_cpu) + 10f64.powf(free_mem);
    ((20.0 - total) / 18.0).clamp(0.0, 1.0)
}

/// Penalty for placing several allocations of the same group on one node (Nomad's job anti-affinity).
pub fn anti_affinity(collisions: u32, desired: u32) -> Option<f64> {
    (collisions > 0).then(|| -f64::from(collisions + 1) / f64::from(desired.max(1)))
}

/// Nomad's node-reschedule penalty: -1 on a node a replaced allocation failed on.
pub fn reschedule_penalty(penalized: bool) -> Option<f64> {
    penalized.then_some(-1.0)
}

/// Combined score: the mean of the scores that apply.
pub fn combine(scores: &[f64]) -> f64 {
    if scores.is_empty() {
        0.0
    } else {
        scores.iter().sum::<f64>() / scores.len() as f64
    }
}
