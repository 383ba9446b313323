//! Update kinds, decided as Nomad's `tasksUpdated`: whether moving an allocation to a new job
//! version changes what runs (a destructive update: a new allocation replaces it) or only how the
//! cluster treats it (an in-place update: the allocation keeps running under the new version).
//!
//! Destructive: the set of tasks, a task's driver, user, config, env, resources, logs, kill
//! signal, lifecycle, leader flag, templates, artifacts, volume mounts, dispatch payload or
//! blocks Drover keeps without acting on; the group's networks, ephemeral disk and volumes; the
//! combined job, group and task meta (it reaches the task as `NOMAD_META_*`). Everything else is
//! in place: count, services and their checks, constraints, affinities, spreads, the update,
//! migrate, reschedule and restart policies, kill_timeout and shutdown_delay, priority.

use std::collections::BTreeMap;

use super::job::{Job, Task, TaskGroup};

/// Whether `old` (a group of `old_job`) must be replaced by a new allocation to become `new` (the
/// same group of `new_job`).
pub fn needs_replacement(old_job: &Job, old: &TaskGroup, new_job: &Job, new: &TaskGroup) -> bool {
    if old.tasks.len() != new.tasks.len()
        || old.networks != new.networks
        || old.ephemeral_disk != new.ephemeral_disk
        || old.volumes != new.volumes
        || old.unsupported != new.unsupported
    {
        return true;
    }
    new.tasks.iter().any(|b| match old.tasks.iter().find(|a| a.name == b.name) {
        None => true,
        Some(a) => task_changed(a, b) || combined_meta(old_job, old, a) != combined_meta(new_job, new, b),
    })
}

/// What runs in a task, compared field by field.
fn task_changed(a: &Task, b: &Task) -> bool {
    a.driver != b.driver
        || a.user != b.user
        || a.config != b.config
        || a.env != b.env
        || a.resources != b.resources
        || a.logs != b.logs
        || a.kill_signal != b.kill_signal
        || a.leader != b.leader
        || a.kind != b.kind
        || a.lifecycle != b.lifecycle
        || a.templates != b.templates
        || a.artifacts != b.artifacts
        || a.volume_mounts != b.volume_mounts
        || a.dispatch_payload != b.dispatch_payload
        || a.unsupported != b.unsupported
}

/// The task's meta as it sees it: job meta, overridden by group meta, overridden by task meta.
fn combined_meta<'a>(job: &'a Job, group: &'a TaskGroup, task: &'a Task) -> BTreeMap<&'a str, &'a str> {
    job.meta.iter().chain(&group.meta).chain(&task.meta).map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
