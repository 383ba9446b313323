//! `drover eval list|status`: evaluations, and why one could not place everything.

use crate::api::eval::ApiEvaluation;

use super::api_client::{enc, ApiClient};
use super::format::{kv, short, table, time};
use super::job::explain_failures;
use super::output::OutputFlags;
use super::Global;

#[derive(clap::Subcommand, Debug)]
pub enum EvalCmd {
    /// List evaluations
    List {
        /// Only those of this job
        #[arg(long)]
        job: Option<String>,
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Show one evaluation (id or unique prefix)
    Status {
        id: String,
        #[command(flatten)]
        out: OutputFlags,
    },
}

pub async fn run(cmd: EvalCmd, g: &Global) -> i32 {
    let api = g.client();
    let r = match cmd {
        EvalCmd::List { job, out } => {
            let path = match &job {
                Some(j) => format!("/v1/job/{}/evaluations", enc(j)),
                None => "/v1/evaluations".into(),
            };
            match out.emit(&api, &path).await {
                Some(r) => r,
                None => list(&api, &path).await,
            }
        }
        EvalCmd::Status { id, out } => match out.emit(&api, &format!("/v1/evaluation/{}", enc(&id))).await {
            Some(r) => r,
            None => status(&api, &id).await,
        },
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

async fn list(api: &ApiClient, path: &str) -> Result<(), String> {
    let mut evals: Vec<ApiEvaluation> = api.get(path).await.map_err(|e| e.to_string())?;
    evals.sort_by_key(|e| std::cmp::Reverse(e.create_index));
    let mut rows = vec![["ID", "Priority", "Triggered By", "Job ID", "Node ID", "Status", "Placement Failures"].map(String::from).to_vec()];
    for e in &evals {
        rows.push(vec![
            short(&e.id),
            e.priority.to_string(),
            e.triggered_by.clone(),
            e.job_id.clone(),
            if e.node_id.is_empty() { "<none>".into() } else { short(&e.node_id) },
            e.status.clone(),
            e.failed_tg_allocs.as_ref().is_some_and(|f| !f.is_empty()).to_string(),
        ]);
    }
    print!("{}", table(&rows));
    Ok(())
}

async fn status(api: &ApiClient, id: &str) -> Result<(), String> {
    let e: ApiEvaluation = api.get(&format!("/v1/evaluation/{}", enc(id))).await.map_err(|e| e.to_string())?;
    let mut basic = vec![
        ("ID", e.id.clone()),
        ("Create Time", time(e.create_time)),
        ("Modify Time", time(e.modify_time)),
        ("Status", e.status.clone()),
        ("Status Description", if e.status_description.is_empty() { "-".into() } else { e.status_description.clone() }),
        ("Type", e.job_type.clone()),
        ("TriggeredBy", e.triggered_by.clone()),
        ("Job ID", e.job_id.clone()),
        ("Priority", e.priority.to_string()),
        ("Placement Failures", e.failed_tg_allocs.as_ref().is_some_and(|f| !f.is_empty()).to_string()),
    ];
    // A delayed evaluation (a follow-up that reschedules a failed allocation) says when it runs.
    if let Some(at) = crate::api::alloc::parse_rfc3339(&e.wait_until) {
        basic.push(("Wait Until", time(at)));
    }
    print!("{}", kv(&basic));
    if e.failed_tg_allocs.as_ref().is_some_and(|f| !f.is_empty()) {
        println!("\nFailed Placements\n{}", explain_failures(&e));
    }
    Ok(())
}
