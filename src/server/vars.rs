//! Variable operations: validate a write, stamp its time, propose it, and tell a check-and-set conflict from success.

use tracing::debug;

use crate::core::command::{Command, CommandResponse};
use crate::core::var::{validate_path, Variable};

use super::clock::now_ns;
use super::error::ServerError;
use super::ops::Server;

/// The outcome of a variable write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarWrite {
    /// Applied at `index`; `var` is the variable as stored (`None` after a delete).
    Done { index: u64, var: Option<Variable> },
    /// The check-and-set index did not match and nothing changed; `current` is the stored variable
    /// (empty, with indexes 0, if there is none).
    Conflict { index: u64, current: Variable },
}

impl VarWrite {
    fn from_response(resp: CommandResponse) -> Self {
        if resp.conflict {
            VarWrite::Conflict { index: resp.index, current: resp.var.unwrap_or_default() }
        } else {
            VarWrite::Done { index: resp.index, var: resp.var }
        }
    }
}

fn namespace_or_default(ns: &str) -> String {
    if ns.is_empty() {
        "default".into()
    } else {
        ns.into()
    }
}

impl Server {
    /// Creates or replaces a variable; with `cas`, only if its modify index is `cas` (0: only if it does not exist).
    pub async fn upsert_var(&self, mut var: Variable, cas: Option<u64>) -> Result<VarWrite, ServerError> {
        var.namespace = namespace_or_default(&var.namespace);
        var.validate().map_err(|e| ServerError::Invalid(e.to_string()))?;
        debug!(namespace = %var.namespace, path = %var.path, ?cas, "writing variable");
        let resp = self.propose(Command::UpsertVar { var, cas, now: now_ns() }).await?;
        Ok(VarWrite::from_response(resp))
    }

    /// Deletes a variable (a missing one is not an error); with `cas`, only if its modify index is `cas`.
    pub async fn delete_var(&self, namespace: &str, path: &str, cas: Option<u64>) -> Result<VarWrite, ServerError> {
        validate_path(path).map_err(|e| ServerError::Invalid(e.to_string()))?;
        debug!(namespace, path, ?cas, "deleting variable");
        let cmd = Command::DeleteVar { namespace: namespace_or_default(namespace), path: path.into(), cas };
        let resp = self.propose(cmd).await?;
        Ok(VarWrite::from_response(resp))
    }
}
