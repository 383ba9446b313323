//! `drover operator snapshot save|restore|inspect`: the whole cluster state to a file and back; and
//! `drover operator raft …` (in `operator_raft`).

use std::path::{Path, PathBuf};

use crate::server::snapshot_file;

use super::api_client::ApiClient;
use super::format::kv;
use super::Global;

const SNAPSHOT_PATH: &str = "/v1/operator/snapshot";

#[derive(clap::Subcommand, Debug)]
pub enum OperatorCmd {
    /// Save, restore and inspect snapshots of the cluster state
    Snapshot {
        #[command(subcommand)]
        cmd: SnapshotCmd,
    },
    /// Inspect and change the servers' Raft configuration
    Raft {
        #[command(subcommand)]
        cmd: super::operator_raft::RaftCmd,
    },
    /// Inspect and change the cluster-wide scheduler configuration
    Scheduler {
        #[command(subcommand)]
        cmd: super::operator_scheduler::SchedulerCmd,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum SnapshotCmd {
    /// Save the cluster state to a file
    Save { file: PathBuf },
    /// Replace the cluster state with a saved file's (every server applies it)
    Restore { file: PathBuf },
    /// Check a snapshot file and print what it holds
    Inspect { file: PathBuf },
}

pub async fn run(cmd: OperatorCmd, g: &Global) -> i32 {
    let api = g.client();
    let r = match cmd {
        OperatorCmd::Snapshot { cmd: SnapshotCmd::Save { file } } => save(&api, &file).await,
        OperatorCmd::Snapshot { cmd: SnapshotCmd::Restore { file } } => restore(&api, &file).await,
        OperatorCmd::Snapshot { cmd: SnapshotCmd::Inspect { file } } => inspect(&file),
        OperatorCmd::Raft { cmd } => super::operator_raft::run(cmd, &api).await,
        OperatorCmd::Scheduler { cmd } => super::operator_scheduler::run(cmd, &api).await,
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

/// Downloads a snapshot, checks it, and writes it through a temporary file so `file` is whole or untouched.
async fn save(api: &ApiClient, file: &Path) -> Result<(), String> {
    let bytes = api.get_bytes(SNAPSHOT_PATH).await.map_err(|e| e.to_string())?;
    snapshot_file::decode(&bytes, u64::MAX).map_err(|e| format!("the agent sent an unusable snapshot: {e}"))?;
    let name = file.file_name().ok_or_else(|| format!("{} is not a file name", file.display()))?;
    let tmp = file.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, &bytes).map_err(|e| format!("write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, file).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("write {}: {e}", file.display())
    })?;
    println!("State file written to {}", file.display());
    Ok(())
}

async fn restore(api: &ApiClient, file: &Path) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("read {}: {e}", file.display()))?;
    api.put_bytes(SNAPSHOT_PATH, bytes).await.map_err(|e| e.to_string())?;
    println!("Snapshot Restored");
    Ok(())
}

fn inspect(file: &Path) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("read {}: {e}", file.display()))?;
    let (h, state) = snapshot_file::decode(&bytes, u64::MAX).map_err(|e| format!("{}: {e}", file.display()))?;
    print!(
        "{}",
        kv(&[
            ("Format", format!("{} v{}", h.format, h.version)),
            ("Index", h.index.to_string()),
            ("Size", format!("{} bytes ({} bytes of state)", bytes.len(), h.state_bytes)),
            ("Drover Version", h.drover_version.clone()),
            ("Jobs", state.jobs.len().to_string()),
            ("Nodes", state.nodes.len().to_string()),
            ("Allocations", state.allocs.len().to_string()),
            ("Evaluations", state.evals.len().to_string()),
            ("Variables", state.vars.len().to_string()),
        ])
    );
    Ok(())
}
