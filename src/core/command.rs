//! Typed Raft commands: the only way cluster state changes. Ids and timestamps are stamped before proposing.
//!
//! The encoding (serde JSON) only changes additively: new variants and new `#[serde(default)]` fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alloc::{Allocation, ClientAllocUpdate, ClientStatus, DesiredStatus, DesiredTransition};
use super::deployment::{Deployment, DeploymentStatusUpdate};
use super::eval::Evaluation;
use super::job::Job;
use super::node::{DrainStrategy, Node, NodeStatus};
use super::scheduler_config::SchedulerConfig;
use super::service_reg::ServiceRegistration;
use super::shared::Shared;
use super::state::ClusterState;
use super::var::Variable;

/// A stop (or eviction) of an existing allocation decided by a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocStop {
    pub alloc_id: String,
    pub desired_status: DesiredStatus,
    pub description: String,
    /// Set when the servers know the allocation's fate without the client (e.g. `lost` on a down node).
    pub client_status: Option<ClientStatus>,
}

/// What the plan applier commits for one plan: the accepted part of it and the evaluation's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlanResult {
    /// New allocations and in-place updates of existing ones (full objects). Shared, so the copies
    /// of the log entry that replication and apply read from the entry cache share them.
    pub allocs: Vec<Shared<Allocation>>,
    pub stops: Vec<AllocStop>,
    /// The evaluation, updated with its final status (omitted when the worker retries).
    pub eval: Option<Evaluation>,
    /// A blocked evaluation to create for groups that could not be placed.
    pub blocked_eval: Option<Evaluation>,
    /// A deployment the plan starts (ignored if it exists already: its counters belong to apply).
    pub deployment: Option<Deployment>,
    /// Status changes of other deployments (older versions cancelled).
    pub deployment_updates: Vec<DeploymentStatusUpdate>,
    /// Delayed evaluations that will reschedule failed allocations once their delay has passed.
    pub followup_evals: Vec<Evaluation>,
    /// Failed allocations and the follow-up evaluation each waits for.
    pub followups: Vec<AllocFollowup>,
}

/// A failed allocation to be rescheduled later, by the delayed evaluation `eval_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocFollowup {
    pub alloc_id: String,
    pub eval_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Registers a job (a new version when its spec changed) and the evaluation for it.
    RegisterJob { job: Job, eval: Option<Evaluation>, now: i64 },
    /// Registers a job as `RegisterJob` does, only if the stored job's `job_modify_index` is
    /// `job_modify_index` (0: only if the job does not exist yet); otherwise rejected, nothing changes
    /// (Nomad's `EnforceIndex`, checked at apply so that two racing registrations cannot both pass).
    RegisterJobIfIndex { job: Job, eval: Option<Evaluation>, now: i64, job_modify_index: u64 },
    /// Stops a job (or removes it with `purge`) and the evaluation that stops its allocations.
    DeregisterJob { namespace: String, job_id: String, purge: bool, eval: Option<Evaluation>, now: i64 },
    /// Registers or re-registers a node, with evaluations for system jobs and blocked work.
    RegisterNode { node: Node, evals: Vec<Evaluation>, now: i64 },
    /// A node's status changed (ready, down, …); evaluations for the jobs on it.
    UpdateNodeStatus { node_id: String, status: NodeStatus, description: String, evals: Vec<Evaluation>, now: i64 },
    /// Removes a node from the cluster (`node purge`): its non-terminal allocations become lost, and
    /// evaluations for their jobs replace them.
    PurgeNode { node_id: String, evals: Vec<Evaluation>, now: i64 },
    /// Marks a stored job version stable or unstable (and the current job, if that version is current).
    SetJobStability { namespace: String, job_id: String, version: u64, stable: bool },
    /// Creates or updates evaluations.
    UpsertEvals { evals: Vec<Evaluation>, now: i64 },
    /// The accepted part of a scheduler plan.
    ApplyPlan { result: PlanResult, now: i64 },
    /// Task states and client status reported by a client.
    UpdateAllocsFromClient { node_id: String, updates: Vec<ClientAllocUpdate>, evals: Vec<Evaluation>, now: i64 },
    /// Creates or replaces a variable (its namespace, path and items; indexes and times are set by apply).
    /// With `cas`, only if the stored variable's modify index is `cas` (`Some(0)`: only if it does not exist).
    UpsertVar { var: Variable, cas: Option<u64>, now: i64 },
    /// Deletes a variable; with `cas`, only if its modify index is `cas`.
    DeleteVar { namespace: String, path: String, cas: Option<u64> },
    /// Replaces the whole cluster state with a restored operator snapshot.
    RestoreState { state: Box<ClusterState> },
    /// Creates or updates deployments (indexes and times set by apply).
    UpsertDeployments { deployments: Vec<Deployment>, now: i64 },
    /// Changes a deployment's status (fail, pause, resume, success), with the evaluation that acts on
    /// it, the job version to mark stable (on success) and a job to register (an automatic rollback).
    UpdateDeploymentStatus {
        update: DeploymentStatusUpdate,
        eval: Option<Evaluation>,
        stable_version: Option<u64>,
        revert: Option<Job>,
        now: i64,
    },
    /// Promotes the canaries of a deployment's groups (all when `groups` is empty).
    PromoteDeployment { deployment_id: String, groups: Vec<String>, eval: Option<Evaluation>, now: i64 },
    /// Sets the health of allocations of a deployment by hand (`health_check = "manual"`, or an operator).
    SetDeploymentAllocHealth { deployment_id: String, healthy: Vec<String>, unhealthy: Vec<String>, eval: Option<Evaluation>, now: i64 },
    /// Registers or refreshes service registrations of running allocations (those of unknown or
    /// terminal allocations are dropped by apply).
    UpsertServiceRegistrations { services: Vec<ServiceRegistration> },
    /// Removes service registrations: those listed by id, and every one of the listed allocations.
    DeleteServiceRegistrations { ids: Vec<String>, alloc_ids: Vec<String> },
    /// Marks a node eligible or ineligible for new placements; evaluations to run when it becomes eligible.
    UpdateNodeEligibility { node_id: String, eligible: bool, evals: Vec<Evaluation>, now: i64 },
    /// Replaces the scheduler configuration; with `cas`, only if its modify index is `cas`.
    SetSchedulerConfig { config: SchedulerConfig, cas: Option<u64> },
    /// Starts a node's drain (`drain` set: the node becomes ineligible) or cancels it (`None`; with
    /// `mark_eligible` the node becomes eligible again). `meta` is kept in the node's last drain.
    UpdateNodeDrain {
        node_id: String,
        drain: Option<DrainStrategy>,
        mark_eligible: bool,
        meta: BTreeMap<String, String>,
        evals: Vec<Evaluation>,
        now: i64,
    },
    /// Sets the desired transition of allocations (the drainer marks them for migration), with the
    /// evaluations that act on it.
    UpdateAllocDesiredTransition { alloc_ids: Vec<String>, transition: DesiredTransition, evals: Vec<Evaluation>, now: i64 },
    /// Drains that finished: the nodes stop draining, stay ineligible, and their last drain is complete.
    CompleteNodeDrains { node_ids: Vec<String>, now: i64 },
    /// Garbage collection: removes the listed finished evaluations, allocations, dead jobs (with their
    /// versions), long-down nodes and finished deployments that are still collectable at apply.
    Gc { request: super::gc::GcRequest },
    /// Commands proposed together and applied in order at one log index (one log append, one fsync
    /// and one replication round for many small client writes); one response per command.
    Batch { cmds: Vec<Command> },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::RegisterJob { .. } => "register_job",
            Command::Gc { .. } => "gc",
            Command::RegisterJobIfIndex { .. } => "register_job_if_index",
            Command::DeregisterJob { .. } => "deregister_job",
            Command::RegisterNode { .. } => "register_node",
            Command::UpdateNodeStatus { .. } => "update_node_status",
            Command::PurgeNode { .. } => "purge_node",
            Command::SetJobStability { .. } => "set_job_stability",
            Command::UpsertEvals { .. } => "upsert_evals",
            Command::ApplyPlan { .. } => "apply_plan",
            Command::UpdateAllocsFromClient { .. } => "update_allocs_from_client",
            Command::UpsertVar { .. } => "upsert_var",
            Command::DeleteVar { .. } => "delete_var",
            Command::RestoreState { .. } => "restore_state",
            Command::UpsertDeployments { .. } => "upsert_deployments",
            Command::UpdateDeploymentStatus { .. } => "update_deployment_status",
            Command::PromoteDeployment { .. } => "promote_deployment",
            Command::SetDeploymentAllocHealth { .. } => "set_deployment_alloc_health",
            Command::UpsertServiceRegistrations { .. } => "upsert_service_registrations",
            Command::DeleteServiceRegistrations { .. } => "delete_service_registrations",
            Command::SetSchedulerConfig { .. } => "set_scheduler_config",
            Command::UpdateNodeEligibility { .. } => "update_node_eligibility",
            Command::UpdateNodeDrain { .. } => "update_node_drain",
            Command::UpdateAllocDesiredTransition { .. } => "update_alloc_desired_transition",
            Command::CompleteNodeDrains { .. } => "complete_node_drains",
            Command::Batch { .. } => "batch",
        }
    }
}

/// The result of applying one command: the Raft index it was applied at and, for a command
/// that was rejected by the state machine's own rules, why.
///
/// A check-and-set conflict is an outcome, not an error: `conflict` is set, nothing changed, and
/// `var` holds the current variable (an empty one with indexes 0 if it does not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CommandResponse {
    pub index: u64,
    pub error: Option<String>,
    /// Variable commands: the variable as stored by an upsert, or the current one on a conflict.
    pub var: Option<Variable>,
    pub conflict: bool,
    /// `Batch`: the response of each of its commands, in order.
    pub batch: Vec<CommandResponse>,
}
