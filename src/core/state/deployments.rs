//! Applying deployment changes: deployments a plan starts or cancels, the counters kept as allocations
//! join them and their clients report health, promotion, manual health and status changes.

use super::*;
use crate::core::alloc::AllocDeploymentStatus;
use crate::core::deployment::{DeploymentStatusUpdate, STATUS_RUNNING, STATUS_SUCCESSFUL};

impl ClusterState {
    /// Stores a deployment a plan starts (not one that exists: its counters belong to apply) and the
    /// status changes the plan carries.
    pub(super) fn apply_plan_deployments(&mut self, index: u64, result: &PlanResult, now: i64) {
        if let Some(d) = result.deployment.as_ref().filter(|d| !self.deployments.contains_key(&d.id)) {
            let mut d = d.clone();
            d.create_index = index;
            d.modify_index = index;
            d.create_time = now;
            d.modify_time = now;
            for g in d.task_groups.values_mut() {
                g.placed_allocs = 0;
                g.healthy_allocs = 0;
                g.unhealthy_allocs = 0;
                g.placed_canaries.clear();
                g.require_progress_by = if g.progress_deadline > 0 { now + g.progress_deadline } else { 0 };
            }
            self.deployments.insert(d.id.clone(), d);
            self.touch(table::DEPLOYMENTS, index);
        }
        for u in &result.deployment_updates {
            self.set_deployment_status(index, u, now);
        }
    }

    /// Counts an allocation the plan placed in (or moved into) a deployment.
    pub(super) fn count_placement(&mut self, index: u64, alloc: &Allocation, previous_deployment: Option<&str>, now: i64) {
        if alloc.deployment_id.is_empty() || previous_deployment == Some(alloc.deployment_id.as_str()) {
            return;
        }
        let Some(d) = self.deployments.get_mut(alloc.deployment_id.as_str()).filter(|d| d.active()) else { return };
        let Some(g) = d.task_groups.get_mut(alloc.task_group.as_str()) else { return };
        g.placed_allocs += 1;
        if alloc.canary() {
            g.placed_canaries.push(alloc.id.to_string());
        }
        match alloc.healthy() {
            Some(true) => {
                g.healthy_allocs += 1;
                if g.progress_deadline > 0 {
                    g.require_progress_by = now + g.progress_deadline;
                }
            }
            Some(false) => g.unhealthy_allocs += 1,
            None => {}
        }
        d.modify_index = index;
        d.modify_time = now;
        self.touch(table::DEPLOYMENTS, index);
    }

    /// Records an allocation's health, once: the first decision counts. An active deployment counts
    /// it; outside one it is the health its `migrate` block asks for, which drains wait on.
    pub(super) fn set_alloc_health(&mut self, index: u64, alloc_id: &str, healthy: bool, now: i64) -> bool {
        let Some(a) = self.allocs.get_mut(alloc_id) else { return false };
        if a.healthy().is_some() {
            return false;
        }
        let a = a.make_mut();
        let canary = a.canary();
        a.deployment_status = Some(AllocDeploymentStatus { healthy: Some(healthy), timestamp: now, canary, modify_index: index });
        a.modify_index = index;
        a.modify_time = now;
        self.alloc_changes.changed(&a.id, index);
        let (deployment, group) = (a.deployment_id.clone(), a.task_group.clone());
        self.touch(table::ALLOCS, index);
        let Some(d) = self.deployments.get_mut(deployment.as_str()).filter(|d| d.active()) else { return true };
        if let Some(g) = d.task_groups.get_mut(group.as_str()) {
            if healthy {
                g.healthy_allocs += 1;
                if g.progress_deadline > 0 {
                    g.require_progress_by = now + g.progress_deadline;
                }
            } else {
                g.unhealthy_allocs += 1;
            }
        }
        d.modify_index = index;
        d.modify_time = now;
        self.touch(table::DEPLOYMENTS, index);
        true
    }

    pub(super) fn set_deployment_status(&mut self, index: u64, u: &DeploymentStatusUpdate, now: i64) -> Option<String> {
        let Some(d) = self.deployments.get_mut(&u.deployment_id) else {
            return Some(format!("deployment {} not found", u.deployment_id));
        };
        if !d.active() {
            return Some(format!("deployment {} has already ended ({})", d.id, d.status));
        }
        d.status.clone_from(&u.status);
        d.status_description.clone_from(&u.status_description);
        d.modify_index = index;
        d.modify_time = now;
        self.touch(table::DEPLOYMENTS, index);
        None
    }

    /// `Command::UpdateDeploymentStatus`: the status change, the version marked stable, the rollback.
    pub(super) fn update_deployment_status(
        &mut self,
        index: u64,
        u: &DeploymentStatusUpdate,
        eval: Option<&Evaluation>,
        stable_version: Option<u64>,
        revert: Option<&Job>,
        now: i64,
    ) -> Option<String> {
        if let Some(err) = self.set_deployment_status(index, u, now) {
            return Some(err);
        }
        let key = self.deployments.get(&u.deployment_id).map(|d| JobKey::new(&d.namespace, &d.job_id));
        if let (Some(version), Some(key)) = (stable_version.filter(|_| u.status == STATUS_SUCCESSFUL), key) {
            self.set_job_stability(index, &key, version, true);
        }
        if let Some(job) = revert {
            self.register_job(index, job, now);
        }
        self.upsert_evals(index, eval.into_iter(), now);
        None
    }

    /// `Command::PromoteDeployment`: every canary of the promoted groups must be healthy.
    pub(super) fn promote_deployment(
        &mut self,
        index: u64,
        id: &str,
        groups: &[String],
        eval: Option<&Evaluation>,
        now: i64,
    ) -> Option<String> {
        let Some(d) = self.deployments.get(id) else {
            return Some(format!("deployment {id} not found"));
        };
        if d.status != STATUS_RUNNING {
            return Some(format!("can't promote deployment {id}: it is {}", d.status));
        }
        let chosen: Vec<String> = d
            .task_groups
            .iter()
            .filter(|(name, g)| g.desired_canaries > 0 && !g.promoted && (groups.is_empty() || groups.contains(name)))
            .map(|(name, _)| name.clone())
            .collect();
        if chosen.is_empty() {
            return Some(format!("deployment {id} has no canaries to promote"));
        }
        for name in &chosen {
            let g = &d.task_groups[name];
            let healthy =
                g.placed_canaries.iter().filter(|a| self.allocs.get(a.as_str()).is_some_and(|a| a.healthy() == Some(true))).count();
            if healthy < g.desired_canaries as usize {
                return Some(format!(
                    "Task group \"{name}\" has {healthy}/{} healthy allocations; all canaries must be healthy before promotion",
                    g.desired_canaries
                ));
            }
        }
        let d = self.deployments.get_mut(id).expect("checked above");
        for name in &chosen {
            if let Some(g) = d.task_groups.get_mut(name) {
                g.promoted = true;
            }
        }
        if !d.needs_promotion() {
            d.status_description = crate::core::deployment::DESC_RUNNING.into();
        }
        d.modify_index = index;
        d.modify_time = now;
        self.touch(table::DEPLOYMENTS, index);
        self.upsert_evals(index, eval.into_iter(), now);
        None
    }

    /// `Command::SetDeploymentAllocHealth`.
    pub(super) fn set_deployment_alloc_health(
        &mut self,
        index: u64,
        id: &str,
        healthy: &[String],
        unhealthy: &[String],
        eval: Option<&Evaluation>,
        now: i64,
    ) -> Option<String> {
        let Some(d) = self.deployments.get(id) else {
            return Some(format!("deployment {id} not found"));
        };
        if !d.active() {
            return Some(format!("deployment {id} has already ended ({})", d.status));
        }
        let foreign: Vec<&String> =
            healthy.iter().chain(unhealthy).filter(|a| self.allocs.get(a.as_str()).is_none_or(|a| a.deployment_id != id)).collect();
        if !foreign.is_empty() {
            return Some(format!(
                "allocations not part of deployment {id}: {}",
                foreign.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        for a in healthy {
            self.set_alloc_health(index, a, true, now);
        }
        for a in unhealthy {
            self.set_alloc_health(index, a, false, now);
        }
        self.upsert_evals(index, eval.into_iter(), now);
        None
    }
}
