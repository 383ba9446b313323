//! Native service discovery endpoints: `GET /v1/services`, `GET|DELETE /v1/service/:name[/:id]`,
//! `GET /v1/job/:id/services` and `GET /v1/allocation/:id/services`, blocking on the services table;
//! a service read takes Nomad's `?choose=<n>|<key>` (rendezvous hashing).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::service_reg::{service_list, service_to_api, ApiServiceRegistration};
use crate::core::service_reg::{choose, ServiceRegistration};
use crate::core::state::{table, ClusterState};

use super::allocs::find_alloc_id;
use super::error::ApiError;
use super::list::list_response;
use super::query::{index_headers, query_index, query_index_any, with_index, QueryOptions};
use super::HttpState;

/// Whether a registration is in the asked namespace (`*`: any).
fn in_namespace(q: &QueryOptions, r: &ServiceRegistration) -> bool {
    let ns = q.namespace();
    ns == "*" || r.namespace == ns
}

/// The registrations `keep` selects, keyed by id for paging.
fn registrations(s: &ClusterState, keep: impl Fn(&ServiceRegistration) -> bool) -> Vec<(String, ApiServiceRegistration)> {
    s.services.values().filter(|r| keep(r)).map(|r| (r.id.clone(), service_to_api(r))).collect()
}

pub async fn list(State(st): State<HttpState>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::SERVICES, &q).await?;
    let body = st.server.read(|s| service_list(s.services.values().filter(|r| in_namespace(&q, r))));
    Ok(with_index(index, st.server.raft.leader().is_some(), body))
}

/// `?choose=<n>|<key>` and `?healthy` of a service read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChooseOptions {
    pub choose: Option<String>,
    /// Drover's addition: `?healthy=true` lists only instances whose checks all pass (or have none).
    #[serde(deserialize_with = "super::query::go_bool")]
    pub healthy: bool,
}

pub async fn read(
    State(st): State<HttpState>,
    Path(name): Path<String>,
    Query(q): Query<QueryOptions>,
    Query(c): Query<ChooseOptions>,
) -> Result<Response, ApiError> {
    let index = query_index(&st, table::SERVICES, &q).await?;
    let items = st.server.read(|s| {
        let healthy_only = c.healthy;
        let regs: Vec<&ServiceRegistration> =
            s.services.values().filter(|r| r.service_name == name && in_namespace(&q, r) && (!healthy_only || r.healthy())).collect();
        let regs = match c.choose.as_deref().filter(|c| !c.is_empty()) {
            Some(spec) => choose(regs, spec)
                .ok_or_else(|| ApiError::bad_request(format!("failed to parse choose parameter \"{spec}\": want <number>|<key>")))?,
            None => regs,
        };
        Ok::<_, ApiError>(regs.into_iter().map(|r| (r.id.clone(), service_to_api(r))).collect::<Vec<_>>())
    })?;
    list_response(index, st.server.raft.leader().is_some(), &q, items)
}

pub async fn delete(
    State(st): State<HttpState>,
    Path((name, id)): Path<(String, String)>,
    Query(q): Query<QueryOptions>,
) -> Result<Response, ApiError> {
    let index = st.server.delete_service(q.namespace(), &name, &id).await?;
    Ok(index_headers(index, st.server.raft.leader().is_some()).into_response())
}

pub async fn of_job(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index_any(&st, &[table::SERVICES, table::JOBS], &q).await?;
    let items = st.server.read(|s| {
        if !s.jobs.keys().any(|k| k.id == id && (q.namespace() == "*" || k.namespace == q.namespace())) {
            return Err(ApiError::not_found("job not found"));
        }
        Ok(registrations(s, |r| r.job_id == id && in_namespace(&q, r)))
    })?;
    list_response(index, st.server.raft.leader().is_some(), &q, items)
}

pub async fn of_alloc(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index_any(&st, &[table::SERVICES, table::ALLOCS], &q).await?;
    let items = st.server.read(|s| {
        let id = find_alloc_id(s, &id)?;
        Ok::<_, ApiError>(registrations(s, |r| r.alloc_id == id))
    })?;
    list_response(index, st.server.raft.leader().is_some(), &q, items)
}
