//! Operator endpoints: `GET /v1/operator/snapshot` saves the cluster state as a snapshot file, `PUT` restores one.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::query::index_headers;
use super::HttpState;

/// The largest snapshot file `PUT /v1/operator/snapshot` takes (its state must fit in one Raft entry anyway).
pub const MAX_UPLOAD_BYTES: usize = crate::raft::pb::MAX_MESSAGE_BYTES;

pub async fn save(State(st): State<HttpState>) -> Result<Response, ApiError> {
    let (index, bytes) = st.server.save_snapshot().await?;
    let mut headers = index_headers(index, st.server.raft.leader().is_some());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/gzip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"drover-{index}.snap\"")) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    Ok((headers, bytes).into_response())
}

pub async fn restore(State(st): State<HttpState>, body: Bytes) -> Result<Response, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("empty request body: send a snapshot file saved with GET /v1/operator/snapshot"));
    }
    let index = st.server.restore_snapshot(body.to_vec()).await?;
    Ok(index_headers(index, st.server.raft.leader().is_some()).into_response())
}
