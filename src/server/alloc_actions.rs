//! Operator actions on allocations and nodes: stop one allocation (it is replaced, as after a
//! failure), mark a node eligible or ineligible for new placements, purge a node, and force a
//! scheduling pass for a node.

use tracing::info;

use crate::core::alloc::DesiredStatus;
use crate::core::command::{AllocStop, Command, PlanResult};
use crate::core::job::JobKey;

use super::clock::now_ns;
use super::error::ServerError;
use super::ops::Server;

impl Server {
    /// Stops an allocation and creates the evaluation that replaces it. Returns (eval id, index).
    pub async fn stop_alloc(&self, alloc_id: &str) -> Result<(String, u64), ServerError> {
        let (alloc, job) = self.read(|s| {
            let a = s.allocs.get(alloc_id).cloned();
            let j = a.as_ref().and_then(|a| s.jobs.get(&JobKey::new(&a.namespace, &a.job_id)).cloned());
            (a, j)
        });
        let alloc = alloc.ok_or_else(|| ServerError::NotFound(format!("alloc not found: {alloc_id}")))?;
        if alloc.terminal() {
            return Err(ServerError::Invalid(format!("allocation {alloc_id} is already stopped")));
        }
        let job = job.ok_or_else(|| ServerError::NotFound(format!("job \"{}\" of allocation {alloc_id} not found", alloc.job_id)))?;
        let mut eval = self.eval_for(&job, "alloc-stop");
        eval.status_description = format!("allocation {alloc_id} stopped by an operator");
        let eval_id = eval.id.clone();
        info!(alloc_id, job_id = %job.id, eval_id = %eval_id, "stopping allocation");
        let stop = AllocStop {
            alloc_id: alloc_id.into(),
            desired_status: DesiredStatus::Stop,
            description: "alloc is being stopped by user".into(),
            client_status: None,
        };
        let result = PlanResult { stops: vec![stop], eval: Some(eval), ..Default::default() };
        let resp = self.propose(Command::ApplyPlan { result, now: now_ns() }).await?;
        Ok((eval_id, resp.index))
    }

    /// Marks a node (in)eligible for new placements. Becoming eligible unblocks waiting work.
    /// Returns (eval ids, index).
    pub async fn set_node_eligibility(&self, node_id: &str, eligible: bool) -> Result<(Vec<String>, u64), ServerError> {
        let evals = self.read(|s| {
            let node = s.nodes.get(node_id).ok_or_else(|| ServerError::NotFound(format!("node not found: {node_id}")))?;
            if eligible && node.drain {
                return Err(ServerError::Invalid(format!("node {node_id} is draining: disable the drain to make it eligible")));
            }
            Ok::<_, ServerError>(if eligible && !node.eligible { self.capacity_evals(s, node_id) } else { Vec::new() })
        })?;
        let ids = evals.iter().map(|e| e.id.clone()).collect();
        info!(node_id, eligible, "changing node eligibility");
        let resp = self.propose(Command::UpdateNodeEligibility { node_id: node_id.into(), eligible, evals, now: now_ns() }).await?;
        Ok((ids, resp.index))
    }

    /// Removes a node from the cluster. Its non-terminal allocations become lost and one evaluation
    /// per affected job replaces them (as when a node goes down). Returns (eval ids, index).
    pub async fn purge_node(&self, node_id: &str) -> Result<(Vec<String>, u64), ServerError> {
        let evals = self.read(|s| {
            if !s.nodes.contains_key(node_id) {
                return Err(ServerError::NotFound(format!("node not found: {node_id}")));
            }
            Ok(self.node_update_evals(s, node_id))
        })?;
        let ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
        info!(node_id, evals = ids.len(), "purging node");
        let resp = self.propose(Command::PurgeNode { node_id: node_id.into(), evals, now: now_ns() }).await?;
        Ok((ids, resp.index))
    }

    /// Forces a scheduling pass for a node (`/v1/node/:id/evaluate`): one evaluation per job with
    /// allocations on it and per system job. Returns (eval ids, index).
    pub async fn evaluate_node(&self, node_id: &str) -> Result<(Vec<String>, u64), ServerError> {
        let evals = self.read(|s| {
            if !s.nodes.contains_key(node_id) {
                return Err(ServerError::NotFound(format!("node not found: {node_id}")));
            }
            let mut evals = self.node_update_evals(s, node_id);
            for sys in self.system_job_evals(s, node_id) {
                if !evals.iter().any(|e| e.job_id == sys.job_id && e.namespace == sys.namespace) {
                    evals.push(sys);
                }
            }
            Ok(evals)
        })?;
        let ids: Vec<String> = evals.iter().map(|e| e.id.clone()).collect();
        info!(node_id, evals = ids.len(), "evaluating node");
        if evals.is_empty() {
            return Ok((ids, self.read(|s| s.index)));
        }
        let resp = self.propose(Command::UpsertEvals { evals, now: now_ns() }).await?;
        Ok((ids, resp.index))
    }
}
