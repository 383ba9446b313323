//! Operations on a registered job: scale a group, revert to an earlier version, force a new
//! evaluation (each through the same typed commands as a registration), and mark a version stable.

use tracing::info;

use crate::core::command::Command;
use crate::core::job::JobKey;

use super::clock::now_ns;
use super::error::ServerError;
use super::ops::Server;

impl Server {
    /// Sets a group's count (a new job version) and evaluates the job. Returns (eval id, index).
    pub async fn scale_job(&self, namespace: &str, job_id: &str, group: &str, count: u32) -> Result<(String, u64), ServerError> {
        let mut job = self
            .read(|s| s.jobs.get(&JobKey::new(namespace, job_id)).cloned())
            .ok_or_else(|| ServerError::NotFound(format!("job \"{job_id}\" not found")))?;
        if job.stop {
            return Err(ServerError::Invalid(format!("job \"{job_id}\" is stopped; scaling it would not start it")));
        }
        let g = job
            .task_groups
            .iter_mut()
            .find(|g| g.name == group)
            .ok_or_else(|| ServerError::NotFound(format!("job \"{job_id}\" has no task group \"{group}\"")))?;
        if let Some(p) = &g.scaling {
            let (min, max) = (p.min.unwrap_or(0), p.max);
            if i64::from(count) < min || (max > 0 && i64::from(count) > max) {
                return Err(ServerError::Invalid(format!(
                    "group \"{group}\": count {count} is outside the scaling policy's range [{min}, {max}]"
                )));
            }
        }
        info!(job_id, group, count, "scaling job");
        g.count = count;
        self.register_job(job).await
    }

    /// Registers the spec of an earlier version as the newest version. With `enforce_prior`, only if
    /// the current version is that one.
    pub async fn revert_job(
        &self,
        namespace: &str,
        job_id: &str,
        version: u64,
        enforce_prior: Option<u64>,
    ) -> Result<(String, u64), ServerError> {
        let key = JobKey::new(namespace, job_id);
        let (current, old) = self.read(|s| (s.jobs.get(&key).cloned(), s.job_version(&key, version).cloned()));
        let current = current.ok_or_else(|| ServerError::NotFound(format!("job \"{job_id}\" not found")))?;
        let mut old = old.ok_or_else(|| ServerError::NotFound(format!("job \"{job_id}\" has no version {version}")))?;
        if let Some(prior) = enforce_prior {
            if current.version != prior {
                return Err(ServerError::Invalid(format!("current job version is {}, not {prior}", current.version)));
            }
        }
        if current.version == version {
            return Err(ServerError::Invalid(format!("can't revert to the current version {version}")));
        }
        info!(job_id, version, "reverting job");
        old.stop = false;
        self.register_job(old).await
    }

    /// Creates a new evaluation of the job (`job eval`). Returns (eval id, index).
    pub async fn evaluate_job(&self, namespace: &str, job_id: &str) -> Result<(String, u64), ServerError> {
        let job = self
            .read(|s| s.jobs.get(&JobKey::new(namespace, job_id)).cloned())
            .ok_or_else(|| ServerError::NotFound(format!("job \"{job_id}\" not found")))?;
        if job.is_parent() {
            return Err(ServerError::Invalid(format!("can't evaluate periodic or parameterized job \"{job_id}\"")));
        }
        let eval = self.eval_for(&job, "job-register");
        let eval_id = eval.id.clone();
        let resp = self.propose(Command::UpsertEvals { evals: vec![eval], now: now_ns() }).await?;
        Ok((eval_id, resp.index))
    }

    /// Marks a stored version of a job stable or unstable. Returns the index of the change.
    pub async fn set_job_stability(&self, namespace: &str, job_id: &str, version: u64, stable: bool) -> Result<u64, ServerError> {
        let key = JobKey::new(namespace, job_id);
        let (exists, has_version) = self.read(|s| (s.jobs.contains_key(&key), s.job_version(&key, version).is_some()));
        if !exists {
            return Err(ServerError::NotFound(format!("job \"{job_id}\" not found")));
        }
        if !has_version {
            return Err(ServerError::NotFound(format!("job \"{job_id}\" has no version {version}")));
        }
        info!(job_id, version, stable, "setting job stability");
        let cmd = Command::SetJobStability { namespace: namespace.into(), job_id: job_id.into(), version, stable };
        Ok(self.propose(cmd).await?.index)
    }
}
