//! `drover operator scheduler get-config|set-config`: the cluster-wide scheduler configuration.

use crate::api::scheduler_config::ApiSchedulerConfig;

use super::api_client::ApiClient;
use super::format::kv;
use super::output::OutputFlags;

#[derive(clap::Subcommand, Debug)]
pub enum SchedulerCmd {
    /// Show the scheduler configuration
    GetConfig {
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Change the scheduler configuration (only the options given)
    SetConfig {
        /// binpack or spread
        #[arg(long = "scheduler-algorithm")]
        algorithm: Option<String>,
        #[arg(long = "memory-oversubscription")]
        memory_oversubscription: Option<bool>,
        #[arg(long = "preempt-system-scheduler")]
        preempt_system: Option<bool>,
        #[arg(long = "preempt-sysbatch-scheduler")]
        preempt_sysbatch: Option<bool>,
        #[arg(long = "preempt-batch-scheduler")]
        preempt_batch: Option<bool>,
        #[arg(long = "preempt-service-scheduler")]
        preempt_service: Option<bool>,
        #[arg(long = "reject-job-registration")]
        reject_job_registration: Option<bool>,
        #[arg(long = "pause-eval-broker")]
        pause_eval_broker: Option<bool>,
        /// Apply only if the configuration's modify index is still this (check-and-set)
        #[arg(long = "check-index")]
        check_index: Option<u64>,
    },
}

const PATH: &str = "/v1/operator/scheduler/configuration";

async fn current(api: &ApiClient) -> Result<ApiSchedulerConfig, String> {
    let v: serde_json::Value = api.get(PATH).await.map_err(|e| e.to_string())?;
    serde_json::from_value(v["SchedulerConfig"].clone()).map_err(|e| e.to_string())
}

pub async fn run(cmd: SchedulerCmd, api: &ApiClient) -> Result<(), String> {
    match cmd {
        SchedulerCmd::GetConfig { out } => {
            if let Some(r) = out.emit(api, PATH).await {
                return r;
            }
            let c = current(api).await?;
            print!(
                "{}",
                kv(&[
                    ("Scheduler Algorithm", c.scheduler_algorithm.clone()),
                    ("Memory Oversubscription", c.memory_oversubscription_enabled.to_string()),
                    ("Reject Job Registration", c.reject_job_registration.to_string()),
                    ("Pause Eval Broker", c.pause_eval_broker.to_string()),
                    ("Preemption System Scheduler", c.preemption_config.system_scheduler_enabled.to_string()),
                    ("Preemption Service Scheduler", c.preemption_config.service_scheduler_enabled.to_string()),
                    ("Preemption Batch Scheduler", c.preemption_config.batch_scheduler_enabled.to_string()),
                    ("Preemption SysBatch Scheduler", c.preemption_config.sysbatch_scheduler_enabled.to_string()),
                    ("Modify Index", c.modify_index.to_string()),
                ])
            );
            Ok(())
        }
        SchedulerCmd::SetConfig {
            algorithm,
            memory_oversubscription,
            preempt_system,
            preempt_sysbatch,
            preempt_batch,
            preempt_service,
            reject_job_registration,
            pause_eval_broker,
            check_index,
        } => {
            let mut c = current(api).await?;
            if let Some(a) = algorithm {
                c.scheduler_algorithm = a;
            }
            let set = |dst: &mut bool, v: Option<bool>| {
                if let Some(v) = v {
                    *dst = v;
                }
            };
            set(&mut c.memory_oversubscription_enabled, memory_oversubscription);
            set(&mut c.preemption_config.system_scheduler_enabled, preempt_system);
            set(&mut c.preemption_config.sysbatch_scheduler_enabled, preempt_sysbatch);
            set(&mut c.preemption_config.batch_scheduler_enabled, preempt_batch);
            set(&mut c.preemption_config.service_scheduler_enabled, preempt_service);
            set(&mut c.reject_job_registration, reject_job_registration);
            set(&mut c.pause_eval_broker, pause_eval_broker);
            let path = match check_index {
                Some(i) => format!("{PATH}?cas={i}"),
                None => PATH.to_string(),
            };
            let r: serde_json::Value = api.put(&path, &c).await.map_err(|e| e.to_string())?;
            if r["Updated"] == true {
                println!("Scheduler configuration updated!");
                Ok(())
            } else {
                Err("the configuration changed since -check-index; nothing was updated".into())
            }
        }
    }
}
