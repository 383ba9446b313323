//! The `job` block: identity, scheduling settings, job-wide policies, groups, and job-level `task`
//! blocks, each wrapped into a group of its own as Nomad does.

use crate::core::job::{Job, JobType, MigrateStrategy, ReschedulePolicy, TaskGroup, UpdateStrategy};

use super::cx::{Cx, Path};
use super::decode_group::{group, JobPolicies};
use super::decode_placement::{affinities, constraints, spreads};
use super::decode_policy::{migrate, parameterized, periodic, reschedule, update};
use super::decode_task::task;
use super::error::{suggest, ErrorKind};
use super::reader::{BlockView, Reader, Schema};
use super::unsupported::{keep_attrs, keep_blocks};

const JOB: Schema = Schema {
    attrs: &[
        "id",
        "name",
        "region",
        "namespace",
        "type",
        "priority",
        "all_at_once",
        "datacenters",
        "node_pool",
        "meta",
        "consul_token",
        "vault_token",
        "consul_namespace",
        "vault_namespace",
    ],
    blocks: &[
        "group",
        "task",
        "constraint",
        "affinity",
        "spread",
        "update",
        "migrate",
        "reschedule",
        "periodic",
        "parameterized",
        "meta",
        "multiregion",
        "vault",
        "ui",
    ],
};

const JOB_TYPES: [&str; 4] = ["service", "batch", "system", "sysbatch"];

pub(crate) fn job(cx: &mut Cx<'_>, v: BlockView<'_>) -> Job {
    let r = Reader::open(cx, v, Path::default(), &JOB);
    let mut j = Job::default();
    if r.labels(cx, 1) {
        j.id = r.view.labels[0].clone();
        j.name = j.id.clone();
    }
    r.set(cx, "id", &mut j.id);
    r.set(cx, "name", &mut j.name);
    r.set(cx, "region", &mut j.region);
    r.set(cx, "namespace", &mut j.namespace);
    r.set(cx, "datacenters", &mut j.datacenters);
    r.set(cx, "node_pool", &mut j.node_pool);
    r.set(cx, "all_at_once", &mut j.all_at_once);
    if let Some(t) = r.get::<String>(cx, "type") {
        match JobType::parse(&t) {
            Some(jt) => j.job_type = jt,
            None => {
                let hint = suggest(&t, JOB_TYPES).map(|s| format!("; did you mean \"{s}\"?")).unwrap_or_default();
                let at = r.attr("type").and_then(|a| super::reader::span_start(hcl::edit::Span::span(a)));
                cx.error(at, &r.path, ErrorKind::Value { name: "type".into(), message: format!("unknown job type \"{t}\"{hint}") });
            }
        }
    }
    if let Some(p) = r.get::<u8>(cx, "priority") {
        if !(1..=100).contains(&p) {
            let at = r.attr("priority").and_then(|a| super::reader::span_start(hcl::edit::Span::span(a)));
            cx.error(at, &r.path, ErrorKind::Value { name: "priority".into(), message: format!("must be between 1 and 100, got {p}") });
        }
        j.priority = p;
    }
    j.meta = r.string_map(cx, "meta").unwrap_or_default();
    j.constraints = constraints(cx, &r);
    j.affinities = affinities(cx, &r);
    j.spreads = spreads(cx, &r);
    let policies = JobPolicies {
        job_type: j.job_type,
        update: update(cx, &r, &UpdateStrategy::default()),
        migrate: migrate(cx, &r, &MigrateStrategy::default()),
        reschedule: reschedule(cx, &r, &ReschedulePolicy::default_for(j.job_type)),
    };
    j.update = policies.update.clone().map(Box::new);
    j.migrate = policies.migrate.clone().map(Box::new);
    j.reschedule = policies.reschedule.clone().map(Box::new);
    j.periodic = periodic(cx, &r).map(Box::new);
    j.parameterized = parameterized(cx, &r).map(Box::new);
    let default_restart = crate::core::job::RestartPolicy::default_for(j.job_type);
    for t in r.blocks(cx, "task") {
        let t = task(cx, t, &r.path, &default_restart);
        j.task_groups.push(TaskGroup { name: t.name.clone(), count: 1, tasks: vec![t], ..TaskGroup::default() });
    }
    for g in r.blocks(cx, "group") {
        j.task_groups.push(group(cx, g, &r.path, &policies));
    }
    keep_blocks(cx, &r, &["multiregion", "vault", "ui"], &mut j.unsupported);
    keep_attrs(cx, &r, &["consul_token", "vault_token", "consul_namespace", "vault_namespace"], &mut j.unsupported);
    j
}
