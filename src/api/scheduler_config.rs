//! Nomad's scheduler configuration JSON (`SchedulerConfig`, `PreemptionConfig`) and its conversion.

use serde::{Deserialize, Serialize};

use crate::core::scheduler_config::{PreemptionConfig, SchedulerConfig};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiPreemptionConfig {
    pub system_scheduler_enabled: bool,
    #[serde(rename = "SysBatchSchedulerEnabled")]
    pub sysbatch_scheduler_enabled: bool,
    pub batch_scheduler_enabled: bool,
    pub service_scheduler_enabled: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiSchedulerConfig {
    pub scheduler_algorithm: String,
    pub preemption_config: ApiPreemptionConfig,
    pub memory_oversubscription_enabled: bool,
    pub reject_job_registration: bool,
    pub pause_eval_broker: bool,
    pub create_index: u64,
    pub modify_index: u64,
}

pub fn scheduler_config_out(c: &SchedulerConfig) -> ApiSchedulerConfig {
    ApiSchedulerConfig {
        scheduler_algorithm: c.scheduler_algorithm.clone(),
        preemption_config: ApiPreemptionConfig {
            system_scheduler_enabled: c.preemption.system_scheduler_enabled,
            sysbatch_scheduler_enabled: c.preemption.sysbatch_scheduler_enabled,
            batch_scheduler_enabled: c.preemption.batch_scheduler_enabled,
            service_scheduler_enabled: c.preemption.service_scheduler_enabled,
        },
        memory_oversubscription_enabled: c.memory_oversubscription_enabled,
        reject_job_registration: c.reject_job_registration,
        pause_eval_broker: c.pause_eval_broker,
        create_index: c.create_index,
        modify_index: c.modify_index,
    }
}

/// An empty algorithm means Nomad's default, binpack.
pub fn scheduler_config_in(a: &ApiSchedulerConfig) -> SchedulerConfig {
    SchedulerConfig {
        scheduler_algorithm: if a.scheduler_algorithm.is_empty() { "binpack".into() } else { a.scheduler_algorithm.clone() },
        preemption: PreemptionConfig {
            system_scheduler_enabled: a.preemption_config.system_scheduler_enabled,
            sysbatch_scheduler_enabled: a.preemption_config.sysbatch_scheduler_enabled,
            batch_scheduler_enabled: a.preemption_config.batch_scheduler_enabled,
            service_scheduler_enabled: a.preemption_config.service_scheduler_enabled,
        },
        memory_oversubscription_enabled: a.memory_oversubscription_enabled,
        reject_job_registration: a.reject_job_registration,
        pause_eval_broker: a.pause_eval_broker,
        create_index: 0,
        modify_index: 0,
    }
}
