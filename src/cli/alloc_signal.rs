//! `drover alloc signal [-s SIGNAL] [-task NAME] <alloc> [task]`: Nomad's signal to one task or to
//! every running task of an allocation (default SIGKILL).

use super::alloc_task::lookup;
use super::api_client::{enc, ApiClient};

#[derive(clap::Args, Debug)]
pub struct SignalArgs {
    /// Allocation id (or unique prefix)
    pub alloc: String,
    /// The task to signal (default: every running task)
    pub task: Option<String>,
    /// The signal to send, e.g. SIGHUP or SIGUSR1
    #[arg(short = 's', default_value = "SIGKILL")]
    pub signal: String,
    /// The task to signal; wins over the argument
    #[arg(long = "task", value_name = "NAME")]
    pub task_flag: Option<String>,
    /// Print the full allocation id
    #[arg(long)]
    pub verbose: bool,
}

pub async fn run(api: &ApiClient, a: SignalArgs) -> Result<(), String> {
    let task = a.task_flag.or(a.task);
    let alloc = lookup(api, &a.alloc).await?;
    if let Some(t) = &task {
        alloc.check(t)?;
    }
    let body = serde_json::json!({ "Signal": a.signal, "Task": task.unwrap_or_default() });
    let _: serde_json::Value =
        api.put(&format!("/v1/client/allocation/{}/signal", enc(&alloc.id)), &body).await.map_err(|e| e.to_string())?;
    Ok(())
}
