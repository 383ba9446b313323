//! `drover operator raft list-peers|remove-peer|transfer-leadership`: the Raft configuration of the servers.

use super::api_client::{enc, ApiClient};
use super::format::table;

#[derive(clap::Subcommand, Debug)]
pub enum RaftCmd {
    /// List the servers in the Raft configuration, the leader and the voters
    ListPeers,
    /// Remove a server from the Raft configuration (one that is gone for good)
    RemovePeer {
        /// The server's RPC address (ip:port)
        #[arg(long = "peer-address")]
        peer_address: Option<String>,
        /// The server's Raft id (as list-peers shows it)
        #[arg(long = "peer-id")]
        peer_id: Option<String>,
    },
    /// Move leadership to another server
    TransferLeadership {
        /// The new leader's RPC address (ip:port)
        #[arg(long = "peer-address")]
        peer_address: Option<String>,
        /// The new leader's Raft id (as list-peers shows it)
        #[arg(long = "peer-id")]
        peer_id: Option<String>,
    },
}

fn peer_query(peer_id: Option<String>, peer_address: Option<String>) -> Result<String, String> {
    match (peer_id, peer_address) {
        (Some(id), _) => Ok(format!("id={}", enc(&id))),
        (None, Some(a)) => Ok(format!("address={}", enc(&a))),
        (None, None) => Err("give -peer-address ip:port or -peer-id ID".into()),
    }
}

pub async fn run(cmd: RaftCmd, api: &ApiClient) -> Result<(), String> {
    match cmd {
        RaftCmd::ListPeers => {
            let v: serde_json::Value = api.get("/v1/operator/raft/configuration").await.map_err(|e| e.to_string())?;
            let mut rows = vec![["Node", "ID", "Address", "State", "Voter", "RaftProtocol"].map(String::from).to_vec()];
            for s in v["Servers"].as_array().into_iter().flatten() {
                rows.push(vec![
                    s["Node"].as_str().unwrap_or("").to_string(),
                    s["ID"].as_str().unwrap_or("").to_string(),
                    s["Address"].as_str().unwrap_or("").to_string(),
                    if s["Leader"] == true { "leader" } else { "follower" }.to_string(),
                    s["Voter"].to_string(),
                    s["RaftProtocol"].as_str().unwrap_or("").to_string(),
                ]);
            }
            print!("{}", table(&rows));
            Ok(())
        }
        RaftCmd::RemovePeer { peer_address, peer_id } => {
            let query = peer_query(peer_id, peer_address)?;
            api.delete_empty(&format!("/v1/operator/raft/peer?{query}")).await.map_err(|e| e.to_string())?;
            println!("Removed peer ({query})");
            Ok(())
        }
        RaftCmd::TransferLeadership { peer_address, peer_id } => {
            let query = peer_query(peer_id, peer_address)?;
            let v: serde_json::Value = api
                .put(&format!("/v1/operator/raft/transfer-leadership?{query}"), &serde_json::json!({}))
                .await
                .map_err(|e| e.to_string())?;
            println!("Leadership transferred to {}", v["Leader"].as_str().unwrap_or("?"));
            Ok(())
        }
    }
}
