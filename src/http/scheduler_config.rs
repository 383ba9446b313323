//! `GET|PUT /v1/operator/scheduler/configuration`: the cluster-wide scheduler configuration, with `?cas=`.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;

use crate::api::scheduler_config::{scheduler_config_in, scheduler_config_out, ApiSchedulerConfig};
use crate::core::command::Command;
use crate::core::state::table;

use super::body::json_body;
use super::error::ApiError;
use super::query::{query_index, with_index, QueryOptions};
use super::HttpState;

pub async fn read(State(st): State<HttpState>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::SCHEDULER_CONFIG, &q).await?;
    let config = st.server.read(|s| scheduler_config_out(&s.scheduler_config));
    let body = serde_json::json!({ "SchedulerConfig": config, "Index": index, "KnownLeader": true, "LastContact": 0 });
    Ok(with_index(index, st.server.raft.leader().is_some(), body))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CasQuery {
    pub cas: Option<String>,
}

pub async fn update(State(st): State<HttpState>, Query(q): Query<CasQuery>, body: Bytes) -> Result<Response, ApiError> {
    let api: ApiSchedulerConfig = json_body(&body)?;
    let config = scheduler_config_in(&api);
    if let Some(p) = config.problems().into_iter().next() {
        return Err(ApiError::bad_request(p));
    }
    let cas = match q.cas.as_deref() {
        None | Some("") => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| ApiError::bad_request(format!("failed to parse cas index \"{c}\": not a number")))?),
    };
    let resp = st.server.propose(Command::SetSchedulerConfig { config, cas }).await?;
    Ok(Json(serde_json::json!({ "Updated": !resp.conflict, "Index": resp.index })).into_response())
}
