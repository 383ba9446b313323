//! About the agent answering: `/v1/agent/self`, `/v1/agent/servers`, and `/v1/namespaces` (Drover has
//! the `default` namespace, plus any namespace jobs or variables were written to).

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::response::{Json, Response};

use crate::core::state::table;

use super::error::ApiError;
use super::query::{query_index_any, with_index, QueryOptions};
use super::HttpState;

pub async fn agent_self(State(st): State<HttpState>) -> Json<serde_json::Value> {
    let me = &st.server.identity;
    let (ip, port) = me.rpc_addr.rsplit_once(':').map(|(h, p)| (h.to_string(), p.parse::<u16>().unwrap_or(0))).unwrap_or_default();
    let leader = st.server.raft.leader().map(|(_, a)| a).unwrap_or_default();
    // The client's data dir holds `alloc/` and its node id (`node drain -self` asks for it).
    let client_node_id = st.alloc_root.as_deref().and_then(|a| a.parent()).and_then(crate::client::fingerprint::stored_node_id);
    Json(serde_json::json!({
        "config": {
            "Region": me.region,
            "Datacenter": me.datacenter,
            "NodeName": me.name,
            "Version": { "Version": env!("CARGO_PKG_VERSION"), "VersionPrerelease": "", "Revision": "" },
            "Server": { "Enabled": true, "BootstrapExpect": me.bootstrap_expect },
            "Client": { "Enabled": st.alloc_root.is_some() },
        },
        "member": {
            "Name": format!("{}.{}", me.name, me.region),
            "Addr": ip,
            "Port": port,
            "Status": "alive",
            "Tags": { "role": "nomad", "region": me.region, "dc": me.datacenter, "id": me.node_id.to_string(), "build": env!("CARGO_PKG_VERSION") },
        },
        "stats": {
            "raft": { "applied_index": st.server.raft.applied_index().borrow().to_string(), "leader": (leader == me.rpc_addr).to_string() },
            "nomad": { "leader": (leader == me.rpc_addr).to_string(), "known_regions": "1", "server": "true" },
            "client": client_node_id.map(|id| serde_json::json!({ "node_id": id })),
        },
    }))
}

pub async fn servers(State(st): State<HttpState>) -> Json<Vec<String>> {
    Json(st.server.server_addrs())
}

fn namespace_names(st: &HttpState) -> BTreeSet<String> {
    st.server.read(|s| s.namespaces())
}

fn namespace_json(name: &str) -> serde_json::Value {
    let description = if name == "default" { "Default shared namespace" } else { "" };
    serde_json::json!({ "Name": name, "Description": description, "Quota": "", "Meta": null, "CreateIndex": 1, "ModifyIndex": 1 })
}

/// `/v1/namespaces`, a blocking query over the tables that name namespaces (jobs, variables).
pub async fn namespaces(State(st): State<HttpState>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index_any(&st, &[table::JOBS, table::VARS], &q).await?;
    let list: Vec<serde_json::Value> = namespace_names(&st).iter().filter(|n| q.matches_prefix(n)).map(|n| namespace_json(n)).collect();
    Ok(with_index(index, st.server.raft.leader().is_some(), list))
}

/// `/v1/namespace/:name`: one namespace in use, or 404.
pub async fn namespace(State(st): State<HttpState>, Path(name): Path<String>, Query(q): Query<QueryOptions>) -> Result<Response, ApiError> {
    let index = query_index_any(&st, &[table::JOBS, table::VARS], &q).await?;
    if namespace_names(&st).contains(&name) {
        Ok(with_index(index, st.server.raft.leader().is_some(), namespace_json(&name)))
    } else {
        Err(ApiError::not_found(format!("namespace \"{name}\" not found")))
    }
}
