//! The command line: `drover agent`, `drover job …`, `drover alloc …`, `drover node …`, `drover var …`,
//! `drover service …`, `drover operator …`, `drover status`, `drover version`, speaking the HTTP API.
//!
//! Flags are accepted Nomad-style with one dash (`-address`, `-dev`) as well as with two.

pub mod agent;
pub mod agent_info;
pub mod alloc;
pub mod alloc_checks;
pub mod alloc_exec;
pub mod alloc_fs;
pub mod alloc_restart;
pub mod alloc_signal;
pub mod alloc_task;
pub mod api_client;
pub mod deployment;
pub mod eval;
pub mod exec_escape;
pub mod fmt;
pub mod format;
pub mod job;
pub mod job_children;
pub mod job_dispatch;
pub mod job_file;
pub mod job_history;
pub mod job_periodic;
pub mod job_plan;
pub mod job_run;
pub mod job_scale;
pub mod node;
pub mod node_drain;
pub mod operator;
pub mod operator_raft;
pub mod operator_scheduler;
pub mod output;
pub mod server;
pub mod service;
pub mod status;
pub mod system;
pub mod template;
pub mod var;
pub mod version;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "drover",
    version,
    about = "Drover: a cluster scheduler and container orchestrator that runs Nomad jobs",
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Where the HTTP API is and what every request carries (Nomad's `-address`, `-token`, `-region`, `-namespace`).
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// Address of the Drover (or Nomad-compatible) HTTP API
    #[arg(long, env = "DROVER_ADDR", default_value = "http://127.0.0.1:4646", global = true)]
    pub address: String,
    /// ACL token sent with every request (X-Nomad-Token)
    #[arg(long, env = "DROVER_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Region to send the request to (default: the agent's own)
    #[arg(long, env = "DROVER_REGION", global = true)]
    pub region: Option<String>,
    /// Namespace of the objects (default: "default")
    #[arg(long, env = "DROVER_NAMESPACE", global = true)]
    pub namespace: Option<String>,
}

impl Global {
    /// The API client for these settings.
    pub fn client(&self) -> api_client::ApiClient {
        api_client::ApiClient::new(&self.address).with_settings(self.token.clone(), self.region.clone(), self.namespace.clone())
    }
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run a Drover agent (server, client, or both with -dev)
    Agent(Box<agent::AgentArgs>),
    /// Submit, inspect and stop jobs
    Job {
        #[command(subcommand)]
        cmd: job::JobCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Inspect allocations and their logs
    Alloc {
        #[command(subcommand)]
        cmd: alloc::AllocCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Inspect client nodes
    Node {
        #[command(subcommand)]
        cmd: node::NodeCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Inspect evaluations
    Eval {
        #[command(subcommand)]
        cmd: eval::EvalCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Follow, promote, fail, pause and resume deployments
    Deployment {
        #[command(subcommand)]
        cmd: deployment::DeploymentCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Inspect the cluster's servers
    Server {
        #[command(subcommand)]
        cmd: server::ServerCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Read and write variables
    Var {
        #[command(subcommand)]
        cmd: var::VarCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Inspect and delete native service registrations
    Service {
        #[command(subcommand)]
        cmd: service::ServiceCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Cluster administration: snapshots of the cluster state, the Raft configuration
    Operator {
        #[command(subcommand)]
        cmd: operator::OperatorCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Show what the agent answering the API is
    AgentInfo {
        #[command(flatten)]
        global: Global,
        #[command(flatten)]
        out: output::OutputFlags,
    },
    /// Rewrite HCL job files in the canonical layout
    Fmt(fmt::FmtArgs),
    /// System maintenance: garbage collection
    System {
        #[command(subcommand)]
        cmd: system::SystemCmd,
        #[command(flatten)]
        global: Global,
    },
    /// Print the version
    Version,
    /// List jobs, or show the job, allocation, node or evaluation an id (prefix) names
    Status {
        prefix: Option<String>,
        #[command(flatten)]
        global: Global,
    },
}

/// Turns Go-style single-dash long flags (`-address=x`, `-dev`) into clap's `--address=x`, `--dev`.
pub fn normalize(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len() + 1);
    let mut rest = false;
    let command_at = exec_command_start(&args);
    for (i, a) in args.into_iter().enumerate() {
        if Some(i) == command_at {
            // `alloc exec`'s command keeps its own flags: everything from it on is passed through.
            rest = true;
            out.push("--".into());
        }
        if i == 0 || rest {
            out.push(a);
            continue;
        }
        if a == "--" {
            rest = true;
            out.push(a);
            continue;
        }
        let single_long = a.starts_with('-') && !a.starts_with("--") && a.len() > 2 && a.as_bytes()[1].is_ascii_alphabetic();
        out.push(if single_long { format!("-{a}") } else { a });
    }
    out
}

/// Where the command of `drover alloc exec [flags] <alloc> <command> [args…]` starts, if this is one
/// (and no `--` already ends the flags).
fn exec_command_start(args: &[String]) -> Option<usize> {
    if args.get(1).map(String::as_str) != Some("alloc") || args.get(2).map(String::as_str) != Some("exec") {
        return None;
    }
    let mut positional = 0;
    let mut i = 3;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            return None;
        }
        if a.starts_with('-') && a.len() > 1 {
            let name = a.trim_start_matches('-');
            if !name.contains('=') && matches!(name, "task" | "e" | "address" | "token" | "region" | "namespace") {
                i += 1;
            }
        } else {
            positional += 1;
            if positional == 2 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// Runs the command line and returns the process exit code.
pub fn run(args: Vec<String>) -> i32 {
    for (ours, nomads) in [
        ("DROVER_ADDR", "NOMAD_ADDR"),
        ("DROVER_TOKEN", "NOMAD_TOKEN"),
        ("DROVER_REGION", "NOMAD_REGION"),
        ("DROVER_NAMESPACE", "NOMAD_NAMESPACE"),
    ] {
        if std::env::var_os(ours).is_none() {
            if let Some(v) = std::env::var_os(nomads) {
                std::env::set_var(ours, v);
            }
        }
    }
    let cli = match Cli::try_parse_from(normalize(args)) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    if !matches!(cli.cmd, Cmd::Agent(_)) {
        // CLI output piped into `head` ends quietly, as other Unix tools do.
        // SAFETY: restoring the default disposition of SIGPIPE before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: could not start the async runtime: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Agent(a) => agent::run(*a).await,
            Cmd::Job { cmd, global } => job::run(cmd, &global).await,
            Cmd::Alloc { cmd, global } => alloc::run(cmd, &global).await,
            Cmd::Node { cmd, global } => node::run(cmd, &global).await,
            Cmd::Server { cmd, global } => server::run(cmd, &global).await,
            Cmd::Eval { cmd, global } => eval::run(cmd, &global).await,
            Cmd::Deployment { cmd, global } => deployment::run(cmd, &global).await,
            Cmd::Var { cmd, global } => var::run(cmd, &global).await,
            Cmd::Service { cmd, global } => service::run(cmd, &global).await,
            Cmd::Operator { cmd, global } => operator::run(cmd, &global).await,
            Cmd::AgentInfo { global, out } => agent_info::run(&global, &out).await,
            Cmd::Fmt(a) => fmt::run(&a),
            Cmd::Version => version::run(),
            Cmd::System { cmd, global } => system::run(cmd, &global).await,
            Cmd::Status { prefix, global } => status::run(prefix, &global).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn single_dash_flags() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(normalize(v(&["drover", "agent", "-dev", "-data-dir=/x"])), v(&["drover", "agent", "--dev", "--data-dir=/x"]));
        assert_eq!(
            normalize(v(&["drover", "alloc", "logs", "-n", "5", "--", "-x"])),
            v(&["drover", "alloc", "logs", "-n", "5", "--", "-x"])
        );
        assert_eq!(
            normalize(v(&["drover", "alloc", "exec", "-task", "web", "-i=false", "abc", "ls", "-la"])),
            v(&["drover", "alloc", "exec", "--task", "web", "--i=false", "abc", "--", "ls", "-la"])
        );
        assert_eq!(
            normalize(v(&["drover", "alloc", "exec", "abc", "--", "ls", "-la"])),
            v(&["drover", "alloc", "exec", "abc", "--", "ls", "-la"])
        );
    }
}
