//! Reading a job file for the CLI: Nomad HCL (`.hcl`, `.nomad`) or Nomad JSON (`.json`), into Nomad's JSON job.

use std::collections::BTreeMap;
use std::path::Path;

use crate::api::job::{job_from_api, job_to_api, ApiJob};
use crate::jobspec;

/// The job as Nomad's API JSON, plus warnings worth showing.
pub fn load(path: &str, vars: &[String]) -> Result<(ApiJob, Vec<String>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("error reading job file {path}: {e}"))?;
    if Path::new(path).extension().is_some_and(|x| x == "json") {
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}:{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
        let inner = v.get("Job").cloned().unwrap_or(v);
        let api: ApiJob = serde_json::from_value(inner).map_err(|e| format!("{path}: {e}"))?;
        let job = job_from_api(&api).map_err(|e| format!("{path}: {e}"))?;
        return Ok((job_to_api(&job, ""), Vec::new()));
    }
    let mut cli_vars = BTreeMap::new();
    for v in vars {
        let (k, val) = v.split_once('=').ok_or_else(|| format!("-var \"{v}\": expected name=value"))?;
        cli_vars.insert(k.to_string(), val.to_string());
    }
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let variables = jobspec::Variables::from_sources(cli_vars, Vec::new(), &env);
    let parsed = jobspec::parse(&text, path, &variables).map_err(|e| e.to_string())?;
    let mut job = parsed.job;
    job.canonicalize();
    Ok((job_to_api(&job, ""), parsed.warnings))
}
