//! Nomad's JSON for launching child jobs: `JobDispatchRequest`/`JobDispatchResponse`
//! (`/v1/job/:id/dispatch`) and `PeriodicForceResponse` (`/v1/job/:id/periodic/force`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::job::decode_payload;
use crate::core::dispatch::DispatchRequest;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDispatchRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// Base64, as Go encodes `[]byte`.
    pub payload: Option<String>,
    pub meta: BTreeMap<String, String>,
    pub id_prefix_template: String,
}

impl JobDispatchRequest {
    pub fn to_model(&self) -> Result<DispatchRequest, String> {
        let payload = decode_payload(self.payload.as_deref().unwrap_or("")).map_err(|e| format!("Payload: {e}"))?;
        Ok(DispatchRequest { payload, meta: self.meta.clone(), id_prefix_template: self.id_prefix_template.clone() })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobDispatchResponse {
    #[serde(rename = "DispatchedJobID")]
    pub dispatched_job_id: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub eval_create_index: u64,
    pub job_create_index: u64,
    pub index: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct PeriodicForceResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub eval_create_index: u64,
    pub index: u64,
}
