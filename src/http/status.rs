//! Status endpoints: `/v1/status/leader`, `/v1/status/peers`, `/v1/agent/health`, `/v1/regions`.

use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};

use super::error::ApiError;
use super::HttpState;

pub async fn leader(State(st): State<HttpState>) -> Result<Json<String>, ApiError> {
    st.server
        .raft
        .leader()
        .map(|(_, addr)| Json(addr))
        .ok_or_else(|| ApiError(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "No cluster leader".into()))
}

pub async fn peers(State(st): State<HttpState>) -> Json<Vec<String>> {
    Json(st.server.raft.members().into_values().collect())
}

/// Nomad's agent health: one entry per role this agent has; 500 when the server has no leader.
pub async fn health(State(st): State<HttpState>) -> Response {
    let ok = st.server.raft.leader().is_some();
    let mut body = serde_json::json!({
        "server": { "ok": ok, "message": if ok { "ok" } else { "No cluster leader" } },
    });
    if st.alloc_root.is_some() {
        body["client"] = serde_json::json!({ "ok": true, "message": "ok" });
    }
    if ok {
        Json(body).into_response()
    } else {
        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
}

/// A client-only agent's health: the client role only (it runs once it has servers to talk to).
pub async fn client_health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "client": { "ok": true, "message": "ok" } }))
}

pub async fn regions() -> Json<Vec<String>> {
    Json(vec!["global".into()])
}
