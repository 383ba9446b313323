//! Feasibility: whether a node may run a task group at all (scope, constraints, drivers), with the reason when not.

use crate::core::job::{Constraint, Job, TaskGroup};
use crate::core::node::Node;

use super::constraint;

/// Glob match with `*` and `?`, as Nomad's datacenter patterns.
pub fn glob(pattern: &str, s: &str) -> bool {
    fn rec(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => rec(&p[1..], s) || (!s.is_empty() && rec(p, &s[1..])),
            (Some(b'?'), Some(_)) => rec(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => rec(&p[1..], &s[1..]),
            _ => false,
        }
    }
    rec(pattern.as_bytes(), s.as_bytes())
}

/// Whether the node is a candidate at all: ready, eligible, not draining, in the job's datacenters and pool.
pub fn in_scope(job: &Job, node: &Node) -> bool {
    node.ready() && node.eligible && !node.drain && in_job_scope(job, node)
}

/// Whether the node is in the job's datacenters and node pool, whatever its status or eligibility.
pub fn in_job_scope(job: &Job, node: &Node) -> bool {
    job.datacenters.iter().any(|p| glob(p, &node.datacenter))
        && (job.node_pool == "all" || job.node_pool == node.node_pool || (job.node_pool.is_empty() && node.node_pool == "default"))
}

/// Checks every constraint (job, group, tasks) and driver, node by node; the error is Nomad's filter
/// reason. `class::GroupFeasibility` gives the same verdicts judging once per computed node class.
pub fn check(job: &Job, group: &TaskGroup, node: &Node) -> Result<(), String> {
    for t in &group.tasks {
        if !node.driver_healthy(&t.driver) {
            return Err(super::class::MISSING_DRIVERS.to_string());
        }
    }
    let all = job.constraints.iter().chain(&group.constraints).chain(group.tasks.iter().flat_map(|t| &t.constraints));
    for c in all {
        if !constraint::satisfied(c, node) {
            return Err(describe(c));
        }
    }
    Ok(())
}

/// Nomad's way of naming a constraint in placement metrics.
pub fn describe(c: &Constraint) -> String {
    format!("{} {} {}", c.ltarget, c.operand, c.rtarget).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("*", "dc1"));
        assert!(glob("dc*", "dc1"));
        assert!(glob("d?1", "dc1"));
        assert!(!glob("dc2", "dc1"));
        assert!(!glob("eu-*", "dc1"));
    }
}
