//! `drover job scale <job> [<group>] <count>`: sets a group's count (the only group when omitted).

use super::api_client::{enc, ApiClient};
use super::format::short;
use crate::api::job::{ApiJob, JobRegisterResponse};

#[derive(clap::Args, Debug)]
pub struct ScaleArgs {
    pub job: String,
    /// The group, then the count; or only the count when the job has one group
    #[arg(num_args = 1..=2, required = true)]
    pub rest: Vec<String>,
}

pub async fn run(api: &ApiClient, a: ScaleArgs) -> Result<(), String> {
    let (group, count) = match a.rest.as_slice() {
        [count] => {
            let job: ApiJob = api.get(&format!("/v1/job/{}", enc(&a.job))).await.map_err(|e| e.to_string())?;
            match job.task_groups.as_slice() {
                [g] => (g.name.clone(), count.clone()),
                _ => return Err(format!("job \"{}\" has {} task groups; name the group to scale", a.job, job.task_groups.len())),
            }
        }
        [group, count] => (group.clone(), count.clone()),
        _ => return Err("usage: drover job scale <job> [<group>] <count>".into()),
    };
    let count: i64 = count.parse().map_err(|_| format!("count \"{count}\" is not a number"))?;
    let body = serde_json::json!({ "Count": count, "Target": { "Group": group }, "Message": "scaled with drover job scale" });
    let r: JobRegisterResponse = api.put(&format!("/v1/job/{}/scale", enc(&a.job)), &body).await.map_err(|e| e.to_string())?;
    println!("==> Job \"{}\" group \"{group}\" scaled to {count}; evaluation \"{}\"", a.job, short(&r.eval_id));
    Ok(())
}
