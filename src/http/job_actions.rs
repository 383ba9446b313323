//! Job actions: `/v1/job/:id/scale` (GET status, POST a new count), `/v1/job/:id/revert`,
//! `/v1/job/:id/evaluate`, `/v1/job/:id/stable`, in Nomad's request and response shapes.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::api::job::JobRegisterResponse;
use crate::core::alloc::ClientStatus;
use crate::core::job::JobKey;
use crate::core::state::table;

use super::body::json_body;
use super::error::ApiError;
use super::query::{query_index_any, with_index, QueryOptions};
use super::HttpState;

fn registered(st: &HttpState, eval_id: String, index: u64) -> Response {
    let resp =
        JobRegisterResponse { eval_id, eval_create_index: index, job_modify_index: index, index, known_leader: true, ..Default::default() };
    with_index(index, st.server.raft.leader().is_some(), resp)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ScaleTarget {
    pub group: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ScaleRequest {
    pub count: Option<i64>,
    pub target: ScaleTarget,
    pub message: String,
}

pub async fn scale(
    State(st): State<HttpState>,
    Path(id): Path<String>,
    Query(q): Query<QueryOptions>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ScaleRequest = json_body(&body)?;
    if req.target.group.is_empty() {
        return Err(ApiError::bad_request("missing task group name for scaling action (Target.Group)"));
    }
    let count = req.count.ok_or_else(|| ApiError::bad_request("Count is required"))?;
    let count =
        u32::try_from(count).map_err(|_| ApiError::bad_request(format!("Count must be between 0 and {}, got {count}", u32::MAX)))?;
    let (eval_id, index) = st.server.scale_job(q.namespace(), &id, &req.target.group, count).await?;
    Ok(registered(&st, eval_id, index))
}

pub async fn scale_status(
    State(st): State<HttpState>,
    Path(id): Path<String>,
    Query(q): Query<QueryOptions>,
) -> Result<Response, ApiError> {
    let index = query_index_any(&st, &[table::JOBS, table::ALLOCS], &q).await?;
    let key = JobKey::new(q.namespace(), &id);
    let body = st.server.read(|s| {
        let job = s.jobs.get(&key)?;
        let mut groups = serde_json::Map::new();
        for g in &job.task_groups {
            let mine: Vec<_> = s.allocs_of_job(&key).filter(|a| a.task_group == g.name && !a.terminal()).collect();
            let running = mine.iter().filter(|a| a.client_status == ClientStatus::Running).count();
            groups.insert(
                g.name.clone(),
                serde_json::json!({ "Desired": g.count, "Placed": mine.len(), "Running": running, "Healthy": running, "Unhealthy": 0, "Events": null }),
            );
        }
        Some(serde_json::json!({
            "JobID": job.id, "Namespace": job.namespace, "JobCreateIndex": job.create_index,
            "JobModifyIndex": job.job_modify_index, "JobStopped": job.stop, "TaskGroups": groups,
        }))
    });
    let body = body.ok_or_else(|| ApiError::not_found("job not found"))?;
    Ok(with_index(index, st.server.raft.leader().is_some(), body))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RevertRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    pub job_version: Option<u64>,
    pub enforce_prior_version: Option<u64>,
}

pub async fn revert(
    State(st): State<HttpState>,
    Path(id): Path<String>,
    Query(q): Query<QueryOptions>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: RevertRequest = json_body(&body)?;
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request(format!("Job ID does not match: URL has \"{id}\", body has \"{}\"", req.job_id)));
    }
    let version = req.job_version.ok_or_else(|| ApiError::bad_request("JobVersion is required"))?;
    let (eval_id, index) = st.server.revert_job(q.namespace(), &id, version, req.enforce_prior_version).await?;
    Ok(registered(&st, eval_id, index))
}

pub async fn evaluate(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let (eval_id, index) = st.server.evaluate_job(q.namespace(), &id).await?;
    Ok(registered(&st, eval_id, index))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StabilityRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Nomad's `uint64`: absent reads as version 0.
    pub job_version: u64,
    pub stable: bool,
}

/// `/v1/job/:id/stable`: marks a version stable (or not). Replies `{"Index": …}` as Nomad's
/// `JobStabilityResponse`.
pub async fn stable(
    State(st): State<HttpState>,
    Path(id): Path<String>,
    Query(q): Query<QueryOptions>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: StabilityRequest = json_body(&body)?;
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request(format!("Job ID does not match: URL has \"{id}\", body has \"{}\"", req.job_id)));
    }
    let index = st.server.set_job_stability(q.namespace(), &id, req.job_version, req.stable).await?;
    Ok(with_index(index, st.server.raft.leader().is_some(), serde_json::json!({ "Index": index })))
}
