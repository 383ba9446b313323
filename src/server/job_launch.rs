//! Launching child jobs: dispatching a parameterized job and launching a periodic one (forced or on
//! schedule). The child is stamped here (its id's time and random suffix) and registered through the
//! same `RegisterJob` command as any job, with its evaluation.

use tracing::info;

use crate::core::dispatch::{dispatch_child, DispatchRequest};
use crate::core::job::{Job, JobKey};
use crate::core::periodic::periodic_child;

use super::clock::{new_id, now_ns};
use super::error::ServerError;
use super::ops::Server;

/// A registered child job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launched {
    pub job_id: String,
    pub eval_id: String,
    pub index: u64,
}

impl Server {
    fn parent(&self, namespace: &str, job_id: &str) -> Result<Job, ServerError> {
        self.read(|s| s.jobs.get(&JobKey::new(namespace, job_id)).cloned())
            .ok_or_else(|| ServerError::NotFound(format!("job \"{job_id}\" not found")))
    }

    async fn register_child(&self, child: Job) -> Result<Launched, ServerError> {
        let job_id = child.id.clone();
        let (eval_id, index) = self.register_job(child).await?;
        Ok(Launched { job_id, eval_id, index })
    }

    /// Creates a child of a parameterized job with the request's payload and meta.
    pub async fn dispatch_job(&self, namespace: &str, job_id: &str, req: DispatchRequest) -> Result<Launched, ServerError> {
        let parent = self.parent(namespace, job_id)?;
        let suffix = new_id()[..8].to_string();
        let child =
            dispatch_child(&parent, &req, now_ns().div_euclid(1_000_000_000), &suffix).map_err(|e| ServerError::Invalid(e.to_string()))?;
        info!(job_id, child = %child.id, payload_bytes = req.payload.len(), "dispatching job");
        self.register_child(child).await
    }

    /// Launches a periodic job now (`job periodic force`).
    pub async fn force_periodic(&self, namespace: &str, job_id: &str) -> Result<Launched, ServerError> {
        let parent = self.parent(namespace, job_id)?;
        if parent.periodic.is_none() {
            return Err(ServerError::Invalid(format!("can't force launch non-periodic job \"{job_id}\"")));
        }
        if parent.stop {
            return Err(ServerError::Invalid(format!("can't force launch stopped job \"{job_id}\"")));
        }
        if !parent.is_periodic_active() {
            return Err(ServerError::Invalid(format!("can't force launch job \"{job_id}\": its periodic block is disabled")));
        }
        self.launch_periodic(&parent, now_ns().div_euclid(1_000_000_000)).await
    }

    /// Registers the child of `parent` for the launch at `launch_secs` (unix seconds).
    pub async fn launch_periodic(&self, parent: &Job, launch_secs: i64) -> Result<Launched, ServerError> {
        let child = periodic_child(parent, launch_secs);
        info!(job_id = %parent.id, child = %child.id, "launching periodic job");
        self.register_child(child).await
    }
}
