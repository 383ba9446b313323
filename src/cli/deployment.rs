//! `drover deployment list|status|promote|fail|pause|resume`, and the deployment monitor that
//! `job run` and `deployment status -monitor` share.

use std::time::{Duration, Instant};

use crate::api::deployment::{ApiDeployment, DeploymentUpdateResponse};

use super::api_client::{enc, ApiClient};
use super::format::{kv, short, table};
use super::output::OutputFlags;
use super::Global;

#[derive(clap::Subcommand, Debug)]
pub enum DeploymentCmd {
    /// List deployments, newest first
    List {
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Show a deployment's progress per task group (id or unique prefix)
    Status {
        id: String,
        /// Follow the deployment until it ends; exit 1 if it fails
        #[arg(long)]
        monitor: bool,
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Promote the canaries of a deployment (all groups, or those named with -group)
    Promote {
        id: String,
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Mark a deployment failed (it rolls back when its groups have auto_revert)
    Fail { id: String },
    /// Pause a deployment: no further allocations are replaced until it is resumed
    Pause { id: String },
    /// Resume a paused deployment
    Resume { id: String },
}

pub async fn run(cmd: DeploymentCmd, g: &Global) -> i32 {
    let api = g.client();
    let r = match cmd {
        DeploymentCmd::List { out } => match out.emit(&api, "/v1/deployments").await {
            Some(r) => r,
            None => list(&api).await,
        },
        DeploymentCmd::Status { id, monitor: true, .. } => {
            return match watch(&api, &id, Duration::from_secs(3600)).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("{e}");
                    1
                }
            }
        }
        DeploymentCmd::Status { id, out, .. } => match out.emit(&api, &format!("/v1/deployment/{}", enc(&id))).await {
            Some(r) => r,
            None => status(&api, &id).await,
        },
        DeploymentCmd::Promote { id, groups } => {
            let body = if groups.is_empty() {
                serde_json::json!({ "DeploymentID": id, "All": true })
            } else {
                serde_json::json!({ "DeploymentID": id, "Groups": groups })
            };
            update(&api, &format!("/v1/deployment/promote/{}", enc(&id)), &body, &id).await
        }
        DeploymentCmd::Fail { id } => update(&api, &format!("/v1/deployment/fail/{}", enc(&id)), &serde_json::json!({}), &id).await,
        DeploymentCmd::Pause { id } => {
            let body = serde_json::json!({ "DeploymentID": id, "Pause": true });
            update(&api, &format!("/v1/deployment/pause/{}", enc(&id)), &body, &id).await
        }
        DeploymentCmd::Resume { id } => {
            let body = serde_json::json!({ "DeploymentID": id, "Pause": false });
            update(&api, &format!("/v1/deployment/pause/{}", enc(&id)), &body, &id).await
        }
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
    let ds: Vec<ApiDeployment> = api.get("/v1/deployments").await.map_err(|e| e.to_string())?;
    let mut rows = vec![["ID", "Job ID", "Job Version", "Status", "Description"].map(String::from).to_vec()];
    for d in &ds {
        rows.push(vec![short(&d.id), d.job_id.clone(), d.job_version.to_string(), d.status.clone(), d.status_description.clone()]);
    }
    print!("{}", table(&rows));
    Ok(())
}

/// The per-group table Nomad prints under a deployment.
pub fn groups_table(d: &ApiDeployment) -> String {
    let canaries = d.task_groups.values().any(|g| g.desired_canaries > 0);
    let mut head = vec!["Task Group"];
    if canaries {
        head.extend(["Promoted", "Desired", "Canaries"]);
    } else {
        head.push("Desired");
    }
    head.extend(["Placed", "Healthy", "Unhealthy", "Progress Deadline"]);
    let mut rows = vec![head.into_iter().map(String::from).collect::<Vec<_>>()];
    for (name, g) in &d.task_groups {
        let mut row = vec![name.clone()];
        if canaries {
            row.extend([g.promoted.to_string(), g.desired_total.to_string(), g.desired_canaries.to_string()]);
        } else {
            row.push(g.desired_total.to_string());
        }
        let deadline = if g.progress_deadline > 0 { g.require_progress_by.clone() } else { "<none>".into() };
        row.extend([g.placed_allocs.to_string(), g.healthy_allocs.to_string(), g.unhealthy_allocs.to_string(), deadline]);
        rows.push(row);
    }
    table(&rows)
}

async fn status(api: &ApiClient, id: &str) -> Result<(), String> {
    let d: ApiDeployment = api.get(&format!("/v1/deployment/{}", enc(id))).await.map_err(|e| e.to_string())?;
    print!(
        "{}",
        kv(&[
            ("ID", d.id.clone()),
            ("Job ID", d.job_id.clone()),
            ("Job Version", d.job_version.to_string()),
            ("Status", d.status.clone()),
            ("Description", d.status_description.clone()),
        ])
    );
    println!("\nDeployed\n{}", groups_table(&d));
    Ok(())
}

async fn update(api: &ApiClient, path: &str, body: &serde_json::Value, id: &str) -> Result<(), String> {
    let r: DeploymentUpdateResponse = api.put(path, body).await.map_err(|e| e.to_string())?;
    if let Some(v) = r.reverted_job_version {
        println!("Deployment \"{}\" failed. Auto-reverted to job version {v}.", short(id));
    }
    if !r.eval_id.is_empty() {
        println!("==> Evaluation \"{}\" created for deployment \"{}\"", short(&r.eval_id), short(id));
    } else {
        println!("Deployment \"{}\" updated", short(id));
    }
    Ok(())
}

/// Follows a deployment until it ends, printing its progress whenever it changes. `Err` when it
/// fails or is cancelled (the message says why), or when `timeout` passes.
pub async fn watch(api: &ApiClient, id: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    println!("==> Monitoring deployment \"{}\"", short(id));
    loop {
        let d: ApiDeployment = api.get(&format!("/v1/deployment/{}", enc(id))).await.map_err(|e| format!("Error: {e}"))?;
        let now = format!("    Status: {} - {}\n{}", d.status, d.status_description, indent(&groups_table(&d)));
        if now != last {
            println!("{now}");
            last = now;
        }
        match d.status.as_str() {
            "successful" => return Ok(()),
            "failed" | "cancelled" => {
                return Err(format!("==> Deployment \"{}\" {}: {}", short(id), d.status, d.status_description));
            }
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(format!("Error: deployment \"{}\" still {} after {}s", short(id), d.status, timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}
