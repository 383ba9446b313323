//! `drover system gc` and `drover system reconcile summaries`: Nomad's system maintenance commands.

use super::Global;

#[derive(clap::Subcommand, Debug)]
pub enum SystemCmd {
    /// Remove every finished evaluation, allocation, dead job, down node and finished deployment now
    Gc,
    /// Reconcile job summaries (computed on every read in Drover: nothing to do)
    Reconcile {
        #[command(subcommand)]
        what: ReconcileCmd,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum ReconcileCmd {
    /// Job summaries
    Summaries,
}

pub async fn run(cmd: SystemCmd, g: &Global) -> i32 {
    let api = g.client();
    let (path, done) = match cmd {
        SystemCmd::Gc => ("/v1/system/gc", "garbage collection finished"),
        SystemCmd::Reconcile { what: ReconcileCmd::Summaries } => ("/v1/system/reconcile/summaries", "job summaries reconciled"),
    };
    match api.put_bytes(path, Vec::new()).await {
        Ok(()) => {
            println!("{done}");
            0
        }
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}
