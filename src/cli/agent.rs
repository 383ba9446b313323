//! `drover agent`: flags into an agent configuration, then the agent's runtime and logging.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::agent::{self, AgentConfig};

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
    /// Where state is kept (default with -dev: a fresh temporary directory)
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,
    /// Address to bind the HTTP and RPC listeners to
    #[arg(long = "bind", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    #[arg(long = "http-port", default_value_t = 4646)]
    pub http_port: u16,
    #[arg(long = "rpc-port", default_value_t = 4647)]
    pub rpc_port: u16,
    /// Node name (default: the host name)
    #[arg(long = "node")]
    pub node: Option<String>,
    #[arg(long = "dc", default_value = "dc1")]
    pub dc: String,
    #[arg(long = "region", default_value = "global")]
    pub region: String,
    /// Where OCI image layouts live (built by scripts/build-busybox-image)
    #[arg(long = "image-dir", env = "DROVER_IMAGE_DIR", default_value = "/var/lib/drover/images")]
    pub image_dir: PathBuf,
    /// Client: server RPC addresses (host:port)
    #[arg(long = "servers", value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Server: how many servers to wait for before bootstrapping the cluster
    #[arg(long = "bootstrap-expect", default_value_t = 1)]
    pub bootstrap_expect: u32,
    /// Server: another server's RPC address (host:port) to join through (repeatable)
    #[arg(long = "retry-join")]
    pub retry_join: Vec<String>,
    /// Client node metadata, key=value (repeatable)
    #[arg(long = "meta")]
    pub meta: Vec<String>,
    /// Log level: trace, debug, info, warn, error
    #[arg(long = "log-level", env = "DROVER_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log as JSON lines
    #[arg(long = "log-json")]
    pub log_json: bool,
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

pub async fn run(a: AgentArgs) -> i32 {
    init_logging(&a.log_level, a.log_json);
    let data_dir = match (&a.data_dir, a.dev) {
        (Some(d), _) => d.clone(),
        (None, true) => std::env::temp_dir().join(format!("drover-dev-{}", &uuid::Uuid::new_v4().to_string()[..8])),
        (None, false) => {
            eprintln!("Error: -data-dir is required unless -dev is given");
            return 1;
        }
    };
    let mut meta = BTreeMap::new();
    for m in &a.meta {
        match m.split_once('=') {
            Some((k, v)) => {
                meta.insert(k.to_string(), v.to_string());
            }
            None => {
                eprintln!("Error: -meta \"{m}\": expected key=value");
                return 1;
            }
        }
    }
    let host = nix::unistd::gethostname().map(|h| h.to_string_lossy().to_string()).unwrap_or_else(|_| "drover".into());
    let cfg = AgentConfig {
        server: a.server || a.dev,
        client: a.client || a.dev,
        dev: a.dev,
        data_dir,
        bind_addr: a.bind,
        http_port: a.http_port,
        rpc_port: a.rpc_port,
        node_name: a.node.clone().unwrap_or(host),
        datacenter: a.dc.clone(),
        region: a.region.clone(),
        image_dir: a.image_dir.clone(),
        servers: a.servers.clone(),
        raw_exec_enabled: a.dev,
        min_dynamic_port: 20000,
        max_dynamic_port: 32000,
        node_meta: meta,
        bootstrap_expect: a.bootstrap_expect,
        retry_join: a.retry_join.clone(),
    };
    match agent::run(cfg).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}
