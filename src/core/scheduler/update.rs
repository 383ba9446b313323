//! Destructive or in place: whether a new job version needs new allocations of a group (Nomad's
//! `tasksUpdated`). What a running task sees — its driver, config, env, meta (`NOMAD_META_*`),
//! artifacts, templates, resources, ports, volumes — needs a new allocation; the rest (count,
//! restart and update policies, services, constraints, …) is applied in place.

use std::collections::BTreeMap;

use crate::core::job::{Job, Task};

/// A task's meta as it sees it: the job's, overridden by the group's, overridden by the task's.
fn combined_meta<'j>(job: &'j Job, group: &str, task: &'j Task) -> BTreeMap<&'j str, &'j str> {
    let group_meta = job.group(group).map(|g| &g.meta);
    job.meta.iter().chain(group_meta.into_iter().flatten()).chain(&task.meta).map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Whether moving allocations of `group` from `old` to `new` needs new allocations; `true` when
/// either version lacks the group.
pub fn needs_replacement(old: &Job, new: &Job, group: &str) -> bool {
    let (Some(a), Some(b)) = (old.group(group), new.group(group)) else { return true };
    if a.tasks.len() != b.tasks.len()
        || a.ephemeral_disk != b.ephemeral_disk
        || a.networks != b.networks
        || a.volumes != b.volumes
        || a.restart_policy.render_templates != b.restart_policy.render_templates
        // blocks Drover keeps without acting on (vault, consul, …): a change may matter to what runs
        || a.unsupported != b.unsupported
    {
        return true;
    }
    a.tasks.iter().any(|at| {
        let Some(bt) = b.tasks.iter().find(|t| t.name == at.name) else { return true };
        let (ra, rb) = (&at.resources, &bt.resources);
        at.driver != bt.driver
            || at.user != bt.user
            || at.config != bt.config
            || at.env != bt.env
            || at.artifacts != bt.artifacts
            || at.templates != bt.templates
            || at.volume_mounts != bt.volume_mounts
            || combined_meta(old, group, at) != combined_meta(new, group, bt)
            || ra.networks != rb.networks
            || (ra.cpu, ra.cores, ra.memory_mb, ra.memory_max_mb) != (rb.cpu, rb.cores, rb.memory_mb, rb.memory_max_mb)
            || ra.devices != rb.devices
            || at.logs.disabled != bt.logs.disabled
            || at.lifecycle != bt.lifecycle
            || at.dispatch_payload != bt.dispatch_payload
            || at.unsupported != bt.unsupported
            || at.restart_policy.as_ref().map(|r| r.render_templates) != bt.restart_policy.as_ref().map(|r| r.render_templates)
    })
}
