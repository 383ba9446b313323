//! `/v1/client/allocation/:id/{restart,signal,stats,checks}`: in-place restart of tasks, signals to tasks,
//! the tasks' resource usage and the latest results of native service checks, answered by the client that runs the allocation (`client::control`,
//! `client::stats`). A server finds the allocation's client and forwards the request to it, as the
//! `/v1/client/fs` endpoints do; a `-dev` agent answers from its own client.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use std::collections::BTreeMap;

use crate::api::service_reg::{check_to_api, ApiCheckResult};
use crate::api::stats::alloc_usage_out;
use crate::client::control::{ClientControl, ControlError};
use crate::client::stats::alloc_usage;

use super::error::ApiError;
use super::logs::locate_alloc;
use super::HttpState;

/// `{TaskName, AllTasks}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartRequest {
    pub task_name: String,
    pub all_tasks: bool,
}

/// `{Signal, Task}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SignalRequest {
    pub signal: String,
    pub task: String,
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        let code = match &e {
            ControlError::UnknownAlloc(_) | ControlError::UnknownTask { .. } => StatusCode::NOT_FOUND,
            ControlError::NotRunning | ControlError::BadSignal(_) => StatusCode::BAD_REQUEST,
            ControlError::Signal { .. } | ControlError::Gone(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(code, e.to_string())
    }
}

fn body<T: Default + serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

fn generic_ok() -> Response {
    Json(serde_json::json!({ "Index": 0 })).into_response()
}

/// Which operation a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Restart,
    Signal,
    Stats,
    Checks,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Restart => "restart",
            Op::Signal => "signal",
            Op::Stats => "stats",
            Op::Checks => "checks",
        }
    }
}

fn task_opt(t: &str) -> Option<&str> {
    Some(t).filter(|t| !t.is_empty())
}

/// Answers an operation from this agent's client.
async fn serve_local(control: &ClientControl, op: Op, alloc_id: &str, bytes: &[u8]) -> Result<Response, ApiError> {
    match op {
        Op::Restart => {
            let r: RestartRequest = body(bytes)?;
            let task = if r.all_tasks { None } else { task_opt(&r.task_name) };
            control.restart(alloc_id, task).await?;
            Ok(generic_ok())
        }
        Op::Signal => {
            let r: SignalRequest = body(bytes)?;
            let signal = if r.signal.is_empty() { "SIGKILL" } else { r.signal.as_str() };
            control.signal(alloc_id, task_opt(&r.task), signal).await?;
            Ok(generic_ok())
        }
        Op::Stats => Ok(Json(alloc_usage_out(&alloc_usage(control, alloc_id).await?)).into_response()),
        Op::Checks => {
            let checks: BTreeMap<String, ApiCheckResult> =
                control.checks(alloc_id)?.iter().map(|(id, r)| (id.clone(), check_to_api(r))).collect();
            Ok(Json(checks).into_response())
        }
    }
}

/// Server agents: find the allocation, then answer it here (`-dev`) or forward to its client.
async fn serve(st: HttpState, op: Op, method: Method, alloc: String, raw: Option<String>, bytes: Bytes) -> Result<Response, ApiError> {
    let (alloc_id, node_addr) = locate_alloc(&st, &alloc)?;
    let local = st.alloc_root.as_ref().is_some_and(|r| r.join(&alloc_id).is_dir());
    match st.client.as_ref().filter(|_| local) {
        Some(control) => serve_local(control, op, &alloc_id, &bytes).await,
        None => {
            let query = raw.map(|q| format!("?{q}")).unwrap_or_default();
            let path = format!("/v1/client/allocation/{alloc_id}/{}{query}", op.as_str());
            forward(&st, &node_addr, &alloc_id, method, &path, bytes).await
        }
    }
}

/// Passes a request with its method and body on to the client at `node_addr`; its reply comes back as is.
async fn forward(st: &HttpState, node_addr: &str, alloc_id: &str, method: Method, path: &str, bytes: Bytes) -> Result<Response, ApiError> {
    if node_addr.is_empty() {
        return Err(ApiError::not_found(format!("allocation {alloc_id} has no reachable client")));
    }
    let base = if node_addr.starts_with("http") { node_addr.to_string() } else { format!("http://{node_addr}") };
    let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
    let resp = st
        .http
        .request(method, format!("{base}{path}"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(bytes.to_vec())
        .send()
        .await
        .map_err(|e| ApiError(StatusCode::BAD_GATEWAY, format!("client {node_addr}: {e}")))?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = resp.bytes().await.map_err(|e| ApiError(StatusCode::BAD_GATEWAY, format!("client {node_addr}: {e}")))?;
    let mut out = (status, Body::from(body)).into_response();
    if let Some(ct) = content_type.and_then(|c| c.parse().ok()) {
        out.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(out)
}

pub async fn restart(
    State(st): State<HttpState>,
    method: Method,
    Path(alloc): Path<String>,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    serve(st, Op::Restart, method, alloc, raw, bytes).await
}

pub async fn signal(
    State(st): State<HttpState>,
    method: Method,
    Path(alloc): Path<String>,
    RawQuery(raw): RawQuery,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    serve(st, Op::Signal, method, alloc, raw, bytes).await
}

pub async fn stats(State(st): State<HttpState>, Path(alloc): Path<String>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    serve(st, Op::Stats, Method::GET, alloc, raw, Bytes::new()).await
}

pub async fn checks(State(st): State<HttpState>, Path(alloc): Path<String>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    serve(st, Op::Checks, Method::GET, alloc, raw, Bytes::new()).await
}

fn checked(alloc: &str) -> Result<&str, ApiError> {
    if alloc.is_empty() || alloc.contains('/') || alloc.contains("..") {
        return Err(ApiError::bad_request(format!("invalid allocation id \"{alloc}\"")));
    }
    Ok(alloc)
}

async fn client_restart(State(c): State<ClientControl>, Path(alloc): Path<String>, bytes: Bytes) -> Result<Response, ApiError> {
    serve_local(&c, Op::Restart, checked(&alloc)?, &bytes).await
}

async fn client_signal(State(c): State<ClientControl>, Path(alloc): Path<String>, bytes: Bytes) -> Result<Response, ApiError> {
    serve_local(&c, Op::Signal, checked(&alloc)?, &bytes).await
}

async fn client_stats(State(c): State<ClientControl>, Path(alloc): Path<String>) -> Result<Response, ApiError> {
    serve_local(&c, Op::Stats, checked(&alloc)?, &[]).await
}

async fn client_checks(State(c): State<ClientControl>, Path(alloc): Path<String>) -> Result<Response, ApiError> {
    serve_local(&c, Op::Checks, checked(&alloc)?, &[]).await
}

/// The client-only agent's routes for these operations and `exec`.
pub fn client_routes(control: ClientControl) -> Router {
    Router::new()
        .route("/v1/client/allocation/{alloc}/restart", axum::routing::put(client_restart).post(client_restart))
        .route("/v1/client/allocation/{alloc}/signal", axum::routing::put(client_signal).post(client_signal))
        .route("/v1/client/allocation/{alloc}/stats", get(client_stats))
        .route("/v1/client/allocation/{alloc}/checks", get(client_checks))
        .route("/v1/client/allocation/{alloc}/exec", get(super::alloc_exec::client_exec))
        .with_state(control)
}
