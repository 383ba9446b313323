//! Nomad's job JSON (`Job`, `TaskGroup`, `Task`) and its conversion to and from the job model.
//!
//! Reading applies Nomad's API canonicalization (partial policies merged over the inherited ones, the
//! defaults per job type), so the same job sent as JSON or written in HCL becomes the same model.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use super::job_parts::*;
pub use super::job_resources::*;
pub use super::job_service::*;
pub use super::job_task_files::*;
use crate::core::job::{Job, JobType, ReschedulePolicy, RestartPolicy, Task, TaskGroup};

#[derive(Debug, thiserror::Error)]
pub enum JobJsonError {
    #[error("Job.Type: unknown job type \"{0}\" (service, batch, system or sysbatch)")]
    JobType(String),
    #[error("{path}: {message}")]
    Decode { path: String, message: String },
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax { line: usize, column: usize, message: String },
}

/// Blocks Drover keeps without acting on them. Those Nomad's JSON has a field for travel in that field
/// (`native`: pairs of HCL block name and field value); the rest, found only in HCL, under
/// `DroverUnsupported`, so nothing is lost on a round trip.
pub fn kept_in(drover: &BTreeMap<String, Json>, native: &[(&str, &Option<Json>)]) -> BTreeMap<String, Json> {
    let mut out = drover.clone();
    for (hcl, v) in native {
        if let Some(v) = v {
            out.insert((*hcl).to_string(), v.clone());
        }
    }
    out
}

/// The kept blocks that have no field of their own in Nomad's JSON.
pub fn kept_rest(m: &BTreeMap<String, Json>, native: &[&str]) -> BTreeMap<String, Json> {
    m.iter().filter(|(k, _)| !native.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTask {
    pub name: String,
    pub driver: String,
    pub user: String,
    pub lifecycle: Option<ApiLifecycle>,
    pub config: BTreeMap<String, Json>,
    pub constraints: Vec<ApiConstraint>,
    pub affinities: Vec<ApiAffinity>,
    pub env: BTreeMap<String, String>,
    pub services: Vec<ApiService>,
    pub resources: Option<ApiResources>,
    pub restart_policy: Option<ApiRestartPolicy>,
    pub meta: BTreeMap<String, String>,
    pub kill_timeout: Option<i64>,
    pub log_config: Option<ApiLogConfig>,
    pub artifacts: Vec<ApiArtifact>,
    pub templates: Vec<ApiTemplate>,
    pub dispatch_payload: Option<ApiDispatchPayload>,
    pub volume_mounts: Vec<ApiVolumeMount>,
    pub leader: bool,
    pub shutdown_delay: i64,
    pub kill_signal: String,
    pub kind: String,
    pub scaling_policies: Vec<ApiScalingPolicy>,
    pub vault: Option<Json>,
    pub consul: Option<Json>,
    pub identities: Option<Json>,
    #[serde(rename = "CSIPluginConfig")]
    pub csi_plugin_config: Option<Json>,
    pub actions: Option<Json>,
    pub secrets: Option<Json>,
    pub schedule: Option<Json>,
    #[serde(rename = "DroverUnsupported", skip_serializing_if = "BTreeMap::is_empty")]
    pub unsupported: BTreeMap<String, Json>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTaskGroup {
    pub name: String,
    pub count: Option<u32>,
    pub constraints: Vec<ApiConstraint>,
    pub affinities: Vec<ApiAffinity>,
    pub tasks: Vec<ApiTask>,
    pub spreads: Vec<ApiSpread>,
    pub volumes: BTreeMap<String, ApiVolumeRequest>,
    pub restart_policy: Option<ApiRestartPolicy>,
    pub disconnect: Option<ApiDisconnect>,
    pub reschedule_policy: Option<ApiReschedulePolicy>,
    pub ephemeral_disk: Option<ApiEphemeralDisk>,
    pub update: Option<ApiUpdateStrategy>,
    pub migrate: Option<ApiMigrateStrategy>,
    pub networks: Vec<ApiNetwork>,
    pub meta: BTreeMap<String, String>,
    pub services: Vec<ApiService>,
    pub shutdown_delay: Option<i64>,
    pub stop_after_client_disconnect: Option<i64>,
    pub max_client_disconnect: Option<i64>,
    pub max_run_duration: Option<i64>,
    pub scaling: Option<ApiScalingPolicy>,
    pub prevent_reschedule_on_lost: bool,
    pub consul: Option<Json>,
    #[serde(rename = "DroverUnsupported", skip_serializing_if = "BTreeMap::is_empty")]
    pub unsupported: BTreeMap<String, Json>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiJob {
    pub region: String,
    pub namespace: String,
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    #[serde(rename = "Type")]
    pub job_type: Option<String>,
    pub priority: Option<u8>,
    pub all_at_once: bool,
    pub datacenters: Vec<String>,
    pub node_pool: String,
    pub constraints: Vec<ApiConstraint>,
    pub affinities: Vec<ApiAffinity>,
    pub task_groups: Vec<ApiTaskGroup>,
    pub update: Option<ApiUpdateStrategy>,
    pub spreads: Vec<ApiSpread>,
    pub periodic: Option<ApiPeriodic>,
    pub parameterized_job: Option<ApiParameterized>,
    pub reschedule: Option<ApiReschedulePolicy>,
    pub migrate: Option<ApiMigrateStrategy>,
    pub meta: BTreeMap<String, String>,
    pub stop: bool,
    #[serde(rename = "ParentID")]
    pub parent_id: String,
    pub dispatched: bool,
    pub payload: Option<String>,
    pub status: String,
    pub status_description: String,
    pub stable: bool,
    pub version: u64,
    pub submit_time: i64,
    pub create_index: u64,
    pub modify_index: u64,
    pub job_modify_index: u64,
    pub multiregion: Option<Json>,
    #[serde(rename = "UI")]
    pub ui: Option<Json>,
    pub consul_namespace: Option<Json>,
    pub vault_namespace: Option<Json>,
    #[serde(rename = "DroverUnsupported", skip_serializing_if = "BTreeMap::is_empty")]
    pub unsupported: BTreeMap<String, Json>,
}

/// Standard base64, as Go encodes `[]byte` in JSON (Nomad's `Payload`).
pub fn decode_payload(text: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(text.trim().as_bytes()).map_err(|e| format!("invalid base64: {e}"))
}

/// Decodes Nomad job JSON (either the job itself or `{"Job": …}`), naming the failing field's path.
/// Explicit `null`s, which Go clients send for empty slices and maps, read as absent.
pub fn decode_job_json(text: &[u8]) -> Result<ApiJob, JobJsonError> {
    let mut v: Json =
        serde_json::from_slice(text).map_err(|e| JobJsonError::Syntax { line: e.line(), column: e.column(), message: e.to_string() })?;
    if let Some(inner) = v.get_mut("Job").filter(|j| j.is_object()) {
        v = inner.take();
    }
    decode_value(v)
}

/// Decodes an already-parsed JSON value into `T`, dropping nulls first.
pub fn decode_value<T: serde::de::DeserializeOwned>(mut v: Json) -> Result<T, JobJsonError> {
    strip_nulls(&mut v);
    serde_path_to_error::deserialize(v).map_err(|e| JobJsonError::Decode { path: e.path().to_string(), message: e.inner().to_string() })
}

/// Fields whose content is opaque (driver config, kept blocks): their nulls are data, not absence.
const OPAQUE: &[&str] = &[
    "Config",
    "Policy",
    "Vault",
    "Consul",
    "Identities",
    "CSIPluginConfig",
    "Actions",
    "Secrets",
    "Schedule",
    "Connect",
    "Identity",
    "Weights",
    "Multiregion",
    "UI",
    "DroverUnsupported",
];

fn strip_nulls(v: &mut Json) {
    match v {
        Json::Object(m) => {
            m.retain(|_, x| !x.is_null());
            for (k, x) in m.iter_mut() {
                if !OPAQUE.contains(&k.as_str()) {
                    strip_nulls(x);
                }
            }
        }
        Json::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn task_in(t: &ApiTask, group_restart: &RestartPolicy) -> Task {
    Task {
        name: t.name.clone(),
        driver: t.driver.clone(),
        user: t.user.clone(),
        config: t.config.clone(),
        env: t.env.clone(),
        meta: t.meta.clone(),
        resources: t.resources.as_ref().map(ApiResources::to_model).unwrap_or_default(),
        constraints: constraints_in(&t.constraints),
        affinities: affinities_in(&t.affinities),
        restart_policy: Some(t.restart_policy.as_ref().map(|r| r.merged_over(group_restart)).unwrap_or_else(|| group_restart.clone())),
        logs: t.log_config.as_ref().map(ApiLogConfig::to_model).unwrap_or_default(),
        kill_timeout: t.kill_timeout.unwrap_or(0),
        kill_signal: t.kill_signal.clone(),
        shutdown_delay: t.shutdown_delay,
        leader: t.leader,
        kind: t.kind.clone(),
        lifecycle: t.lifecycle.as_ref().map(ApiLifecycle::to_model),
        unsupported: kept_in(
            &t.unsupported,
            &[
                ("vault", &t.vault),
                ("consul", &t.consul),
                ("identity", &t.identities),
                ("csi_plugin", &t.csi_plugin_config),
                ("action", &t.actions),
                ("secret", &t.secrets),
                ("schedule", &t.schedule),
            ],
        ),
        services: t.services.iter().map(ApiService::to_model).collect(),
        templates: t.templates.iter().map(ApiTemplate::to_model).collect(),
        artifacts: t.artifacts.iter().map(ApiArtifact::to_model).collect(),
        volume_mounts: t.volume_mounts.iter().map(ApiVolumeMount::to_model).collect(),
        dispatch_payload: t.dispatch_payload.as_ref().map(ApiDispatchPayload::to_model),
        scaling_policies: t.scaling_policies.iter().map(ApiScalingPolicy::to_model).collect(),
    }
}

fn task_out(t: &Task, group_restart: &RestartPolicy, target: BTreeMap<String, String>) -> ApiTask {
    ApiTask {
        name: t.name.clone(),
        driver: t.driver.clone(),
        user: t.user.clone(),
        lifecycle: t.lifecycle.as_ref().map(ApiLifecycle::from_model),
        config: t.config.clone(),
        constraints: constraints_out(&t.constraints),
        affinities: affinities_out(&t.affinities),
        env: t.env.clone(),
        services: t.services.iter().map(ApiService::from_model).collect(),
        resources: Some(ApiResources::from_model(&t.resources)),
        restart_policy: Some(ApiRestartPolicy::from_model(t.restart_policy.as_ref().unwrap_or(group_restart))),
        meta: t.meta.clone(),
        kill_timeout: Some(t.kill_timeout),
        log_config: Some(ApiLogConfig::from_model(&t.logs)),
        artifacts: t.artifacts.iter().map(ApiArtifact::from_model).collect(),
        templates: t.templates.iter().map(ApiTemplate::from_model).collect(),
        dispatch_payload: t.dispatch_payload.as_ref().map(ApiDispatchPayload::from_model),
        volume_mounts: t.volume_mounts.iter().map(ApiVolumeMount::from_model).collect(),
        leader: t.leader,
        shutdown_delay: t.shutdown_delay,
        kill_signal: t.kill_signal.clone(),
        kind: t.kind.clone(),
        scaling_policies: t.scaling_policies.iter().map(|s| ApiScalingPolicy::from_model(s, target.clone())).collect(),
        vault: t.unsupported.get("vault").cloned(),
        consul: t.unsupported.get("consul").cloned(),
        identities: t.unsupported.get("identity").cloned(),
        csi_plugin_config: t.unsupported.get("csi_plugin").cloned(),
        actions: t.unsupported.get("action").cloned(),
        secrets: t.unsupported.get("secret").cloned(),
        schedule: t.unsupported.get("schedule").cloned(),
        unsupported: kept_rest(&t.unsupported, &["vault", "consul", "identity", "csi_plugin", "action", "secret", "schedule"]),
    }
}

fn group_in(g: &ApiTaskGroup, job: &Job, a: &ApiJob) -> TaskGroup {
    let jt = job.job_type;
    let restart =
        g.restart_policy.as_ref().map(|r| r.merged_over(&RestartPolicy::default_for(jt))).unwrap_or_else(|| RestartPolicy::default_for(jt));
    let scaling = g.scaling.as_ref().map(ApiScalingPolicy::to_model);
    let count = g.count.unwrap_or_else(|| scaling.as_ref().and_then(|s| s.min).and_then(|m| u32::try_from(m).ok()).unwrap_or(1));
    // Group policies refine the job's, which refine Nomad's defaults.
    let update = match (&a.update, &g.update) {
        (None, None) => None,
        (ju, gu) => {
            let base = ju.as_ref().map(|u| u.merged_over(&Default::default())).unwrap_or_default();
            Some(gu.as_ref().map(|u| u.merged_over(&base)).unwrap_or(base))
        }
    };
    let migrate = match (&a.migrate, &g.migrate) {
        (None, None) => None,
        (jm, gm) => {
            let base = jm.as_ref().map(|m| m.merged_over(&Default::default())).unwrap_or_default();
            Some(gm.as_ref().map(|m| m.merged_over(&base)).unwrap_or(base))
        }
    };
    let reschedule = match (&a.reschedule, &g.reschedule_policy) {
        (None, None) => None,
        (jr, gr) => {
            let base =
                jr.as_ref().map(|r| r.merged_over(&ReschedulePolicy::default_for(jt))).unwrap_or_else(|| ReschedulePolicy::default_for(jt));
            Some(gr.as_ref().map(|r| r.merged_over(&base)).unwrap_or(base))
        }
    };
    TaskGroup {
        name: g.name.clone(),
        count,
        constraints: constraints_in(&g.constraints),
        affinities: affinities_in(&g.affinities),
        tasks: g.tasks.iter().map(|t| task_in(t, &restart)).collect(),
        networks: g.networks.iter().map(network_in).collect(),
        restart_policy: restart,
        ephemeral_disk: g.ephemeral_disk.as_ref().map(ApiEphemeralDisk::to_model).unwrap_or_default(),
        meta: g.meta.clone(),
        shutdown_delay: g.shutdown_delay,
        unsupported: kept_in(&g.unsupported, &[("consul", &g.consul)]),
        spreads: spreads_in(&g.spreads),
        services: g.services.iter().map(ApiService::to_model).collect(),
        volumes: g.volumes.iter().map(|(k, v)| (k.clone(), v.to_model())).collect(),
        update,
        migrate,
        reschedule_policy: reschedule,
        disconnect: g.disconnect.as_ref().map(ApiDisconnect::to_model),
        max_client_disconnect: g.max_client_disconnect,
        stop_after_client_disconnect: g.stop_after_client_disconnect,
        prevent_reschedule_on_lost: g.prevent_reschedule_on_lost,
        max_run_duration: g.max_run_duration,
        scaling,
    }
}

fn group_out(j: &Job, g: &TaskGroup) -> ApiTaskGroup {
    let target = |task: Option<&str>| {
        let mut t = BTreeMap::from([
            ("Namespace".to_string(), j.namespace.clone()),
            ("Job".to_string(), j.id.clone()),
            ("Group".to_string(), g.name.clone()),
        ]);
        if let Some(task) = task {
            t.insert("Task".into(), task.into());
        }
        t
    };
    ApiTaskGroup {
        name: g.name.clone(),
        count: Some(g.count),
        constraints: constraints_out(&g.constraints),
        affinities: affinities_out(&g.affinities),
        tasks: g.tasks.iter().map(|t| task_out(t, &g.restart_policy, target(Some(&t.name)))).collect(),
        spreads: spreads_out(&g.spreads),
        volumes: g.volumes.iter().map(|(k, v)| (k.clone(), ApiVolumeRequest::from_model(v))).collect(),
        restart_policy: Some(ApiRestartPolicy::from_model(&g.restart_policy)),
        disconnect: g.disconnect.as_ref().map(ApiDisconnect::from_model),
        reschedule_policy: g.reschedule_policy.as_ref().map(ApiReschedulePolicy::from_model),
        ephemeral_disk: Some(ApiEphemeralDisk::from_model(&g.ephemeral_disk)),
        update: g.update.as_ref().map(ApiUpdateStrategy::from_model),
        migrate: g.migrate.as_ref().map(ApiMigrateStrategy::from_model),
        networks: g.networks.iter().map(network_out).collect(),
        meta: g.meta.clone(),
        services: g.services.iter().map(ApiService::from_model).collect(),
        shutdown_delay: g.shutdown_delay,
        stop_after_client_disconnect: g.stop_after_client_disconnect,
        max_client_disconnect: g.max_client_disconnect,
        max_run_duration: g.max_run_duration,
        scaling: g.scaling.as_ref().map(|s| ApiScalingPolicy::from_model(s, target(None))),
        prevent_reschedule_on_lost: g.prevent_reschedule_on_lost,
        consul: g.unsupported.get("consul").cloned(),
        unsupported: kept_rest(&g.unsupported, &["consul"]),
    }
}

/// Nomad JSON → job model, canonicalized with Nomad's defaults.
pub fn job_from_api(a: &ApiJob) -> Result<Job, JobJsonError> {
    let job_type = match a.job_type.as_deref() {
        None | Some("") => JobType::Service,
        Some(t) => JobType::parse(t).ok_or_else(|| JobJsonError::JobType(t.to_string()))?,
    };
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
        unsupported: kept_in(
            &a.unsupported,
            &[
                ("multiregion", &a.multiregion),
                ("ui", &a.ui),
                ("consul_namespace", &a.consul_namespace),
                ("vault_namespace", &a.vault_namespace),
            ],
        ),
        spreads: spreads_in(&a.spreads),
        update: a.update.as_ref().map(|u| Box::new(u.merged_over(&Default::default()))),
        migrate: a.migrate.as_ref().map(|m| Box::new(m.merged_over(&Default::default()))),
        reschedule: a.reschedule.as_ref().map(|r| Box::new(r.merged_over(&ReschedulePolicy::default_for(job_type)))),
        periodic: a.periodic.as_ref().map(|p| Box::new(p.to_model())),
        parameterized: a.parameterized_job.as_ref().map(|p| Box::new(p.to_model())),
        parent_id: a.parent_id.clone(),
        dispatched: a.dispatched,
        payload: decode_payload(a.payload.as_deref().unwrap_or(""))
            .map_err(|message| JobJsonError::Decode { path: "Payload".into(), message })?,
        ..Default::default()
    };
    job.task_groups = a.task_groups.iter().map(|g| group_in(g, &job, a)).collect();
    job.canonicalize();
    Ok(job)
}

/// Job model → Nomad JSON. `status` is derived from state by the caller.
pub fn job_to_api(j: &Job, status: &str) -> ApiJob {
    ApiJob {
        region: j.region.clone(),
        namespace: j.namespace.clone(),
        id: j.id.clone(),
        name: j.name.clone(),
        job_type: Some(j.job_type.as_str().into()),
        priority: Some(j.priority),
        all_at_once: j.all_at_once,
        datacenters: j.datacenters.clone(),
        node_pool: j.node_pool.clone(),
        constraints: constraints_out(&j.constraints),
        affinities: affinities_out(&j.affinities),
        task_groups: j.task_groups.iter().map(|g| group_out(j, g)).collect(),
        update: j.update.as_deref().map(ApiUpdateStrategy::from_model),
        spreads: spreads_out(&j.spreads),
        periodic: j.periodic.as_deref().map(ApiPeriodic::from_model),
        parameterized_job: j.parameterized.as_deref().map(ApiParameterized::from_model),
        reschedule: j.reschedule.as_deref().map(ApiReschedulePolicy::from_model),
        migrate: j.migrate.as_deref().map(ApiMigrateStrategy::from_model),
        meta: j.meta.clone(),
        stop: j.stop,
        parent_id: j.parent_id.clone(),
        dispatched: j.dispatched,
        payload: (!j.payload.is_empty()).then(|| STANDARD.encode(&j.payload)),
        status: status.into(),
        status_description: String::new(),
        stable: j.stable,
        version: j.version,
        submit_time: j.submit_time,
        create_index: j.create_index,
        modify_index: j.modify_index,
        job_modify_index: j.job_modify_index,
        multiregion: j.unsupported.get("multiregion").cloned(),
        ui: j.unsupported.get("ui").cloned(),
        consul_namespace: j.unsupported.get("consul_namespace").cloned(),
        vault_namespace: j.unsupported.get("vault_namespace").cloned(),
        unsupported: kept_rest(&j.unsupported, &["multiregion", "ui", "consul_namespace", "vault_namespace"]),
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
        parent_id: j.parent_id.clone(),
        name: j.name.clone(),
        namespace: j.namespace.clone(),
        datacenters: j.datacenters.clone(),
        node_pool: j.node_pool.clone(),
        job_type: j.job_type.as_str().into(),
        priority: j.priority,
        periodic: j.periodic.is_some(),
        parameterized_job: j.parameterized.is_some(),
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
