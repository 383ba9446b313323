//! Ranking: Nomad's fit scores (binpack or spread), job anti-affinity, the reschedule penalty and
//! node affinity; the final score is the mean of the scores that apply.

use crate::core::job::Affinity;
use crate::core::node::Node;

use super::constraint;
use super::fit::{Ask, Usage};

/// The scheduler configuration's placement algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Fill nodes up (Nomad's default).
    #[default]
    Binpack,
    /// Prefer the emptiest nodes.
    Spread,
}

impl Algorithm {
    /// `spread`, else binpack (Nomad's reading of `SchedulerAlgorithm`).
    pub fn parse(s: &str) -> Self {
        if s == "spread" {
            Self::Spread
        } else {
            Self::Binpack
        }
    }

    /// The node's fit score in [0, 1] after placing `ask`.
    pub fn fit(self, node: &Node, used: &Usage, ask: &Ask) -> f64 {
        match self {
            Self::Binpack => binpack(node, used, ask),
            Self::Spread => spread_fit(node, used, ask),
        }
    }
}

/// `10^free_cpu + 10^free_memory` after placing `ask`: 2 for a full node, 20 for an empty one.
fn free_total(node: &Node, used: &Usage, ask: &Ask) -> f64 {
    let cpu_total = node.resources.cpu_mhz.saturating_sub(node.reserved.cpu_mhz).max(1) as f64;
    let mem_total = node.resources.memory_mb.saturating_sub(node.reserved.memory_mb).max(1) as f64;
    let free_cpu = 1.0 - (used.cpu + ask.cpu) as f64 / cpu_total;
    let free_mem = 1.0 - (used.memory_mb + ask.memory_mb) as f64 / mem_total;
    10f64.powf(free_cpu) + 10f64.powf(free_mem)
}

/// Nomad's binpack score in [0, 1]: fuller nodes (after placing) score higher.
pub fn binpack(node: &Node, used: &Usage, ask: &Ask) -> f64 {
    (20.0 - free_total(node, used, ask)).clamp(0.0, 18.0) / 18.0
}

/// Nomad's spread fit score in [0, 1] (worst fit, the inverse of binpack): emptier nodes score higher.
pub fn spread_fit(node: &Node, used: &Usage, ask: &Ask) -> f64 {
    (free_total(node, used, ask) - 2.0).clamp(0.0, 18.0) / 18.0
}

/// Nomad's node-affinity score: the weights of the affinities `node` matches over the sum of all
/// weights' magnitudes (in [-1, 1]); `None` without affinities.
pub fn node_affinity(affinities: &[&Affinity], node: &Node) -> Option<f64> {
    if affinities.is_empty() {
        return None;
    }
    let sum: f64 = affinities.iter().map(|a| f64::from(a.weight).abs()).sum();
    let matched: f64 =
        affinities.iter().filter(|a| constraint::matches(&a.ltarget, &a.operand, &a.rtarget, node)).map(|a| f64::from(a.weight)).sum();
    Some(if sum == 0.0 { 0.0 } else { matched / sum })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::node::NodeResources;

    fn node() -> Node {
        Node { resources: NodeResources { cpu_mhz: 1000, memory_mb: 1000, ..Default::default() }, ..Default::default() }
    }

    #[test]
    fn spread_fit_is_the_inverse_of_binpack() {
        let n = node();
        let ask = Ask { cpu: 100, memory_mb: 100, ..Default::default() };
        let empty = Usage::default();
        let half = Usage { cpu: 500, memory_mb: 500, ..Default::default() };
        assert!(binpack(&n, &half, &ask) > binpack(&n, &empty, &ask));
        assert!(spread_fit(&n, &half, &ask) < spread_fit(&n, &empty, &ask));
        // the two always add up to one: (20 - t) / 18 + (t - 2) / 18
        for u in [&empty, &half] {
            assert!((binpack(&n, u, &ask) + spread_fit(&n, u, &ask) - 1.0).abs() < 1e-9);
        }
        let full = Ask { cpu: 1000, memory_mb: 1000, ..Default::default() };
        assert_eq!(binpack(&n, &empty, &full), 1.0);
        assert_eq!(spread_fit(&n, &empty, &full), 0.0);
    }

    #[test]
    fn node_affinity_is_matching_weight_over_total_weight() {
        let mut n = node();
        n.meta.insert("rack".into(), "r1".into());
        let a = |v: &str, w: i8| Affinity { ltarget: "${meta.rack}".into(), rtarget: v.into(), operand: "=".into(), weight: w };
        let (r1, r2, neg) = (a("r1", 60), a("r2", 20), a("r1", -20));
        assert_eq!(node_affinity(&[], &n), None);
        assert_eq!(node_affinity(&[&r1, &r2], &n), Some(0.75));
        assert_eq!(node_affinity(&[&r2], &n), Some(0.0));
        assert_eq!(node_affinity(&[&r1, &neg], &n), Some(0.5));
        assert_eq!(Algorithm::parse("spread"), Algorithm::Spread);
        assert_eq!(Algorithm::parse("binpack"), Algorithm::Binpack);
    }
}
