//! Nomad's job plan JSON: `JobPlanRequest`, `JobPlanResponse` with its `PlanAnnotations`
//! (`DesiredTGUpdates`) and the `JobDiff` tree, converted from `core::job_plan` and `core::job_diff`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::job_diff::{DiffType, FieldDiff, GroupDiff, JobDiff, ObjectDiff, TaskDiff};
use crate::core::job_plan::{DesiredUpdates, JobPlan};

use super::alloc::rfc3339;
use super::eval::{metric_out, ApiAllocMetric, ApiEvaluation};
use super::job::ApiJob;
use super::null_default;

/// `PUT /v1/job/:id/plan` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobPlanRequest {
    pub job: Option<ApiJob>,
    pub diff: bool,
    pub policy_override: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiDesiredUpdates {
    pub ignore: u64,
    pub place: u64,
    pub migrate: u64,
    pub stop: u64,
    pub in_place_update: u64,
    pub destructive_update: u64,
    pub canary: u64,
    pub preemptions: u64,
}

impl ApiDesiredUpdates {
    /// Whether allocations would be created or destroyed (`job plan`'s exit code 1).
    pub fn creates_or_destroys(&self) -> bool {
        self.place + self.stop + self.migrate + self.destructive_update + self.canary > 0
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiPlanAnnotations {
    #[serde(rename = "DesiredTGUpdates", deserialize_with = "null_default")]
    pub desired_tg_updates: BTreeMap<String, ApiDesiredUpdates>,
    pub preempted_allocs: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiFieldDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    pub old: String,
    pub new: String,
    pub annotations: Option<Vec<String>>,
}

/// A block's diff; a task's and a group's start the same way.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiObjectDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<ApiFieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ApiObjectDiff>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTaskDiff {
    #[serde(flatten)]
    pub diff: ApiObjectDiff,
    #[serde(deserialize_with = "null_default")]
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiTaskGroupDiff {
    #[serde(flatten)]
    pub diff: ApiObjectDiff,
    #[serde(deserialize_with = "null_default")]
    pub tasks: Vec<ApiTaskDiff>,
    /// Counts by kind of change: `create`, `destroy`, `ignore`, `in-place update`, …
    #[serde(deserialize_with = "null_default")]
    pub updates: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiJobDiff {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub fields: Vec<ApiFieldDiff>,
    #[serde(deserialize_with = "null_default")]
    pub objects: Vec<ApiObjectDiff>,
    #[serde(deserialize_with = "null_default")]
    pub task_groups: Vec<ApiTaskGroupDiff>,
}

/// `PUT /v1/job/:id/plan` reply.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JobPlanResponse {
    pub annotations: Option<ApiPlanAnnotations>,
    #[serde(rename = "FailedTGAllocs")]
    pub failed_tg_allocs: Option<BTreeMap<String, ApiAllocMetric>>,
    pub job_modify_index: u64,
    pub created_evals: Option<Vec<ApiEvaluation>>,
    pub diff: Option<ApiJobDiff>,
    pub next_periodic_launch: Option<String>,
    pub warnings: String,
    pub index: u64,
}

/// Nomad's reply for a plan computed at `index`; the diff only when asked for.
pub fn plan_out(plan: &JobPlan, with_diff: bool, index: u64) -> JobPlanResponse {
    JobPlanResponse {
        annotations: Some(ApiPlanAnnotations {
            desired_tg_updates: plan.annotations.iter().map(|(g, u)| (g.clone(), updates_out(u))).collect(),
            preempted_allocs: None,
        }),
        failed_tg_allocs: (!plan.failed_tg_allocs.is_empty())
            .then(|| plan.failed_tg_allocs.iter().map(|(g, m)| (g.clone(), metric_out(m))).collect()),
        job_modify_index: plan.job_modify_index,
        created_evals: None,
        diff: with_diff.then(|| diff_out(&plan.diff, &plan.annotations)),
        next_periodic_launch: plan.next_periodic_launch.and_then(|secs| rfc3339(secs * 1_000_000_000)),
        warnings: String::new(),
        index,
    }
}

fn updates_out(u: &DesiredUpdates) -> ApiDesiredUpdates {
    ApiDesiredUpdates {
        ignore: u.ignore,
        place: u.place,
        migrate: u.migrate,
        stop: u.stop,
        in_place_update: u.in_place_update,
        destructive_update: u.destructive_update,
        canary: u.canary,
        preemptions: u.preemptions,
    }
}

fn kind(k: DiffType) -> String {
    match k {
        DiffType::None => "None",
        DiffType::Added => "Added",
        DiffType::Deleted => "Deleted",
        DiffType::Edited => "Edited",
    }
    .into()
}

/// The diff with Nomad's names, and each group's counts as Nomad's `Updates`.
pub fn diff_out(d: &JobDiff, annotations: &BTreeMap<String, DesiredUpdates>) -> ApiJobDiff {
    ApiJobDiff {
        kind: kind(d.kind),
        id: d.id.clone(),
        fields: fields_out(&d.fields),
        objects: objects_out(&d.objects),
        task_groups: d.groups.iter().map(|g| group_out(g, annotations.get(&g.name).copied().unwrap_or_default())).collect(),
    }
}

fn group_out(g: &GroupDiff, u: DesiredUpdates) -> ApiTaskGroupDiff {
    let updates: BTreeMap<String, u64> = [
        ("ignore", u.ignore),
        ("create", u.place),
        ("destroy", u.stop),
        ("migrate", u.migrate),
        ("canary", u.canary),
        ("in-place update", u.in_place_update),
        ("create/destroy update", u.destructive_update),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    ApiTaskGroupDiff {
        diff: block_out(g.kind, &g.name, &g.fields, &g.objects),
        tasks: g.tasks.iter().map(|t| task_out(t, &u)).collect(),
        updates,
    }
}

fn task_out(t: &TaskDiff, u: &DesiredUpdates) -> ApiTaskDiff {
    let annotation = match t.kind {
        DiffType::Added => Some("forces create"),
        DiffType::Deleted => Some("forces destroy"),
        DiffType::Edited if u.destructive_update > 0 => Some("forces create/destroy update"),
        DiffType::Edited if u.in_place_update > 0 => Some("forces in-place update"),
        _ => None,
    };
    ApiTaskDiff { diff: block_out(t.kind, &t.name, &t.fields, &t.objects), annotations: annotation.into_iter().map(String::from).collect() }
}

fn block_out(k: DiffType, name: &str, fields: &[FieldDiff], objects: &[ObjectDiff]) -> ApiObjectDiff {
    ApiObjectDiff { kind: kind(k), name: name.into(), fields: fields_out(fields), objects: objects_out(objects) }
}

fn fields_out(fields: &[FieldDiff]) -> Vec<ApiFieldDiff> {
    fields_named(fields, nomad_path)
}

fn fields_named(fields: &[FieldDiff], name: fn(&str) -> String) -> Vec<ApiFieldDiff> {
    fields
        .iter()
        .map(|f| ApiFieldDiff { kind: kind(f.kind), name: name(&f.name), old: f.old.clone(), new: f.new.clone(), annotations: None })
        .collect()
}

fn objects_out(objects: &[ObjectDiff]) -> Vec<ApiObjectDiff> {
    objects
        .iter()
        .map(|o| {
            // A driver's config keeps its own keys.
            let name: fn(&str) -> String = if o.name == "config" { str::to_string } else { nomad_path };
            ApiObjectDiff {
                kind: kind(o.kind),
                name: object_name(&o.name),
                fields: fields_named(&o.fields, name),
                objects: objects_out(&o.objects),
            }
        })
        .collect()
}

/// A block's name as Nomad's diff names it (one element of a list is singular).
fn object_name(name: &str) -> String {
    match name {
        "constraints" => "Constraint".into(),
        "affinities" => "Affinity".into(),
        "spreads" => "Spread".into(),
        "services" => "Service".into(),
        "templates" => "Template".into(),
        "artifacts" => "Artifact".into(),
        "networks" => "Network".into(),
        "volume_mounts" => "VolumeMount".into(),
        "scaling_policies" => "ScalingPolicy".into(),
        "logs" => "LogConfig".into(),
        "reschedule" => "ReschedulePolicy".into(),
        other => nomad_name(other),
    }
}

/// `checks[0].port_label` → `Checks[0].PortLabel`; `env[KEY]` → `Env[KEY]`.
fn nomad_path(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    loop {
        let end = rest.find(['[', '.']).unwrap_or(rest.len());
        out.push_str(&nomad_name(&rest[..end]));
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').map_or(after.len(), |i| i + 1);
            out.push('[');
            out.push_str(&after[..close]);
            rest = &after[close..];
        }
        match rest.strip_prefix('.') {
            Some(next) => {
                out.push('.');
                rest = next;
            }
            None if rest.is_empty() => return out,
            None => {}
        }
    }
}

/// A model field name as Nomad's Go field name.
fn nomad_name(name: &str) -> String {
    match name {
        "id" => "ID".into(),
        "job_type" => "Type".into(),
        "kind" => "Type".into(),
        "cpu" => "CPU".into(),
        "memory_mb" => "MemoryMB".into(),
        "memory_max_mb" => "MemoryMaxMB".into(),
        "disk_mb" => "DiskMB".into(),
        "size_mb" => "SizeMB".into(),
        "max_file_size_mb" => "MaxFileSizeMB".into(),
        "ltarget" => "LTarget".into(),
        "rtarget" => "RTarget".into(),
        _ => name
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_nomad() {
        assert_eq!(nomad_path("memory_mb"), "MemoryMB");
        assert_eq!(nomad_path("env[MY_VAR]"), "Env[MY_VAR]");
        assert_eq!(nomad_path("checks[0].port_label"), "Checks[0].PortLabel");
        assert_eq!(nomad_path("header.X-Key[1]"), "Header.X-Key[1]");
        assert_eq!(object_name("constraints"), "Constraint");
        assert_eq!(object_name("restart_policy"), "RestartPolicy");
    }

    #[test]
    fn groups_carry_their_updates_and_tasks_what_they_force() {
        let d = JobDiff {
            kind: DiffType::Edited,
            id: "web".into(),
            groups: vec![GroupDiff {
                kind: DiffType::Edited,
                name: "g".into(),
                fields: vec![FieldDiff { kind: DiffType::Edited, name: "count".into(), old: "1".into(), new: "2".into() }],
                tasks: vec![TaskDiff { kind: DiffType::Edited, name: "t".into(), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let u = DesiredUpdates { place: 1, in_place_update: 1, ..Default::default() };
        let out = diff_out(&d, &BTreeMap::from([("g".to_string(), u)]));
        let g = &out.task_groups[0];
        assert_eq!(g.updates, BTreeMap::from([("create".to_string(), 1), ("in-place update".to_string(), 1)]));
        assert_eq!((g.diff.fields[0].name.as_str(), g.diff.fields[0].kind.as_str()), ("Count", "Edited"));
        assert_eq!(g.tasks[0].annotations, vec!["forces in-place update".to_string()]);
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["TaskGroups"][0]["Fields"][0]["Old"], "1");
        assert_eq!(v["Type"], "Edited");
        assert_eq!(v["TaskGroups"][0]["Tasks"][0]["Name"], "t");
        assert_eq!(v["TaskGroups"][0]["Tasks"][0]["Annotations"][0], "forces in-place update");
        let back: ApiJobDiff = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back.task_groups[0].tasks[0].diff.name, "t");
        assert_eq!(v["ID"], "web");
    }
}
