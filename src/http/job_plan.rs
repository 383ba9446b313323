//! `PUT /v1/job/:id/plan`: the scheduler's dry run of a submitted job, as Nomad's `JobPlanResponse`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use crate::api::job_plan::{plan_out, JobPlanRequest};

use super::body::json_body;
use super::error::ApiError;
use super::jobs::submitted_job;
use super::query::with_index;
use super::HttpState;

pub async fn plan(State(st): State<HttpState>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: JobPlanRequest = json_body(&body)?;
    let job = submitted_job(req.job, Some(&id))?;
    let (plan, index) = st.server.plan_job(job).await?;
    Ok(with_index(index, st.server.raft.leader().is_some(), plan_out(&plan, req.diff, index)))
}
