//! Resolving `<alloc> [task]` for the allocation commands that act on tasks (`alloc restart`,
//! `alloc signal`, `alloc exec`): the allocation's full id and the task names of its group.

use crate::api::alloc::ApiAllocation;

use super::api_client::{enc, ApiClient};
use super::format::short;

/// An allocation's full id and its group's task names, in order.
pub struct AllocTasks {
    pub id: String,
    pub tasks: Vec<String>,
}

pub async fn lookup(api: &ApiClient, alloc: &str) -> Result<AllocTasks, String> {
    let a: ApiAllocation = api.get(&format!("/v1/allocation/{}", enc(alloc))).await.map_err(|e| e.to_string())?;
    let tasks = a
        .job
        .as_ref()
        .and_then(|j| j.task_groups.iter().find(|g| g.name == a.task_group))
        .map(|g| g.tasks.iter().map(|t| t.name.clone()).collect())
        .unwrap_or_default();
    Ok(AllocTasks { id: a.id, tasks })
}

impl AllocTasks {
    /// Checks that `task` belongs to the allocation (Nomad's wording).
    pub fn check(&self, task: &str) -> Result<(), String> {
        if self.tasks.iter().any(|t| t == task) {
            return Ok(());
        }
        Err(format!("Could not find task named: {task}, found: {} (allocation {})", self.tasks.join(", "), short(&self.id)))
    }
}
