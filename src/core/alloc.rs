//! Allocations: one task group of one job placed on one node, and the state of its tasks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::reschedule::RescheduleTracker;
use super::resources::AllocatedResources;
use super::text::{unique, Text};
use super::vec_map::VecMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DesiredStatus {
    #[default]
    Run,
    Stop,
    Evict,
}

impl DesiredStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DesiredStatus::Run => "run",
            DesiredStatus::Stop => "stop",
            DesiredStatus::Evict => "evict",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClientStatus {
    #[default]
    Pending,
    Running,
    Complete,
    Failed,
    Lost,
}

impl ClientStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ClientStatus::Pending => "pending",
            ClientStatus::Running => "running",
            ClientStatus::Complete => "complete",
            ClientStatus::Failed => "failed",
            ClientStatus::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "complete" => Self::Complete,
            "failed" => Self::Failed,
            "lost" => Self::Lost,
            _ => return None,
        })
    }

    pub fn terminal(&self) -> bool {
        matches!(self, Self::Complete | Self::Failed | Self::Lost)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TaskStateKind {
    #[default]
    Pending,
    Running,
    Dead,
}

impl TaskStateKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Dead => "dead",
        }
    }
}

/// One event in a task's life, as Nomad names them ("Received", "Started", "Terminated", …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskEvent {
    pub kind: Text,
    pub time: i64,
    pub message: Text,
    pub exit_code: i32,
    pub signal: i32,
    pub failed: bool,
    /// Most events have none: boxed, so an event without details costs one word for them.
    #[serde(with = "details_map")]
    pub details: Option<Box<BTreeMap<String, String>>>,
}

/// Event details (de)serialized as a map, `{}` when there are none.
mod details_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Details = Option<Box<BTreeMap<String, String>>>;

    pub fn serialize<S: Serializer>(d: &Details, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(map) => map.serialize(s),
            None => BTreeMap::<String, String>::new().serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Details, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        Ok((!map.is_empty()).then(|| Box::new(map)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskState {
    pub state: TaskStateKind,
    pub failed: bool,
    pub restarts: u64,
    pub last_restart: i64,
    pub started_at: i64,
    pub finished_at: i64,
    pub events: Vec<TaskEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Allocation {
    /// Its own copy: no other object repeats it (the state's tables key on the same copy).
    #[serde(with = "unique")]
    pub id: Text,
    pub namespace: Text,
    pub eval_id: Text,
    /// `<job>.<group>[<index>]`
    #[serde(with = "unique")]
    pub name: Text,
    pub node_id: Text,
    pub node_name: Text,
    pub job_id: Text,
    pub job_version: u64,
    pub task_group: Text,
    pub resources: AllocatedResources,
    pub desired_status: DesiredStatus,
    pub desired_description: Text,
    /// What the servers want to happen to it next (a drain marks it for migration).
    pub desired_transition: DesiredTransition,
    pub client_status: ClientStatus,
    pub client_description: Text,
    pub task_states: VecMap<Text, TaskState>,
    pub previous_allocation: Text,
    /// The deployment that placed it (or took it over in place); empty outside deployments.
    pub deployment_id: Text,
    /// Its health within that deployment, as its client judged it (or a canary mark).
    pub deployment_status: Option<AllocDeploymentStatus>,
    /// The allocation that replaced this one (set when its replacement is placed).
    #[serde(skip_serializing_if = "Text::is_empty")]
    pub next_allocation: Text,
    /// The reschedule attempts that led to this allocation (none for a first placement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reschedule_tracker: Option<Box<RescheduleTracker>>,
    /// The delayed evaluation that will reschedule this failed allocation.
    #[serde(skip_serializing_if = "Text::is_empty")]
    pub followup_eval_id: Text,
    pub create_index: u64,
    pub modify_index: u64,
    pub alloc_modify_index: u64,
    pub create_time: i64,
    pub modify_time: i64,
}

impl Allocation {
    /// The index in the allocation's name, `web.web[3]` → 3.
    pub fn index(&self) -> u32 {
        self.name.rsplit_once('[').and_then(|(_, rest)| rest.trim_end_matches(']').parse().ok()).unwrap_or(0)
    }

    /// Terminal on either side: the servers want it stopped or the client says it has ended.
    pub fn terminal(&self) -> bool {
        self.desired_status != DesiredStatus::Run || self.client_status.terminal()
    }

    /// Whether its resources still count against its node: until the client reports it ended.
    pub fn holds_resources(&self) -> bool {
        !self.client_status.terminal()
    }
}

/// Nomad's `AllocDeploymentStatus`: an allocation's health within its deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocDeploymentStatus {
    /// `None` until its client (or an operator) decided.
    pub healthy: Option<bool>,
    /// Unix nanoseconds of the decision.
    pub timestamp: i64,
    /// Placed as a canary.
    pub canary: bool,
    pub modify_index: u64,
}

impl Allocation {
    /// Whether it is a canary of its deployment.
    pub fn canary(&self) -> bool {
        self.deployment_status.as_ref().is_some_and(|d| d.canary)
    }

    /// Its health within its deployment (`None`: not decided).
    pub fn healthy(&self) -> Option<bool> {
        self.deployment_status.as_ref().and_then(|d| d.healthy)
    }
}

/// Nomad's `DesiredTransition`: set on an allocation by the servers, acted on by the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DesiredTransition {
    /// Stop it and place a replacement on another node (the node drains).
    pub migrate: bool,
}

/// An allocation update reported by a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ClientAllocUpdate {
    pub id: String,
    pub client_status: ClientStatus,
    pub client_description: String,
    pub task_states: VecMap<Text, TaskState>,
    /// Its health within its deployment, once the client decided (sent with every later update).
    pub deployment_status: Option<AllocDeploymentStatus>,
}
