//! `drover job dispatch [-meta k=v]… [-id-prefix-template s] [-detach] [-verbose] <job> [<input>|-]`:
//! creates an instance of a parameterized job with a payload (a file, or stdin with `-`) and metadata,
//! then follows its evaluation as `job run` does.

use std::io::Read;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::api_client::{enc, ApiClient};
use super::format::{kv, short};
use super::job_run::monitor;
use crate::api::job_dispatch::{JobDispatchRequest, JobDispatchResponse};

#[derive(clap::Args, Debug)]
pub struct DispatchArgs {
    /// The parameterized job
    pub job: String,
    /// The payload: a file, or `-` for stdin
    pub input: Option<String>,
    /// Metadata for the dispatched job, as key=value (repeatable)
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Goes into the dispatched job's id after `dispatch-`
    #[arg(long = "id-prefix-template", default_value = "")]
    pub id_prefix_template: String,
    /// Return once the job is dispatched
    #[arg(long)]
    pub detach: bool,
    /// Print full ids
    #[arg(long)]
    pub verbose: bool,
}

fn read_input(input: Option<&str>) -> Result<Vec<u8>, String> {
    match input {
        None => Ok(Vec::new()),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("Error reading input from stdin: {e}"))?;
            Ok(buf)
        }
        Some(path) => std::fs::read(path).map_err(|e| format!("Error reading input file \"{path}\": {e}")),
    }
}

fn request(a: &DispatchArgs) -> Result<JobDispatchRequest, String> {
    let mut meta = std::collections::BTreeMap::new();
    for m in &a.meta {
        let (k, v) = m.split_once('=').ok_or_else(|| format!("Error parsing meta value \"{m}\": expected key=value"))?;
        meta.insert(k.to_string(), v.to_string());
    }
    let payload = read_input(a.input.as_deref())?;
    Ok(JobDispatchRequest {
        job_id: a.job.clone(),
        payload: (!payload.is_empty()).then(|| STANDARD.encode(payload)),
        meta,
        id_prefix_template: a.id_prefix_template.clone(),
    })
}

pub async fn run(api: &ApiClient, a: DispatchArgs) -> i32 {
    let req = match request(&a) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let resp: JobDispatchResponse = match api.put(&format!("/v1/job/{}/dispatch", enc(&a.job)), &req).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error dispatching job: {e}");
            return 1;
        }
    };
    let eval = if a.verbose { resp.eval_id.clone() } else { short(&resp.eval_id) };
    print!("{}", kv(&[("Dispatched Job ID", resp.dispatched_job_id.clone()), ("Evaluation ID", eval.clone())]));
    if a.detach {
        return 0;
    }
    println!("\n==> Monitoring evaluation \"{eval}\"");
    match monitor(api, &resp.dispatched_job_id, &resp.eval_id, Duration::from_secs(300)).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}
