//! `drover job run`: submit a job file, follow its evaluation, wait until its allocations run, and follow
//! the deployment it started until it succeeds (exit 0) or fails (exit 2).

use std::time::{Duration, Instant};

use crate::api::alloc::ApiAllocation;
use crate::api::eval::ApiEvaluation;
use crate::api::job::{job_to_api, JobRegisterResponse};

use super::api_client::{enc, ApiClient};
use super::format::{duration_secs, short, time};
use super::job::{alloc_rows, explain_failures};
use super::job_file;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: job_file::JobSource,
    /// Return once the job is submitted
    #[arg(long)]
    pub detach: bool,
    /// Submit only if the job's modify index is still this one (0: only if the job does not exist),
    /// as printed by `drover job plan`
    #[arg(long = "check-index")]
    pub check_index: Option<u64>,
    /// How long to wait for the allocations to run
    #[arg(long, default_value = "300s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    crate::http::query::parse_go_duration(s).ok_or_else(|| format!("invalid duration \"{s}\" (use e.g. 30s, 5m)"))
}

pub async fn run(api: &ApiClient, a: RunArgs) -> i32 {
    let (job, warnings) = match job_file::load(&a.source) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    for w in warnings {
        eprintln!("Warning: {w}");
    }
    let id = job.id.clone();
    let mut body = serde_json::json!({ "Job": job_to_api(&job, "") });
    if let Some(index) = a.check_index {
        body["EnforceIndex"] = true.into();
        body["JobModifyIndex"] = index.into();
    }
    let resp: JobRegisterResponse = match api.put("/v1/jobs", &body).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error submitting job: {e}");
            return 1;
        }
    };
    if resp.eval_id.is_empty() {
        // A periodic or parameterized job: registered, with nothing to evaluate until it launches children.
        println!("Job registration successful");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        if let Some(next) = crate::core::job_plan::next_periodic_launch(&job, now) {
            println!("Approximate next launch time: {} ({} from now)", time(next * 1_000_000_000), duration_secs(next - now));
        }
        return 0;
    }
    println!("==> Monitoring evaluation \"{}\"", short(&resp.eval_id));
    if a.detach {
        println!("Job registration successful\nEvaluation ID: {}", resp.eval_id);
        return 0;
    }
    match monitor(api, &id, &resp.eval_id, a.timeout).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}

/// Follows an evaluation until its allocations run (or fail, or cannot be placed: `Err`, exit code 2).
pub(crate) async fn monitor(api: &ApiClient, job_id: &str, eval_id: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let eval: ApiEvaluation = loop {
        let e: ApiEvaluation = api.get(&format!("/v1/evaluation/{}", enc(eval_id))).await.map_err(|e| format!("Error: {e}"))?;
        if e.status != "pending" {
            break e;
        }
        if Instant::now() > deadline {
            return Err(format!("Error: evaluation {} still pending after {}s", short(eval_id), timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("    Evaluation triggered by job \"{job_id}\"\n    Evaluation status changed: \"pending\" -> \"{}\"", eval.status);
    if eval.failed_tg_allocs.is_some() {
        return Err(format!(
            "==> Failed to place all allocations:\n{}    Evaluation \"{}\" waiting for additional capacity to place remainder",
            explain_failures(&eval),
            short(&eval.blocked_eval)
        ));
    }
    if eval.status != "complete" {
        return Err(format!("==> Evaluation \"{}\" {}: {}", short(eval_id), eval.status, eval.status_description));
    }
    let mut announced = std::collections::BTreeSet::new();
    loop {
        let allocs: Vec<ApiAllocation> =
            api.get(&format!("/v1/job/{}/allocations", enc(job_id))).await.map_err(|e| format!("Error: {e}"))?;
        let current: Vec<ApiAllocation> = allocs.into_iter().filter(|a| a.desired_status == "run" && a.client_status != "lost").collect();
        for a in &current {
            if announced.insert(a.id.clone()) {
                println!("    Allocation \"{}\" created: node \"{}\", group \"{}\"", short(&a.id), short(&a.node_id), a.task_group);
            }
        }
        if let Some(f) = current.iter().find(|a| a.client_status == "failed") {
            let why: Vec<String> = f
                .task_states
                .iter()
                .flat_map(|(t, s)| {
                    s.events.iter().filter(|e| e.fails_task).map(move |e| format!("task \"{t}\": {}: {}", e.kind, e.display_message))
                })
                .collect();
            return Err(format!("==> Allocation \"{}\" failed\n    {}", short(&f.id), why.join("\n    ")));
        }
        if !current.is_empty() && current.iter().all(|a| a.client_status == "running" || a.client_status == "complete") {
            println!("==> Evaluation \"{}\" finished with status \"complete\"; all allocations running", short(eval_id));
            print!("{}", alloc_rows(&current));
            if eval.deployment_id.is_empty() {
                return Ok(());
            }
            // A rollout: follow it until every group is healthy (or it fails).
            let left = deadline.saturating_duration_since(Instant::now());
            return super::deployment::watch(api, &eval.deployment_id, left).await;
        }
        if Instant::now() > deadline {
            return Err(format!("Error: allocations of \"{job_id}\" not running after {}s", timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
