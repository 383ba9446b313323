//! The replicated cluster state and its deterministic `apply` of Raft commands.
//!
//! Every table is a `BTreeMap`, so iteration order — and therefore every derived decision — is the
//! same on every server. Secondary indexes are not serialized; `after_restore` rebuilds them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::alloc::{Allocation, ClientAllocUpdate, ClientStatus};
use super::command::{AllocStop, Command, CommandResponse, PlanResult};
use super::deployment::Deployment;
use super::eval::{EvalStatus, Evaluation};
use super::job::{Job, JobKey, JobStatus, JobType};
use super::node::{DrainMetadata, DrainStatus, DrainStrategy, Node, NodeStatus};
use super::scheduler_config::SchedulerConfig;
use super::service_reg::ServiceRegistration;
use super::shared::Shared;
use super::text::Text;
use super::var::{VarKey, Variable};

/// Why a purged node's allocations are lost (their desired description).
pub const ALLOC_LOST_PURGED: &str = "alloc is lost since its node was purged";

mod alloc_changes;
mod allocs;
mod deployments;
mod garbage;
mod node_classes;
mod node_memo;
mod queries;
mod usage;
mod wire;

use wire::{allocs_by_id, jobs_as_list, vars_as_list, versions_as_list};

/// Table names, for per-table modify indexes (blocking queries wait on these).
pub mod table {
    pub const JOBS: &str = "jobs";
    pub const NODES: &str = "nodes";
    pub const EVALS: &str = "evals";
    pub const ALLOCS: &str = "allocs";
    pub const VARS: &str = "vars";
    pub const DEPLOYMENTS: &str = "deployments";
    pub const SERVICES: &str = "services";
    pub const SCHEDULER_CONFIG: &str = "scheduler_config";
    /// Every table, touched together when a snapshot is restored.
    pub const ALL: [&str; 8] = [JOBS, NODES, EVALS, ALLOCS, VARS, DEPLOYMENTS, SERVICES, SCHEDULER_CONFIG];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ClusterState {
    /// Raft index of the last applied command.
    pub index: u64,
    pub table_index: BTreeMap<String, u64>,
    #[serde(with = "jobs_as_list")]
    pub jobs: BTreeMap<JobKey, Job>,
    /// Every stored version of every job, keyed by (job, version).
    #[serde(with = "versions_as_list")]
    pub job_versions: BTreeMap<(JobKey, u64), Job>,
    pub nodes: BTreeMap<String, Node>,
    pub evals: BTreeMap<String, Evaluation>,
    /// Keyed by id; the secondary indexes share the key (`Arc<str>`), so an id is stored once.
    #[serde(with = "allocs_by_id")]
    pub allocs: BTreeMap<Arc<str>, Shared<Allocation>>,
    /// Variables by (namespace, path).
    #[serde(with = "vars_as_list")]
    pub vars: BTreeMap<VarKey, Shared<Variable>>,
    pub deployments: BTreeMap<String, Deployment>,
    /// Native service registrations by id.
    pub services: BTreeMap<String, ServiceRegistration>,
    pub scheduler_config: SchedulerConfig,
    #[serde(skip)]
    /// Node id → its allocations' ids, each with its `AllocModifyIndex` (what a client's watch
    /// compares, read without looking the allocation up).
    allocs_by_node: BTreeMap<Text, BTreeMap<Arc<str>, u64>>,
    #[serde(skip)]
    allocs_by_job: BTreeMap<JobKey, BTreeSet<Arc<str>>>,
    #[serde(skip)]
    pending_evals: BTreeSet<String>,
    #[serde(skip)]
    usage_cache: usage::UsageCache,
    #[serde(skip)]
    node_classes: node_classes::NodeClasses,
    #[serde(skip)]
    alloc_changes: alloc_changes::AllocChanges,
}

impl ClusterState {
    /// Applies one command at Raft index `index`. Deterministic: the same commands in the same
    /// order give the same state on every server.
    pub fn apply(&mut self, index: u64, cmd: &Command) -> CommandResponse {
        self.index = index;
        let mut var = None;
        let mut conflict = false;
        let error = match cmd {
            Command::RegisterJob { job, eval, now } => {
                self.register_job(index, job, *now);
                self.upsert_evals(index, eval.iter(), *now);
                None
            }
            Command::RegisterJobIfIndex { job, eval, now, job_modify_index } => {
                let current = self.jobs.get(&job.key()).map(|j| j.job_modify_index);
                let refused = enforce_index_error(*job_modify_index, current);
                if refused.is_none() {
                    self.register_job(index, job, *now);
                    self.upsert_evals(index, eval.iter(), *now);
                }
                refused
            }
            Command::DeregisterJob { namespace, job_id, purge, eval, now } => {
                let r = self.deregister_job(index, &JobKey::new(namespace, job_id), *purge);
                if r.is_none() {
                    self.upsert_evals(index, eval.iter(), *now);
                }
                r
            }
            Command::RegisterNode { node, evals, now } => {
                let mut node = node.clone();
                if let Some(stored) = self.nodes.get(&node.id) {
                    node.keep_server_fields(stored);
                }
                node.create_index = self.nodes.get(&node.id).map_or(index, |n| n.create_index);
                node.modify_index = index;
                node.status_updated_at = *now;
                self.nodes.insert(node.id.clone(), node);
                self.touch(table::NODES, index);
                self.upsert_evals(index, evals.iter(), *now);
                None
            }
            Command::UpdateNodeStatus { node_id, status, description, evals, now } => match self.nodes.get_mut(node_id) {
                Some(node) => {
                    node.status = *status;
                    node.status_description = description.clone();
                    node.status_updated_at = *now;
                    node.modify_index = index;
                    self.touch(table::NODES, index);
                    if *status == NodeStatus::Down {
                        // A down node's services are unreachable: nobody should find them.
                        self.remove_services(index, |s| s.node_id == *node_id);
                        self.lose_stopped_allocs(index, node_id, *now);
                    }
                    self.upsert_evals(index, evals.iter(), *now);
                    None
                }
                None => Some(format!("node {node_id} not found")),
            },
            Command::PurgeNode { node_id, evals, now } => {
                let r = self.purge_node(index, node_id, *now);
                if r.is_none() {
                    self.upsert_evals(index, evals.iter(), *now);
                }
                r
            }
            Command::SetJobStability { namespace, job_id, version, stable } => {
                self.set_job_stability(index, &JobKey::new(namespace, job_id), *version, *stable)
            }
            Command::UpsertEvals { evals, now } => {
                self.upsert_evals(index, evals.iter(), *now);
                None
            }
            Command::Gc { request } => {
                self.collect_garbage(index, request);
                None
            }
            Command::ApplyPlan { result, now } => {
                self.apply_plan(index, result, *now);
                None
            }
            Command::UpdateAllocsFromClient { node_id, updates, evals, now } => {
                let r = self.update_allocs_from_client(index, node_id, updates, *now);
                self.upsert_evals(index, evals.iter(), *now);
                r
            }
            Command::UpsertVar { var: v, cas, now } => {
                match self.cas_conflict(&v.key(), *cas) {
                    Some(current) => {
                        var = Some(current);
                        conflict = true;
                    }
                    None => var = Some(self.upsert_var(index, v, *now)),
                }
                None
            }
            Command::DeleteVar { namespace, path, cas } => {
                let key = VarKey::new(namespace, path);
                match self.cas_conflict(&key, *cas) {
                    Some(current) => {
                        var = Some(current);
                        conflict = true;
                    }
                    None => {
                        if self.vars.remove(&key).is_some() {
                            self.touch(table::VARS, index);
                        }
                    }
                }
                None
            }
            Command::RestoreState { state } => {
                self.restore(index, state);
                None
            }
            Command::UpsertDeployments { deployments, now } => {
                for d in deployments {
                    let mut d = d.clone();
                    match self.deployments.get(&d.id) {
                        Some(old) => {
                            d.create_index = old.create_index;
                            d.create_time = old.create_time;
                        }
                        None => {
                            d.create_index = index;
                            d.create_time = *now;
                        }
                    }
                    d.modify_index = index;
                    d.modify_time = *now;
                    self.deployments.insert(d.id.clone(), d);
                }
                self.touch(table::DEPLOYMENTS, index);
                None
            }
            Command::UpdateDeploymentStatus { update, eval, stable_version, revert, now } => {
                self.update_deployment_status(index, update, eval.as_ref(), *stable_version, revert.as_ref(), *now)
            }
            Command::PromoteDeployment { deployment_id, groups, eval, now } => {
                self.promote_deployment(index, deployment_id, groups, eval.as_ref(), *now)
            }
            Command::SetDeploymentAllocHealth { deployment_id, healthy, unhealthy, eval, now } => {
                self.set_deployment_alloc_health(index, deployment_id, healthy, unhealthy, eval.as_ref(), *now)
            }
            Command::UpsertServiceRegistrations { services } => {
                // A late registration of an allocation that has stopped (or is unknown) is dropped:
                // no registration of a terminal allocation survives.
                for s in services.iter().filter(|s| self.allocs.get(s.alloc_id.as_str()).is_some_and(|a| !a.terminal())) {
                    let mut s = s.clone();
                    s.create_index = self.services.get(&s.id).map_or(index, |old| old.create_index);
                    s.modify_index = index;
                    self.services.insert(s.id.clone(), s);
                }
                self.touch(table::SERVICES, index);
                None
            }
            Command::DeleteServiceRegistrations { ids, alloc_ids } => {
                let ids: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
                let allocs: BTreeSet<&str> = alloc_ids.iter().map(String::as_str).collect();
                self.remove_services(index, |s| ids.contains(s.id.as_str()) || allocs.contains(s.alloc_id.as_str()));
                None
            }
            Command::UpdateNodeEligibility { node_id, eligible, evals, now } => match self.nodes.get_mut(node_id) {
                Some(node) => {
                    node.eligible = *eligible;
                    node.modify_index = index;
                    self.touch(table::NODES, index);
                    self.upsert_evals(index, evals.iter(), *now);
                    None
                }
                None => Some(format!("node {node_id} not found")),
            },
            Command::SetSchedulerConfig { config, cas } => {
                if cas.is_some_and(|c| c != self.scheduler_config.modify_index) {
                    conflict = true;
                } else {
                    let create_index = if self.scheduler_config.create_index == 0 { index } else { self.scheduler_config.create_index };
                    self.scheduler_config = SchedulerConfig { create_index, modify_index: index, ..config.clone() };
                    self.touch(table::SCHEDULER_CONFIG, index);
                }
                None
            }
            Command::UpdateNodeDrain { node_id, drain, mark_eligible, meta, evals, now } => {
                let r = self.update_node_drain(index, node_id, drain.as_ref(), *mark_eligible, meta, *now);
                if r.is_none() {
                    self.upsert_evals(index, evals.iter(), *now);
                }
                r
            }
            Command::UpdateAllocDesiredTransition { alloc_ids, transition, evals, now } => {
                for id in alloc_ids {
                    if let Some(a) = self.allocs.get_mut(id.as_str()) {
                        let a = a.make_mut();
                        a.desired_transition = *transition;
                        a.modify_index = index;
                        a.modify_time = *now;
                        self.alloc_changes.changed(&a.id, index);
                        self.alloc_changes.node_changed(&a.node_id, index);
                    }
                }
                if !alloc_ids.is_empty() {
                    self.touch(table::ALLOCS, index);
                }
                self.upsert_evals(index, evals.iter(), *now);
                None
            }
            Command::CompleteNodeDrains { node_ids, now } => {
                for id in node_ids {
                    if let Some(node) = self.nodes.get_mut(id).filter(|n| n.drain_strategy.is_some()) {
                        node.drain = false;
                        node.drain_strategy = None;
                        if let Some(last) = node.last_drain.as_mut() {
                            last.status = DrainStatus::Complete;
                            last.updated_at = *now;
                        }
                        node.modify_index = index;
                        self.table_index.insert(table::NODES.to_string(), index);
                    }
                }
                None
            }
            Command::Batch { cmds } => {
                let batch = cmds.iter().map(|c| self.apply(index, c)).collect();
                return CommandResponse { index, batch, ..Default::default() };
            }
        };
        CommandResponse { index, error, var, conflict, batch: Vec::new() }
    }

    /// The current variable when a check-and-set index does not match it: `cas` 0 requires that the
    /// variable does not exist, `cas` N that its modify index is N. A missing variable is returned
    /// empty, with indexes 0, as Nomad does.
    fn cas_conflict(&self, key: &VarKey, cas: Option<u64>) -> Option<Variable> {
        let cas = cas?;
        match self.vars.get(key) {
            Some(v) if v.modify_index == cas => None,
            Some(v) => Some((**v).clone()),
            None if cas == 0 => None,
            None => Some(Variable { namespace: key.namespace.clone(), path: key.path.clone(), ..Default::default() }),
        }
    }

    fn upsert_var(&mut self, index: u64, var: &Variable, now: i64) -> Variable {
        let mut v = Variable { namespace: var.namespace.clone(), path: var.path.clone(), items: var.items.clone(), ..Default::default() };
        match self.vars.get(&v.key()) {
            Some(old) => {
                v.create_index = old.create_index;
                v.create_time = old.create_time;
            }
            None => {
                v.create_index = index;
                v.create_time = now;
            }
        }
        v.modify_index = index;
        v.modify_time = now;
        self.vars.insert(v.key(), Shared::new(v.clone()));
        self.touch(table::VARS, index);
        v
    }

    /// Replaces the state with a restored one. Objects keep their indexes; every table is touched at
    /// `index`, so blocking queries see the change.
    fn restore(&mut self, index: u64, state: &ClusterState) {
        let mut tables: BTreeSet<String> = table::ALL.iter().map(|t| t.to_string()).collect();
        tables.extend(self.table_index.keys().cloned());
        *self = state.clone();
        tables.extend(self.table_index.keys().cloned());
        self.after_restore();
        self.index = index;
        for t in tables {
            self.table_index.insert(t, index);
        }
    }

    /// Rebuilds the secondary indexes after the state was deserialized.
    pub fn after_restore(&mut self) {
        self.allocs_by_node.clear();
        self.allocs_by_job.clear();
        self.pending_evals.clear();
        self.usage_cache.clear();
        self.node_classes.clear();
        self.alloc_changes.restored(self.index);
        let ids: Vec<Arc<str>> = self.allocs.keys().cloned().collect();
        for id in ids {
            self.index_alloc(&id);
        }
        let evals: Vec<String> = self.evals.keys().cloned().collect();
        for id in evals {
            self.index_eval(&id);
        }
    }

    fn touch(&mut self, table: &str, index: u64) {
        self.table_index.insert(table.to_string(), index);
    }

    /// The index of the servers' last change to an allocation on `node` — placed, updated, stopped,
    /// marked for migration, collected; its client's own reports do not move it.
    pub fn node_allocs_index(&self, node: &str) -> u64 {
        self.alloc_changes.node_index(node)
    }

    /// The nodes whose allocations the servers changed after index `after`; `None` when that is too
    /// far back to know.
    pub fn nodes_with_alloc_changes_since(&self, after: u64) -> Option<Vec<Text>> {
        self.alloc_changes.nodes_since(after)
    }

    /// The index of the last removal (collection) of an allocation on `node`.
    pub fn node_alloc_removal_index(&self, node: &str) -> u64 {
        self.alloc_changes.node_removal_index(node)
    }

    /// The allocations changed after index `after`, each once; `None` when that is too far back to
    /// know without scanning the table.
    pub fn allocs_changed_since(&self, after: u64) -> Option<Vec<Text>> {
        self.alloc_changes.since(after)
    }

    /// The modify index of a table (0 if never written).
    pub fn table_index(&self, table: &str) -> u64 {
        self.table_index.get(table).copied().unwrap_or(0)
    }

    fn register_job(&mut self, index: u64, job: &Job, now: i64) {
        let key = job.key();
        let mut job = job.clone();
        match self.jobs.get(&key) {
            Some(old) => {
                job.create_index = old.create_index;
                job.version = if same_spec(old, &job) { old.version } else { old.version + 1 };
            }
            None => {
                job.create_index = index;
                job.version = 0;
            }
        }
        // A new version starts unstable; the same spec registered again keeps its stability.
        job.stable = self.jobs.get(&key).is_some_and(|old| old.version == job.version && old.stable);
        // As Nomad: the same spec registered again (a re-run of an unchanged file) leaves the job as it
        // was, so `job run -check-index` with the index `job plan` printed still holds.
        let unchanged = self.jobs.get(&key).filter(|old| old.stop == job.stop && same_spec(old, &job));
        if let Some(old) = unchanged {
            job.modify_index = old.modify_index;
            job.job_modify_index = old.job_modify_index;
            job.submit_time = old.submit_time;
        } else {
            job.modify_index = index;
            job.job_modify_index = index;
            job.submit_time = now;
        }
        self.job_versions.insert((key.clone(), job.version), job.clone());
        self.jobs.insert(key, job);
        self.touch(table::JOBS, index);
    }

    fn deregister_job(&mut self, index: u64, key: &JobKey, purge: bool) -> Option<String> {
        if !self.jobs.contains_key(key) {
            return Some(format!("job \"{}\" in namespace \"{}\" not found", key.id, key.namespace));
        }
        if purge {
            self.jobs.remove(key);
            self.job_versions.retain(|(k, _), _| k != key);
        } else if let Some(job) = self.jobs.get_mut(key) {
            job.stop = true;
            job.modify_index = index;
            job.job_modify_index = index;
            if let Some(v) = self.job_versions.get_mut(&(key.clone(), job.version)) {
                v.stop = true;
            }
        }
        self.touch(table::JOBS, index);
        None
    }

    /// Removes a node; its allocations that are not terminal yet are lost (desired stop, client lost).
    fn purge_node(&mut self, index: u64, node_id: &str, now: i64) -> Option<String> {
        if self.nodes.remove(node_id).is_none() {
            return Some(format!("node {node_id} not found"));
        }
        self.touch(table::NODES, index);
        self.lose_allocs(index, node_id, now, |a| {
            (!a.terminal()).then(|| AllocStop {
                alloc_id: a.id.to_string(),
                desired_status: super::alloc::DesiredStatus::Stop,
                description: ALLOC_LOST_PURGED.into(),
                client_status: Some(ClientStatus::Lost),
            })
        });
        self.remove_services(index, |s| s.node_id == node_id);
        None
    }

    /// Removes the service registrations `gone` selects; touches the table only if one was removed.
    fn remove_services(&mut self, index: u64, gone: impl Fn(&ServiceRegistration) -> bool) {
        let before = self.services.len();
        self.services.retain(|_, s| !gone(s));
        if self.services.len() != before {
            self.touch(table::SERVICES, index);
        }
    }

    /// Removes the registrations of the listed allocations that are now terminal.
    fn remove_services_of_terminal(&mut self, index: u64, alloc_ids: &[&str]) {
        if self.services.is_empty() {
            return;
        }
        let terminal: BTreeSet<&str> = alloc_ids.iter().copied().filter(|id| self.allocs.get(*id).is_none_or(|a| a.terminal())).collect();
        if !terminal.is_empty() {
            self.remove_services(index, |s| terminal.contains(s.alloc_id.as_str()));
        }
    }

    /// Sets `stable` on a stored version, and on the current job when that version is current.
    fn set_job_stability(&mut self, index: u64, key: &JobKey, version: u64, stable: bool) -> Option<String> {
        let Some(v) = self.job_versions.get_mut(&(key.clone(), version)) else {
            return Some(format!("job \"{}\" in namespace \"{}\" has no version {version}", key.id, key.namespace));
        };
        v.stable = stable;
        v.modify_index = index;
        if let Some(job) = self.jobs.get_mut(key).filter(|j| j.version == version) {
            job.stable = stable;
            job.modify_index = index;
        }
        self.touch(table::JOBS, index);
        None
    }

    fn upsert_evals<'a>(&mut self, index: u64, evals: impl Iterator<Item = &'a Evaluation>, now: i64) {
        let mut any = false;
        for eval in evals {
            let mut eval = eval.clone();
            match self.evals.get(&eval.id) {
                Some(old) => {
                    eval.create_index = old.create_index;
                    eval.create_time = old.create_time;
                }
                None => {
                    eval.create_index = index;
                    eval.create_time = now;
                }
            }
            eval.modify_index = index;
            eval.modify_time = now;
            let id = eval.id.clone();
            self.evals.insert(id.clone(), eval);
            self.index_eval(&id);
            any = true;
        }
        if any {
            self.touch(table::EVALS, index);
        }
    }

    fn index_eval(&mut self, id: &str) {
        match self.evals.get(id) {
            Some(e) if e.status == EvalStatus::Pending => {
                self.pending_evals.insert(id.to_string());
            }
            _ => {
                self.pending_evals.remove(id);
            }
        }
    }

    /// Starts or cancels a node's drain (see `Command::UpdateNodeDrain`).
    fn update_node_drain(
        &mut self,
        index: u64,
        node_id: &str,
        drain: Option<&DrainStrategy>,
        mark_eligible: bool,
        meta: &BTreeMap<String, String>,
        now: i64,
    ) -> Option<String> {
        let Some(node) = self.nodes.get_mut(node_id) else {
            return Some(format!("node {node_id} not found"));
        };
        match drain {
            Some(strategy) => {
                let mut strategy = strategy.clone();
                // A drain updated while it runs keeps its start.
                let started = node.drain_strategy.as_ref().map_or(now, |old| old.started_at);
                if strategy.started_at == 0 {
                    strategy.started_at = started;
                }
                node.drain = true;
                node.eligible = false;
                node.drain_strategy = Some(strategy);
                let last_started = node.last_drain.as_ref().filter(|l| l.status == DrainStatus::Draining).map_or(now, |l| l.started_at);
                node.last_drain = Some(DrainMetadata {
                    started_at: last_started,
                    updated_at: now,
                    status: DrainStatus::Draining,
                    accessor_id: String::new(),
                    meta: meta.clone(),
                });
            }
            None => {
                if node.drain_strategy.take().is_some() {
                    if let Some(last) = node.last_drain.as_mut() {
                        last.status = DrainStatus::Canceled;
                        last.updated_at = now;
                        if !meta.is_empty() {
                            last.meta = meta.clone();
                        }
                    }
                }
                node.drain = false;
                if mark_eligible {
                    node.eligible = true;
                }
            }
        }
        node.modify_index = index;
        self.touch(table::NODES, index);
        None
    }
}

/// Why a registration enforcing `expected` as the job's modify index is refused (Nomad's wording),
/// given the stored job's index (`None`: no such job); `expected` 0 means the job must not exist.
pub fn enforce_index_error(expected: u64, current: Option<u64>) -> Option<String> {
    let why = match current {
        None if expected == 0 => return None,
        None => "job does not exist".to_string(),
        Some(_) if expected == 0 => "job already exists".to_string(),
        Some(c) if c == expected => return None,
        Some(c) => format!("job exists with conflicting job modify index: {c}"),
    };
    Some(format!("Enforcing job modify index {expected}: {why}"))
}

/// Whether two versions of a job describe the same thing (ignoring bookkeeping fields).
pub fn same_spec(a: &Job, b: &Job) -> bool {
    let strip = |j: &Job| {
        let mut j = j.clone();
        j.version = 0;
        j.create_index = 0;
        j.modify_index = 0;
        j.job_modify_index = 0;
        j.submit_time = 0;
        j.stop = false;
        j.stable = false;
        j
    };
    strip(a) == strip(b)
}
