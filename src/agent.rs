//! The composition root: builds a server and/or client agent from its configuration and owns their long-running tasks.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinSet;
use tracing::{error, info};

use crate::client::ClientConfig;
use crate::http::{self, HttpState};
use crate::raft::config::RaftConfig;
use crate::raft::node::RaftNode;
use crate::rpc::peer_service::PeerService;
use crate::rpc::service::ClientRpcService;
use crate::server::cluster::{self, ServerIdentity};
use crate::server::{leader, Server};

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub server: bool,
    pub client: bool,
    pub dev: bool,
    pub data_dir: PathBuf,
    pub bind_addr: IpAddr,
    pub http_port: u16,
    pub rpc_port: u16,
    pub node_name: String,
    pub datacenter: String,
    pub region: String,
    pub image_dir: PathBuf,
    /// Client only: servers' RPC addresses.
    pub servers: Vec<String>,
    pub raw_exec_enabled: bool,
    pub min_dynamic_port: u16,
    pub max_dynamic_port: u16,
    pub node_meta: BTreeMap<String, String>,
    /// Servers to wait for before bootstrapping the cluster (1 with -dev).
    pub bootstrap_expect: u32,
    /// Other servers' RPC addresses (`host:port`) to find the cluster through.
    pub retry_join: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("data dir {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("raft: {0}")]
    Raft(String),
    #[error("{role} on {addr}: {message}")]
    Listen { role: &'static str, addr: SocketAddr, message: String },
    #[error("client: {0}")]
    Client(String),
    #[error("the drover binary: {0}")]
    Exe(std::io::Error),
    #[error("an agent needs -server, -client or -dev")]
    NoRole,
}

/// Runs the agent until a shutdown signal or a fatal error.
pub async fn run(cfg: AgentConfig) -> Result<(), AgentError> {
    if !cfg.server && !cfg.client {
        return Err(AgentError::NoRole);
    }
    std::fs::create_dir_all(&cfg.data_dir).map_err(|source| AgentError::DataDir { path: cfg.data_dir.display().to_string(), source })?;
    let http_addr = SocketAddr::new(cfg.bind_addr, cfg.http_port);
    let rpc_addr = SocketAddr::new(cfg.bind_addr, cfg.rpc_port);
    let mut tasks: JoinSet<Result<(), AgentError>> = JoinSet::new();
    if !cfg.server {
        return run_client_only(cfg, http_addr, tasks).await;
    }
    let node_id = server_node_id(&cfg.data_dir.join("server"))?;
    let raft = RaftNode::open(RaftConfig { node_id, rpc_addr: rpc_addr.to_string(), data_dir: cfg.data_dir.join("server"), ..Default::default() })
        .await
        .map_err(|e| AgentError::Raft(e.to_string()))?;
    let raft = Arc::new(raft);
    let grpc_raft = raft.grpc_service();
    let identity = ServerIdentity {
        node_id,
        rpc_addr: rpc_addr.to_string(),
        http_addr: http_addr.to_string(),
        name: cfg.node_name.clone(),
        region: cfg.region.clone(),
        datacenter: cfg.datacenter.clone(),
        bootstrap_expect: if cfg.dev { 1 } else { cfg.bootstrap_expect },
        retry_join: cfg.retry_join.clone(),
    };
    let server = Server::new(raft.clone(), identity);
    let client_rpc = ClientRpcService::new(server.clone());
    let peer_rpc = PeerService::new(server.clone());
    let listener = tokio::net::TcpListener::bind(rpc_addr).await.map_err(|e| AgentError::Listen {
        role: "rpc",
        addr: rpc_addr,
        message: e.to_string(),
    })?;
    tasks.spawn(async move {
        tonic::transport::Server::builder()
            .add_service(grpc_raft)
            .add_service(client_rpc)
            .add_service(peer_rpc)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .map_err(|e| AgentError::Listen { role: "rpc", addr: rpc_addr, message: e.to_string() })
    });
    info!(%rpc_addr, node_id, "rpc listening");
    tasks.spawn({
        let server = server.clone();
        async move {
            cluster::form(server).await;
            // Formation is done; this task has nothing more to do but must not end the agent.
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    tasks.spawn({
        let server = server.clone();
        async move {
            leader::run(server).await;
            Ok(())
        }
    });
    let alloc_root = cfg.client.then(|| cfg.data_dir.join("client").join("alloc"));
    let state = HttpState { server: server.clone(), alloc_root, http: reqwest::Client::new() };
    let http_listener = tokio::net::TcpListener::bind(http_addr).await.map_err(|e| AgentError::Listen {
        role: "http",
        addr: http_addr,
        message: e.to_string(),
    })?;
    info!(%http_addr, "http api listening");
    tasks.spawn(async move {
        axum::serve(http_listener, http::router(state)).await.map_err(|e| AgentError::Listen {
            role: "http",
            addr: http_addr,
            message: e.to_string(),
        })
    });
    if cfg.client {
        let ccfg = client_config(&cfg, vec![rpc_addr.to_string()], http_addr)?;
        tasks.spawn(async move { crate::client::run(ccfg).await.map_err(|e| AgentError::Client(e.to_string())) });
    }
    wait(cfg, tasks, Some(raft)).await
}

/// This server's Raft node id: random on first start, then kept in `dir/node-id`. A data dir from
/// before ids were stored (Raft state but no file) keeps the id it was created with, 1.
fn server_node_id(dir: &std::path::Path) -> Result<u64, AgentError> {
    let file = dir.join("node-id");
    let io = |source| AgentError::DataDir { path: file.display().to_string(), source };
    if let Ok(text) = std::fs::read_to_string(&file) {
        return text.trim().parse().map_err(|_| io(std::io::Error::new(std::io::ErrorKind::InvalidData, "not a node id")));
    }
    let id = if dir.join("raft").exists() {
        1
    } else {
        // The low 63 bits of a random UUID: never 0.
        (uuid::Uuid::new_v4().as_u128() as u64 >> 1).max(2)
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(&file, format!("{id}\n")).map_err(io)?;
    Ok(id)
}

fn client_config(cfg: &AgentConfig, servers: Vec<String>, http_addr: SocketAddr) -> Result<ClientConfig, AgentError> {
    Ok(ClientConfig {
        data_dir: cfg.data_dir.join("client"),
        node_name: cfg.node_name.clone(),
        datacenter: cfg.datacenter.clone(),
        node_class: String::new(),
        node_pool: "default".into(),
        meta: cfg.node_meta.clone(),
        servers,
        http_addr: http_addr.to_string(),
        network_ip: cfg.bind_addr.to_string(),
        image_dir: cfg.image_dir.clone(),
        raw_exec_enabled: cfg.raw_exec_enabled,
        min_dynamic_port: cfg.min_dynamic_port,
        max_dynamic_port: cfg.max_dynamic_port,
        reserved_cpu: 0,
        reserved_memory_mb: 0,
        executor_bin: std::env::current_exe().map_err(AgentError::Exe)?,
    })
}

/// A client that joins servers given with `-servers`; its HTTP API serves its own allocations' logs.
async fn run_client_only(cfg: AgentConfig, http_addr: SocketAddr, mut tasks: JoinSet<Result<(), AgentError>>) -> Result<(), AgentError> {
    if cfg.servers.is_empty() {
        return Err(AgentError::Client("-client needs -servers host:port[,host:port…] (the servers' RPC addresses)".into()));
    }
    let ccfg = client_config(&cfg, cfg.servers.clone(), http_addr)?;
    let router = http::client_router(ccfg.alloc_root());
    let listener = tokio::net::TcpListener::bind(http_addr).await.map_err(|e| AgentError::Listen {
        role: "http",
        addr: http_addr,
        message: e.to_string(),
    })?;
    tasks.spawn(async move {
        axum::serve(listener, router).await.map_err(|e| AgentError::Listen { role: "http", addr: http_addr, message: e.to_string() })
    });
    tasks.spawn(async move { crate::client::run(ccfg).await.map_err(|e| AgentError::Client(e.to_string())) });
    wait(cfg, tasks, None).await
}

/// Runs until a shutdown signal or until a long-running task fails.
async fn wait(cfg: AgentConfig, mut tasks: JoinSet<Result<(), AgentError>>, raft: Option<Arc<RaftNode>>) -> Result<(), AgentError> {
    info!(dev = cfg.dev, server = cfg.server, client = cfg.client, data_dir = %cfg.data_dir.display(), "agent started");
    let result = tokio::select! {
        _ = shutdown_signal() => {
            info!("shutdown signal received; tasks keep running in their executors");
            Ok(())
        }
        Some(r) = tasks.join_next() => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(AgentError::Client(format!("agent task ended: {e}"))),
        },
    };
    if let Err(e) = &result {
        error!(error = %e, "agent stopping");
    }
    tasks.shutdown().await;
    if let Some(raft) = raft {
        raft.shutdown().await;
    }
    result
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
