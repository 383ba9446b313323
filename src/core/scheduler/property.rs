//! Property sets, as Nomad's: how many of a job's allocations (existing, less those the plan stops,
//! plus those it places) sit on nodes with each value of a node property. They back
//! `distinct_property` feasibility and the `spread` score.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::core::job::{Constraint, Job, Spread, TaskGroup};
use crate::core::node::Node;
use crate::core::state::ClusterState;

use super::constraint::resolve_str;

/// Nomad's implicit spread target: every value no target names.
const IMPLICIT_TARGET: &str = "*";

/// Counts of a job's allocations per value of one node property.
#[derive(Debug, Clone)]
pub struct PropertySet {
    /// The property, as a constraint target (`${meta.rack}`).
    pub attribute: String,
    /// Only allocations of this group count (none: the whole job).
    group: Option<String>,
    /// Spread targets: other values count together as `*` (empty: every value counts alone).
    targets: BTreeSet<String>,
    counts: HashMap<String, u64>,
}

impl PropertySet {
    /// Counts `allocs` (per node: allocations per group) by the nodes' values of `attribute`.
    pub fn new(
        state: &ClusterState,
        attribute: &str,
        group: Option<&str>,
        targets: BTreeSet<String>,
        allocs: &BTreeMap<String, BTreeMap<String, u32>>,
    ) -> Self {
        let mut set = Self { attribute: attribute.to_string(), group: group.map(str::to_string), targets, counts: HashMap::new() };
        for (node_id, per_group) in allocs {
            let Some(node) = state.nodes.get(node_id) else { continue };
            for (g, n) in per_group {
                set.add(node, g, i64::from(*n));
            }
        }
        set
    }

    /// The node's value as this set counts it; `None` when the node lacks the property.
    pub fn value_of<'n>(&'n self, node: &'n Node) -> Option<&'n str> {
        counted_value(&self.attribute, &self.targets, node)
    }

    /// Counts `delta` allocations of `group` on `node` (negative: stopped by the plan).
    pub fn add(&mut self, node: &Node, group: &str, delta: i64) {
        if self.group.as_deref().is_some_and(|g| g != group) {
            return;
        }
        let Some(v) = counted_value(&self.attribute, &self.targets, node) else { return };
        match self.counts.get_mut(v) {
            Some(c) => *c = c.saturating_add_signed(delta),
            None => {
                let c = 0u64.saturating_add_signed(delta);
                self.counts.insert(v.to_string(), c);
            }
        }
    }

    pub fn used(&self, value: &str) -> u64 {
        self.counts.get(value).copied().unwrap_or(0)
    }

    /// The values in use (count above zero) and their counts.
    fn in_use(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts.values().copied().filter(|n| *n > 0)
    }
}

/// `node`'s value of `attribute`, or the implicit target when `targets` are given and name another.
fn counted_value<'n>(attribute: &'n str, targets: &'n BTreeSet<String>, node: &'n Node) -> Option<&'n str> {
    let v = resolve_str(attribute, node)?;
    Some(if targets.is_empty() || targets.contains(v) { v } else { IMPLICIT_TARGET })
}

/// A `distinct_property` constraint: at most `allowed` allocations per property value.
#[derive(Debug, Clone)]
pub struct DistinctProperty {
    pub set: PropertySet,
    pub allowed: u64,
}

impl DistinctProperty {
    /// Nomad's verdict and filter reason for placing one more allocation on `node`.
    pub fn check(&self, node: &Node) -> Result<(), String> {
        let Some(v) = self.set.value_of(node) else {
            return Err(format!("missing property \"{}\"", self.set.attribute));
        };
        let used = self.set.used(v);
        if used < self.allowed {
            Ok(())
        } else {
            Err(format!("distinct_property: {}={} used by {} allocs", self.set.attribute, v, used))
        }
    }
}

/// The `distinct_property` constraints of a group: the job's count every group's allocations, the
/// group's only its own.
pub fn distinct_properties(
    state: &ClusterState,
    job: &Job,
    group: &TaskGroup,
    allocs: &BTreeMap<String, BTreeMap<String, u32>>,
) -> Vec<DistinctProperty> {
    let of = |c: &Constraint, g: Option<&str>| DistinctProperty {
        set: PropertySet::new(state, &c.ltarget, g, BTreeSet::new(), allocs),
        allowed: c.rtarget.parse::<u64>().ok().filter(|_| !c.rtarget.is_empty()).unwrap_or(1),
    };
    let is_dp = |c: &&Constraint| c.operand == "distinct_property";
    let job_level = job.constraints.iter().filter(is_dp).map(|c| of(c, None));
    let group_level = group.constraints.iter().filter(is_dp).map(|c| of(c, Some(&group.name)));
    job_level.chain(group_level).collect()
}

/// One `spread` block of a group: its property set, weight and desired count per value.
#[derive(Debug, Clone)]
pub struct SpreadSet {
    pub set: PropertySet,
    weight: i8,
    /// Empty: spread evenly over the values in use.
    desired: HashMap<String, f64>,
}

/// The group's spreads and the job's, as Nomad combines them (the group's first).
pub fn spreads(state: &ClusterState, job: &Job, group: &TaskGroup, allocs: &BTreeMap<String, BTreeMap<String, u32>>) -> Vec<SpreadSet> {
    let total = f64::from(group.count);
    let of = |s: &Spread| {
        let targets: BTreeSet<String> = s.targets.iter().map(|t| t.value.clone()).collect();
        let mut desired: HashMap<String, f64> = s.targets.iter().map(|t| (t.value.clone(), f64::from(t.percent) / 100.0 * total)).collect();
        let sum: f64 = desired.values().sum();
        if sum > 0.0 && sum < total {
            desired.insert(IMPLICIT_TARGET.to_string(), total - sum);
        }
        SpreadSet { set: PropertySet::new(state, &s.attribute, Some(&group.name), targets, allocs), weight: s.weight, desired }
    };
    group.spreads.iter().chain(&job.spreads).map(of).collect()
}

/// Nomad's spread score of placing one more allocation on `node` (0: no opinion).
/// `lowest_boost` is the lowest boost seen so far in the evaluation (Nomad's score for a value
/// whose desired count is zero).
pub fn spread_score(sets: &[SpreadSet], node: &Node, lowest_boost: &mut f64) -> f64 {
    let sum_weights: f64 = sets.iter().map(|s| f64::from(s.weight)).sum();
    let mut total = 0.0;
    for s in sets {
        let Some(value) = s.set.value_of(node) else {
            total -= 1.0;
            continue;
        };
        if s.desired.is_empty() {
            total += even_boost(&s.set, value);
            continue;
        }
        let Some(desired) = s.desired.get(value).or_else(|| s.desired.get(IMPLICIT_TARGET)).copied() else {
            total -= 1.0;
            continue;
        };
        if desired == 0.0 {
            total += *lowest_boost;
            continue;
        }
        let used = s.set.used(value) + 1;
        let weight = if sum_weights == 0.0 { 0.0 } else { f64::from(s.weight) / sum_weights };
        let boost = (desired - used as f64) / desired * weight;
        total += boost;
        if boost < *lowest_boost {
            *lowest_boost = boost;
        }
    }
    total
}

/// Nomad's even spread: favour values below the least used one, penalize an even distribution.
fn even_boost(set: &PropertySet, value: &str) -> f64 {
    let (Some(min), Some(max)) = (set.in_use().min(), set.in_use().max()) else {
        return 0.0;
    };
    let current = set.used(value);
    if current != min {
        return (min as f64 - current as f64) / min as f64;
    }
    if min == max {
        return -1.0;
    }
    (max - min) as f64 / min as f64
}
