//! Evaluation endpoints: `/v1/evaluations`, `/v1/evaluation/:id` and its allocations.

use axum::extract::{Path, Query, State};
use axum::response::Response;

use crate::api::alloc::alloc_stub;
use crate::api::eval::eval_out;
use crate::core::state::table;

use super::error::ApiError;
use super::list::list_response;
use super::query::{query_index, with_index, QueryOptions};
use super::HttpState;

pub async fn list(State(st): State<HttpState>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::EVALS, &q).await?;
    let evals: Vec<_> =
        st.server.read(|s| s.evals.values().filter(|e| q.matches_prefix(&e.id)).map(|e| (e.id.clone(), eval_out(e))).collect());
    list_response(index, st.server.raft.leader().is_some(), &q, evals)
}

pub async fn read(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::EVALS, &q).await?;
    let eval = st.server.read(|s| {
        s.evals
            .get(&id)
            .or_else(|| {
                let mut m = s.evals.range(id.clone()..).take_while(|(k, _)| k.starts_with(&id));
                match (m.next(), m.next()) {
                    (Some((_, e)), None) => Some(e),
                    _ => None,
                }
            })
            .map(eval_out)
    });
    let eval = eval.ok_or_else(|| ApiError::not_found(format!("eval not found: {id}")))?;
    Ok(with_index(index, st.server.raft.leader().is_some(), eval))
}

pub async fn allocations(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::ALLOCS, &q).await?;
    let allocs: Vec<_> = st.server.read(|s| s.allocs.values().filter(|a| a.eval_id == id).map(|a| alloc_stub(s, a)).collect());
    Ok(with_index(index, st.server.raft.leader().is_some(), allocs))
}
