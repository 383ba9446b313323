//! `drover agent`: configuration files (`-config`) and flags into an agent configuration, then the agent's
//! runtime and logging.

use std::net::IpAddr;
use std::path::PathBuf;

use tracing::{info, warn};

use crate::agent;
use crate::agent_config::{self, Context, FileConfig};

#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    /// Server and client in one process, on embedded defaults
    #[arg(long)]
    pub dev: bool,
    /// Run the server role (Raft, scheduler, HTTP API)
    #[arg(long)]
    pub server: bool,
    /// Run the client role (runs tasks)
    #[arg(long)]
    pub client: bool,
    /// A configuration file (HCL or JSON) or a directory of them (repeatable; later ones win, flags win over files)
    #[arg(long = "config", value_name = "FILE_OR_DIR")]
    pub config: Vec<PathBuf>,
    /// Where state is kept (default with -dev: a fresh temporary directory)
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,
    /// Address to bind the HTTP and RPC listeners to [default: 127.0.0.1]
    #[arg(long = "bind")]
    pub bind: Option<IpAddr>,
    /// [default: 4646]
    #[arg(long = "http-port")]
    pub http_port: Option<u16>,
    /// [default: 4647]
    #[arg(long = "rpc-port")]
    pub rpc_port: Option<u16>,
    /// Node name (default: the host name)
    #[arg(long = "node")]
    pub node: Option<String>,
    /// Datacenter [default: dc1]
    #[arg(long = "dc")]
    pub dc: Option<String>,
    /// Region [default: global]
    #[arg(long = "region")]
    pub region: Option<String>,
    /// Where OCI image layouts live (built by scripts/build-busybox-image)
    #[arg(long = "image-dir", env = "DROVER_IMAGE_DIR", default_value = "/var/lib/drover/images")]
    pub image_dir: PathBuf,
    /// Server: the number of servers to wait for before bootstrapping the cluster
    #[arg(long = "bootstrap-expect")]
    pub bootstrap_expect: Option<u32>,
    /// Server: address of another server to join (repeatable)
    #[arg(long = "retry-join", value_name = "ADDR")]
    pub retry_join: Vec<String>,
    /// Client: server RPC addresses (host:port)
    #[arg(long = "servers", value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Client: node class
    #[arg(long = "node-class")]
    pub node_class: Option<String>,
    /// Client: node pool [default: default]
    #[arg(long = "node-pool")]
    pub node_pool: Option<String>,
    /// Client: the network interface whose address tasks' ports are published on
    #[arg(long = "network-interface")]
    pub network_interface: Option<String>,
    /// Client node metadata, key=value (repeatable)
    #[arg(long = "meta")]
    pub meta: Vec<String>,
    /// Log level: trace, debug, info, warn, error [default: info]
    #[arg(long = "log-level", env = "DROVER_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log as JSON lines
    #[arg(long = "log-json")]
    pub log_json: bool,
}

/// The flags as a configuration overlay: only what was given, merged over the files.
pub fn flag_overlay(a: &AgentArgs) -> Result<FileConfig, String> {
    let mut c = FileConfig {
        name: a.node.clone(),
        region: a.region.clone(),
        datacenter: a.dc.clone(),
        data_dir: a.data_dir.as_ref().map(|d| d.display().to_string()),
        bind_addr: a.bind,
        log_level: a.log_level.as_deref().map(agent_config::parse_log_level).transpose().map_err(|e| format!("-log-level: {e}"))?,
        log_json: a.log_json.then_some(true),
        ..FileConfig::default()
    };
    c.ports.http = a.http_port;
    c.ports.rpc = a.rpc_port;
    c.server.enabled = a.server.then_some(true);
    c.server.bootstrap_expect = a.bootstrap_expect;
    c.server.server_join.retry_join = a.retry_join.clone();
    c.client.enabled = a.client.then_some(true);
    c.client.servers = a.servers.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    c.client.node_class = a.node_class.clone();
    c.client.node_pool = a.node_pool.clone();
    c.client.network_interface = a.network_interface.clone();
    for m in &a.meta {
        let (k, v) = m.split_once('=').ok_or_else(|| format!("-meta \"{m}\": expected key=value"))?;
        c.client.meta.insert(k.to_string(), v.to_string());
    }
    Ok(c)
}

fn init_logging(level: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},openraft=warn,h2=warn,tower=warn,hyper=warn")));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

/// The agent's configuration from `-dev`, the files and the flags, and the warnings to log.
fn configure(a: &AgentArgs) -> Result<(agent::AgentConfig, agent_config::Loaded), String> {
    let flags = flag_overlay(a)?;
    let loaded = agent_config::load(&a.config).map_err(|e| e.to_string())?;
    let host = nix::unistd::gethostname().map(|h| h.to_string_lossy().to_string()).unwrap_or_else(|_| "drover".into());
    let cx = Context {
        dev: a.dev,
        hostname: host,
        dev_data_dir: std::env::temp_dir().join(format!("drover-dev-{}", &uuid::Uuid::new_v4().to_string()[..8])),
        image_dir: a.image_dir.clone(),
    };
    let cfg = agent_config::assemble(loaded.config.clone(), flags, &cx).map_err(|e| e.to_string())?;
    Ok((cfg, loaded))
}

pub async fn run(a: AgentArgs) -> i32 {
    let (cfg, loaded) = match configure(&a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    init_logging(&cfg.log_level, cfg.log_json);
    for f in &loaded.files {
        info!(file = %f.display(), "loaded configuration");
    }
    for w in &loaded.warnings {
        warn!("{w}");
    }
    match agent::run(cfg).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}
