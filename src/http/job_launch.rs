//! Launching child jobs over HTTP: `/v1/job/:id/dispatch` (a parameterized job) and
//! `/v1/job/:id/periodic/force` (a periodic job), in Nomad's request and response shapes.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use crate::api::job_dispatch::{JobDispatchRequest, JobDispatchResponse, PeriodicForceResponse};

use super::body::json_body;
use super::error::ApiError;
use super::query::{with_index, QueryOptions};
use super::HttpState;

pub async fn dispatch(
    State(st): State<HttpState>,
    Path(id): Path<String>,
    Query(q): Query<QueryOptions>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: JobDispatchRequest = json_body(&body)?;
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request(format!("Job ID does not match: URL has \"{id}\", body has \"{}\"", req.job_id)));
    }
    let model = req.to_model().map_err(ApiError::bad_request)?;
    let l = st.server.dispatch_job(q.namespace(), &id, model).await?;
    let resp = JobDispatchResponse {
        dispatched_job_id: l.job_id,
        eval_id: l.eval_id,
        eval_create_index: l.index,
        job_create_index: l.index,
        index: l.index,
    };
    Ok(with_index(l.index, st.server.raft.leader().is_some(), resp))
}

pub async fn periodic_force(
    State(st): State<HttpState>,
    Path(id): Path<String>,
    Query(q): Query<QueryOptions>,
) -> Result<Response, ApiError> {
    let l = st.server.force_periodic(q.namespace(), &id).await?;
    let resp = PeriodicForceResponse { eval_id: l.eval_id, eval_create_index: l.index, index: l.index };
    Ok(with_index(l.index, st.server.raft.leader().is_some(), resp))
}
