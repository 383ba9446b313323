//! Operator actions over HTTP: `/v1/allocation/:id/stop`, `/v1/node/:id/eligibility`, `/v1/node/:id/drain`,
//! `/v1/node/:id/purge` and `/v1/node/:id/evaluate`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use crate::api::node::{NodeDrainRequest, NodeUpdateResponse};
use crate::server::node_drain::DrainSpec;

use super::allocs::find_alloc_id;
use super::body::json_body;
use super::error::ApiError;
use super::nodes::find_node_id;
use super::query::with_index;
use super::HttpState;

pub async fn stop_alloc(State(st): State<HttpState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = st.server.read(|s| find_alloc_id(s, &id))?;
    let (eval_id, index) = st.server.stop_alloc(&id).await?;
    Ok(with_index(index, st.server.raft.leader().is_some(), serde_json::json!({ "EvalID": eval_id, "Index": index })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EligibilityRequest {
    pub eligibility: String,
}

pub async fn node_eligibility(State(st): State<HttpState>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: EligibilityRequest = json_body(&body)?;
    let eligible = match req.eligibility.as_str() {
        "eligible" => true,
        "ineligible" => false,
        other => return Err(ApiError::bad_request(format!("invalid scheduling eligibility \"{other}\" (eligible or ineligible)"))),
    };
    let id = st.server.read(|s| find_node_id(s, &id))?;
    let (eval_ids, index) = st.server.set_node_eligibility(&id, eligible).await?;
    let body = serde_json::json!({ "EvalIDs": eval_ids, "EvalCreateIndex": index, "NodeModifyIndex": index, "Index": index });
    Ok(with_index(index, st.server.raft.leader().is_some(), body))
}

/// `/v1/node/:id/purge`: removes the node; its allocations are lost and replaced. `EvalCreateIndex` is
/// 0 when no evaluation was needed, as in Nomad.
pub async fn purge_node(State(st): State<HttpState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = st.server.read(|s| find_node_id(s, &id))?;
    let (eval_ids, index) = st.server.purge_node(&id).await?;
    let eval_index = if eval_ids.is_empty() { 0 } else { index };
    let body = serde_json::json!({ "EvalIDs": eval_ids, "EvalCreateIndex": eval_index, "NodeModifyIndex": index, "Index": index });
    Ok(with_index(index, st.server.raft.leader().is_some(), body))
}

/// `/v1/node/:id/evaluate`: a scheduling pass for the node's jobs and the system jobs.
pub async fn evaluate_node(State(st): State<HttpState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = st.server.read(|s| find_node_id(s, &id))?;
    let (eval_ids, index) = st.server.evaluate_node(&id).await?;
    let eval_index = if eval_ids.is_empty() { 0 } else { index };
    let body = serde_json::json!({ "EvalIDs": eval_ids, "EvalCreateIndex": eval_index, "NodeModifyIndex": 0, "Index": index });
    Ok(with_index(index, st.server.raft.leader().is_some(), body))
}

/// `/v1/node/:id/drain`: starts, updates or (with `DrainSpec` null) cancels a drain. `EvalCreateIndex`
/// is 0 when no evaluation was created.
pub async fn node_drain(State(st): State<HttpState>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: NodeDrainRequest = json_body(&body)?;
    let id = st.server.read(|s| find_node_id(s, &id))?;
    let spec = req.drain_spec.map(|d| DrainSpec { deadline: d.deadline, ignore_system_jobs: d.ignore_system_jobs });
    let (eval_ids, index) = st.server.update_node_drain(&id, spec, req.mark_eligible, req.meta.unwrap_or_default()).await?;
    let eval_create_index = if eval_ids.is_empty() { 0 } else { index };
    let body = NodeUpdateResponse { eval_ids, eval_create_index, node_modify_index: index, index };
    Ok(with_index(index, st.server.raft.leader().is_some(), body))
}
