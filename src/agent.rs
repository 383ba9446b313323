//! The composition root: builds a server and/or client agent from its configuration and owns their long-running tasks.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tracing::{error, info};

use crate::client::config::HostVolume;
use crate::client::network::bridge::Bridge;
use crate::client::ClientConfig;
use crate::core::node::NodeReserved;
use crate::http::{self, HttpShared, HttpState};
use crate::raft::config::RaftConfig;
use crate::raft::node::RaftNode;
use crate::rpc::peer_service::PeerService;
use crate::rpc::service::ClientRpcService;
use crate::server::cluster::{self, ServerIdentity};
use crate::server::heartbeat::{HeartbeatTtl, Heartbeats};
use crate::server::{leader, Server};

/// Everything an agent runs with, resolved from `-dev`, configuration files and flags (`crate::agent_config`).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub server: bool,
    pub client: bool,
    pub dev: bool,
    pub data_dir: PathBuf,
    /// `bind_addr`: the default address of every listener.
    pub bind_addr: IpAddr,
    /// Where the HTTP API listens (`addresses.http`, else `bind_addr`).
    pub http_bind: IpAddr,
    /// Where gRPC listens (`addresses.rpc`, else `bind_addr`).
    pub rpc_bind: IpAddr,
    pub http_port: u16,
    pub rpc_port: u16,
    /// `advertise.http` as `host:port`: how others reach this agent's HTTP API; `None` = the bound address.
    pub advertise_http: Option<String>,
    /// `advertise.rpc` as `host:port`: how other servers and clients reach this agent's RPC (needed when
    /// binding 0.0.0.0); `None` = the bound address.
    pub advertise_rpc: Option<String>,
    pub node_name: String,
    pub datacenter: String,
    pub region: String,
    pub image_dir: PathBuf,
    /// trace, debug, info, warn or error.
    pub log_level: String,
    pub log_json: bool,
    /// Server: the number of servers to wait for before bootstrapping Raft; 0 = unset (1 with `-dev`).
    pub bootstrap_expect: u32,
    /// Server: other servers' addresses to join, as written (`server_join.retry_join`, `-retry-join`, or
    /// the older `server.retry_join`).
    pub retry_join: Vec<String>,
    /// Server: join attempts before giving up; 0 = no limit.
    pub retry_max: u32,
    /// Server: wait between join attempts (default 30s).
    pub retry_interval: Duration,
    /// Server: grace after a missed heartbeat TTL before a node is marked down.
    pub heartbeat_grace: Duration,
    /// Server: the heartbeat TTL given to nodes, scaled by the cluster's size.
    pub heartbeat_ttl: HeartbeatTtl,
    /// Server: scheduler workers while leader.
    pub num_schedulers: usize,
    /// Server: Raft timing scale, 1 (fastest) to 10.
    pub raft_multiplier: u32,
    /// Server: applied entries between Raft snapshots (`None`: Drover's default).
    pub raft_snapshot_threshold: Option<u64>,
    /// Server: how often the snapshot threshold is checked (`None`: Drover's default, 120 s as Nomad's).
    pub raft_snapshot_interval: Option<Duration>,
    /// Server: entries kept behind a snapshot for lagging followers (`None`: Drover's default).
    pub raft_trailing_logs: Option<u64>,
    /// Client only: servers' RPC addresses (`host:port`), from `servers`, `client.server_join.retry_join`
    /// and `-servers`.
    pub servers: Vec<String>,
    pub raw_exec_enabled: bool,
    pub node_class: String,
    pub node_pool: String,
    pub node_meta: BTreeMap<String, String>,
    /// `client { options { … } }`.
    pub client_options: BTreeMap<String, String>,
    /// Client capacity held back from scheduling (cpu MHz, memory MB, disk MB, host ports).
    pub reserved: NodeReserved,
    pub min_dynamic_port: u16,
    pub max_dynamic_port: u16,
    /// The interface whose address tasks' ports are published on (default: the bind address).
    pub network_interface: Option<String>,
    /// Total CPU MHz and memory MB to report instead of the fingerprinted values.
    pub cpu_total_compute: Option<u64>,
    pub memory_total_mb: Option<u64>,
    pub host_volumes: BTreeMap<String, HostVolume>,
    /// The bridge of `bridge` mode allocations and its subnet (empty: Drover's defaults, `drover` and
    /// 172.26.64.0/20).
    pub bridge_network_name: String,
    pub bridge_network_subnet: String,
    /// `client { gc_* }`.
    pub client_gc: crate::client::gc::GcConfig,
}

impl AgentConfig {
    pub fn http_addr(&self) -> SocketAddr {
        SocketAddr::new(self.http_bind, self.http_port)
    }

    pub fn rpc_addr(&self) -> SocketAddr {
        SocketAddr::new(self.rpc_bind, self.rpc_port)
    }
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
    if !cfg.server && cfg.servers.is_empty() {
        return Err(AgentError::Client(
            "a client needs servers: -servers host:port[,…], or client { servers = [...] } in a config file".into(),
        ));
    }
    let (http_addr, rpc_addr) = (cfg.http_addr(), cfg.rpc_addr());
    // The client's configuration is checked (network interface, …) before anything starts.
    let servers = if cfg.server { vec![rpc_addr.to_string()] } else { cfg.servers.clone() };
    let ccfg = if cfg.client { Some(client_config(&cfg, servers, http_addr)?) } else { None };
    std::fs::create_dir_all(&cfg.data_dir).map_err(|source| AgentError::DataDir { path: cfg.data_dir.display().to_string(), source })?;
    raise_open_files_limit();
    crate::memory::start_background_purge();
    let mut tasks: JoinSet<Result<(), AgentError>> = JoinSet::new();
    let ccfg = match (cfg.server, ccfg) {
        (false, Some(ccfg)) => return run_client_only(cfg, ccfg, http_addr, tasks).await,
        (_, ccfg) => ccfg,
    };
    let node_id = server_node_id(&cfg.data_dir.join("server"))?;
    // What other servers and clients dial: the advertised address, else the bound one.
    let advertised_rpc = cfg.advertise_rpc.clone().unwrap_or_else(|| rpc_addr.to_string());
    let raft = RaftNode::open(RaftConfig {
        node_id,
        rpc_addr: advertised_rpc.clone(),
        data_dir: cfg.data_dir.join("server"),
        ..raft_config(&cfg)
    })
    .await
    .map_err(|e| AgentError::Raft(e.to_string()))?;
    let raft = Arc::new(raft);
    let grpc_raft = raft.grpc_service();
    let identity = ServerIdentity {
        node_id,
        rpc_addr: advertised_rpc,
        http_addr: http_addr.to_string(),
        name: cfg.node_name.clone(),
        region: cfg.region.clone(),
        datacenter: cfg.datacenter.clone(),
        bootstrap_expect: if cfg.dev { 1 } else { cfg.bootstrap_expect },
        retry_join: cfg.retry_join.iter().map(|a| if a.contains(':') { a.clone() } else { format!("{a}:4647") }).collect(),
    };
    let mut server = Server::new(raft.clone(), identity);
    server.heartbeats = Arc::new(Heartbeats::new(cfg.heartbeat_ttl));
    tasks.spawn({
        let server = server.clone();
        async move {
            crate::server::changes::publish(server).await;
            // Raft has shut down; the agent is stopping for another reason.
            std::future::pending::<()>().await;
            Ok(())
        }
    });
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
            // TCP_NODELAY as tonic's own `serve` sets it: without it a reply written in more than one
            // frame waits for the peer's delayed ACK (up to 40 ms) on every Raft round trip.
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)))
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
        let settings = leader::Settings { workers: cfg.num_schedulers, heartbeat_grace: cfg.heartbeat_grace };
        async move {
            leader::run(server, settings).await;
            Ok(())
        }
    });
    let alloc_root = cfg.client.then(|| cfg.data_dir.join("client").join("alloc"));
    let control = ccfg.as_ref().map(crate::client::ClientControl::new);
    let state = HttpState::new(HttpShared { server: server.clone(), alloc_root, http: reqwest::Client::new(), client: control.clone() });
    let http_listener = tokio::net::TcpListener::bind(http_addr).await.map_err(|e| AgentError::Listen {
        role: "http",
        addr: http_addr,
        message: e.to_string(),
    })?;
    info!(%http_addr, "http api listening");
    // `into_make_service`: a plain `Router` would clone its route table for every connection.
    tasks.spawn(async move {
        axum::serve(http_listener, http::router(state).into_make_service()).await.map_err(|e| AgentError::Listen {
            role: "http",
            addr: http_addr,
            message: e.to_string(),
        })
    });
    if let (Some(ccfg), Some(control)) = (ccfg, control) {
        tasks.spawn(async move { crate::client::run(ccfg, control).await.map_err(|e| AgentError::Client(e.to_string())) });
    }
    wait(cfg, tasks, Some(raft)).await
}

/// Raises the soft limit of open files to the hard limit: every blocking query and event stream
/// holds a connection, and the usual soft limit (1,024) is far below what a server is asked to hold.
fn raise_open_files_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit on this process with a valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 || lim.rlim_cur >= lim.rlim_max {
            return;
        }
        let before = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
            tracing::debug!(before, after = lim.rlim_max, "raised the open files limit");
        }
    }
}

/// Raft timing and log compaction from the agent configuration.
fn raft_config(cfg: &AgentConfig) -> RaftConfig {
    let mut r = RaftConfig::default().scaled(cfg.raft_multiplier);
    if let Some(n) = cfg.raft_snapshot_threshold {
        r.snapshot_logs_since_last = n;
    }
    if let Some(n) = cfg.raft_trailing_logs {
        r.logs_to_keep_after_snapshot = n;
    }
    if let Some(d) = cfg.raft_snapshot_interval {
        r.snapshot_interval = d;
    }
    r
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
    let network_ip = match &cfg.network_interface {
        Some(name) => crate::client::interface::interface_ip(name).map_err(AgentError::Client)?,
        None => cfg.bind_addr,
    };
    Ok(ClientConfig {
        data_dir: cfg.data_dir.join("client"),
        node_name: cfg.node_name.clone(),
        datacenter: cfg.datacenter.clone(),
        node_class: cfg.node_class.clone(),
        node_pool: cfg.node_pool.clone(),
        meta: cfg.node_meta.clone(),
        options: cfg.client_options.clone(),
        servers,
        http_addr: cfg.advertise_http.clone().unwrap_or_else(|| http_addr.to_string()),
        network_ip: network_ip.to_string(),
        image_dir: cfg.image_dir.clone(),
        raw_exec_enabled: cfg.raw_exec_enabled,
        min_dynamic_port: cfg.min_dynamic_port,
        max_dynamic_port: cfg.max_dynamic_port,
        reserved: cfg.reserved.clone(),
        cpu_total_compute: cfg.cpu_total_compute,
        memory_total_mb: cfg.memory_total_mb,
        host_volumes: cfg.host_volumes.clone(),
        bridge: Bridge::from_config(&cfg.bridge_network_name, &cfg.bridge_network_subnet).map_err(|e| AgentError::Client(e.to_string()))?,
        executor_bin: std::env::current_exe().map_err(AgentError::Exe)?,
        gc: cfg.client_gc,
    })
}

/// A client that joins the configured servers; its HTTP API serves its own allocations' logs.
async fn run_client_only(
    cfg: AgentConfig,
    ccfg: ClientConfig,
    http_addr: SocketAddr,
    mut tasks: JoinSet<Result<(), AgentError>>,
) -> Result<(), AgentError> {
    let control = crate::client::ClientControl::new(&ccfg);
    let router = http::client_router(ccfg.alloc_root(), control.clone());
    let listener = tokio::net::TcpListener::bind(http_addr).await.map_err(|e| AgentError::Listen {
        role: "http",
        addr: http_addr,
        message: e.to_string(),
    })?;
    tasks.spawn(async move {
        axum::serve(listener, router.into_make_service()).await.map_err(|e| AgentError::Listen {
            role: "http",
            addr: http_addr,
            message: e.to_string(),
        })
    });
    tasks.spawn(async move { crate::client::run(ccfg, control).await.map_err(|e| AgentError::Client(e.to_string())) });
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
