//! Nomad's evaluation JSON, including `FailedTGAllocs` placement metrics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::eval::{AllocMetric, Evaluation};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAllocMetric {
    pub nodes_evaluated: u64,
    pub nodes_filtered: u64,
    pub nodes_in_pool: u64,
    pub nodes_available: BTreeMap<String, u64>,
    pub class_filtered: BTreeMap<String, u64>,
    pub constraint_filtered: BTreeMap<String, u64>,
    pub nodes_exhausted: u64,
    pub class_exhausted: BTreeMap<String, u64>,
    pub dimension_exhausted: BTreeMap<String, u64>,
    pub coalesced_failures: u64,
}

pub fn metric_out(m: &AllocMetric) -> ApiAllocMetric {
    ApiAllocMetric {
        nodes_evaluated: m.nodes_evaluated,
        nodes_filtered: m.nodes_filtered,
        nodes_in_pool: m.nodes_in_pool,
        nodes_available: m.nodes_available.clone(),
        class_filtered: m.class_filtered.clone(),
        constraint_filtered: m.constraint_filtered.clone(),
        nodes_exhausted: m.nodes_exhausted,
        class_exhausted: m.class_exhausted.clone(),
        dimension_exhausted: m.dimension_exhausted.clone(),
        coalesced_failures: m.coalesced_failures,
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiEvaluation {
    #[serde(rename = "ID")]
    pub id: String,
    pub namespace: String,
    pub priority: u8,
    #[serde(rename = "Type")]
    pub job_type: String,
    pub triggered_by: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub status: String,
    pub status_description: String,
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: Option<BTreeMap<String, ApiAllocMetric>>,
    pub queued_allocations: BTreeMap<String, u64>,
    pub blocked_eval: String,
    pub previous_eval: String,
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    /// RFC 3339; Go's zero time when the evaluation is not delayed.
    pub wait_until: String,
    pub create_index: u64,
    pub modify_index: u64,
    pub create_time: i64,
    pub modify_time: i64,
}

pub fn eval_out(e: &Evaluation) -> ApiEvaluation {
    ApiEvaluation {
        id: e.id.clone(),
        namespace: e.namespace.clone(),
        priority: e.priority,
        job_type: e.job_type.clone(),
        triggered_by: e.triggered_by.clone(),
        job_id: e.job_id.clone(),
        node_id: e.node_id.clone(),
        status: e.status.as_str().into(),
        status_description: e.status_description.clone(),
        failed_tg_allocs: (!e.failed_tg_allocs.is_empty())
            .then(|| e.failed_tg_allocs.iter().map(|(k, v)| (k.clone(), metric_out(v))).collect()),
        queued_allocations: e.queued_allocations.clone(),
        blocked_eval: e.blocked_eval.clone(),
        previous_eval: e.previous_eval.clone(),
        deployment_id: e.deployment_id.clone(),
        wait_until: super::alloc::rfc3339(e.wait_until).unwrap_or_else(|| super::node::ZERO_TIME.into()),
        create_index: e.create_index,
        modify_index: e.modify_index,
        create_time: e.create_time,
        modify_time: e.modify_time,
    }
}
