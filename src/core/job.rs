//! The job model: jobs, task groups, tasks and the policies attached to them.
//!
//! Durations are nanoseconds (`i64`), as in Nomad's wire format, so conversions are lossless.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::resources::{NetworkResource, Resources};

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
            JobType::Batch | JobType::Sysbatch => Self {
                attempts: 3,
                interval: 24 * 60 * MINUTE,
                delay: 15 * SECOND,
                mode: "fail".into(),
                render_templates: false,
            },
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
}

impl Job {
    pub fn key(&self) -> JobKey {
        JobKey::new(&self.namespace, &self.id)
    }

    pub fn group(&self, name: &str) -> Option<&TaskGroup> {
        self.task_groups.iter().find(|g| g.name == name)
    }

    /// Fills in Nomad's defaults for anything left unset.
    pub fn canonicalize(&mut self) {
        if self.name.is_empty() {
            self.name = self.id.clone();
        }
        if self.namespace.is_empty() {
            self.namespace = "default".into();
        }
        if self.region.is_empty() {
            self.region = "global".into();
        }
        if self.priority == 0 {
            self.priority = 50;
        }
        if self.datacenters.is_empty() {
            self.datacenters = vec!["*".into()];
        }
        if self.node_pool.is_empty() {
            self.node_pool = "default".into();
        }
        for g in &mut self.task_groups {
            if g.restart_policy.mode.is_empty() {
                g.restart_policy = RestartPolicy::default_for(self.job_type);
            }
            for t in &mut g.tasks {
                if t.kill_timeout == 0 {
                    t.kill_timeout = 5 * SECOND;
                }
            }
        }
    }

    /// Nomad's structural rules; every problem found is reported.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errs = Vec::new();
        if self.id.is_empty() {
            errs.push("job: missing ID".to_string());
        } else if self.id.contains(' ') || self.id.contains('\0') {
            errs.push(format!("job \"{}\": ID contains a space or null character", self.id));
        }
        if self.task_groups.is_empty() {
            errs.push(format!("job \"{}\": missing job task groups", self.id));
        }
        if !(1..=100).contains(&self.priority) {
            errs.push(format!("job \"{}\": priority must be between 1 and 100, got {}", self.id, self.priority));
        }
        let mut seen = std::collections::BTreeSet::new();
        for g in &self.task_groups {
            if !seen.insert(g.name.as_str()) {
                errs.push(format!("group \"{}\": defined more than once", g.name));
            }
            if g.tasks.is_empty() {
                errs.push(format!("group \"{}\": missing tasks", g.name));
            }
            let mut task_names = std::collections::BTreeSet::new();
            let mut labels = std::collections::BTreeSet::new();
            for n in &g.networks {
                for p in n.reserved_ports.iter().chain(&n.dynamic_ports) {
                    if p.label.is_empty() {
                        errs.push(format!("group \"{}\" > network: port label must not be empty", g.name));
                    } else if !labels.insert(p.label.clone()) {
                        errs.push(format!("group \"{}\" > network: port label \"{}\" already in use", g.name, p.label));
                    }
                }
            }
            for t in &g.tasks {
                if !task_names.insert(t.name.as_str()) {
                    errs.push(format!("group \"{}\" > task \"{}\": defined more than once", g.name, t.name));
                }
                if t.driver.is_empty() {
                    errs.push(format!("group \"{}\" > task \"{}\": missing driver", g.name, t.name));
                }
                if t.resources.memory_max_mb != 0 && t.resources.memory_max_mb < t.resources.memory_mb {
                    errs.push(format!(
                        "group \"{}\" > task \"{}\" > resources: memory_max ({}) is lower than memory ({})",
                        g.name, t.name, t.resources.memory_max_mb, t.resources.memory_mb
                    ));
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
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
