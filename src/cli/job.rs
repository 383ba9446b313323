//! `drover job …`: run, plan, validate, init, inspect, status, allocs and stop; dispatch and periodic are wired here.

use std::time::{Duration, Instant};

use crate::api::alloc::ApiAllocation;
use crate::api::eval::{ApiAllocMetric, ApiEvaluation};
use crate::api::job::{ApiJob, JobListStub, JobRegisterResponse};

use super::api_client::{enc, ApiClient};
use super::format::{kv, short, table, time};
use super::job_file;
use super::job_run::{self, RunArgs};
use super::output::OutputFlags;
use super::Global;

#[derive(clap::Subcommand, Debug)]
pub enum JobCmd {
    /// Submit a job file (HCL or JSON) and wait until its allocations run
    Run(RunArgs),
    /// List jobs, or show one job and its allocations
    Status {
        id: Option<String>,
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Show what submitting a job file would change, without submitting it
    Plan(super::job_plan::PlanArgs),
    /// Check a job file (HCL or JSON) without submitting it
    Validate(job_file::JobSource),
    /// Write a commented example job file to start from
    Init {
        /// Where to write it
        #[arg(default_value = "example.nomad.hcl")]
        file: String,
        /// Overwrite the file if it exists
        #[arg(long)]
        force: bool,
    },
    /// Print a submitted job as Nomad's job JSON
    Inspect {
        id: String,
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Set the count of a job's group
    Scale(super::job_scale::ScaleArgs),
    /// List a job's allocations
    Allocs {
        job: String,
        #[command(flatten)]
        out: OutputFlags,
    },
    /// List the stored versions of a job
    History {
        job: String,
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Register an earlier version of a job again
    Revert { job: String, version: u64 },
    /// Create a new evaluation of a job
    Eval { job: String },
    /// Create an instance of a parameterized job
    Dispatch(super::job_dispatch::DispatchArgs),
    /// Interact with periodic jobs
    Periodic {
        #[command(subcommand)]
        cmd: super::job_periodic::PeriodicCmd,
    },
    /// Stop a job and wait until its allocations have stopped
    Stop {
        id: String,
        /// Remove the job from the cluster entirely
        #[arg(long)]
        purge: bool,
        /// Return at once, without waiting
        #[arg(long)]
        detach: bool,
    },
}

pub async fn run(cmd: JobCmd, g: &Global) -> i32 {
    let api = g.client();
    let r = match cmd {
        JobCmd::Run(a) => return job_run::run(&api, a).await,
        JobCmd::Dispatch(a) => return super::job_dispatch::run(&api, a).await,
        JobCmd::Periodic { cmd } => return super::job_periodic::run(&api, cmd).await,
        JobCmd::Plan(a) => return super::job_plan::run(&api, a).await,
        JobCmd::Validate(src) => return validate(&src),
        JobCmd::Init { file, force } => init(&file, force),
        JobCmd::Inspect { id, out } => inspect(&api, &id, &out).await,
        JobCmd::Scale(a) => super::job_scale::run(&api, a).await,
        JobCmd::History { job, out } => match out.emit(&api, &format!("/v1/job/{}/versions", enc(&job))).await {
            Some(r) => r,
            None => super::job_history::history(&api, &job).await,
        },
        JobCmd::Allocs { job, out } => match out.emit(&api, &format!("/v1/job/{}/allocations", enc(&job))).await {
            Some(r) => r,
            None => allocs(&api, &job).await,
        },
        JobCmd::Revert { job, version } => super::job_history::revert(&api, &job, version).await,
        JobCmd::Eval { job } => super::job_history::eval(&api, &job).await,
        JobCmd::Status { id: None, out } => match out.emit(&api, "/v1/jobs").await {
            Some(r) => r,
            None => list(&api).await,
        },
        JobCmd::Status { id: Some(id), out } => match out.emit(&api, &format!("/v1/job/{}", enc(&id))).await {
            Some(r) => r,
            None => status(&api, &id).await,
        },
        JobCmd::Stop { id, purge, detach } => stop(&api, &id, purge, detach).await,
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

async fn list(api: &ApiClient) -> Result<(), String> {
    let jobs: Vec<JobListStub> = api.get("/v1/jobs").await.map_err(|e| e.to_string())?;
    if jobs.is_empty() {
        println!("No running jobs");
        return Ok(());
    }
    let mut rows = vec![vec!["ID".into(), "Type".into(), "Priority".into(), "Status".into(), "Submit Date".into()]];
    for j in jobs {
        rows.push(vec![j.id, j.job_type, j.priority.to_string(), j.status, time(j.submit_time)]);
    }
    print!("{}", table(&rows));
    Ok(())
}

/// Allocation rows as Nomad's `job status` prints them.
pub fn alloc_rows(allocs: &[ApiAllocation]) -> String {
    let mut rows = vec![vec!["ID", "Node ID", "Task Group", "Version", "Desired", "Status", "Created", "Modified"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()];
    for a in allocs {
        rows.push(vec![
            short(&a.id),
            short(&a.node_id),
            a.task_group.clone(),
            a.job_version.to_string(),
            a.desired_status.clone(),
            a.client_status.clone(),
            time(a.create_time),
            time(a.modify_time),
        ]);
    }
    table(&rows)
}

/// Placement failures of the latest evaluation, in plain words.
pub fn explain_failures(eval: &ApiEvaluation) -> String {
    eval.failed_tg_allocs.as_ref().map(explain_metrics).unwrap_or_default()
}

/// Placement failures per task group, in plain words.
pub fn explain_metrics(failed: &std::collections::BTreeMap<String, ApiAllocMetric>) -> String {
    let mut out = String::new();
    for (group, m) in failed {
        out.push_str(&format!(
            "Task Group \"{group}\" (failed to place {} allocation{}):\n",
            m.coalesced_failures + 1,
            if m.coalesced_failures == 0 { "" } else { "s" }
        ));
        if m.nodes_evaluated == 0 {
            out.push_str("  * No nodes were eligible for evaluation\n");
        }
        for (why, n) in &m.constraint_filtered {
            out.push_str(&format!("  * Constraint \"{why}\": {n} nodes excluded by filter\n"));
        }
        for (dim, n) in &m.dimension_exhausted {
            out.push_str(&format!("  * Resources exhausted on {n} nodes\n  * Dimension \"{dim}\" exhausted on {n} nodes\n"));
        }
    }
    out
}

async fn status(api: &ApiClient, id: &str) -> Result<(), String> {
    let job: ApiJob = api.get(&format!("/v1/job/{}", enc(id))).await.map_err(|e| e.to_string())?;
    let allocs: Vec<ApiAllocation> = api.get(&format!("/v1/job/{}/allocations", enc(id))).await.map_err(|e| e.to_string())?;
    let evals: Vec<ApiEvaluation> = api.get(&format!("/v1/job/{}/evaluations", enc(id))).await.map_err(|e| e.to_string())?;
    let mut header = vec![
        ("ID", job.id.clone()),
        ("Name", job.name.clone()),
        ("Submit Date", time(job.submit_time)),
        ("Type", job.job_type.clone().unwrap_or_default()),
        ("Priority", job.priority.unwrap_or(50).to_string()),
        ("Datacenters", job.datacenters.join(",")),
        ("Namespace", job.namespace.clone()),
        ("Node Pool", job.node_pool.clone()),
        ("Status", job.status.clone()),
        ("Version", job.version.to_string()),
    ];
    if !job.parent_id.is_empty() {
        header.push(("Parent ID", job.parent_id.clone()));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    header.extend(super::job_children::parent_rows(&job, now));
    print!("{}", kv(&header));
    if super::job_children::is_parent(&job) {
        return super::job_children::print_children(api, &job).await;
    }
    let mut rows = vec![vec!["Task Group", "Queued", "Starting", "Running", "Failed", "Complete", "Lost"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()];
    for g in &job.task_groups {
        let mine: Vec<&ApiAllocation> = allocs.iter().filter(|a| a.task_group == g.name).collect();
        let count = |s: &str| mine.iter().filter(|a| a.client_status == s).count().to_string();
        let queued: u64 = evals.iter().max_by_key(|e| e.create_index).and_then(|e| e.queued_allocations.get(&g.name).copied()).unwrap_or(0);
        rows.push(vec![
            g.name.clone(),
            queued.to_string(),
            count("pending"),
            count("running"),
            count("failed"),
            count("complete"),
            count("lost"),
        ]);
    }
    println!("\nSummary\n{}", table(&rows));
    let deployment: Option<crate::api::deployment::ApiDeployment> =
        api.get(&format!("/v1/job/{}/deployment", enc(id))).await.map_err(|e| e.to_string())?;
    if let Some(d) = deployment {
        print!(
            "Latest Deployment\n{}",
            kv(&[("ID", short(&d.id)), ("Status", d.status.clone()), ("Description", d.status_description.clone())])
        );
        println!("\nDeployed\n{}", super::deployment::groups_table(&d));
    }
    if let Some(latest) = evals.iter().filter(|e| e.failed_tg_allocs.is_some()).max_by_key(|e| e.create_index) {
        if evals.iter().any(|e| e.status == "blocked") {
            println!("Placement Failure\n{}", explain_failures(latest));
        }
    }
    if allocs.is_empty() {
        println!("Allocations\nNo allocations placed");
    } else {
        print!("Allocations\n{}", alloc_rows(&allocs));
    }
    Ok(())
}

async fn stop(api: &ApiClient, id: &str, purge: bool, detach: bool) -> Result<(), String> {
    let path = format!("/v1/job/{}{}", enc(id), if purge { "?purge=true" } else { "" });
    let resp: JobRegisterResponse = api.delete(&path).await.map_err(|e| e.to_string())?;
    println!("==> Evaluation \"{}\" stops job \"{id}\"", short(&resp.eval_id));
    if detach {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let allocs: Vec<ApiAllocation> = api.get(&format!("/v1/job/{}/allocations", enc(id))).await.map_err(|e| e.to_string())?;
        let live = allocs.iter().filter(|a| matches!(a.client_status.as_str(), "pending" | "running")).count();
        if live == 0 {
            println!("==> All allocations of \"{id}\" have stopped");
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{live} allocations of \"{id}\" are still running after 120s"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The commented example `job init` writes (also `jobs/service.hcl`, which the tests run).
const INIT_EXAMPLE: &str = include_str!("../../jobs/service.hcl");

fn validate(src: &job_file::JobSource) -> i32 {
    match job_file::load(src) {
        Ok((job, warnings)) => {
            if !warnings.is_empty() {
                eprintln!("Job Warnings:\n{} warning(s):\n", warnings.len());
                for w in &warnings {
                    eprintln!("* {w}");
                }
                eprintln!();
            }
            match job.validate() {
                Ok(()) => {
                    println!("Job validation successful");
                    0
                }
                Err(errs) => {
                    eprintln!("Job validation errors:\n{} error(s) occurred:\n", errs.len());
                    for e in errs {
                        eprintln!("* {}: {e}", src.file);
                    }
                    1
                }
            }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

fn init(file: &str, force: bool) -> Result<(), String> {
    if !force && std::path::Path::new(file).exists() {
        return Err(format!("job file \"{file}\" already exists (use -force to overwrite it)"));
    }
    std::fs::write(file, INIT_EXAMPLE).map_err(|e| format!("could not write {file}: {e}"))?;
    println!("Example job file written to {file}");
    Ok(())
}

/// Nomad's `job inspect`: `{"Job": …}` as JSON; `-t` formats the job itself.
async fn inspect(api: &ApiClient, id: &str, out: &OutputFlags) -> Result<(), String> {
    let job: serde_json::Value = api.get(&format!("/v1/job/{}", enc(id))).await.map_err(|e| e.to_string())?;
    if out.template.is_some() {
        return out.print(&job);
    }
    let text = serde_json::to_string_pretty(&serde_json::json!({ "Job": job })).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

async fn allocs(api: &ApiClient, id: &str) -> Result<(), String> {
    let allocs: Vec<ApiAllocation> = api.get(&format!("/v1/job/{}/allocations", enc(id))).await.map_err(|e| e.to_string())?;
    if allocs.is_empty() {
        println!("No allocations placed");
    } else {
        print!("{}", alloc_rows(&allocs));
    }
    Ok(())
}
