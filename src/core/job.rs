//! The job model: jobs, task groups, tasks and the policies attached to them.
//!
//! Durations are nanoseconds (`i64`), as in Nomad's wire format, so conversions are lossless.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::resources::{NetworkResource, Resources, VolumeMount, VolumeRequest};

pub const SECOND: i64 = 1_000_000_000;
pub const MINUTE: i64 = 60 * SECOND;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    #[default]
    Service,
    Batch,
    System,
    Sysbatch,
}

impl JobType {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobType::Service => "service",
            JobType::Batch => "batch",
            JobType::System => "system",
            JobType::Sysbatch => "sysbatch",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "service" => JobType::Service,
            "batch" => JobType::Batch,
            "system" => JobType::System,
            "sysbatch" => JobType::Sysbatch,
            _ => return None,
        })
    }
}

/// Lifecycle status of a job as Nomad reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    #[default]
    Pending,
    Running,
    Dead,
}

impl JobStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Constraint {
    pub ltarget: String,
    pub rtarget: String,
    pub operand: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Affinity {
    pub ltarget: String,
    pub rtarget: String,
    pub operand: String,
    pub weight: i8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RestartPolicy {
    pub attempts: u32,
    pub interval: i64,
    pub delay: i64,
    /// `fail` or `delay`.
    pub mode: String,
    pub render_templates: bool,
}

impl RestartPolicy {
    /// Nomad's defaults per job type.
    pub fn default_for(job_type: JobType) -> Self {
        match job_type {
            JobType::Batch | JobType::Sysbatch => {
                Self { attempts: 3, interval: 24 * 60 * MINUTE, delay: 15 * SECOND, mode: "fail".into(), render_templates: false }
            }
            _ => Self { attempts: 2, interval: 30 * MINUTE, delay: 15 * SECOND, mode: "fail".into(), render_templates: false },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    pub max_files: u32,
    pub max_file_size_mb: u32,
    pub disabled: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { max_files: 10, max_file_size_mb: 10, disabled: false }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EphemeralDisk {
    pub size_mb: u64,
    pub sticky: bool,
    pub migrate: bool,
}

impl Default for EphemeralDisk {
    fn default() -> Self {
        Self { size_mb: 300, sticky: false, migrate: false }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskLifecycle {
    /// `prestart`, `poststart` or `poststop`.
    pub hook: String,
    pub sidecar: bool,
}

/// Spread placements over the values of a node attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Spread {
    pub attribute: String,
    /// 1..=100; 0 = unset (50 after canonicalization).
    pub weight: i8,
    pub targets: Vec<SpreadTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SpreadTarget {
    pub value: String,
    pub percent: u8,
}

/// How updates roll out (`update` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateStrategy {
    pub stagger: i64,
    pub max_parallel: i32,
    /// `checks`, `task_states` or `manual`.
    pub health_check: String,
    pub min_healthy_time: i64,
    pub healthy_deadline: i64,
    pub progress_deadline: i64,
    pub canary: i32,
    pub auto_revert: bool,
    pub auto_promote: bool,
}

impl Default for UpdateStrategy {
    /// Nomad's `DefaultUpdateStrategy`.
    fn default() -> Self {
        Self {
            stagger: 30 * SECOND,
            max_parallel: 1,
            health_check: "checks".into(),
            min_healthy_time: 10 * SECOND,
            healthy_deadline: 5 * MINUTE,
            progress_deadline: 10 * MINUTE,
            canary: 0,
            auto_revert: false,
            auto_promote: false,
        }
    }
}

/// How allocations move off draining nodes (`migrate` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MigrateStrategy {
    pub max_parallel: i32,
    /// `checks` or `task_states`.
    pub health_check: String,
    pub min_healthy_time: i64,
    pub healthy_deadline: i64,
}

impl Default for MigrateStrategy {
    fn default() -> Self {
        Self { max_parallel: 1, health_check: "checks".into(), min_healthy_time: 10 * SECOND, healthy_deadline: 5 * MINUTE }
    }
}

/// How failed allocations are replaced (`reschedule` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ReschedulePolicy {
    pub attempts: i32,
    pub interval: i64,
    pub delay: i64,
    /// `constant`, `exponential` or `fibonacci`.
    pub delay_function: String,
    pub max_delay: i64,
    pub unlimited: bool,
}

impl ReschedulePolicy {
    /// Nomad's defaults per job type (system jobs do not reschedule).
    pub fn default_for(job_type: JobType) -> Self {
        match job_type {
            JobType::Service => Self {
                attempts: 0,
                interval: 0,
                delay: 30 * SECOND,
                delay_function: "exponential".into(),
                max_delay: 60 * MINUTE,
                unlimited: true,
            },
            JobType::Batch => Self {
                attempts: 1,
                interval: 24 * 60 * MINUTE,
                delay: 5 * SECOND,
                delay_function: "constant".into(),
                max_delay: 0,
                unlimited: false,
            },
            JobType::System | JobType::Sysbatch => Self::default(),
        }
    }
}

/// What happens to allocations on a disconnected client (`disconnect` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DisconnectStrategy {
    pub lost_after: i64,
    pub stop_on_client_after: Option<i64>,
    pub replace: Option<bool>,
    /// `best_score`, `keep_original`, `keep_replacement` or `longest_running`.
    pub reconcile: String,
}

/// Cron-driven launches (`periodic` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PeriodicConfig {
    pub enabled: bool,
    /// `cron`.
    pub spec: String,
    /// `crons`.
    pub specs: Vec<String>,
    pub spec_type: String,
    pub prohibit_overlap: bool,
    pub time_zone: String,
}

/// A dispatchable job (`parameterized` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ParameterizedJobConfig {
    /// `optional`, `required` or `forbidden`.
    pub payload: String,
    pub meta_required: Vec<String>,
    pub meta_optional: Vec<String>,
}

/// A `scaling` block: horizontal for a group, `vertical_cpu`/`vertical_mem` for a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalingPolicy {
    #[serde(rename = "type")]
    pub kind: String,
    /// `None` = the group's count, at canonicalization.
    pub min: Option<i64>,
    pub max: i64,
    pub enabled: bool,
    /// The autoscaler's opaque `policy` block.
    pub policy: BTreeMap<String, serde_json::Value>,
}

impl Default for ScalingPolicy {
    fn default() -> Self {
        Self { kind: String::new(), min: None, max: 0, enabled: true, policy: BTreeMap::new() }
    }
}

/// A service registration (`service` block) in a group or a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Service {
    pub name: String,
    pub tags: Vec<String>,
    pub canary_tags: Vec<String>,
    pub enable_tag_override: bool,
    pub port_label: String,
    pub address_mode: String,
    pub address: String,
    pub checks: Vec<ServiceCheck>,
    pub check_restart: Option<CheckRestart>,
    pub meta: BTreeMap<String, String>,
    pub canary_meta: BTreeMap<String, String>,
    pub tagged_addresses: BTreeMap<String, String>,
    pub task_name: String,
    pub on_update: String,
    /// `consul` or `nomad`.
    pub provider: String,
    pub cluster: String,
    pub kind: String,
    /// `connect`, `identity`, `weights`, … kept as JSON.
    pub unsupported: BTreeMap<String, serde_json::Value>,
}

/// A health check of a service (`check` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ServiceCheck {
    pub name: String,
    /// `http`, `tcp`, `grpc` or `script`.
    #[serde(rename = "type")]
    pub kind: String,
    pub command: String,
    pub args: Vec<String>,
    pub path: String,
    pub protocol: String,
    pub port_label: String,
    pub expose: bool,
    pub address_mode: String,
    pub advertise: String,
    pub interval: i64,
    pub timeout: i64,
    pub initial_status: String,
    pub notes: String,
    pub tls_server_name: String,
    pub tls_skip_verify: bool,
    pub header: BTreeMap<String, Vec<String>>,
    pub method: String,
    pub check_restart: Option<CheckRestart>,
    pub grpc_service: String,
    pub grpc_use_tls: bool,
    pub task_name: String,
    pub success_before_passing: u32,
    pub failures_before_critical: u32,
    pub failures_before_warning: u32,
    pub body: String,
    pub on_update: String,
}

/// Restart a task when its checks fail (`check_restart` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CheckRestart {
    pub limit: u32,
    pub grace: Option<i64>,
    pub ignore_warnings: bool,
}

/// A file rendered into the task directory (`template` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Template {
    pub source_path: String,
    pub dest_path: String,
    pub embedded_tmpl: String,
    /// `noop`, `restart`, `signal` or `script`.
    pub change_mode: String,
    pub change_signal: String,
    pub change_script: Option<ChangeScript>,
    pub once: bool,
    pub splay: i64,
    pub perms: String,
    pub uid: Option<i32>,
    pub gid: Option<i32>,
    pub left_delim: String,
    pub right_delim: String,
    pub envvars: bool,
    pub vault_grace: i64,
    pub wait: Option<WaitConfig>,
    pub err_missing_key: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ChangeScript {
    pub command: String,
    pub args: Vec<String>,
    pub timeout: i64,
    pub fail_on_error: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct WaitConfig {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// A file fetched into the task directory before it starts (`artifact` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskArtifact {
    pub source: String,
    pub options: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    /// `any`, `file` or `dir`.
    pub mode: String,
    pub insecure: bool,
    pub destination: String,
    pub chown: bool,
}

/// Where a dispatched job's payload is written (`dispatch_payload` block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DispatchPayloadConfig {
    pub file: String,
}

/// One task: a process run by a driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Task {
    pub name: String,
    pub driver: String,
    pub user: String,
    /// Driver configuration, kept opaque: each driver reads its own keys.
    pub config: BTreeMap<String, serde_json::Value>,
    pub env: BTreeMap<String, String>,
    pub meta: BTreeMap<String, String>,
    pub resources: Resources,
    pub constraints: Vec<Constraint>,
    pub affinities: Vec<Affinity>,
    pub restart_policy: Option<RestartPolicy>,
    pub logs: LogConfig,
    pub kill_timeout: i64,
    pub kill_signal: String,
    pub shutdown_delay: i64,
    pub leader: bool,
    pub kind: String,
    pub lifecycle: Option<TaskLifecycle>,
    /// Blocks Drover keeps but does not act on yet (vault, consul, identity, …), by name.
    pub unsupported: BTreeMap<String, serde_json::Value>,
    pub services: Vec<Service>,
    pub templates: Vec<Template>,
    pub artifacts: Vec<TaskArtifact>,
    pub volume_mounts: Vec<VolumeMount>,
    pub dispatch_payload: Option<DispatchPayloadConfig>,
    /// Vertical scaling policies (`scaling "cpu"` / `scaling "mem"`).
    pub scaling_policies: Vec<ScalingPolicy>,
}

/// A set of tasks placed together on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TaskGroup {
    pub name: String,
    pub count: u32,
    pub constraints: Vec<Constraint>,
    pub affinities: Vec<Affinity>,
    pub tasks: Vec<Task>,
    pub networks: Vec<NetworkResource>,
    pub restart_policy: RestartPolicy,
    pub ephemeral_disk: EphemeralDisk,
    pub meta: BTreeMap<String, String>,
    pub shutdown_delay: Option<i64>,
    pub unsupported: BTreeMap<String, serde_json::Value>,
    pub spreads: Vec<Spread>,
    pub services: Vec<Service>,
    /// Volume requests by name (the `volume "name"` label).
    pub volumes: BTreeMap<String, VolumeRequest>,
    /// `None` inherits the job's strategy at canonicalization.
    pub update: Option<UpdateStrategy>,
    pub migrate: Option<MigrateStrategy>,
    pub reschedule_policy: Option<ReschedulePolicy>,
    pub disconnect: Option<DisconnectStrategy>,
    pub max_client_disconnect: Option<i64>,
    pub stop_after_client_disconnect: Option<i64>,
    pub prevent_reschedule_on_lost: bool,
    pub max_run_duration: Option<i64>,
    pub scaling: Option<ScalingPolicy>,
}

/// A job: what the operator asked to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub region: String,
    pub job_type: JobType,
    pub priority: u8,
    pub all_at_once: bool,
    pub datacenters: Vec<String>,
    pub node_pool: String,
    pub constraints: Vec<Constraint>,
    pub affinities: Vec<Affinity>,
    pub task_groups: Vec<TaskGroup>,
    pub meta: BTreeMap<String, String>,
    pub stop: bool,
    pub version: u64,
    pub submit_time: i64,
    pub create_index: u64,
    pub modify_index: u64,
    pub job_modify_index: u64,
    pub unsupported: BTreeMap<String, serde_json::Value>,
    pub spreads: Vec<Spread>,
    // Boxed: the job travels inside Raft commands, which should stay small when these are unset.
    pub update: Option<Box<UpdateStrategy>>,
    pub migrate: Option<Box<MigrateStrategy>>,
    pub reschedule: Option<Box<ReschedulePolicy>>,
    pub periodic: Option<Box<PeriodicConfig>>,
    pub parameterized: Option<Box<ParameterizedJobConfig>>,
    /// Whether this version ran successfully (set by `job stable` or a successful deployment); a new
    /// version starts unstable.
    pub stable: bool,
    /// The periodic or parameterized job this one was launched from (empty for other jobs).
    pub parent_id: String,
    /// Whether this job was dispatched from a parameterized job.
    pub dispatched: bool,
    /// A dispatched job's input, written to the tasks' `dispatch_payload` file (base64 in JSON).
    #[serde(with = "payload_b64", skip_serializing_if = "Vec::is_empty")]
    pub payload: Vec<u8>,
}

/// A payload travels as standard base64 text, as in Nomad's JSON.
mod payload_b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

impl Job {
    pub fn key(&self) -> JobKey {
        JobKey::new(&self.namespace, &self.id)
    }

    pub fn group(&self, name: &str) -> Option<&TaskGroup> {
        self.task_groups.iter().find(|g| g.name == name)
    }

    /// A periodic or parameterized job: a template that launches child jobs and gets no allocations
    /// itself (Nomad's `IsPeriodic() || IsParameterized()`).
    pub fn is_parent(&self) -> bool {
        self.periodic.is_some() || (self.parameterized.is_some() && !self.dispatched)
    }

    /// A periodic job the launcher should launch: enabled, not stopped and not parameterized.
    pub fn is_periodic_active(&self) -> bool {
        self.periodic.as_ref().is_some_and(|p| p.enabled) && !self.stop && self.parameterized.is_none()
    }
}

/// A job's identity: namespace and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobKey {
    pub namespace: String,
    pub id: String,
}

impl JobKey {
    pub fn new(namespace: &str, id: &str) -> Self {
        Self { namespace: namespace.to_string(), id: id.to_string() }
    }
}

impl std::fmt::Display for JobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.id)
    }
}
