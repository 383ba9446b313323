//! `/v1/system/gc` (collect every finished evaluation, allocation, dead job, down node and finished
//! deployment now) and `/v1/system/reconcile/summaries` (job summaries are computed from the
//! allocations on every read, so there is nothing to reconcile; answered for compatibility).

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::core::gc::GcThresholds;

use super::error::ApiError;
use super::HttpState;

pub async fn gc(State(st): State<HttpState>) -> Result<Response, ApiError> {
    st.server.collect_garbage(GcThresholds::FORCE).await?;
    Ok(().into_response())
}

pub async fn reconcile_summaries() -> Response {
    ().into_response()
}
