//! Job endpoints: `/v1/jobs`, `/v1/job/:id` and its allocations and evaluations, `/v1/jobs/parse`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;

use crate::api::alloc::alloc_stub;
use crate::api::eval::eval_out;
use crate::api::job::{decode_value, job_from_api, job_stub, job_to_api, ApiJob, JobRegisterRequest, JobRegisterResponse};
use crate::core::job::{Job, JobKey};
use crate::core::state::table;

use super::body::json_body;
use super::error::ApiError;
use super::list::list_response;
use super::query::{query_index, with_index, QueryOptions};
use super::HttpState;

pub async fn list(State(st): State<HttpState>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::JOBS, &q).await?;
    let ns = q.namespace().to_string();
    let mut jobs: Vec<_> = st.server.read(|s| {
        s.jobs
            .values()
            .filter(|j| (ns == "*" || j.namespace == ns) && q.matches_prefix(&j.id))
            .map(|j| (format!("{}.{}", j.id, j.namespace), job_stub(j, s.job_status(j).as_str())))
            .collect()
    });
    jobs.sort_by(|a, b| a.0.cmp(&b.0));
    list_response(index, st.server.raft.leader().is_some(), &q, jobs)
}

async fn do_register(st: &HttpState, body: &[u8], path_id: Option<&str>) -> Result<Response, ApiError> {
    let req: JobRegisterRequest = json_body(body)?;
    let job = submitted_job(req.job, path_id)?;
    let enforce = req.enforce_index.then_some(req.job_modify_index);
    let (eval_id, index) = st.server.register_job_checked(job, enforce).await?;
    // Apply stamps the job's modify index with the registration's own index; reading it back from
    // this server's state could show the previous one on a follower that has not applied it yet.
    let resp =
        JobRegisterResponse { eval_id, eval_create_index: index, job_modify_index: index, index, known_leader: true, ..Default::default() };
    Ok(with_index(index, st.server.raft.leader().is_some(), resp))
}

/// The job of a register or plan request, converted, with the URL's id (if any) matching its own.
pub(super) fn submitted_job(api: Option<ApiJob>, path_id: Option<&str>) -> Result<Job, ApiError> {
    let api = api.ok_or_else(|| ApiError::bad_request("Job must be specified"))?;
    if let Some(id) = path_id {
        if api.id != id {
            return Err(ApiError::bad_request(format!("Job ID does not match: URL has \"{id}\", body has \"{}\"", api.id)));
        }
    }
    job_from_api(&api).map_err(|e| ApiError::bad_request(e.to_string()))
}

pub async fn register(State(st): State<HttpState>, body: Bytes) -> Result<Response, ApiError> {
    do_register(&st, &body, None).await
}

pub async fn register_one(State(st): State<HttpState>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    do_register(&st, &body, Some(&id)).await
}

pub async fn read(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::JOBS, &q).await?;
    let key = JobKey::new(q.namespace(), &id);
    let job: Option<ApiJob> = st.server.read(|s| s.jobs.get(&key).map(|j| job_to_api(j, s.job_status(j).as_str())));
    let job = job.ok_or_else(|| ApiError::not_found("job not found"))?;
    Ok(with_index(index, st.server.raft.leader().is_some(), job))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeregisterOptions {
    #[serde(deserialize_with = "super::query::go_bool")]
    pub purge: bool,
    pub namespace: Option<String>,
}

pub async fn deregister(
    State(st): State<HttpState>,
    Path(id): Path<String>,
    Query(q): Query<DeregisterOptions>,
) -> Result<Response, ApiError> {
    let ns = q.namespace.unwrap_or_else(|| "default".into());
    let (eval_id, index) = st.server.deregister_job(&ns, &id, q.purge).await?;
    let resp =
        JobRegisterResponse { eval_id, eval_create_index: index, job_modify_index: index, index, known_leader: true, ..Default::default() };
    Ok(with_index(index, st.server.raft.leader().is_some(), resp))
}

pub async fn allocations(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::ALLOCS, &q).await?;
    let key = JobKey::new(q.namespace(), &id);
    let allocs: Vec<_> = st.server.read(|s| s.allocs_of_job(&key).map(|a| alloc_stub(s, a)).collect());
    Ok(with_index(index, st.server.raft.leader().is_some(), allocs))
}

pub async fn evaluations(State(st): State<HttpState>, Path(id): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index(&st, table::EVALS, &q).await?;
    let key = JobKey::new(q.namespace(), &id);
    let evals: Vec<_> = st.server.read(|s| s.evals_of_job(&key).map(eval_out).collect());
    Ok(with_index(index, st.server.raft.leader().is_some(), evals))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ParseRequest {
    #[serde(rename = "JobHCL")]
    pub job_hcl: String,
    /// The text of a variables file (`name = value` lines), as `-var-file` takes.
    pub variables: String,
    pub canonicalize: bool,
}

/// `/v1/jobs/parse`: HCL in, Nomad job JSON out.
pub async fn parse(body: Bytes) -> Result<Response, ApiError> {
    let req: ParseRequest = json_body(&body)?;
    let vars = crate::jobspec::Variables::from_var_file_text("Variables", &req.variables);
    let parsed = crate::jobspec::parse(&req.job_hcl, "JobHCL", &vars).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut job = parsed.job;
    if req.canonicalize {
        job.canonicalize();
    }
    Ok(Json(job_to_api(&job, "")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ValidateRequest {
    pub job: Option<serde_json::Value>,
}

/// `/v1/validate/job` reply, as Nomad's `JobValidateResponse`.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValidateResponse {
    pub driver_config_validated: bool,
    pub validation_errors: Vec<String>,
    pub error: String,
    pub warnings: String,
}

/// `/v1/validate/job`: checks a job as registration would, without registering it.
pub async fn validate(State(st): State<HttpState>, body: Bytes) -> Result<Response, ApiError> {
    let req: ValidateRequest = json_body(&body)?;
    let v = req.job.ok_or_else(|| ApiError::bad_request("Job must be specified"))?;
    let mut resp = ValidateResponse::default();
    let errors = match decode_value::<ApiJob>(v).map_err(|e| e.to_string()).and_then(|a| job_from_api(&a).map_err(|e| e.to_string())) {
        Err(e) => vec![e],
        Ok(job) => {
            let mut errs = job.validate().err().unwrap_or_default();
            errs.extend(st.server.driver_problems(&job));
            errs
        }
    };
    resp.driver_config_validated = errors.is_empty();
    if !errors.is_empty() {
        resp.error =
            format!("{} error(s) occurred:\n\n{}", errors.len(), errors.iter().map(|e| format!("* {e}")).collect::<Vec<_>>().join("\n"));
    }
    resp.validation_errors = errors;
    Ok(Json(resp).into_response())
}
