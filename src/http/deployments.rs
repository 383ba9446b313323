//! Deployment endpoints: `/v1/deployments`, `/v1/deployment/:id`, its allocations, promote, fail, pause
//! and allocation-health, and a job's `/v1/job/:id/deployments` and `/v1/job/:id/deployment`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use crate::api::alloc::alloc_stub;
use crate::api::deployment::{deployment_out, AllocHealthRequest, DeploymentUpdateResponse, PauseRequest, PromoteRequest};
use crate::core::deployment::Deployment;
use crate::core::state::{table, ClusterState};
use crate::server::deployments::DeploymentUpdateOutcome;

use super::body::json_body;
use super::error::ApiError;
use super::list::list_response;
use super::query::{query_index, query_index_any, with_index, QueryOptions};
use super::HttpState;

/// A deployment by id or unique id prefix.
fn find<'a>(s: &'a ClusterState, id: &str) -> Option<&'a Deployment> {
    s.deployments.get(id).or_else(|| {
        let mut m = s.deployments.range(id.to_string()..).take_while(|(k, _)| k.starts_with(id));
        match (m.next(), m.next()) {
            (Some((_, d)), None) => Some(d),
            _ => None,
        }
    })
}

fn resolve(st: &HttpState, id: &str) -> Result<String, ApiError> {
    st.server.read(|s| find(s, id).map(|d| d.id.clone())).ok_or_else(|| ApiError::not_found(format!("deployment not found: {id}")))
}

pub async fn list(State(st): State<HttpState>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::DEPLOYMENTS, &q).await?;
    let ns = q.namespace().to_string();
    let all = ns == "*";
    let mut out: Vec<_> = st.server.read(|s| {
        s.deployments
            .values()
            .filter(|d| (all || d.namespace == ns) && q.matches_prefix(&d.id))
            .map(|d| (d.id.clone(), deployment_out(d)))
            .collect()
    });
    // newest first, as Nomad lists them
    out.sort_by_key(|d| std::cmp::Reverse(d.1.create_index));
    list_response(index, st.server.raft.leader().is_some(), &q, out)
}

pub async fn read(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::DEPLOYMENTS, &q).await?;
    let d =
        st.server.read(|s| find(s, &id).map(deployment_out)).ok_or_else(|| ApiError::not_found(format!("deployment not found: {id}")))?;
    Ok(with_index(index, st.server.raft.leader().is_some(), d))
}

pub async fn allocations(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index_any(&st, &[table::DEPLOYMENTS, table::ALLOCS], &q).await?;
    let id = resolve(&st, &id)?;
    let allocs: Vec<_> = st.server.read(|s| s.allocs.values().filter(|a| a.deployment_id == id).map(|a| alloc_stub(s, a)).collect());
    Ok(with_index(index, st.server.raft.leader().is_some(), allocs))
}

/// `GET /v1/job/:id/deployments`: newest first.
pub async fn of_job(State(st): State<HttpState>, Path(job): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::DEPLOYMENTS, &q).await?;
    let ns = q.namespace().to_string();
    let mut out: Vec<_> =
        st.server.read(|s| s.deployments.values().filter(|d| d.namespace == ns && d.job_id == job).map(deployment_out).collect::<Vec<_>>());
    out.sort_by_key(|d| std::cmp::Reverse(d.create_index));
    Ok(with_index(index, st.server.raft.leader().is_some(), out))
}

/// `GET /v1/job/:id/deployment`: the newest deployment of the job, or `null`.
pub async fn latest_of_job(
    State(st): State<HttpState>,
    Path(job): Path<String>,
    Query(q): Query<QueryOptions>,
) -> Result<Response, ApiError> {
    let index = query_index(&st, table::DEPLOYMENTS, &q).await?;
    let ns = q.namespace().to_string();
    let d = st.server.read(|s| {
        s.deployments.values().filter(|d| d.namespace == ns && d.job_id == job).max_by_key(|d| d.create_index).map(deployment_out)
    });
    Ok(with_index(index, st.server.raft.leader().is_some(), d))
}

fn updated(st: &HttpState, o: DeploymentUpdateOutcome) -> Response {
    let resp = DeploymentUpdateResponse {
        eval_create_index: if o.eval_id.is_empty() { 0 } else { o.index },
        eval_id: o.eval_id,
        deployment_modify_index: o.index,
        reverted_job_version: o.reverted_version,
        index: o.index,
    };
    with_index(resp.index, st.server.raft.leader().is_some(), resp)
}

pub async fn promote(State(st): State<HttpState>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: PromoteRequest = if body.is_empty() { PromoteRequest { all: true, ..Default::default() } } else { json_body(&body)? };
    let id = resolve(&st, &id)?;
    let groups = if req.all { Vec::new() } else { req.groups.unwrap_or_default() };
    if !req.all && groups.is_empty() {
        return Err(ApiError::bad_request("promote needs All = true or the Groups to promote"));
    }
    Ok(updated(&st, st.server.promote_deployment(&id, groups).await?))
}

pub async fn fail(State(st): State<HttpState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = resolve(&st, &id)?;
    Ok(updated(&st, st.server.fail_deployment(&id).await?))
}

pub async fn pause(State(st): State<HttpState>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: PauseRequest = json_body(&body)?;
    let id = resolve(&st, &id)?;
    Ok(updated(&st, st.server.pause_deployment(&id, req.pause).await?))
}

pub async fn alloc_health(State(st): State<HttpState>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let req: AllocHealthRequest = json_body(&body)?;
    let id = resolve(&st, &id)?;
    let o = st
        .server
        .set_deployment_alloc_health(&id, req.healthy_allocation_ids.unwrap_or_default(), req.unhealthy_allocation_ids.unwrap_or_default())
        .await?;
    Ok(updated(&st, o))
}
