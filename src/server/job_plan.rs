//! `job plan` on the server: a dry run of a submitted job that never writes to Raft.
//!
//! A plan is a read: after a consistent read (a follower waits for the leader's read index) the
//! current state is copied (its large tables share their rows), and `core::job_plan` registers the
//! job into the copy and runs the scheduler on it, on this server.

use tracing::debug;

use crate::core::job::Job;
use crate::core::job_plan::{plan_job, JobPlan};

use super::clock::{now_ns, random_seed};
use super::error::ServerError;
use super::ops::Server;

impl Server {
    /// What registering `job` would do, and the diff from the stored version. Returns the plan and
    /// the index of the state it was computed on.
    pub async fn plan_job(&self, job: Job) -> Result<(JobPlan, u64), ServerError> {
        let job = self.prepare_job(job)?;
        self.read_barrier(false).await?;
        let eval = self.eval_for(&job, "job-register");
        let scratch = self.read(|s| s.clone());
        let index = scratch.index;
        let plan = plan_job(scratch, &job, &eval, now_ns(), random_seed());
        debug!(job_id = %job.id, index, changes = plan.creates_or_destroys(), failed_groups = plan.failed_tg_allocs.len(), "planned job");
        Ok((plan, index))
    }
}
