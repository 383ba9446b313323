//! Nomad's allocation JSON: the full `Allocation` and the `AllocListStub` of list endpoints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::alloc::{Allocation, TaskEvent, TaskState};
use crate::core::job::JobKey;
use crate::core::reschedule::RescheduleTracker;
use crate::core::state::ClusterState;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTaskEvent {
    #[serde(rename = "Type")]
    pub kind: String,
    pub time: i64,
    pub message: String,
    pub display_message: String,
    pub exit_code: i32,
    pub signal: i32,
    pub fails_task: bool,
    pub details: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTaskState {
    pub state: String,
    pub failed: bool,
    pub restarts: u64,
    pub last_restart: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub events: Vec<ApiTaskEvent>,
}

/// RFC 3339 from unix nanoseconds (None for 0), as Go's time.Time marshals.
pub fn rfc3339(ns: i64) -> Option<String> {
    if ns <= 0 {
        return None;
    }
    let secs = ns / 1_000_000_000;
    let nanos = ns % 1_000_000_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil-from-days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    Some(format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z", rem / 3600, rem % 3600 / 60, rem % 60))
}

/// Unix nanoseconds of an RFC 3339 UTC time as `rfc3339` writes it (`2024-02-29T10:00:00.5Z`);
/// `None` for Go's zero time or text of another shape.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    if y <= 1 || !(1..=12).contains(&m) || !(1..=31).contains(&day) || frac.len() > 9 {
        return None;
    }
    let nanos = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse::<i64>().ok()? };
    let days = crate::core::cron::days_from_civil(y, m as u32, day as u32);
    Some((days * 86_400 + h * 3600 + mi * 60 + sec) * 1_000_000_000 + nanos)
}

fn event_out(e: &TaskEvent) -> ApiTaskEvent {
    ApiTaskEvent {
        kind: e.kind.to_string(),
        time: e.time,
        message: e.message.to_string(),
        display_message: if e.message.is_empty() { e.kind.to_string() } else { e.message.to_string() },
        exit_code: e.exit_code,
        signal: e.signal,
        fails_task: e.failed,
        details: e.details.as_deref().cloned().unwrap_or_default(),
    }
}

pub fn task_state_out(t: &TaskState) -> ApiTaskState {
    ApiTaskState {
        state: t.state.as_str().into(),
        failed: t.failed,
        restarts: t.restarts,
        last_restart: rfc3339(t.last_restart),
        started_at: rfc3339(t.started_at),
        finished_at: rfc3339(t.finished_at),
        events: t.events.iter().map(event_out).collect(),
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAllocatedPort {
    pub label: String,
    pub value: u16,
    pub to: i32,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAllocatedTaskResources {
    pub cpu: serde_json::Value,
    pub memory: serde_json::Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAllocatedShared {
    #[serde(rename = "DiskMB")]
    pub disk_mb: u64,
    pub ports: Vec<ApiAllocatedPort>,
    /// The group's network, of which Drover reports the mode (`host`, `bridge`, `none`).
    pub networks: Vec<ApiAllocatedNetwork>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAllocatedNetwork {
    pub mode: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAllocatedResources {
    pub tasks: BTreeMap<String, ApiAllocatedTaskResources>,
    pub shared: ApiAllocatedShared,
}

/// Nomad's `DesiredTransition` (unset fields are null).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDesiredTransition {
    pub migrate: Option<bool>,
    pub reschedule: Option<bool>,
    pub force_reschedule: Option<bool>,
}

/// Nomad's `AllocDeploymentStatus`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAllocDeploymentStatus {
    pub healthy: Option<bool>,
    pub timestamp: String,
    pub canary: bool,
    pub modify_index: u64,
}

/// Nomad's `RescheduleTracker`: the reschedule attempts that led to an allocation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiRescheduleTracker {
    pub events: Vec<ApiRescheduleEvent>,
    pub last_reschedule: String,
}

/// One reschedule (`Delay` in nanoseconds, `RescheduleTime` in unix nanoseconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiRescheduleEvent {
    pub reschedule_time: i64,
    #[serde(rename = "PrevAllocID")]
    pub prev_alloc_id: String,
    #[serde(rename = "PrevNodeID")]
    pub prev_node_id: String,
    pub delay: i64,
}

fn tracker_out(t: &RescheduleTracker) -> ApiRescheduleTracker {
    ApiRescheduleTracker {
        events: t
            .events
            .iter()
            .map(|e| ApiRescheduleEvent {
                reschedule_time: e.reschedule_time,
                prev_alloc_id: e.prev_alloc_id.clone(),
                prev_node_id: e.prev_node_id.clone(),
                delay: e.delay,
            })
            .collect(),
        last_reschedule: t.last_reschedule.clone(),
    }
}

/// `GET /v1/allocation/:id`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiAllocation {
    #[serde(rename = "ID")]
    pub id: String,
    pub namespace: String,
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    pub name: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub node_name: String,
    #[serde(rename = "JobID")]
    pub job_id: String,
    pub job: Option<super::job::ApiJob>,
    /// The job's type (`AllocListStub.JobType`); empty when the job is gone.
    pub job_type: String,
    pub job_version: u64,
    pub task_group: String,
    pub allocated_resources: ApiAllocatedResources,
    pub desired_status: String,
    pub desired_description: String,
    pub desired_transition: ApiDesiredTransition,
    pub client_status: String,
    pub client_description: String,
    pub task_states: BTreeMap<String, ApiTaskState>,
    #[serde(rename = "PreviousAllocation")]
    pub previous_allocation: String,
    #[serde(rename = "DeploymentID")]
    pub deployment_id: String,
    pub deployment_status: Option<ApiAllocDeploymentStatus>,
    pub next_allocation: String,
    #[serde(rename = "FollowupEvalID")]
    pub followup_eval_id: String,
    pub reschedule_tracker: Option<ApiRescheduleTracker>,
    pub create_index: u64,
    pub modify_index: u64,
    pub alloc_modify_index: u64,
    pub create_time: i64,
    pub modify_time: i64,
}

pub fn alloc_out(a: &Allocation, job: Option<super::job::ApiJob>) -> ApiAllocation {
    ApiAllocation {
        id: a.id.to_string(),
        namespace: a.namespace.to_string(),
        eval_id: a.eval_id.to_string(),
        name: a.name.to_string(),
        node_id: a.node_id.to_string(),
        node_name: a.node_name.to_string(),
        job_id: a.job_id.to_string(),
        job_type: job.as_ref().and_then(|j| j.job_type.clone()).unwrap_or_default(),
        job,
        job_version: a.job_version,
        task_group: a.task_group.to_string(),
        allocated_resources: ApiAllocatedResources {
            tasks: a
                .resources
                .tasks
                .iter()
                .map(|(n, t)| {
                    (
                        n.to_string(),
                        ApiAllocatedTaskResources {
                            cpu: serde_json::json!({ "CpuShares": t.cpu, "ReservedCores": null }),
                            memory: serde_json::json!({ "MemoryMB": t.memory_mb, "MemoryMaxMB": t.memory_max_mb }),
                        },
                    )
                })
                .collect(),
            shared: ApiAllocatedShared {
                disk_mb: a.resources.disk_mb,
                ports: a
                    .resources
                    .ports
                    .iter()
                    .map(|p| ApiAllocatedPort { label: p.label.to_string(), value: p.value, to: p.to, host_ip: p.host_ip.to_string() })
                    .collect(),
                networks: Some(&a.resources.network_mode)
                    .filter(|m| !m.is_empty())
                    .map(|m| ApiAllocatedNetwork { mode: m.to_string() })
                    .into_iter()
                    .collect(),
            },
        },
        desired_status: a.desired_status.as_str().into(),
        desired_description: a.desired_description.to_string(),
        desired_transition: ApiDesiredTransition { migrate: a.desired_transition.migrate.then_some(true), ..Default::default() },
        client_status: a.client_status.as_str().into(),
        client_description: a.client_description.to_string(),
        task_states: a.task_states.iter().map(|(k, v)| (k.to_string(), task_state_out(v))).collect(),
        previous_allocation: a.previous_allocation.to_string(),
        deployment_id: a.deployment_id.to_string(),
        deployment_status: a.deployment_status.as_ref().map(|d| ApiAllocDeploymentStatus {
            healthy: d.healthy,
            timestamp: rfc3339(d.timestamp).unwrap_or_default(),
            canary: d.canary,
            modify_index: d.modify_index,
        }),
        next_allocation: a.next_allocation.to_string(),
        followup_eval_id: a.followup_eval_id.to_string(),
        reschedule_tracker: a.reschedule_tracker.as_deref().map(tracker_out),
        create_index: a.create_index,
        modify_index: a.modify_index,
        alloc_modify_index: a.alloc_modify_index,
        create_time: a.create_time,
        modify_time: a.modify_time,
    }
}

/// The list form (`GET /v1/job/:id/allocations`, `/v1/allocations`): the same fields without the
/// job, with its type.
pub fn alloc_stub(s: &ClusterState, a: &Allocation) -> ApiAllocation {
    let mut out = alloc_out(a, None);
    if let Some(j) = s.jobs.get(&JobKey::new(&a.namespace, &a.job_id)) {
        out.job_type = j.job_type.as_str().into();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{parse_rfc3339, rfc3339};

    #[test]
    fn rfc3339_times_read_back() {
        for ns in [1, 1_700_000_000_123_456_789, 951_782_400_000_000_000, 4_102_444_799_999_999_999] {
            assert_eq!(parse_rfc3339(&rfc3339(ns).unwrap()), Some(ns), "{ns}");
        }
        assert_eq!(parse_rfc3339("2024-02-29T10:00:00.5Z"), Some((19_782 * 86_400 + 36_000) * 1_000_000_000 + 500_000_000));
        assert_eq!(parse_rfc3339("2024-02-29T10:00:00Z"), Some((19_782 * 86_400 + 36_000) * 1_000_000_000));
        assert_eq!(parse_rfc3339(super::super::node::ZERO_TIME), None, "Go's zero time is no time");
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
