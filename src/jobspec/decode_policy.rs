//! Policy blocks: `restart`, `reschedule`, `update`, `migrate`, `disconnect`, `ephemeral_disk`, `logs`,
//! `periodic`, `parameterized` and `scaling`. Each is read on top of a base (Nomad's default or the
//! enclosing block's policy), so a partial block keeps the inherited values it does not set.

use crate::core::job::{
    DisconnectStrategy, EphemeralDisk, LogConfig, MigrateStrategy, ParameterizedJobConfig, PeriodicConfig, ReschedulePolicy, RestartPolicy,
    ScalingPolicy, UpdateStrategy,
};

use super::cx::Cx;
use super::error::ErrorKind;
use super::opaque::block_to_json;
use super::reader::{Reader, Schema};

/// Opens the single block `name` of `r`, if present, checking its schema and that it has no label.
pub(crate) fn open_single<'a>(cx: &mut Cx<'_>, r: &Reader<'a>, name: &str, schema: &Schema) -> Option<Reader<'a>> {
    let v = r.single(cx, name)?;
    let labels = v.labels.clone();
    let b = Reader::open(cx, v, r.path.child(name, &labels), schema);
    b.labels(cx, 0);
    Some(b)
}

const RESTART: Schema = Schema { attrs: &["attempts", "interval", "delay", "mode", "render_templates"], blocks: &[] };

pub(crate) fn restart(cx: &mut Cx<'_>, r: &Reader<'_>, base: &RestartPolicy) -> Option<RestartPolicy> {
    let b = open_single(cx, r, "restart", &RESTART)?;
    let mut p = base.clone();
    b.set(cx, "attempts", &mut p.attempts);
    b.set_duration(cx, "interval", &mut p.interval);
    b.set_duration(cx, "delay", &mut p.delay);
    b.set(cx, "mode", &mut p.mode);
    b.set(cx, "render_templates", &mut p.render_templates);
    Some(p)
}

const RESCHEDULE: Schema = Schema { attrs: &["attempts", "interval", "delay", "delay_function", "max_delay", "unlimited"], blocks: &[] };

pub(crate) fn reschedule(cx: &mut Cx<'_>, r: &Reader<'_>, base: &ReschedulePolicy) -> Option<ReschedulePolicy> {
    let b = open_single(cx, r, "reschedule", &RESCHEDULE)?;
    let mut p = base.clone();
    b.set(cx, "attempts", &mut p.attempts);
    b.set_duration(cx, "interval", &mut p.interval);
    b.set_duration(cx, "delay", &mut p.delay);
    b.set(cx, "delay_function", &mut p.delay_function);
    b.set_duration(cx, "max_delay", &mut p.max_delay);
    b.set(cx, "unlimited", &mut p.unlimited);
    Some(p)
}

const UPDATE: Schema = Schema {
    attrs: &[
        "stagger",
        "max_parallel",
        "health_check",
        "min_healthy_time",
        "healthy_deadline",
        "progress_deadline",
        "canary",
        "auto_revert",
        "auto_promote",
    ],
    blocks: &[],
};

pub(crate) fn update(cx: &mut Cx<'_>, r: &Reader<'_>, base: &UpdateStrategy) -> Option<UpdateStrategy> {
    let b = open_single(cx, r, "update", &UPDATE)?;
    let mut u = base.clone();
    b.set_duration(cx, "stagger", &mut u.stagger);
    b.set(cx, "max_parallel", &mut u.max_parallel);
    b.set(cx, "health_check", &mut u.health_check);
    b.set_duration(cx, "min_healthy_time", &mut u.min_healthy_time);
    b.set_duration(cx, "healthy_deadline", &mut u.healthy_deadline);
    b.set_duration(cx, "progress_deadline", &mut u.progress_deadline);
    b.set(cx, "canary", &mut u.canary);
    b.set(cx, "auto_revert", &mut u.auto_revert);
    b.set(cx, "auto_promote", &mut u.auto_promote);
    Some(u)
}

const MIGRATE: Schema = Schema { attrs: &["max_parallel", "health_check", "min_healthy_time", "healthy_deadline"], blocks: &[] };

pub(crate) fn migrate(cx: &mut Cx<'_>, r: &Reader<'_>, base: &MigrateStrategy) -> Option<MigrateStrategy> {
    let b = open_single(cx, r, "migrate", &MIGRATE)?;
    let mut m = base.clone();
    b.set(cx, "max_parallel", &mut m.max_parallel);
    b.set(cx, "health_check", &mut m.health_check);
    b.set_duration(cx, "min_healthy_time", &mut m.min_healthy_time);
    b.set_duration(cx, "healthy_deadline", &mut m.healthy_deadline);
    Some(m)
}

const DISCONNECT: Schema = Schema { attrs: &["lost_after", "stop_on_client_after", "replace", "reconcile"], blocks: &[] };

pub(crate) fn disconnect(cx: &mut Cx<'_>, r: &Reader<'_>) -> Option<DisconnectStrategy> {
    let b = open_single(cx, r, "disconnect", &DISCONNECT)?;
    let mut d = DisconnectStrategy::default();
    b.set_duration(cx, "lost_after", &mut d.lost_after);
    d.stop_on_client_after = b.duration(cx, "stop_on_client_after");
    d.replace = b.get(cx, "replace");
    b.set(cx, "reconcile", &mut d.reconcile);
    Some(d)
}

const EPHEMERAL_DISK: Schema = Schema { attrs: &["size", "sticky", "migrate"], blocks: &[] };

pub(crate) fn ephemeral_disk(cx: &mut Cx<'_>, r: &Reader<'_>) -> Option<EphemeralDisk> {
    let b = open_single(cx, r, "ephemeral_disk", &EPHEMERAL_DISK)?;
    let mut d = EphemeralDisk::default();
    b.set(cx, "size", &mut d.size_mb);
    b.set(cx, "sticky", &mut d.sticky);
    b.set(cx, "migrate", &mut d.migrate);
    Some(d)
}

const LOGS: Schema = Schema { attrs: &["max_files", "max_file_size", "enabled", "disabled"], blocks: &[] };

pub(crate) fn logs(cx: &mut Cx<'_>, r: &Reader<'_>) -> Option<LogConfig> {
    let b = open_single(cx, r, "logs", &LOGS)?;
    let mut l = LogConfig::default();
    b.set(cx, "max_files", &mut l.max_files);
    b.set(cx, "max_file_size", &mut l.max_file_size_mb);
    if let Some(enabled) = b.get::<bool>(cx, "enabled") {
        l.disabled = !enabled;
    }
    b.set(cx, "disabled", &mut l.disabled);
    Some(l)
}

const PERIODIC: Schema = Schema { attrs: &["enabled", "cron", "crons", "prohibit_overlap", "time_zone"], blocks: &[] };

pub(crate) fn periodic(cx: &mut Cx<'_>, r: &Reader<'_>) -> Option<PeriodicConfig> {
    let b = open_single(cx, r, "periodic", &PERIODIC)?;
    let mut p = PeriodicConfig { enabled: true, spec_type: "cron".into(), ..PeriodicConfig::default() };
    b.set(cx, "enabled", &mut p.enabled);
    b.set(cx, "cron", &mut p.spec);
    b.set(cx, "crons", &mut p.specs);
    b.set(cx, "prohibit_overlap", &mut p.prohibit_overlap);
    b.set(cx, "time_zone", &mut p.time_zone);
    Some(p)
}

const PARAMETERIZED: Schema = Schema { attrs: &["payload", "meta_required", "meta_optional"], blocks: &[] };

pub(crate) fn parameterized(cx: &mut Cx<'_>, r: &Reader<'_>) -> Option<ParameterizedJobConfig> {
    let b = open_single(cx, r, "parameterized", &PARAMETERIZED)?;
    let mut p = ParameterizedJobConfig::default();
    b.set(cx, "payload", &mut p.payload);
    b.set(cx, "meta_required", &mut p.meta_required);
    b.set(cx, "meta_optional", &mut p.meta_optional);
    Some(p)
}

const SCALING: Schema = Schema { attrs: &["min", "max", "enabled", "type"], blocks: &["policy"] };

/// A group's `scaling` block: no label, `max` required, horizontal only.
pub(crate) fn group_scaling(cx: &mut Cx<'_>, r: &Reader<'_>) -> Option<ScalingPolicy> {
    let v = r.single(cx, "scaling")?;
    let labels = v.labels.clone();
    let b = Reader::open(cx, v, r.path.child("scaling", &labels), &SCALING);
    if !labels.is_empty() {
        cx.error(b.view.start, &b.path, ErrorKind::Invalid("a group's scaling block takes no label".into()));
    }
    let mut p = scaling_body(cx, &b);
    if p.kind.is_empty() {
        p.kind = "horizontal".into();
    }
    Some(p)
}

/// A task's `scaling "cpu"` / `scaling "mem"` blocks (vertical scaling), one of each at most.
pub(crate) fn task_scaling(cx: &mut Cx<'_>, r: &Reader<'_>) -> Vec<ScalingPolicy> {
    let mut out: Vec<ScalingPolicy> = Vec::new();
    for v in r.blocks(cx, "scaling") {
        let labels = v.labels.clone();
        let b = Reader::open(cx, v, r.path.child("scaling", &labels), &SCALING);
        if !b.labels(cx, 1) {
            continue;
        }
        let kind = match labels[0].to_lowercase().as_str() {
            "cpu" => "vertical_cpu",
            "mem" => "vertical_mem",
            _ => {
                cx.error(b.view.start, &b.path, ErrorKind::Invalid("a task's scaling block must be named \"cpu\" or \"mem\"".into()));
                continue;
            }
        };
        let mut p = scaling_body(cx, &b);
        if p.kind.is_empty() {
            p.kind = kind.into();
        } else if p.kind != kind {
            cx.error(b.view.start, &b.path, ErrorKind::Invalid(format!("type must be \"{kind}\" for this block, got \"{}\"", p.kind)));
            continue;
        }
        if out.iter().any(|o| o.kind == p.kind) {
            cx.error(b.view.start, &b.path, ErrorKind::Invalid(format!("only one scaling \"{}\" block is allowed", labels[0])));
            continue;
        }
        out.push(p);
    }
    out
}

fn scaling_body(cx: &mut Cx<'_>, b: &Reader<'_>) -> ScalingPolicy {
    let mut p = ScalingPolicy { min: b.get(cx, "min"), ..ScalingPolicy::default() };
    match b.require::<i64>(cx, "max") {
        Some(max) => p.max = max,
        None => p.max = p.min.unwrap_or(0),
    }
    b.set(cx, "enabled", &mut p.enabled);
    b.set(cx, "type", &mut p.kind);
    if let Some(v) = b.single(cx, "policy") {
        let path = b.path.child("policy", &v.labels);
        p.policy = block_to_json(cx, &v, &path).into_iter().collect();
    }
    p
}
