//! `drover job periodic force [-detach] <job>`: launches a periodic job now, then follows the
//! child's evaluation as `job run` does.

use std::time::Duration;

use super::api_client::{enc, ApiClient};
use super::format::short;
use super::job_run::monitor;
use crate::api::eval::ApiEvaluation;
use crate::api::job_dispatch::PeriodicForceResponse;

#[derive(clap::Subcommand, Debug)]
pub enum PeriodicCmd {
    /// Launch a periodic job now, regardless of its schedule
    Force {
        job: String,
        /// Return once the job is launched
        #[arg(long)]
        detach: bool,
    },
}

pub async fn run(api: &ApiClient, cmd: PeriodicCmd) -> i32 {
    let PeriodicCmd::Force { job, detach } = cmd;
    let resp: PeriodicForceResponse = match api.put(&format!("/v1/job/{}/periodic/force", enc(&job)), &serde_json::json!({})).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error forcing periodic job: {e}");
            return 1;
        }
    };
    if detach {
        println!("Force periodic successful\nEvaluation ID: {}", resp.eval_id);
        return 0;
    }
    // The child's id is on its evaluation.
    let child = match api.get::<ApiEvaluation>(&format!("/v1/evaluation/{}", enc(&resp.eval_id))).await {
        Ok(e) => e.job_id,
        Err(e) => {
            eprintln!("Error reading evaluation {}: {e}", resp.eval_id);
            return 1;
        }
    };
    println!("==> Monitoring evaluation \"{}\"", short(&resp.eval_id));
    match monitor(api, &child, &resp.eval_id, Duration::from_secs(300)).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}
