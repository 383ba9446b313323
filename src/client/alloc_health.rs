//! Allocation health for deployments, judged by the client as Nomad's health tracker does: healthy once
//! its main tasks (and, with `health_check = "checks"`, all its native service checks) have been fine
//! for `min_healthy_time` without interruption; unhealthy when a task fails or `healthy_deadline`
//! passes first. `health_check = "manual"` leaves the decision to an operator.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tracing::info;

use crate::core::alloc::{TaskState, TaskStateKind};
use crate::core::job::{TaskGroup, UpdateStrategy};
use crate::core::text::Text;
use crate::core::vec_map::VecMap;

use super::checks::{CheckResult, STATUS_SUCCESS};
use super::control::ClientControl;

/// How often the tracker looks.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Whether the service checks must pass too.
    pub checks: bool,
    pub min_healthy: Duration,
    pub deadline: Duration,
}

impl HealthPolicy {
    /// The policy of a group's migrate strategy, for allocations outside a deployment (drains wait
    /// for their replacements to be healthy by it).
    pub fn of_migrate(m: &crate::core::job::MigrateStrategy) -> Self {
        let ns = |v: i64| Duration::from_nanos(v.max(0) as u64);
        Self { checks: m.health_check != "task_states", min_healthy: ns(m.min_healthy_time), deadline: ns(m.healthy_deadline) }
    }

    /// The policy of a group's update strategy; `None` for `health_check = "manual"`.
    pub fn of(u: &UpdateStrategy) -> Option<Self> {
        let checks = match u.health_check.as_str() {
            "manual" => return None,
            "task_states" => false,
            _ => true,
        };
        let ns = |v: i64| Duration::from_nanos(v.max(0) as u64);
        Some(Self { checks, min_healthy: ns(u.min_healthy_time), deadline: ns(u.healthy_deadline) })
    }
}

/// The tracker's memory between looks.
#[derive(Debug)]
pub struct Tracker {
    policy: HealthPolicy,
    started: Instant,
    fine_since: Option<Instant>,
    restarts: u64,
}

impl Tracker {
    pub fn new(policy: HealthPolicy, started: Instant) -> Self {
        Self { policy, started, fine_since: None, restarts: 0 }
    }

    /// The decision at `now`, if there is one. `main_tasks` must run; the other tasks (lifecycle
    /// hooks that are not sidecars) only must not fail. `checks` are the latest results of the
    /// allocation's `expected_checks` checks.
    pub fn observe(
        &mut self,
        now: Instant,
        states: &VecMap<Text, TaskState>,
        main_tasks: &[String],
        checks: &BTreeMap<String, CheckResult>,
        expected_checks: usize,
    ) -> Option<bool> {
        if states.values().any(|s| s.state == TaskStateKind::Dead && s.failed) {
            return Some(false);
        }
        let restarts: u64 = states.values().map(|s| s.restarts).sum();
        let running = main_tasks.iter().all(|t| states.get(t.as_str()).is_some_and(|s| s.state == TaskStateKind::Running));
        let checks_ok = !self.policy.checks || (checks.len() >= expected_checks && checks.values().all(|c| c.status == STATUS_SUCCESS));
        if running && checks_ok && restarts == self.restarts {
            let since = *self.fine_since.get_or_insert(now);
            if now.duration_since(since) >= self.policy.min_healthy {
                return Some(true);
            }
        } else {
            self.fine_since = None;
            self.restarts = restarts;
        }
        (now.duration_since(self.started) >= self.policy.deadline).then_some(false)
    }
}

/// The tasks that must be running for the allocation to be healthy: all but non-sidecar lifecycle hooks.
pub fn main_tasks(group: &TaskGroup) -> Vec<String> {
    group.tasks.iter().filter(|t| t.lifecycle.as_ref().is_none_or(|l| l.sidecar)).map(|t| t.name.clone()).collect()
}

/// Watches one allocation until its health is decided and sends the decision (nothing if the
/// allocation's runner goes away first).
pub async fn track(
    alloc_id: String,
    policy: HealthPolicy,
    main_tasks: Vec<String>,
    expected_checks: usize,
    mut states: watch::Receiver<VecMap<Text, TaskState>>,
    control: ClientControl,
    out: oneshot::Sender<bool>,
) {
    let mut tracker = Tracker::new(policy, Instant::now());
    loop {
        let checks = if policy.checks { control.checks(&alloc_id).unwrap_or_default() } else { BTreeMap::new() };
        let decision = tracker.observe(Instant::now(), &states.borrow_and_update(), &main_tasks, &checks, expected_checks);
        if let Some(healthy) = decision {
            info!(alloc_id = %alloc_id, healthy, "allocation health decided");
            let _ = out.send(healthy);
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            changed = states.changed() => if changed.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(restarts: u64) -> TaskState {
        TaskState { state: TaskStateKind::Running, restarts, ..Default::default() }
    }

    fn policy(checks: bool) -> HealthPolicy {
        HealthPolicy { checks, min_healthy: Duration::from_secs(10), deadline: Duration::from_secs(60) }
    }

    fn check(status: &'static str) -> BTreeMap<String, CheckResult> {
        BTreeMap::from([("c".to_string(), CheckResult { status, ..Default::default() })])
    }

    #[test]
    fn healthy_after_min_healthy_time_of_running() {
        let t0 = Instant::now();
        let mut t = Tracker::new(policy(false), t0);
        let mut states = VecMap::new();
        states.insert("web".into(), running(0));
        let main = vec!["web".to_string()];
        assert_eq!(t.observe(t0, &states, &main, &BTreeMap::new(), 0), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(9), &states, &main, &BTreeMap::new(), 0), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(10), &states, &main, &BTreeMap::new(), 0), Some(true));
    }

    #[test]
    fn a_restart_starts_the_wait_again() {
        let t0 = Instant::now();
        let mut t = Tracker::new(policy(false), t0);
        let main = vec!["web".to_string()];
        let mut states = VecMap::new();
        states.insert("web".into(), running(0));
        assert_eq!(t.observe(t0, &states, &main, &BTreeMap::new(), 0), None);
        states.insert("web".into(), running(1));
        assert_eq!(t.observe(t0 + Duration::from_secs(8), &states, &main, &BTreeMap::new(), 0), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(12), &states, &main, &BTreeMap::new(), 0), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(21), &states, &main, &BTreeMap::new(), 0), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(22), &states, &main, &BTreeMap::new(), 0), Some(true));
    }

    #[test]
    fn failing_checks_keep_it_waiting_until_the_deadline() {
        let t0 = Instant::now();
        let mut t = Tracker::new(policy(true), t0);
        let main = vec!["web".to_string()];
        let mut states = VecMap::new();
        states.insert("web".into(), running(0));
        assert_eq!(t.observe(t0 + Duration::from_secs(30), &states, &main, &check("failure"), 1), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(59), &states, &main, &BTreeMap::new(), 1), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(60), &states, &main, &check("failure"), 1), Some(false));
        // passing checks count only with every expected check reporting
        let mut t = Tracker::new(policy(true), t0);
        assert_eq!(t.observe(t0, &states, &main, &check("success"), 2), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(20), &states, &main, &check("success"), 2), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(30), &states, &main, &check("success"), 1), None);
        assert_eq!(t.observe(t0 + Duration::from_secs(40), &states, &main, &check("success"), 1), Some(true));
    }

    #[test]
    fn a_failed_task_is_unhealthy_at_once() {
        let t0 = Instant::now();
        let mut t = Tracker::new(policy(false), t0);
        let mut states = VecMap::new();
        states.insert("web".into(), TaskState { state: TaskStateKind::Dead, failed: true, ..Default::default() });
        assert_eq!(t.observe(t0, &states, &["web".to_string()], &BTreeMap::new(), 0), Some(false));
    }
}
