//! Feasibility per computed node class, as Nomad: nodes that agree on everything constraints can
//! see (datacenter, class, pool, attributes, meta, drivers — `unique.*` keys aside) are judged once
//! per evaluation; constraints naming a node's unique values are still judged node by node.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::core::job::{Constraint, Job, TaskGroup};
use crate::core::node::Node;

use super::constraint;
use super::feasible::describe;

/// Nomad's reason for a node without a task's driver.
pub const MISSING_DRIVERS: &str = "missing drivers";

/// FNV-1a: a fast, fixed hash (the class is only compared within one evaluation).
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A node's computed class: a hash of what feasibility can depend on, unique values excluded.
pub fn computed_class(node: &Node) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    node.datacenter.hash(&mut h);
    node.node_class.hash(&mut h);
    node.node_pool.hash(&mut h);
    for (k, v) in node.attributes.iter().filter(|(k, _)| !k.starts_with("unique.")) {
        (k, v).hash(&mut h);
    }
    0xffu8.hash(&mut h);
    for (k, v) in node.meta.iter().filter(|(k, _)| !k.starts_with("unique.")) {
        (k, v).hash(&mut h);
    }
    0xffu8.hash(&mut h);
    for (name, d) in &node.drivers {
        (name, d.detected, d.healthy).hash(&mut h);
    }
    h.finish()
}

/// One feasibility check of a group, in the order `feasible::check` makes them.
enum Check<'j> {
    Driver(&'j str),
    Constraint { c: &'j Constraint, escaped: bool },
}

impl Check<'_> {
    fn holds(&self, node: &Node) -> bool {
        match self {
            Check::Driver(d) => node.driver_healthy(d),
            Check::Constraint { c, .. } => constraint::satisfied(c, node),
        }
    }

    fn escaped(&self) -> bool {
        matches!(self, Check::Constraint { escaped: true, .. })
    }

    fn reason(&self) -> String {
        match self {
            Check::Driver(_) => MISSING_DRIVERS.to_string(),
            Check::Constraint { c, .. } => describe(c),
        }
    }
}

/// A group's checks and, per computed class, the first of its class-wide checks that fails.
pub struct GroupFeasibility<'j> {
    checks: Vec<Check<'j>>,
    by_class: HashMap<u64, Option<usize>>,
}

impl<'j> GroupFeasibility<'j> {
    pub fn new(job: &'j Job, group: &'j TaskGroup) -> Self {
        let mut checks: Vec<Check<'j>> = group.tasks.iter().map(|t| Check::Driver(t.driver.as_str())).collect();
        let all = job.constraints.iter().chain(&group.constraints).chain(group.tasks.iter().flat_map(|t| &t.constraints));
        for c in all.filter(|c| !matches!(c.operand.as_str(), "distinct_hosts" | "distinct_property")) {
            checks.push(Check::Constraint { c, escaped: constraint::escapes(&c.ltarget) || constraint::escapes(&c.rtarget) });
        }
        Self { checks, by_class: HashMap::new() }
    }

    /// The same verdict as `feasible::check`, judging class-wide checks once per `class`.
    pub fn check(&mut self, node: &Node, class: u64) -> Result<(), String> {
        let checks = &self.checks;
        let first_failing = *self.by_class.entry(class).or_insert_with(|| checks.iter().position(|c| !c.escaped() && !c.holds(node)));
        let end = first_failing.unwrap_or(checks.len());
        if let Some(c) = checks[..end].iter().find(|c| c.escaped() && !c.holds(node)) {
            return Err(c.reason());
        }
        match first_failing {
            Some(i) => Err(checks[i].reason()),
            None => Ok(()),
        }
    }
}
