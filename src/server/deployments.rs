//! Deployment operations (promote, fail, pause, resume, set allocation health) and the leader's
//! deployment watcher, which does what `core::deployment_watch` decides and asks the scheduler for
//! the next batch whenever a deployment moves (an allocation turned healthy, canaries promoted).

use std::collections::BTreeMap;
use std::time::Duration;

use tracing::{info, warn};

use crate::core::command::Command;
use crate::core::deployment::{
    Deployment, DeploymentStatusUpdate, DESC_FAILED_BY_USER, DESC_PAUSED, DESC_RUNNING, STATUS_PAUSED, STATUS_RUNNING,
};
use crate::core::deployment_watch::{self, Decision};
use crate::core::eval::Evaluation;
use crate::core::job::JobKey;

use super::clock::now_ns;
use super::error::ServerError;
use super::ops::Server;

/// Progress deadlines pass without a state change: look again at least this often.
const TICK: Duration = Duration::from_millis(250);

/// What a deployment operation did (Nomad's `DeploymentUpdateResponse`).
#[derive(Debug, Clone, Default)]
pub struct DeploymentUpdateOutcome {
    pub eval_id: String,
    pub index: u64,
    /// The job version a failure rolled back to.
    pub reverted_version: Option<u64>,
}

impl Server {
    fn deployment(&self, id: &str) -> Result<Deployment, ServerError> {
        self.read(|s| s.deployments.get(id).cloned()).ok_or_else(|| ServerError::NotFound(format!("deployment not found: {id}")))
    }

    /// An evaluation for the deployment's job, tied to the deployment.
    fn deployment_eval(&self, d: &Deployment) -> Option<Evaluation> {
        let job = self.read(|s| s.jobs.get(&JobKey::new(&d.namespace, &d.job_id)).cloned())?;
        let mut eval = self.eval_for(&job, "deployment-watcher");
        eval.deployment_id.clone_from(&d.id);
        Some(eval)
    }

    /// Promotes the canaries of `groups` (all groups when empty).
    pub async fn promote_deployment(&self, id: &str, groups: Vec<String>) -> Result<DeploymentUpdateOutcome, ServerError> {
        let d = self.deployment(id)?;
        let eval = self.deployment_eval(&d);
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        info!(deployment_id = id, job_id = %d.job_id, "promoting deployment");
        let resp = self.propose(Command::PromoteDeployment { deployment_id: id.into(), groups, eval, now: now_ns() }).await?;
        Ok(DeploymentUpdateOutcome { eval_id, index: resp.index, reverted_version: None })
    }

    /// Fails an active deployment by hand; it rolls back when a group has `auto_revert`.
    pub async fn fail_deployment(&self, id: &str) -> Result<DeploymentUpdateOutcome, ServerError> {
        let d = self.deployment(id)?;
        if !d.active() {
            return Err(ServerError::Invalid(format!("can't fail terminal deployment {id} ({})", d.status)));
        }
        let decision = self.read(|s| deployment_watch::fail(s, &d, DESC_FAILED_BY_USER));
        self.apply_decision(&d, decision).await
    }

    /// Pauses (`pause`) or resumes a running deployment.
    pub async fn pause_deployment(&self, id: &str, pause: bool) -> Result<DeploymentUpdateOutcome, ServerError> {
        let d = self.deployment(id)?;
        if !d.active() {
            return Err(ServerError::Invalid(format!("can't pause or resume terminal deployment {id} ({})", d.status)));
        }
        let (status, description) = if pause { (STATUS_PAUSED, DESC_PAUSED) } else { (STATUS_RUNNING, DESC_RUNNING) };
        let update = DeploymentStatusUpdate { deployment_id: id.into(), status: status.into(), status_description: description.into() };
        let eval = if pause { None } else { self.deployment_eval(&d) };
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        let cmd = Command::UpdateDeploymentStatus { update, eval, stable_version: None, revert: None, now: now_ns() };
        let resp = self.propose(cmd).await?;
        Ok(DeploymentUpdateOutcome { eval_id, index: resp.index, reverted_version: None })
    }

    /// Marks allocations of a deployment healthy or unhealthy by hand.
    pub async fn set_deployment_alloc_health(
        &self,
        id: &str,
        healthy: Vec<String>,
        unhealthy: Vec<String>,
    ) -> Result<DeploymentUpdateOutcome, ServerError> {
        let d = self.deployment(id)?;
        if healthy.is_empty() && unhealthy.is_empty() {
            return Err(ServerError::Invalid("no allocations given (HealthyAllocationIDs, UnhealthyAllocationIDs)".into()));
        }
        let eval = self.deployment_eval(&d);
        let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        let cmd = Command::SetDeploymentAllocHealth { deployment_id: id.into(), healthy, unhealthy, eval, now: now_ns() };
        let resp = self.propose(cmd).await?;
        Ok(DeploymentUpdateOutcome { eval_id, index: resp.index, reverted_version: None })
    }

    async fn apply_decision(&self, d: &Deployment, decision: Decision) -> Result<DeploymentUpdateOutcome, ServerError> {
        let now = now_ns();
        match decision {
            Decision::Promote => self.promote_deployment(&d.id, Vec::new()).await,
            Decision::Succeed { update, version } => {
                info!(deployment_id = %d.id, job_id = %d.job_id, version, "deployment successful");
                let cmd = Command::UpdateDeploymentStatus { update, eval: None, stable_version: Some(version), revert: None, now };
                let resp = self.propose(cmd).await?;
                Ok(DeploymentUpdateOutcome { index: resp.index, ..Default::default() })
            }
            Decision::Fail { update, revert } => {
                warn!(deployment_id = %d.id, job_id = %d.job_id, why = %update.status_description, "deployment failed");
                let reverted_version = revert.as_ref().map(|j| j.version);
                // The rollback registers the stable spec again, as a new version, with its evaluation.
                let eval = match &revert {
                    Some(job) => Some(self.eval_for(job, "job-register")),
                    None => self.deployment_eval(d),
                };
                let eval_id = eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
                let cmd = Command::UpdateDeploymentStatus { update, eval, stable_version: None, revert: revert.map(|j| *j), now };
                let resp = self.propose(cmd).await?;
                Ok(DeploymentUpdateOutcome { eval_id, index: resp.index, reverted_version })
            }
        }
    }
}

/// What the watcher compares to see a deployment move: healthy allocations, all promoted, status.
type Progress = (u32, bool, String);

/// The leader's deployment watcher. It remembers, per active deployment, the progress it last acted
/// on; new progress gets an evaluation so the scheduler places the next batch. A new leader starts
/// with nothing remembered and so evaluates every active deployment once.
pub async fn watch(server: Server) {
    let mut applied = server.raft.applied_index();
    let mut seen: BTreeMap<String, Progress> = BTreeMap::new();
    loop {
        let now = now_ns();
        // Under the read lock only what has something to do is copied: a deployment to decide on, or
        // one whose progress (healthy count, promotion, status) moved since it was last evaluated.
        let work: Vec<(Deployment, Option<Decision>, Progress)> = server.read(|s| {
            seen.retain(|id, _| s.deployments.get(id).is_some_and(|d| d.active()));
            let mut work = Vec::new();
            for d in s.deployments.values().filter(|d| d.active()) {
                let decision = deployment_watch::decide(s, d, now);
                let healthy: u32 = d.task_groups.values().map(|g| g.healthy_allocs).sum();
                let promoted = d.task_groups.values().all(|g| g.promoted || g.desired_canaries == 0);
                let unchanged = seen.get(&d.id).is_some_and(|(h, p, st)| (*h, *p, st.as_str()) == (healthy, promoted, d.status.as_str()));
                if decision.is_none() && (unchanged || d.status != STATUS_RUNNING) {
                    if !unchanged {
                        seen.insert(d.id.clone(), (healthy, promoted, d.status.clone()));
                    }
                    continue;
                }
                work.push((d.clone(), decision, (healthy, promoted, d.status.clone())));
            }
            work
        });
        for (d, decision, progress) in work {
            let result = match decision {
                Some(decision) => server.apply_decision(&d, decision).await.map(|_| ()),
                None => {
                    let r = match server.deployment_eval(&d) {
                        Some(eval) => server.propose(Command::UpsertEvals { evals: vec![eval], now }).await.map(|_| ()),
                        None => Ok(()),
                    };
                    if r.is_ok() {
                        seen.insert(d.id.clone(), progress);
                    }
                    r
                }
            };
            if let Err(e) = result {
                warn!(deployment_id = %d.id, error = %e, "deployment watcher: could not act; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        tokio::select! {
            r = applied.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}
