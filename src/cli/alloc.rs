//! `drover alloc …`: status, logs, files (`fs`) and stop of one allocation; restart, signal, exec and
//! checks live in their own files.

use futures::StreamExt;
use std::io::Write;

use crate::api::alloc::{parse_rfc3339, ApiAllocation};
use crate::api::eval::ApiEvaluation;

use super::api_client::{enc, ApiClient};
use super::format::{kv, pretty_secs, short, table};
use super::output::OutputFlags;
use super::Global;

#[derive(clap::Subcommand, Debug)]
pub enum AllocCmd {
    /// Show an allocation and the states and events of its tasks
    Status {
        id: String,
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Stop an allocation; the scheduler replaces it
    Stop { id: String },
    /// Print a task's stdout (or stderr)
    Logs {
        id: String,
        task: Option<String>,
        /// Show stderr instead of stdout
        #[arg(long)]
        stderr: bool,
        /// Keep following the log
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// List a directory of the allocation, print a file, or show a file's details (-stat)
    Fs(super::alloc_fs::FsArgs),
    /// Restart a task, or all running tasks, of an allocation in place
    Restart(super::alloc_restart::RestartArgs),
    /// Send a signal to a task, or to all running tasks, of an allocation
    Signal(super::alloc_signal::SignalArgs),
    /// Run a command inside a running task
    Exec(super::alloc_exec::ExecArgs),
    /// Show the latest results of the allocation's native service checks
    Checks(super::alloc_checks::ChecksArgs),
}

pub async fn run(cmd: AllocCmd, g: &Global) -> i32 {
    let api = g.client();
    let cmd = match cmd {
        AllocCmd::Exec(a) => return super::alloc_exec::run(&api, &g.address, a).await,
        other => other,
    };
    let r = match cmd {
        AllocCmd::Status { id, out } => match out.emit(&api, &format!("/v1/allocation/{}", enc(&id))).await {
            Some(r) => r,
            None => status(&api, &id).await,
        },
        AllocCmd::Stop { id } => stop(&api, &id).await,
        AllocCmd::Logs { id, task, stderr, follow } => logs(&api, &id, task, stderr, follow).await,
        AllocCmd::Fs(a) => super::alloc_fs::run(&api, a).await,
        AllocCmd::Restart(a) => super::alloc_restart::run(&api, a).await,
        AllocCmd::Signal(a) => super::alloc_signal::run(&api, a).await,
        AllocCmd::Checks(a) => super::alloc_checks::run(&api, a).await,
        AllocCmd::Exec(_) => unreachable!("handled above"),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

async fn status(api: &ApiClient, id: &str) -> Result<(), String> {
    let a: ApiAllocation = api.get(&format!("/v1/allocation/{}", enc(id))).await.map_err(|e| e.to_string())?;
    let mut rows = vec![
        ("ID", a.id.clone()),
        ("Eval ID", short(&a.eval_id)),
        ("Name", a.name.clone()),
        ("Node ID", short(&a.node_id)),
        ("Node Name", a.node_name.clone()),
        ("Job ID", a.job_id.clone()),
        ("Job Version", a.job_version.to_string()),
        ("Client Status", a.client_status.clone()),
        ("Client Description", a.client_description.clone()),
        ("Desired Status", a.desired_status.clone()),
        ("Desired Description", a.desired_description.clone()),
    ];
    if !a.deployment_id.is_empty() {
        let health = match a.deployment_status.as_ref().and_then(|d| d.healthy) {
            Some(true) => "healthy",
            Some(false) => "unhealthy",
            None => "unset",
        };
        rows.push(("Deployment ID", short(&a.deployment_id)));
        rows.push(("Deployment Health", health.into()));
        if a.deployment_status.as_ref().is_some_and(|d| d.canary) {
            rows.push(("Canary", "true".into()));
        }
    }
    rows.extend(reschedule_lines(api, &a).await);
    print!("{}", kv(&rows));
    let shared = &a.allocated_resources.shared;
    let ports: Vec<String> = shared
        .ports
        .iter()
        .map(|p| {
            let inside = if p.to > 0 { format!(" -> {}", p.to) } else { String::new() };
            format!("{}: {}:{}{inside}", p.label, p.host_ip, p.value)
        })
        .collect();
    if !ports.is_empty() {
        let mode = shared.networks.first().map_or("host", |n| n.mode.as_str());
        println!("\nAllocation Addresses (mode = {mode:?})\n{}", ports.join("\n"));
    }
    for (task, st) in &a.task_states {
        println!("\nTask \"{task}\" is \"{}\"", st.state);
        println!("Recent Events:");
        let mut rows = vec![vec!["Time".to_string(), "Type".to_string(), "Description".to_string()]];
        for e in st.events.iter().rev() {
            rows.push(vec![super::format::time(e.time), e.kind.clone(), e.display_message.clone()]);
        }
        print!("{}", table(&rows));
    }
    Ok(())
}

/// Nomad's reschedule lines of `alloc status`: attempts used within the policy's interval, the
/// replacement, and when a delayed follow-up evaluation will reschedule it.
async fn reschedule_lines(api: &ApiClient, a: &ApiAllocation) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let policy =
        a.job.as_ref().and_then(|j| j.task_groups.iter().find(|g| g.name == a.task_group)).and_then(|g| g.reschedule_policy.as_ref());
    if let (Some(t), Some(p)) = (a.reschedule_tracker.as_ref().filter(|t| !t.events.is_empty()), policy) {
        let (attempts, interval) = (p.attempts.unwrap_or(0), p.interval.unwrap_or(0));
        if attempts > 0 {
            let used = if interval > 0 { t.events.iter().filter(|e| a.modify_time - e.reschedule_time < interval).count() } else { 0 };
            out.push(("Reschedule Attempts", format!("{used}/{attempts}")));
        }
    }
    if !a.next_allocation.is_empty() {
        out.push(("Replacement Alloc ID", short(&a.next_allocation)));
    }
    if !a.followup_eval_id.is_empty() {
        let eval: Result<ApiEvaluation, _> = api.get(&format!("/v1/evaluation/{}", enc(&a.followup_eval_id))).await;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
        if let Some(at) = eval.ok().and_then(|e| parse_rfc3339(&e.wait_until)).filter(|at| *at > now) {
            out.push(("Reschedule Eligibility", format!("{} from now", pretty_secs((at - now + 500_000_000) / 1_000_000_000))));
        }
    }
    out
}

async fn logs(api: &ApiClient, id: &str, task: Option<String>, stderr: bool, follow: bool) -> Result<(), String> {
    let a: ApiAllocation = api.get(&format!("/v1/allocation/{}", enc(id))).await.map_err(|e| e.to_string())?;
    let task = match task {
        Some(t) => t,
        None => {
            let tasks: Vec<String> = a
                .job
                .as_ref()
                .and_then(|j| j.task_groups.iter().find(|g| g.name == a.task_group))
                .map(|g| g.tasks.iter().map(|t| t.name.clone()).collect())
                .unwrap_or_default();
            match tasks.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(format!(
                        "allocation {} has tasks {}; name one: drover alloc logs {} <task>",
                        short(&a.id),
                        tasks.join(", "),
                        short(&a.id)
                    ))
                }
            }
        }
    };
    let kind = if stderr { "stderr" } else { "stdout" };
    let path = format!("/v1/client/fs/logs/{}?task={}&type={kind}&plain=true&follow={follow}", enc(&a.id), enc(&task));
    let resp = api.get_text(&path).await.map_err(|e| e.to_string())?;
    let mut stream = resp.bytes_stream();
    let mut out = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        out.write_all(&chunk).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn stop(api: &ApiClient, id: &str) -> Result<(), String> {
    let r: serde_json::Value =
        api.put(&format!("/v1/allocation/{}/stop", enc(id)), &serde_json::json!({})).await.map_err(|e| e.to_string())?;
    println!("==> Allocation \"{id}\" is stopping; evaluation \"{}\" replaces it", short(r["EvalID"].as_str().unwrap_or("")));
    Ok(())
}
