//! The cluster-wide scheduler configuration (`/v1/operator/scheduler/configuration`): binpack or
//! spread placement, preemption per scheduler type, memory oversubscription, paused evaluation broker.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreemptionConfig {
    pub system_scheduler_enabled: bool,
    pub sysbatch_scheduler_enabled: bool,
    pub batch_scheduler_enabled: bool,
    pub service_scheduler_enabled: bool,
}

impl Default for PreemptionConfig {
    /// Nomad's defaults: only the system scheduler preempts.
    fn default() -> Self {
        Self {
            system_scheduler_enabled: true,
            sysbatch_scheduler_enabled: false,
            batch_scheduler_enabled: false,
            service_scheduler_enabled: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulerConfig {
    /// `binpack` or `spread`.
    pub scheduler_algorithm: String,
    pub preemption: PreemptionConfig,
    pub memory_oversubscription_enabled: bool,
    pub reject_job_registration: bool,
    pub pause_eval_broker: bool,
    pub create_index: u64,
    pub modify_index: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            scheduler_algorithm: "binpack".into(),
            preemption: PreemptionConfig::default(),
            memory_oversubscription_enabled: false,
            reject_job_registration: false,
            pause_eval_broker: false,
            create_index: 0,
            modify_index: 0,
        }
    }
}

impl SchedulerConfig {
    pub fn problems(&self) -> Vec<String> {
        if matches!(self.scheduler_algorithm.as_str(), "binpack" | "spread") {
            Vec::new()
        } else {
            vec![format!("invalid scheduler algorithm \"{}\" (binpack or spread)", self.scheduler_algorithm)]
        }
    }
}
