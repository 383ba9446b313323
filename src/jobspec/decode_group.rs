//! `group` blocks: count, networks, services, volumes, policies (merged onto the job's) and tasks.

use crate::core::job::{JobType, MigrateStrategy, ReschedulePolicy, RestartPolicy, TaskGroup, UpdateStrategy};

use super::cx::{Cx, Path};
use super::decode_files::volumes;
use super::decode_placement::{affinities, constraints, spreads};
use super::decode_policy::{disconnect, ephemeral_disk, group_scaling, migrate, reschedule, restart, update};
use super::decode_resources::networks;
use super::decode_service::services;
use super::decode_task::task;
use super::reader::{BlockView, Reader, Schema};
use super::unsupported::keep_blocks;

/// What a group inherits from its job.
pub(crate) struct JobPolicies {
    pub job_type: JobType,
    pub update: Option<UpdateStrategy>,
    pub migrate: Option<MigrateStrategy>,
    pub reschedule: Option<ReschedulePolicy>,
}

const GROUP: Schema = Schema {
    attrs: &[
        "count",
        "shutdown_delay",
        "max_client_disconnect",
        "stop_after_client_disconnect",
        "prevent_reschedule_on_lost",
        "max_run_duration",
        "meta",
    ],
    blocks: &[
        "task",
        "constraint",
        "affinity",
        "spread",
        "network",
        "service",
        "volume",
        "restart",
        "reschedule",
        "update",
        "migrate",
        "disconnect",
        "ephemeral_disk",
        "scaling",
        "meta",
        "consul",
        "vault",
    ],
};

pub(crate) fn group(cx: &mut Cx<'_>, v: BlockView<'_>, parent: &Path, job: &JobPolicies) -> TaskGroup {
    let labels = v.labels.clone();
    let r = Reader::open(cx, v, parent.child("group", &labels), &GROUP);
    let mut g = TaskGroup::default();
    if r.labels(cx, 1) {
        g.name = labels[0].clone();
    }
    g.meta = r.string_map(cx, "meta").unwrap_or_default();
    g.shutdown_delay = r.duration(cx, "shutdown_delay");
    g.max_client_disconnect = r.duration(cx, "max_client_disconnect");
    g.stop_after_client_disconnect = r.duration(cx, "stop_after_client_disconnect");
    g.max_run_duration = r.duration(cx, "max_run_duration");
    r.set(cx, "prevent_reschedule_on_lost", &mut g.prevent_reschedule_on_lost);
    g.constraints = constraints(cx, &r);
    g.affinities = affinities(cx, &r);
    g.spreads = spreads(cx, &r);
    g.networks = networks(cx, &r, &mut g.unsupported);
    g.services = services(cx, &r);
    g.volumes = volumes(cx, &r);
    let default_restart = RestartPolicy::default_for(job.job_type);
    let group_restart = restart(cx, &r, &default_restart);
    g.update = update(cx, &r, job.update.as_ref().unwrap_or(&UpdateStrategy::default()));
    g.migrate = migrate(cx, &r, job.migrate.as_ref().unwrap_or(&MigrateStrategy::default()));
    g.reschedule_policy = reschedule(cx, &r, job.reschedule.as_ref().unwrap_or(&ReschedulePolicy::default_for(job.job_type)));
    g.disconnect = disconnect(cx, &r);
    if let Some(d) = ephemeral_disk(cx, &r) {
        g.ephemeral_disk = d;
    }
    g.scaling = group_scaling(cx, &r);
    g.count = match r.get::<u32>(cx, "count") {
        Some(c) => c,
        None => g.scaling.as_ref().and_then(|s| s.min).and_then(|m| u32::try_from(m).ok()).unwrap_or(1),
    };
    let effective_restart = group_restart.clone().unwrap_or(default_restart);
    g.tasks = r.blocks(cx, "task").into_iter().map(|t| task(cx, t, &r.path, &effective_restart)).collect();
    if let Some(p) = group_restart {
        g.restart_policy = p;
    }
    keep_blocks(cx, &r, &["consul", "vault"], &mut g.unsupported);
    g
}
