//! Cluster membership endpoints: `/v1/operator/raft/configuration`, `DELETE /v1/operator/raft/peer`,
//! `/v1/agent/members`, in Nomad's JSON.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::HttpState;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RaftServer {
    #[serde(rename = "ID")]
    pub id: String,
    pub node: String,
    pub address: String,
    pub leader: bool,
    pub voter: bool,
    pub raft_protocol: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RaftConfiguration {
    pub index: u64,
    pub servers: Vec<RaftServer>,
}

/// Each member's name, asked of it directly; an unreachable member has none.
async fn names(st: &HttpState) -> Vec<(u64, String, Option<crate::rpc::server_pb::ServerInfo>)> {
    let members = st.server.raft.members();
    let mut out = Vec::new();
    for (id, addr) in members {
        let info = if id == st.server.identity.node_id {
            Some(crate::rpc::server_pb::ServerInfo {
                node_id: id,
                name: st.server.identity.name.clone(),
                region: st.server.identity.region.clone(),
                datacenter: st.server.identity.datacenter.clone(),
                rpc_addr: addr.clone(),
                ..Default::default()
            })
        } else {
            st.server.peers.info(&addr, Duration::from_millis(500)).await.ok()
        };
        out.push((id, addr, info));
    }
    out
}

pub async fn configuration(State(st): State<HttpState>) -> Result<Json<RaftConfiguration>, ApiError> {
    let leader = st.server.raft.leader().map(|(id, _)| id);
    let voters = st.server.raft.voters();
    let servers = names(&st)
        .await
        .into_iter()
        .map(|(id, address, info)| RaftServer {
            id: id.to_string(),
            node: info.map(|i| format!("{}.{}", i.name, i.region)).unwrap_or_default(),
            address,
            leader: Some(id) == leader,
            voter: voters.contains(&id),
            raft_protocol: "3".into(),
        })
        .collect();
    Ok(Json(RaftConfiguration { index: *st.server.raft.applied_index().borrow(), servers }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PeerQuery {
    pub id: Option<String>,
    pub address: Option<String>,
}

pub async fn remove_peer(State(st): State<HttpState>, Query(q): Query<PeerQuery>) -> Result<Response, ApiError> {
    let (id, addr) = match (&q.id, &q.address) {
        (Some(id), _) => (id.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid server id \"{id}\"")))?, String::new()),
        (None, Some(a)) => (0, a.clone()),
        (None, None) => {
            return Err(ApiError::bad_request("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove"))
        }
    };
    st.server.remove_server(id, &addr).await?;
    Ok(().into_response())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Member {
    pub name: String,
    pub addr: String,
    pub port: u16,
    pub tags: std::collections::BTreeMap<String, String>,
    pub status: String,
    pub protocol_min: u8,
    pub protocol_max: u8,
    pub protocol_cur: u8,
    pub delegate_min: u8,
    pub delegate_max: u8,
    pub delegate_cur: u8,
}

pub async fn members(State(st): State<HttpState>) -> Json<serde_json::Value> {
    let leader = st.server.raft.leader().map(|(id, _)| id);
    let mut members = Vec::new();
    for (id, addr, info) in names(&st).await {
        let (ip, port) = addr.rsplit_once(':').map(|(h, p)| (h.to_string(), p.parse().unwrap_or(0))).unwrap_or((addr.clone(), 0));
        let mut tags = std::collections::BTreeMap::new();
        tags.insert("role".to_string(), "nomad".to_string());
        tags.insert("id".to_string(), id.to_string());
        tags.insert("rpc_addr".to_string(), ip.clone());
        tags.insert("port".to_string(), port.to_string());
        tags.insert("leader".to_string(), (Some(id) == leader).to_string());
        let (name, status) = match &info {
            Some(i) => {
                tags.insert("region".into(), i.region.clone());
                tags.insert("dc".into(), i.datacenter.clone());
                (format!("{}.{}", i.name, i.region), "alive")
            }
            None => (format!("server-{id}"), "failed"),
        };
        members.push(Member {
            name,
            addr: ip,
            port,
            tags,
            status: status.into(),
            protocol_min: 1,
            protocol_max: 5,
            protocol_cur: 2,
            delegate_min: 2,
            delegate_max: 5,
            delegate_cur: 4,
        });
    }
    let me = &st.server.identity;
    Json(serde_json::json!({
        "ServerName": me.name,
        "ServerRegion": me.region,
        "ServerDC": me.datacenter,
        "Members": members,
    }))
}

/// `PUT /v1/operator/raft/transfer-leadership?id=|address=`: moves leadership to that server.
pub async fn transfer_leadership(State(st): State<HttpState>, Query(q): Query<PeerQuery>) -> Result<Response, ApiError> {
    let (id, addr) = match (&q.id, &q.address) {
        (Some(id), _) => (id.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid server id \"{id}\"")))?, String::new()),
        (None, Some(a)) => (0, a.clone()),
        (None, None) => {
            return Err(ApiError::bad_request("Must specify either ?id with the server's ID or ?address with IP:port of the new leader"))
        }
    };
    let leader = st.server.transfer_leadership(id, &addr).await?;
    Ok(Json(serde_json::json!({ "Leader": leader })).into_response())
}
