//! Derived job views: `/v1/job/:id/summary` (allocation counts per group, children of a periodic or
//! parameterized job by status) and `/v1/job/:id/versions`.

use axum::extract::{Path, Query, State};
use axum::response::Response;

use crate::api::job::job_to_api;
use crate::core::job::JobKey;
use crate::core::job_summary::{children_summary, job_summary};
use crate::core::state::table;

use super::error::ApiError;
use super::query::{query_index, query_index_any, with_index, QueryOptions};
use super::HttpState;

pub async fn summary(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index_any(&st, &[table::JOBS, table::ALLOCS], &q).await?;
    let key = JobKey::new(q.namespace(), &id);
    let body = st.server.read(|s| {
        let job = s.jobs.get(&key)?;
        let groups: serde_json::Map<String, serde_json::Value> = job_summary(s, &key)
            .into_iter()
            .map(|(g, c)| {
                let v = serde_json::json!({
                    "Queued": c.queued, "Complete": c.complete, "Failed": c.failed,
                    "Running": c.running, "Starting": c.starting, "Lost": c.lost, "Unknown": 0,
                });
                (g, v)
            })
            .collect();
        let children = children_summary(s, &key);
        Some(serde_json::json!({
            "JobID": job.id,
            "Namespace": job.namespace,
            "Summary": groups,
            "Children": { "Pending": children.pending, "Running": children.running, "Dead": children.dead },
            "CreateIndex": job.create_index,
            "ModifyIndex": job.modify_index,
        }))
    });
    let body = body.ok_or_else(|| ApiError::not_found("job not found"))?;
    Ok(with_index(index, st.server.raft.leader().is_some(), body))
}

pub async fn versions(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::JOBS, &q).await?;
    let key = JobKey::new(q.namespace(), &id);
    let versions = st.server.read(|s| {
        let current = s.jobs.get(&key)?;
        let status = s.job_status(current);
        let mut v: Vec<_> =
            s.job_versions.range((key.clone(), 0)..=(key.clone(), u64::MAX)).map(|(_, j)| job_to_api(j, status.as_str())).collect();
        v.reverse();
        Some(v)
    });
    let versions = versions.ok_or_else(|| ApiError::not_found("job not found"))?;
    Ok(with_index(index, st.server.raft.leader().is_some(), serde_json::json!({ "Versions": versions, "Diffs": null })))
}
