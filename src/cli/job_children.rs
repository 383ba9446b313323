//! What `drover job status` shows for a periodic or parameterized job instead of allocations: its
//! schedule or parameters, its children by status, and the children themselves (as Nomad's "Children
//! Job Summary", "Previously Launched Jobs" and "Dispatched Jobs").

use super::api_client::{enc, ApiClient};
use super::format::{duration_secs, kv, table, time};
use crate::api::job::{job_from_api, ApiJob, JobListStub};

/// A periodic or parameterized job (not one of its children).
pub fn is_parent(job: &ApiJob) -> bool {
    job_from_api(job).is_ok_and(|j| j.is_parent())
}

/// The `key = value` lines a job's header gets about periodic and parameterized jobs.
pub fn parent_rows(job: &ApiJob, now_secs: i64) -> Vec<(&'static str, String)> {
    let mut rows = vec![("Periodic", job.periodic.is_some().to_string()), ("Parameterized", job.parameterized_job.is_some().to_string())];
    let model = job_from_api(job).ok();
    if let Some(p) = model.as_ref().filter(|j| j.is_periodic_active()).and_then(|j| j.periodic.as_deref()) {
        let next = match p.next_launch(now_secs) {
            Some(n) => format!("{} ({} from now)", time(n * 1_000_000_000), duration_secs(n - now_secs)),
            None => "none".into(),
        };
        rows.push(("Next Periodic Launch", next));
    }
    rows
}

/// The sections below the header of a parent job.
pub async fn print_children(api: &ApiClient, job: &ApiJob) -> Result<(), String> {
    if let Some(p) = &job.parameterized_job {
        print!(
            "\nParameterized Job\n{}",
            kv(&[
                ("Payload", p.payload.clone()),
                ("Required Metadata", p.meta_required.join(", ")),
                ("Optional Metadata", p.meta_optional.join(", ")),
            ])
        );
    }
    let summary: serde_json::Value = api.get(&format!("/v1/job/{}/summary", enc(&job.id))).await.map_err(|e| e.to_string())?;
    let c = &summary["Children"];
    let n = |k: &str| c[k].as_u64().unwrap_or(0).to_string();
    let title = if job.periodic.is_some() { "Children Job Summary" } else { "Parameterized Job Summary" };
    let rows = vec![vec!["Pending".to_string(), "Running".into(), "Dead".into()], vec![n("Pending"), n("Running"), n("Dead")]];
    print!("\n{title}\n{}", table(&rows));
    let prefix = format!("{}/", job.id);
    let stubs: Vec<JobListStub> = api.get(&format!("/v1/jobs?prefix={}", enc(&prefix))).await.map_err(|e| e.to_string())?;
    let mut children: Vec<JobListStub> = stubs.into_iter().filter(|s| s.parent_id == job.id).collect();
    children.sort_by_key(|s| std::cmp::Reverse(s.submit_time));
    let (heading, none) = if job.periodic.is_some() {
        ("Previously Launched Jobs", "No instances of periodic job found")
    } else {
        ("Dispatched Jobs", "No dispatched instances of parameterized job found")
    };
    if children.is_empty() {
        println!("\n{none}");
        return Ok(());
    }
    let mut rows = vec![vec!["ID".to_string(), "Status".into()]];
    rows.extend(children.into_iter().map(|s| vec![s.id, s.status]));
    print!("\n{heading}\n{}", table(&rows));
    Ok(())
}
