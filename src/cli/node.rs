//! `drover node status|eligibility|drain`: the client nodes, their state, and whether they take new work.

use crate::api::node::{ApiNode, NodeListStub};

use super::api_client::{enc, ApiClient};
use super::format::{kv, short, table};
use super::node_drain::{self, DrainArgs};
use super::output::OutputFlags;
use super::Global;

#[derive(clap::Subcommand, Debug)]
pub enum NodeCmd {
    /// List nodes, or show one
    Status {
        id: Option<String>,
        #[command(flatten)]
        out: OutputFlags,
    },
    /// Allow (-enable) or forbid (-disable) new placements on a node
    Eligibility {
        id: String,
        #[arg(long, conflicts_with = "disable", required_unless_present = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
    },
    /// Drain a node: stop new placements and migrate its allocations away (-enable), or cancel (-disable)
    Drain(DrainArgs),
}

pub async fn run(cmd: NodeCmd, g: &Global) -> i32 {
    let api = g.client();
    let r = match cmd {
        NodeCmd::Status { id: None, out } => match out.emit(&api, "/v1/nodes").await {
            Some(r) => r,
            None => list(&api).await,
        },
        NodeCmd::Status { id: Some(id), out } => match out.emit(&api, &format!("/v1/node/{}", enc(&id))).await {
            Some(r) => r,
            None => one(&api, &id).await,
        },
        NodeCmd::Eligibility { id, enable, .. } => eligibility(&api, &id, enable).await,
        NodeCmd::Drain(args) => node_drain::run(&api, args).await,
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

async fn list(api: &ApiClient) -> Result<(), String> {
    let nodes: Vec<NodeListStub> = api.get("/v1/nodes").await.map_err(|e| e.to_string())?;
    if nodes.is_empty() {
        println!("No nodes registered");
        return Ok(());
    }
    let mut rows = vec![vec!["ID", "Node Pool", "DC", "Name", "Class", "Drain", "Eligibility", "Status"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()];
    for n in nodes {
        let class = if n.node_class.is_empty() { "<none>".into() } else { n.node_class };
        rows.push(vec![short(&n.id), n.node_pool, n.datacenter, n.name, class, n.drain.to_string(), n.scheduling_eligibility, n.status]);
    }
    print!("{}", table(&rows));
    Ok(())
}

async fn one(api: &ApiClient, id: &str) -> Result<(), String> {
    let n: ApiNode = api.get(&format!("/v1/node/{}", enc(id))).await.map_err(|e| e.to_string())?;
    let mut rows = vec![
        ("ID", n.id.clone()),
        ("Name", n.name.clone()),
        ("Node Pool", n.node_pool.clone()),
        ("Class", n.node_class.clone()),
        ("DC", n.datacenter.clone()),
        ("Drain", n.drain.to_string()),
        ("Eligibility", n.scheduling_eligibility.clone()),
        ("Status", n.status.clone()),
        ("Address", n.address.clone()),
    ];
    if let Some(d) = &n.drain_strategy {
        let deadline = match d.deadline {
            0 => "none".to_string(),
            x if x < 0 => "forced".to_string(),
            _ => d.force_deadline.clone(),
        };
        rows.push(("Drain Deadline", deadline));
        rows.push(("Drain Ignore System Jobs", d.ignore_system_jobs.to_string()));
    }
    if let Some(l) = &n.last_drain {
        rows.push(("Last Drain", format!("{} (started {}, updated {})", l.status, l.started_at, l.updated_at)));
        if let Some(m) = l.meta.as_ref().and_then(|m| m.get("message")) {
            rows.push(("Last Drain Message", m.clone()));
        }
    }
    print!("{}", kv(&rows));
    let drivers: Vec<String> = n.drivers.iter().filter(|(_, d)| d.healthy).map(|(k, _)| k.clone()).collect();
    println!("\nDrivers = {}", drivers.join(","));
    Ok(())
}

async fn eligibility(api: &ApiClient, id: &str, enable: bool) -> Result<(), String> {
    let body = serde_json::json!({ "Eligibility": if enable { "eligible" } else { "ineligible" } });
    let _: serde_json::Value = api.put(&format!("/v1/node/{}/eligibility", enc(id)), &body).await.map_err(|e| e.to_string())?;
    println!("Node \"{id}\" scheduling eligibility set: {}", if enable { "eligible for scheduling" } else { "ineligible for scheduling" });
    Ok(())
}
