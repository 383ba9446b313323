//! Evaluations: requests to reconcile a job with the cluster, and why placements failed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EvalStatus {
    #[default]
    Pending,
    Complete,
    Failed,
    Blocked,
    Canceled,
}

impl EvalStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Complete => "complete",
            Self::Failed => "failed",
            Self::Blocked => "blocked",
            Self::Canceled => "canceled",
        }
    }

    pub fn terminal(&self) -> bool {
        matches!(self, Self::Complete | Self::Failed | Self::Canceled)
    }
}

/// Why a task group could not be placed (Nomad's `AllocMetric`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocMetric {
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

impl AllocMetric {
    /// One line an operator can act on.
    pub fn explain(&self) -> String {
        let mut parts = vec![format!("{} nodes evaluated", self.nodes_evaluated)];
        for (why, n) in &self.constraint_filtered {
            parts.push(format!("{n} filtered by {why}"));
        }
        for (dim, n) in &self.dimension_exhausted {
            parts.push(format!("{n} exhausted on {dim}"));
        }
        if self.nodes_evaluated == 0 {
            parts.push("no ready nodes in the job's datacenters and pool".into());
        }
        parts.join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Evaluation {
    pub id: String,
    pub namespace: String,
    pub priority: u8,
    pub job_type: String,
    pub triggered_by: String,
    pub job_id: String,
    pub job_modify_index: u64,
    pub node_id: String,
    pub status: EvalStatus,
    pub status_description: String,
    pub failed_tg_allocs: BTreeMap<String, AllocMetric>,
    pub queued_allocations: BTreeMap<String, u64>,
    pub blocked_eval: String,
    pub previous_eval: String,
    /// The deployment this evaluation acts for (the one it created, or whose progress triggered it).
    pub deployment_id: String,
    /// Not to be scheduled before this time (unix nanoseconds; 0: at once): a delayed evaluation,
    /// such as the follow-up that reschedules a failed allocation after its delay.
    pub wait_until: i64,
    pub create_index: u64,
    pub modify_index: u64,
    pub create_time: i64,
    pub modify_time: i64,
}

impl Evaluation {
    /// Whether the evaluation may be scheduled at `now` (unix nanoseconds): it is not delayed, or its
    /// `wait_until` has passed.
    pub fn due(&self, now: i64) -> bool {
        self.wait_until <= now
    }
}
