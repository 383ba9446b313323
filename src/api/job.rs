//! Nomad's job JSON (`Job`, `TaskGroup`, `Task`, …) and its conversion to and from the job model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::null_default as nd;
use crate::core::job::{Affinity, Constraint, EphemeralDisk, Job, JobType, LogConfig, RestartPolicy, Task, TaskGroup, TaskLifecycle};
use crate::core::resources::{DnsConfig, NetworkResource, Port, Resources};

#[derive(Debug, thiserror::Error)]
pub enum JobJsonError {
    #[error("Job.Type: unknown job type \"{0}\" (service, batch, system or sysbatch)")]
    JobType(String),
    #[error("{field}: {value} is out of range")]
    Range { field: String, value: i64 },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiConstraint {
    #[serde(rename = "LTarget")]
    pub l_target: String,
    #[serde(rename = "RTarget")]
    pub r_target: String,
    pub operand: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAffinity {
    #[serde(rename = "LTarget")]
    pub l_target: String,
    #[serde(rename = "RTarget")]
    pub r_target: String,
    pub operand: String,
    pub weight: i8,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiPort {
    pub label: String,
    pub value: u16,
    pub to: i32,
    pub host_network: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDns {
    #[serde(deserialize_with = "nd")]
    pub servers: Vec<String>,
    #[serde(deserialize_with = "nd")]
    pub searches: Vec<String>,
    #[serde(deserialize_with = "nd")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiNetwork {
    pub mode: String,
    #[serde(rename = "MBits")]
    pub mbits: u32,
    pub hostname: String,
    #[serde(deserialize_with = "nd")]
    pub reserved_ports: Vec<ApiPort>,
    #[serde(deserialize_with = "nd")]
    pub dynamic_ports: Vec<ApiPort>,
    #[serde(rename = "DNS")]
    pub dns: Option<ApiDns>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiResources {
    #[serde(rename = "CPU")]
    pub cpu: Option<u64>,
    pub cores: Option<u32>,
    #[serde(rename = "MemoryMB")]
    pub memory_mb: Option<u64>,
    #[serde(rename = "MemoryMaxMB")]
    pub memory_max_mb: Option<u64>,
    #[serde(rename = "DiskMB")]
    pub disk_mb: Option<u64>,
    #[serde(deserialize_with = "nd")]
    pub networks: Vec<ApiNetwork>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiRestartPolicy {
    pub attempts: Option<u32>,
    pub interval: Option<i64>,
    pub delay: Option<i64>,
    pub mode: Option<String>,
    pub render_templates: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiLogConfig {
    pub max_files: Option<u32>,
    #[serde(rename = "MaxFileSizeMB")]
    pub max_file_size_mb: Option<u32>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiEphemeralDisk {
    pub sticky: Option<bool>,
    #[serde(rename = "SizeMB")]
    pub size_mb: Option<u64>,
    pub migrate: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiLifecycle {
    pub hook: String,
    pub sidecar: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTask {
    pub name: String,
    pub driver: String,
    pub user: String,
    #[serde(deserialize_with = "nd")]
    pub config: BTreeMap<String, serde_json::Value>,
    #[serde(deserialize_with = "nd")]
    pub env: BTreeMap<String, String>,
    #[serde(deserialize_with = "nd")]
    pub meta: BTreeMap<String, String>,
    pub resources: Option<ApiResources>,
    #[serde(deserialize_with = "nd")]
    pub constraints: Vec<ApiConstraint>,
    #[serde(deserialize_with = "nd")]
    pub affinities: Vec<ApiAffinity>,
    pub restart_policy: Option<ApiRestartPolicy>,
    pub log_config: Option<ApiLogConfig>,
    pub kill_timeout: Option<i64>,
    pub kill_signal: String,
    pub shutdown_delay: i64,
    pub leader: bool,
    pub kind: String,
    pub lifecycle: Option<ApiLifecycle>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTaskGroup {
    pub name: String,
    pub count: Option<u32>,
    #[serde(deserialize_with = "nd")]
    pub constraints: Vec<ApiConstraint>,
    #[serde(deserialize_with = "nd")]
    pub affinities: Vec<ApiAffinity>,
    #[serde(deserialize_with = "nd")]
    pub tasks: Vec<ApiTask>,
    #[serde(deserialize_with = "nd")]
    pub networks: Vec<ApiNetwork>,
    pub restart_policy: Option<ApiRestartPolicy>,
    pub ephemeral_disk: Option<ApiEphemeralDisk>,
    #[serde(deserialize_with = "nd")]
    pub meta: BTreeMap<String, String>,
    pub shutdown_delay: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiJob {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub region: String,
    #[serde(rename = "Type")]
    pub job_type: Option<String>,
    pub priority: Option<u8>,
    pub all_at_once: bool,
    #[serde(deserialize_with = "nd")]
    pub datacenters: Vec<String>,
    pub node_pool: String,
    #[serde(deserialize_with = "nd")]
    pub constraints: Vec<ApiConstraint>,
    #[serde(deserialize_with = "nd")]
    pub affinities: Vec<ApiAffinity>,
    #[serde(deserialize_with = "nd")]
    pub task_groups: Vec<ApiTaskGroup>,
    #[serde(deserialize_with = "nd")]
    pub meta: BTreeMap<String, String>,
    pub stop: bool,
    pub status: String,
    pub status_description: String,
    pub stable: bool,
    pub version: u64,
    pub submit_time: i64,
    pub create_index: u64,
    pub modify_index: u64,
    pub job_modify_index: u64,
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    pub dispatched: bool,
}

fn constraints_in(v: &[ApiConstraint]) -> Vec<Constraint> {
    v.iter().map(|c| Constraint { ltarget: c.l_target.clone(), rtarget: c.r_target.clone(), operand: c.operand.clone() }).collect()
}

fn constraints_out(v: &[Constraint]) -> Vec<ApiConstraint> {
    v.iter().map(|c| ApiConstraint { l_target: c.ltarget.clone(), r_target: c.rtarget.clone(), operand: c.operand.clone() }).collect()
}

fn affinities_in(v: &[ApiAffinity]) -> Vec<Affinity> {
    v.iter().map(|a| Affinity { ltarget: a.l_target.clone(), rtarget: a.r_target.clone(), operand: a.operand.clone(), weight: a.weight }).collect()
}

fn affinities_out(v: &[Affinity]) -> Vec<ApiAffinity> {
    v.iter().map(|a| ApiAffinity { l_target: a.ltarget.clone(), r_target: a.rtarget.clone(), operand: a.operand.clone(), weight: a.weight }).collect()
}

fn ports_in(v: &[ApiPort]) -> Vec<Port> {
    v.iter().map(|p| Port { label: p.label.clone(), value: p.value, to: p.to, host_network: p.host_network.clone() }).collect()
}

fn ports_out(v: &[Port]) -> Vec<ApiPort> {
    v.iter().map(|p| ApiPort { label: p.label.clone(), value: p.value, to: p.to, host_network: p.host_network.clone() }).collect()
}

fn network_in(n: &ApiNetwork) -> NetworkResource {
    NetworkResource {
        mode: if n.mode.is_empty() { "host".into() } else { n.mode.clone() },
        mbits: n.mbits,
        hostname: n.hostname.clone(),
        reserved_ports: ports_in(&n.reserved_ports),
        dynamic_ports: ports_in(&n.dynamic_ports),
        dns: n.dns.as_ref().map(|d| DnsConfig { servers: d.servers.clone(), searches: d.searches.clone(), options: d.options.clone() }),
    }
}

pub fn network_out(n: &NetworkResource) -> ApiNetwork {
    ApiNetwork {
        mode: n.mode.clone(),
        mbits: n.mbits,
        hostname: n.hostname.clone(),
        reserved_ports: ports_out(&n.reserved_ports),
        dynamic_ports: ports_out(&n.dynamic_ports),
        dns: n.dns.as_ref().map(|d| ApiDns { servers: d.servers.clone(), searches: d.searches.clone(), options: d.options.clone() }),
    }
}

fn restart_in(r: &ApiRestartPolicy, default: &RestartPolicy) -> RestartPolicy {
    RestartPolicy {
        attempts: r.attempts.unwrap_or(default.attempts),
        interval: r.interval.unwrap_or(default.interval),
        delay: r.delay.unwrap_or(default.delay),
        mode: r.mode.clone().unwrap_or_else(|| default.mode.clone()),
        render_templates: r.render_templates.unwrap_or(default.render_templates),
    }
}

fn restart_out(r: &RestartPolicy) -> ApiRestartPolicy {
    ApiRestartPolicy {
        attempts: Some(r.attempts),
        interval: Some(r.interval),
        delay: Some(r.delay),
        mode: Some(r.mode.clone()),
        render_templates: Some(r.render_templates),
    }
}

fn task_in(t: &ApiTask) -> Task {
    let d = Resources::default();
    let r = t.resources.clone().unwrap_or_default();
    let logs = t.log_config.clone().unwrap_or_default();
    let dl = LogConfig::default();
    Task {
        name: t.name.clone(),
        driver: t.driver.clone(),
        user: t.user.clone(),
        config: t.config.clone(),
        env: t.env.clone(),
        meta: t.meta.clone(),
        resources: Resources {
            cpu: r.cpu.unwrap_or(d.cpu),
            cores: r.cores.unwrap_or(0),
            memory_mb: r.memory_mb.unwrap_or(d.memory_mb),
            memory_max_mb: r.memory_max_mb.unwrap_or(0),
            disk_mb: r.disk_mb.unwrap_or(0),
            networks: r.networks.iter().map(network_in).collect(),
            ..Default::default()
        },
        constraints: constraints_in(&t.constraints),
        affinities: affinities_in(&t.affinities),
        restart_policy: None,
        logs: LogConfig {
            max_files: logs.max_files.unwrap_or(dl.max_files),
            max_file_size_mb: logs.max_file_size_mb.unwrap_or(dl.max_file_size_mb),
            disabled: logs.disabled.unwrap_or(false),
        },
        kill_timeout: t.kill_timeout.unwrap_or(0),
        kill_signal: t.kill_signal.clone(),
        shutdown_delay: t.shutdown_delay,
        leader: t.leader,
        kind: t.kind.clone(),
        lifecycle: t.lifecycle.as_ref().map(|l| TaskLifecycle { hook: l.hook.clone(), sidecar: l.sidecar }),
        ..Default::default()
    }
}

fn task_out(t: &Task, group_restart: &RestartPolicy) -> ApiTask {
    let r = &t.resources;
    ApiTask {
        name: t.name.clone(),
        driver: t.driver.clone(),
        user: t.user.clone(),
        config: t.config.clone(),
        env: t.env.clone(),
        meta: t.meta.clone(),
        resources: Some(ApiResources {
            cpu: Some(r.cpu),
            cores: Some(r.cores),
            memory_mb: Some(r.memory_mb),
            memory_max_mb: Some(r.memory_max_mb),
            disk_mb: Some(r.disk_mb),
            networks: r.networks.iter().map(network_out).collect(),
        }),
        constraints: constraints_out(&t.constraints),
        affinities: affinities_out(&t.affinities),
        restart_policy: Some(restart_out(t.restart_policy.as_ref().unwrap_or(group_restart))),
        log_config: Some(ApiLogConfig {
            max_files: Some(t.logs.max_files),
            max_file_size_mb: Some(t.logs.max_file_size_mb),
            disabled: Some(t.logs.disabled),
        }),
        kill_timeout: Some(t.kill_timeout),
        kill_signal: t.kill_signal.clone(),
        shutdown_delay: t.shutdown_delay,
        leader: t.leader,
        kind: t.kind.clone(),
        lifecycle: t.lifecycle.as_ref().map(|l| ApiLifecycle { hook: l.hook.clone(), sidecar: l.sidecar }),
    }
}

/// Nomad JSON → job model (then canonicalized with Nomad's defaults).
pub fn job_from_api(a: &ApiJob) -> Result<Job, JobJsonError> {
    let job_type = match a.job_type.as_deref() {
        None | Some("") => JobType::Service,
        Some(t) => JobType::parse(t).ok_or_else(|| JobJsonError::JobType(t.to_string()))?,
    };
    let default_restart = RestartPolicy::default_for(job_type);
    let mut job = Job {
        id: a.id.clone(),
        name: a.name.clone(),
        namespace: a.namespace.clone(),
        region: a.region.clone(),
        job_type,
        priority: a.priority.unwrap_or(50),
        all_at_once: a.all_at_once,
        datacenters: a.datacenters.clone(),
        node_pool: a.node_pool.clone(),
        constraints: constraints_in(&a.constraints),
        affinities: affinities_in(&a.affinities),
        meta: a.meta.clone(),
        stop: a.stop,
        task_groups: a
            .task_groups
            .iter()
            .map(|g| {
                let de = EphemeralDisk::default();
                let disk = g.ephemeral_disk.clone().unwrap_or_default();
                TaskGroup {
                    name: g.name.clone(),
                    count: g.count.unwrap_or(1),
                    constraints: constraints_in(&g.constraints),
                    affinities: affinities_in(&g.affinities),
                    tasks: g.tasks.iter().map(task_in).collect(),
                    networks: g.networks.iter().map(network_in).collect(),
                    restart_policy: g.restart_policy.as_ref().map(|r| restart_in(r, &default_restart)).unwrap_or_else(|| default_restart.clone()),
                    ephemeral_disk: EphemeralDisk {
                        size_mb: disk.size_mb.unwrap_or(de.size_mb),
                        sticky: disk.sticky.unwrap_or(false),
                        migrate: disk.migrate.unwrap_or(false),
                    },
                    meta: g.meta.clone(),
                    shutdown_delay: g.shutdown_delay,
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    };
    job.canonicalize();
    Ok(job)
}

/// Job model → Nomad JSON. `status` is derived from state by the caller.
pub fn job_to_api(j: &Job, status: &str) -> ApiJob {
    ApiJob {
        id: j.id.clone(),
        name: j.name.clone(),
        namespace: j.namespace.clone(),
        region: j.region.clone(),
        job_type: Some(j.job_type.as_str().into()),
        priority: Some(j.priority),
        all_at_once: j.all_at_once,
        datacenters: j.datacenters.clone(),
        node_pool: j.node_pool.clone(),
        constraints: constraints_out(&j.constraints),
        affinities: affinities_out(&j.affinities),
        meta: j.meta.clone(),
        stop: j.stop,
        status: status.into(),
        status_description: String::new(),
        stable: false,
        version: j.version,
        submit_time: j.submit_time,
        create_index: j.create_index,
        modify_index: j.modify_index,
        job_modify_index: j.job_modify_index,
        parent_id: String::new(),
        dispatched: false,
        task_groups: j
            .task_groups
            .iter()
            .map(|g| ApiTaskGroup {
                name: g.name.clone(),
                count: Some(g.count),
                constraints: constraints_out(&g.constraints),
                affinities: affinities_out(&g.affinities),
                tasks: g.tasks.iter().map(|t| task_out(t, &g.restart_policy)).collect(),
                networks: g.networks.iter().map(network_out).collect(),
                restart_policy: Some(restart_out(&g.restart_policy)),
                ephemeral_disk: Some(ApiEphemeralDisk {
                    sticky: Some(g.ephemeral_disk.sticky),
                    size_mb: Some(g.ephemeral_disk.size_mb),
                    migrate: Some(g.ephemeral_disk.migrate),
                }),
                meta: g.meta.clone(),
                shutdown_delay: g.shutdown_delay,
            })
            .collect(),
    }
}

/// `GET /v1/jobs` list entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobListStub {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    pub name: String,
    pub namespace: String,
    pub datacenters: Vec<String>,
    pub node_pool: String,
    #[serde(rename = "Type")]
    pub job_type: String,
    pub priority: u8,
    pub periodic: bool,
    pub parameterized_job: bool,
    pub stop: bool,
    pub status: String,
    pub status_description: String,
    pub job_summary: Option<serde_json::Value>,
    pub create_index: u64,
    pub modify_index: u64,
    pub job_modify_index: u64,
    pub submit_time: i64,
}

pub fn job_stub(j: &Job, status: &str) -> JobListStub {
    JobListStub {
        id: j.id.clone(),
        name: j.name.clone(),
        namespace: j.namespace.clone(),
        datacenters: j.datacenters.clone(),
        node_pool: j.node_pool.clone(),
        job_type: j.job_type.as_str().into(),
        priority: j.priority,
        stop: j.stop,
        status: status.into(),
        create_index: j.create_index,
        modify_index: j.modify_index,
        job_modify_index: j.job_modify_index,
        submit_time: j.submit_time,
        ..Default::default()
    }
}

/// `PUT /v1/jobs` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobRegisterRequest {
    pub job: Option<ApiJob>,
    pub enforce_index: bool,
    pub job_modify_index: u64,
    pub policy_override: bool,
}

/// `PUT /v1/jobs` and `DELETE /v1/job/:id` response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobRegisterResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub eval_create_index: u64,
    pub job_modify_index: u64,
    pub warnings: String,
    pub index: u64,
    pub last_contact: u64,
    pub known_leader: bool,
}
