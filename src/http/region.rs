//! `?region=`: a request for this agent's region is served; one for any other region fails as Nomad's
//! does when it knows no server there ("No path to region"), since a Drover cluster is one region.

use axum::extract::{Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiError;
use super::HttpState;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegionParam {
    region: Option<String>,
}

pub async fn route(State(st): State<HttpState>, Query(q): Query<RegionParam>, req: Request, next: Next) -> Response {
    match q.region.filter(|r| !r.is_empty()) {
        Some(r) if r != st.server.identity.region => {
            ApiError::internal(format!("No path to region \"{r}\" (this cluster serves region \"{}\")", st.server.identity.region))
                .into_response()
        }
        _ => next.run(req).await,
    }
}
