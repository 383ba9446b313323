//! `/v1/search`: Nomad's prefix search over jobs, evaluations, allocations, nodes, deployments and
//! namespaces (`Context` one of them or `all`), at most 20 matches per context with `Truncations`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::core::state::ClusterState;

use super::body::json_body;
use super::error::ApiError;
use super::query::with_index;
use super::HttpState;

/// Nomad returns at most this many matches per context.
const LIMIT: usize = 20;
const CONTEXTS: &[&str] = &["allocs", "deployment", "evals", "jobs", "namespaces", "nodes", "plugins", "volumes"];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SearchRequest {
    pub prefix: String,
    pub context: String,
    pub namespace: Option<String>,
}

pub async fn search(State(st): State<HttpState>, body: Bytes) -> Result<Response, ApiError> {
    let req: SearchRequest = json_body(&body)?;
    let contexts: Vec<&str> = match req.context.as_str() {
        "all" => CONTEXTS.to_vec(),
        c if CONTEXTS.contains(&c) => vec![c],
        "" => return Err(ApiError::bad_request("Context is required: one of all, jobs, evals, allocs, nodes, deployment, namespaces")),
        other => return Err(ApiError::bad_request(format!("invalid search context \"{other}\""))),
    };
    st.server.read_barrier(false).await?;
    let ns = req.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default").to_string();
    let (index, found) = st.server.read(|s| (s.index, contexts.iter().map(|c| (*c, matches(s, c, &req.prefix, &ns))).collect::<Vec<_>>()));
    let mut out_matches = BTreeMap::new();
    let mut truncations = BTreeMap::new();
    for (context, mut ids) in found {
        truncations.insert(context, ids.len() > LIMIT);
        ids.truncate(LIMIT);
        out_matches.insert(context, if ids.is_empty() && req.context == "all" { Value::Null } else { json!(ids) });
    }
    Ok(with_index(index, st.server.raft.leader().is_some(), json!({ "Matches": out_matches, "Truncations": truncations })))
}

/// The ids in `context` that start with `prefix` (one more than the limit at most, to see truncation).
fn matches(s: &ClusterState, context: &str, prefix: &str, ns: &str) -> Vec<String> {
    let take = LIMIT + 1;
    let ids: Vec<String> = match context {
        "jobs" => s.jobs.keys().filter(|k| k.namespace == ns && k.id.starts_with(prefix)).map(|k| k.id.clone()).take(take).collect(),
        "evals" => s.evals.values().filter(|e| e.namespace == ns && e.id.starts_with(prefix)).map(|e| e.id.clone()).take(take).collect(),
        "allocs" => {
            s.allocs.values().filter(|a| a.namespace == ns && a.id.starts_with(prefix)).map(|a| a.id.to_string()).take(take).collect()
        }
        "nodes" => s.nodes.keys().filter(|id| id.starts_with(prefix)).take(take).cloned().collect(),
        "deployment" => {
            s.deployments.values().filter(|d| d.namespace == ns && d.id.starts_with(prefix)).map(|d| d.id.clone()).take(take).collect()
        }
        "namespaces" => s.namespaces().into_iter().filter(|n| n.starts_with(prefix)).take(take).collect(),
        _ => Vec::new(),
    };
    ids
}
