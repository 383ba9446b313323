//! `drover node drain`: starts, updates or cancels a node's drain, and follows it (as Nomad's
//! monitor) until the node has no allocations left to move.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use crate::api::alloc::ApiAllocation;
use crate::api::node::ApiNode;

use super::api_client::{enc, ApiClient};
use super::format::{short, time};

/// Without -deadline, -force or -no-deadline.
const DEFAULT_DEADLINE: &str = "1h";
const POLL: Duration = Duration::from_millis(250);

#[derive(clap::Args, Debug)]
pub struct DrainArgs {
    /// Node id or id prefix (or -self)
    pub id: Option<String>,
    /// Start (or update) the drain
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Cancel the drain (the node becomes eligible again unless -keep-ineligible)
    #[arg(long)]
    pub disable: bool,
    /// After this long, everything left on the node is stopped at once [default: 1h]
    #[arg(long, conflicts_with_all = ["force", "no_deadline"])]
    pub deadline: Option<String>,
    /// Stop every allocation on the node now
    #[arg(long, conflicts_with = "no_deadline")]
    pub force: bool,
    /// Migrate as the jobs' migrate blocks allow, however long it takes
    #[arg(long = "no-deadline")]
    pub no_deadline: bool,
    /// Leave system jobs' allocations on the node
    #[arg(long = "ignore-system")]
    pub ignore_system: bool,
    /// With -disable: keep the node ineligible for new placements
    #[arg(long = "keep-ineligible")]
    pub keep_ineligible: bool,
    /// Return at once instead of following the drain
    #[arg(long)]
    pub detach: bool,
    /// Follow a drain already under way
    #[arg(long, conflicts_with_all = ["enable", "disable", "detach"])]
    pub monitor: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    /// The node of the agent answering the API
    #[arg(long = "self", conflicts_with = "id")]
    pub self_node: bool,
    /// A message kept with the drain (its `message` meta)
    #[arg(short = 'm')]
    pub message: Option<String>,
}

pub async fn run(api: &ApiClient, a: DrainArgs) -> Result<(), String> {
    if !a.enable && !a.disable && !a.monitor {
        return Err("one of -enable, -disable or -monitor is required".into());
    }
    let node_id = resolve(api, &a).await?;
    if a.monitor {
        return monitor(api, &node_id).await;
    }
    let deadline = deadline(&a)?;
    if a.enable && !a.yes && std::io::stdin().is_terminal() && !confirm(&node_id)? {
        return Err("drain not enabled".into());
    }
    let meta: BTreeMap<String, String> = a.message.iter().map(|m| ("message".to_string(), m.clone())).collect();
    let body = if a.enable {
        serde_json::json!({ "NodeID": node_id, "DrainSpec": { "Deadline": deadline, "IgnoreSystemJobs": a.ignore_system }, "MarkEligible": false, "Meta": meta })
    } else {
        serde_json::json!({ "NodeID": node_id, "DrainSpec": null, "MarkEligible": !a.keep_ineligible, "Meta": meta })
    };
    let _: serde_json::Value = api.put(&format!("/v1/node/{}/drain", enc(&node_id)), &body).await.map_err(|e| e.to_string())?;
    if a.disable {
        println!("Node {:?} drain strategy unset", node_id);
        return Ok(());
    }
    println!("Node {:?} drain strategy set", node_id);
    if a.detach {
        return Ok(());
    }
    monitor(api, &node_id).await
}

/// The full node id: the local client's with -self, otherwise the one the prefix names.
async fn resolve(api: &ApiClient, a: &DrainArgs) -> Result<String, String> {
    if a.self_node {
        let me: serde_json::Value = api.get("/v1/agent/self").await.map_err(|e| e.to_string())?;
        return me
            .pointer("/stats/client/node_id")
            .and_then(|v| v.as_str())
            .map(String::from)
            .ok_or_else(|| "-self: the agent answering is not a client".to_string());
    }
    let id = a.id.as_deref().ok_or("a node id (or -self) is required")?;
    let node: ApiNode = api.get(&format!("/v1/node/{}", enc(id))).await.map_err(|e| e.to_string())?;
    Ok(node.id)
}

/// The deadline in nanoseconds: -1 with -force, 0 with -no-deadline.
fn deadline(a: &DrainArgs) -> Result<i64, String> {
    if a.force {
        return Ok(-1);
    }
    if a.no_deadline {
        return Ok(0);
    }
    let text = a.deadline.as_deref().unwrap_or(DEFAULT_DEADLINE);
    match crate::jobspec::parse_duration(text) {
        Ok(ns) if ns > 0 => Ok(ns),
        Ok(_) => Err(format!("-deadline {text}: must be positive (use -force or -no-deadline)")),
        Err(e) => Err(format!("-deadline: {e}")),
    }
}

fn confirm(node_id: &str) -> Result<bool, String> {
    print!("Are you sure you want to enable drain mode for node {node_id:?}? [y/N] ");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
    Ok(matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

fn say(line: &str) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
    println!("{}: {line}", time(now));
}

/// What the monitor last saw of one allocation.
#[derive(Clone, PartialEq)]
struct Seen {
    migrate: bool,
    stopping: bool,
    client_status: String,
}

fn seen(a: &ApiAllocation) -> Seen {
    Seen {
        migrate: a.desired_transition.migrate == Some(true),
        stopping: a.desired_status != "run",
        client_status: a.client_status.clone(),
    }
}

fn client_terminal(a: &ApiAllocation) -> bool {
    matches!(a.client_status.as_str(), "complete" | "failed" | "lost")
}

/// Follows the drain: allocations marked for migration, stopping and ending, then the drain's end
/// and the last drained allocation stopped.
async fn monitor(api: &ApiClient, node_id: &str) -> Result<(), String> {
    say("Ctrl-C to stop monitoring: will not cancel the node drain");
    let node_path = format!("/v1/node/{}", enc(node_id));
    let allocs_path = format!("/v1/node/{}/allocations", enc(node_id));
    let mut known: BTreeMap<String, Seen> = BTreeMap::new();
    let mut first = true;
    let mut drain_ended = false;
    loop {
        let allocs: Vec<ApiAllocation> = api.get(&allocs_path).await.map_err(|e| e.to_string())?;
        for a in &allocs {
            let now = seen(a);
            let before = match known.get(&a.id) {
                Some(s) => s.clone(),
                // allocations that had ended before the drain are not part of it
                None if first && client_terminal(a) => now.clone(),
                None => Seen { migrate: false, stopping: false, client_status: now.client_status.clone() },
            };
            if now.migrate && !before.migrate {
                say(&format!("Alloc {:?} marked for migration", short(&a.id)));
            }
            if now.stopping && !before.stopping && !client_terminal(a) {
                say(&format!("Alloc {:?} draining", short(&a.id)));
            }
            if now.client_status != before.client_status {
                say(&format!("Alloc {:?} status {} -> {}", short(&a.id), before.client_status, now.client_status));
            }
            known.insert(a.id.clone(), now);
        }
        first = false;
        let node: ApiNode = api.get(&node_path).await.map_err(|e| e.to_string())?;
        if node.drain_strategy.is_none() && !drain_ended {
            drain_ended = true;
            match node.last_drain.as_ref().map(|d| d.status.as_str()) {
                Some("canceled") => {
                    say(&format!("Drain canceled for node {node_id}"));
                    return Ok(());
                }
                _ => say(&format!("Drain complete for node {node_id}")),
            }
        }
        let stopping = allocs.iter().any(|a| a.desired_status != "run" && !client_terminal(a));
        if drain_ended && !stopping {
            say(&format!("All allocations on node {node_id:?} have stopped"));
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}
