//! `drover alloc checks <alloc>`: the latest results of an allocation's native service checks, as
//! `nomad alloc checks`.

use std::collections::BTreeMap;

use crate::api::service_reg::ApiCheckResult;

use super::alloc_task::lookup;
use super::api_client::{enc, ApiClient};
use super::format::{kv, time};
use super::output::OutputFlags;

#[derive(clap::Args, Debug)]
pub struct ChecksArgs {
    /// Allocation id (or unique prefix)
    pub alloc: String,
    #[command(flatten)]
    pub out: OutputFlags,
}

pub async fn run(api: &ApiClient, a: ChecksArgs) -> Result<(), String> {
    let alloc = lookup(api, &a.alloc).await?;
    let path = format!("/v1/client/allocation/{}/checks", enc(&alloc.id));
    if let Some(r) = a.out.emit(api, &path).await {
        return r;
    }
    let checks: BTreeMap<String, ApiCheckResult> = api.get(&path).await.map_err(|e| e.to_string())?;
    if checks.is_empty() {
        println!("No checks found for allocation {}", alloc.id);
        return Ok(());
    }
    println!("Status of {} Nomad Service Checks", checks.len());
    for c in checks.values() {
        let task = if c.task.is_empty() { "(group)".to_string() } else { c.task.clone() };
        print!(
            "\n{}",
            kv(&[
                ("ID", c.id.clone()),
                ("Name", c.check.clone()),
                ("Group", c.group.clone()),
                ("Task", task),
                ("Service", c.service.clone()),
                ("Status", c.status.clone()),
                ("StatusCode", c.status_code.to_string()),
                ("Mode", c.mode.clone()),
                ("Timestamp", time(c.timestamp.saturating_mul(1_000_000_000))),
                ("Output", c.output.clone()),
            ])
        );
    }
    Ok(())
}
