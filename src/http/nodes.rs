//! Node endpoints: `/v1/nodes`, `/v1/node/:id` (with id-prefix lookup) and its allocations.

use axum::extract::{Path, Query, State};
use axum::response::Response;

use crate::api::alloc::alloc_stub;
use crate::api::node::{node_out, node_stub};
use crate::core::state::{table, ClusterState};

use super::error::ApiError;
use super::list::list_response;
use super::query::{query_index, with_index, QueryOptions};
use super::HttpState;

pub async fn list(State(st): State<HttpState>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::NODES, &q).await?;
    let nodes: Vec<_> =
        st.server.read(|s| s.nodes.values().filter(|n| q.matches_prefix(&n.id)).map(|n| (n.id.clone(), node_stub(n))).collect());
    list_response(index, st.server.raft.leader().is_some(), &q, nodes)
}

pub fn find_node_id(s: &ClusterState, id: &str) -> Result<String, ApiError> {
    if s.nodes.contains_key(id) {
        return Ok(id.to_string());
    }
    let m: Vec<&String> = s.nodes.range(id.to_string()..).take_while(|(k, _)| k.starts_with(id)).map(|(k, _)| k).collect();
    match m.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(ApiError::not_found(format!("node not found: {id}"))),
        _ => Err(ApiError::bad_request(format!("node id prefix \"{id}\" matches {} nodes", m.len()))),
    }
}

pub async fn read(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::NODES, &q).await?;
    let node = st.server.read(|s| find_node_id(s, &id).map(|id| node_out(&s.nodes[&id])))?;
    Ok(with_index(index, st.server.raft.leader().is_some(), node))
}

pub async fn allocations(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::ALLOCS, &q).await?;
    let allocs = st.server.read(|s| find_node_id(s, &id).map(|id| s.allocs_on_node(&id).map(|a| alloc_stub(s, a)).collect::<Vec<_>>()))?;
    Ok(with_index(index, st.server.raft.leader().is_some(), allocs))
}
