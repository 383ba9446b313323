//! `drover job history <job>`: the stored versions of a job, newest first; `drover job revert <job> <version>`.

use super::api_client::{enc, ApiClient};
use super::format::{kv, short, time};
use crate::api::job::{ApiJob, JobRegisterResponse};

pub async fn history(api: &ApiClient, job: &str) -> Result<(), String> {
    let v: serde_json::Value = api.get(&format!("/v1/job/{}/versions", enc(job))).await.map_err(|e| e.to_string())?;
    let versions: Vec<ApiJob> = serde_json::from_value(v["Versions"].clone()).map_err(|e| e.to_string())?;
    for (i, j) in versions.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print!("{}", kv(&[("Version", j.version.to_string()), ("Stable", j.stable.to_string()), ("Submit Date", time(j.submit_time))]));
    }
    Ok(())
}

pub async fn revert(api: &ApiClient, job: &str, version: u64) -> Result<(), String> {
    let body = serde_json::json!({ "JobID": job, "JobVersion": version });
    let r: JobRegisterResponse = api.put(&format!("/v1/job/{}/revert", enc(job)), &body).await.map_err(|e| e.to_string())?;
    println!("==> Job \"{job}\" reverted to version {version}; evaluation \"{}\"", short(&r.eval_id));
    Ok(())
}

pub async fn eval(api: &ApiClient, job: &str) -> Result<(), String> {
    let r: JobRegisterResponse =
        api.put(&format!("/v1/job/{}/evaluate", enc(job)), &serde_json::json!({ "JobID": job })).await.map_err(|e| e.to_string())?;
    println!("==> Evaluation \"{}\" created for job \"{job}\"", short(&r.eval_id));
    Ok(())
}
