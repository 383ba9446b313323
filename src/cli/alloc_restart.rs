//! `drover alloc restart [-task NAME | -all-tasks] <alloc> [task]`: Nomad's in-place restart of one
//! task or of every running task of an allocation (not counted against the restart policy).

use super::alloc_task::lookup;
use super::api_client::{enc, ApiClient};
use super::format::short;

#[derive(clap::Args, Debug)]
pub struct RestartArgs {
    /// Allocation id (or unique prefix)
    pub alloc: String,
    /// The task to restart (default: every running task)
    pub task: Option<String>,
    /// The task to restart; wins over the argument
    #[arg(long = "task", value_name = "NAME")]
    pub task_flag: Option<String>,
    /// Restart all tasks of the allocation
    #[arg(long)]
    pub all_tasks: bool,
    /// Print the full allocation id
    #[arg(long)]
    pub verbose: bool,
}

pub async fn run(api: &ApiClient, a: RestartArgs) -> Result<(), String> {
    let task = a.task_flag.or(a.task);
    if a.all_tasks && task.is_some() {
        return Err("The -all-tasks option cannot be used when a task is given".into());
    }
    let alloc = lookup(api, &a.alloc).await?;
    if let Some(t) = &task {
        alloc.check(t)?;
    }
    let body = serde_json::json!({ "TaskName": task.clone().unwrap_or_default(), "AllTasks": a.all_tasks });
    let _: serde_json::Value =
        api.put(&format!("/v1/client/allocation/{}/restart", enc(&alloc.id)), &body).await.map_err(|e| e.to_string())?;
    let id = if a.verbose { alloc.id.clone() } else { short(&alloc.id) };
    match task {
        Some(t) => println!("==> Task \"{t}\" of allocation \"{id}\" restarted"),
        None => println!("==> Allocation \"{id}\" restarted"),
    }
    Ok(())
}
