//! Variable endpoints: `GET /v1/vars`, `GET|PUT|DELETE /v1/var/*path` with check-and-set (`?cas=`), answering a conflict with 409 and the current variable.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::var::{var_from_api, var_metadata, var_to_api, ApiVariable, ApiVariableMetadata};
use crate::core::state::table;
use crate::core::var::VarKey;
use crate::server::vars::VarWrite;

use super::error::ApiError;
use super::list::list_response;
use super::query::{index_headers, query_index, with_index, QueryOptions};
use super::HttpState;

/// `?cas=&namespace=` of a write.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WriteOptions {
    pub cas: Option<String>,
    pub namespace: Option<String>,
}

impl WriteOptions {
    fn cas(&self) -> Result<Option<u64>, ApiError> {
        match self.cas.as_deref() {
            None | Some("") => Ok(None),
            Some(c) => c.parse().map(Some).map_err(|_| ApiError::bad_request(format!("failed to parse cas index \"{c}\": not a number"))),
        }
    }

    fn namespace(&self) -> &str {
        self.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default")
    }
}

pub async fn list(State(st): State<HttpState>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::VARS, &q).await?;
    let prefix = q.prefix.as_deref().unwrap_or("");
    let vars: Vec<(String, ApiVariableMetadata)> = st
        .server
        .read(|s| s.vars_with_prefix(q.namespace(), prefix).map(|v| (format!("{}/{}", v.namespace, v.path), var_metadata(v))).collect());
    list_response(index, st.server.raft.leader().is_some(), &q, vars)
}

pub async fn read(State(st): State<HttpState>, Path(path): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::VARS, &q).await?;
    let known_leader = st.server.raft.leader().is_some();
    let key = VarKey::new(q.namespace(), &path);
    Ok(match st.server.read(|s| s.vars.get(&key).map(|v| var_to_api(v))) {
        Some(v) => with_index(index, known_leader, v),
        None => (StatusCode::NOT_FOUND, index_headers(index, known_leader), "variable not found").into_response(),
    })
}

pub async fn put(
    State(st): State<HttpState>,
    Path(path): Path<String>,
    Query(w): Query<WriteOptions>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cas = w.cas()?;
    let api: ApiVariable =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("failed to parse JSON request body: {e}")))?;
    if !api.path.is_empty() && api.path != path {
        return Err(ApiError::bad_request(format!("variable path in the body (\"{}\") does not match the URL (\"{path}\")", api.path)));
    }
    let namespace = match (api.namespace.as_str(), w.namespace.as_deref().unwrap_or("")) {
        (b, q) if !b.is_empty() && !q.is_empty() && b != q => {
            return Err(ApiError::bad_request(format!("variable namespace in the body (\"{b}\") does not match ?namespace= (\"{q}\")")))
        }
        ("", _) => w.namespace().to_string(),
        (b, _) => b.to_string(),
    };
    let mut var = var_from_api(&api);
    var.path = path;
    var.namespace = namespace;
    let out = st.server.upsert_var(var, cas).await?;
    Ok(write_response(out, st.server.raft.leader().is_some()))
}

pub async fn delete(State(st): State<HttpState>, Path(path): Path<String>, Query(w): Query<WriteOptions>) -> Result<Response, ApiError> {
    let cas = w.cas()?;
    let out = st.server.delete_var(w.namespace(), &path, cas).await?;
    Ok(write_response(out, st.server.raft.leader().is_some()))
}

/// 200 with the stored variable (an empty body after a delete), or 409 with the current one.
fn write_response(w: VarWrite, known_leader: bool) -> Response {
    match w {
        VarWrite::Done { index, var: Some(v) } => with_index(index, known_leader, var_to_api(&v)),
        VarWrite::Done { index, var: None } => index_headers(index, known_leader).into_response(),
        VarWrite::Conflict { index, current } => {
            (StatusCode::CONFLICT, with_index(index, known_leader, var_to_api(&current))).into_response()
        }
    }
}
