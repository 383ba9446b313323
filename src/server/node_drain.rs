//! Operator drains: start, update or cancel a node's drain. Starting marks the node ineligible; the
//! leader's drainer (`drainer`) then moves its allocations away.

use std::collections::BTreeMap;

use tracing::info;

use crate::core::command::Command;
use crate::core::node::DrainStrategy;

use super::clock::now_ns;
use super::error::ServerError;
use super::ops::Server;

/// What an operator asks for (Nomad's `DrainSpec`): a deadline in nanoseconds (-1: stop
/// everything now, 0: no deadline) and whether system jobs stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainSpec {
    pub deadline: i64,
    pub ignore_system_jobs: bool,
}

impl Server {
    /// Starts or updates (`spec` set) or cancels (`None`) a node's drain. Cancelling with
    /// `mark_eligible` makes the node eligible again, which unblocks waiting work. Returns
    /// (eval ids, index).
    pub async fn update_node_drain(
        &self,
        node_id: &str,
        spec: Option<DrainSpec>,
        mark_eligible: bool,
        meta: BTreeMap<String, String>,
    ) -> Result<(Vec<String>, u64), ServerError> {
        if let Some(s) = spec {
            if s.deadline < -1 {
                return Err(ServerError::Invalid(format!("invalid drain deadline {} (-1 forces the drain, 0 means none)", s.deadline)));
            }
            if mark_eligible {
                return Err(ServerError::Invalid("a node cannot be marked eligible while its drain is enabled".into()));
            }
        }
        let now = now_ns();
        let evals = self.read(|s| {
            let node = s.nodes.get(node_id).ok_or_else(|| ServerError::NotFound(format!("node not found: {node_id}")))?;
            Ok::<_, ServerError>(if spec.is_none() && mark_eligible && !node.eligible {
                self.capacity_evals(s, node_id)
            } else {
                Vec::new()
            })
        })?;
        let drain = spec.map(|s| DrainStrategy {
            deadline: s.deadline,
            ignore_system_jobs: s.ignore_system_jobs,
            force_deadline: match s.deadline {
                d if d > 0 => now.saturating_add(d),
                d if d < 0 => now,
                _ => 0,
            },
            started_at: 0,
        });
        let ids = evals.iter().map(|e| e.id.clone()).collect();
        info!(node_id, enable = drain.is_some(), deadline = spec.map(|s| s.deadline), mark_eligible, "updating node drain");
        let cmd = Command::UpdateNodeDrain { node_id: node_id.into(), drain, mark_eligible, meta, evals, now };
        let resp = self.propose(cmd).await?;
        Ok((ids, resp.index))
    }
}
