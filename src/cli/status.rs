//! `drover status [<prefix>]`: with no argument the jobs (as `job status`); with an identifier, the
//! one job, allocation, node or evaluation it names (a job id, or an id prefix), shown as that object's
//! own `status` command shows it.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::api_client::{enc, ApiClient};
use super::eval::EvalCmd;
use super::job::JobCmd;
use super::node::NodeCmd;
use super::Global;

/// What an identifier names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Job(String),
    Alloc(String),
    Node(String),
    Eval(String),
}

impl Match {
    fn describe(&self) -> String {
        match self {
            Match::Job(id) => format!("job \"{id}\""),
            Match::Alloc(id) => format!("allocation {id}"),
            Match::Node(id) => format!("node {id}"),
            Match::Eval(id) => format!("evaluation {id}"),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Stub {
    #[serde(rename = "ID")]
    id: String,
}

async fn ids<T: DeserializeOwned>(api: &ApiClient, path: &str) -> Result<Vec<T>, String> {
    api.get(path).await.map_err(|e| e.to_string())
}

/// The object `prefix` names: an exact job id first, then the one object whose id starts with it.
pub async fn resolve(api: &ApiClient, prefix: &str) -> Result<Match, String> {
    let p = enc(prefix);
    let jobs: Vec<Stub> = ids(api, &format!("/v1/jobs?prefix={p}")).await?;
    if jobs.iter().any(|j| j.id == prefix) {
        return Ok(Match::Job(prefix.to_string()));
    }
    let mut found: Vec<Match> = jobs.into_iter().map(|j| Match::Job(j.id)).collect();
    found.extend(ids::<Stub>(api, &format!("/v1/allocations?prefix={p}")).await?.into_iter().map(|a| Match::Alloc(a.id)));
    found.extend(ids::<Stub>(api, &format!("/v1/nodes?prefix={p}")).await?.into_iter().map(|n| Match::Node(n.id)));
    found.extend(ids::<Stub>(api, &format!("/v1/evaluations?prefix={p}")).await?.into_iter().map(|e| Match::Eval(e.id)));
    match found.len() {
        0 => Err(format!("No job, allocation, node or evaluation matches \"{prefix}\"")),
        1 => Ok(found.remove(0)),
        n => {
            let shown: Vec<String> = found.iter().take(10).map(Match::describe).collect();
            let more = if n > shown.len() { format!(", and {} more", n - shown.len()) } else { String::new() };
            Err(format!("\"{prefix}\" matches {n} objects: {}{more}; use more characters", shown.join(", ")))
        }
    }
}

pub async fn run(prefix: Option<String>, g: &Global) -> i32 {
    let Some(prefix) = prefix else {
        return super::job::run(JobCmd::Status { id: None, out: Default::default() }, g).await;
    };
    let api = g.client();
    match resolve(&api, &prefix).await {
        Ok(Match::Job(id)) => super::job::run(JobCmd::Status { id: Some(id), out: Default::default() }, g).await,
        Ok(Match::Alloc(id)) => super::alloc::run(super::alloc::AllocCmd::Status { id, out: Default::default() }, g).await,
        Ok(Match::Node(id)) => super::node::run(NodeCmd::Status { id: Some(id), out: Default::default() }, g).await,
        Ok(Match::Eval(id)) => super::eval::run(EvalCmd::Status { id, out: Default::default() }, g).await,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}
