//! `/v1/client/stats`: the node's memory, CPU, disk and uptime. A client agent answers for itself; a
//! server forwards to the client named by `?node_id=` (a `-dev` agent answers for its own client).

use std::path::PathBuf;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;

use crate::api::host_stats::host_stats_out;
use crate::client::host_stats;

use super::error::ApiError;
use super::logs::forward;
use super::nodes::find_node_id;
use super::HttpState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatsQuery {
    pub node_id: Option<String>,
}

pub async fn server_stats(State(st): State<HttpState>, Query(q): Query<StatsQuery>) -> Result<Response, ApiError> {
    match (q.node_id.as_deref().filter(|n| !n.is_empty()), st.alloc_root.as_ref().filter(|_| st.client.is_some())) {
        (None, Some(root)) => Ok(Json(host_stats_out(&host_stats::read(root).await)).into_response()),
        // Forwarded without `node_id`, so the client (or a -dev agent) answers for itself.
        (Some(node), _) => {
            let (id, addr) = st.server.read(|s| {
                let id = find_node_id(s, node)?;
                let addr = s.nodes.get(&id).map(|n| n.http_addr.clone()).unwrap_or_default();
                Ok::<_, ApiError>((id, addr))
            })?;
            if addr.is_empty() {
                return Err(ApiError::not_found(format!("node {id} has no HTTP address")));
            }
            forward(&st, &addr, &id, "/v1/client/stats").await
        }
        (None, None) => Err(ApiError::bad_request("this agent is not a client: name the node with ?node_id=")),
    }
}

pub async fn client_stats(State(root): State<PathBuf>) -> Json<serde_json::Value> {
    Json(host_stats_out(&host_stats::read(&root).await))
}
