//! Reading a job file for the CLI: Nomad HCL (`.hcl`, `.nomad`) or Nomad JSON (`.json`), with the
//! variables given by `-var`, `-var-file` and the environment, into the canonical job model.

use std::collections::BTreeMap;
use std::path::Path;

use crate::api::job::{decode_job_json, job_from_api};
use crate::core::job::Job;
use crate::jobspec;

/// Where a job comes from: a file and the variables to read it with.
#[derive(clap::Args, Debug, Clone)]
pub struct JobSource {
    /// The job file (.hcl, .nomad or .json); `-` reads HCL from standard input
    pub file: String,
    /// Set an HCL variable, name=value (repeatable)
    #[arg(long = "var")]
    pub var: Vec<String>,
    /// Read HCL variables from a file of name = value lines (repeatable)
    #[arg(long = "var-file")]
    pub var_file: Vec<String>,
    /// Read the job file as Nomad JSON whatever its extension
    #[arg(long)]
    pub json: bool,
}

/// The canonical job, plus warnings worth showing.
pub fn load(src: &JobSource) -> Result<(Job, Vec<String>), String> {
    let text = if src.file == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("error reading the job from standard input: {e}"))?
    } else {
        std::fs::read_to_string(&src.file).map_err(|e| format!("error reading job file {}: {e}", src.file))?
    };
    let path = &src.file;
    if src.json || Path::new(path).extension().is_some_and(|x| x == "json") {
        let api = decode_job_json(text.as_bytes()).map_err(|e| format!("{path}: {e}"))?;
        let job = job_from_api(&api).map_err(|e| format!("{path}: {e}"))?;
        return Ok((job, Vec::new()));
    }
    let mut cli_vars = BTreeMap::new();
    for v in &src.var {
        let (k, val) = v.split_once('=').ok_or_else(|| format!("-var \"{v}\": expected name=value"))?;
        cli_vars.insert(k.to_string(), val.to_string());
    }
    let mut files = Vec::new();
    for f in &src.var_file {
        let t = std::fs::read_to_string(f).map_err(|e| format!("error reading variable file {f}: {e}"))?;
        files.push((f.clone(), t));
    }
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let variables = jobspec::Variables::from_sources(cli_vars, files, &env);
    let parsed = jobspec::parse(&text, path, &variables).map_err(|e| e.to_string())?;
    let mut job = parsed.job;
    job.canonicalize();
    Ok((job, parsed.warnings))
}
