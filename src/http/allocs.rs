//! Allocation endpoints: `/v1/allocations` and `/v1/allocation/:id` (with id-prefix lookup).

use axum::extract::{Path, Query, State};
use axum::response::Response;

use crate::api::alloc::{alloc_out, alloc_stub};
use crate::api::job::job_to_api;
use crate::core::job::JobKey;
use crate::core::state::{table, ClusterState};

use super::error::ApiError;
use super::list::streamed_list_response;
use super::query::{query_index, with_index, QueryOptions};
use super::HttpState;

pub async fn list(State(st): State<HttpState>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::ALLOCS, &q).await?;
    let ids: Vec<String> = st.server.read(|s| s.allocs.keys().filter(|id| q.matches_prefix(id)).map(|id| id.to_string()).collect());
    let server = st.server.clone();
    let render = move |ids: &[String]| {
        server.read(|s| ids.iter().filter_map(|id| s.allocs.get(id.as_str())).map(|a| (a.id.to_string(), alloc_stub(s, a))).collect())
    };
    streamed_list_response(index, st.server.raft.leader().is_some(), &q, ids, render)
}

/// Finds an allocation by full id or unique prefix (as the CLI accepts short ids).
pub fn find_alloc_id(s: &ClusterState, id: &str) -> Result<String, ApiError> {
    if s.allocs.contains_key(id) {
        return Ok(id.to_string());
    }
    let from = (std::ops::Bound::Included(id), std::ops::Bound::Unbounded);
    let matches: Vec<&str> = s.allocs.range::<str, _>(from).take_while(|(k, _)| k.starts_with(id)).map(|(k, _)| &**k).collect();
    match matches.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(ApiError::not_found(format!("alloc not found: {id}"))),
        _ => Err(ApiError::bad_request(format!("alloc id prefix \"{id}\" matches {} allocations; use more characters", matches.len()))),
    }
}

pub async fn read(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::ALLOCS, &q).await?;
    let alloc = st.server.read(|s| {
        let id = find_alloc_id(s, &id)?;
        let a = &s.allocs[id.as_str()];
        let job = s.job_version(&JobKey::new(&a.namespace, &a.job_id), a.job_version).map(|j| job_to_api(j, s.job_status(j).as_str()));
        Ok::<_, ApiError>(alloc_out(a, job))
    })?;
    Ok(with_index(index, st.server.raft.leader().is_some(), alloc))
}
