//! `task` blocks: driver, opaque `config`, env, resources, restart, logs, lifecycle, services, templates, …

use crate::core::job::{RestartPolicy, Task, TaskLifecycle};

use super::cx::{Cx, Path};
use super::decode_files::{artifacts, dispatch_payload, templates, volume_mounts};
use super::decode_placement::{affinities, constraints};
use super::decode_policy::{logs, open_single, restart, task_scaling};
use super::decode_resources::resources;
use super::decode_service::services;
use super::opaque::block_to_json;
use super::reader::{BlockView, Reader, Schema};
use super::unsupported::keep_blocks;

const TASK: Schema = Schema {
    attrs: &["driver", "user", "kill_timeout", "kill_signal", "shutdown_delay", "leader", "kind", "env", "meta"],
    blocks: &[
        "config",
        "env",
        "meta",
        "resources",
        "restart",
        "logs",
        "lifecycle",
        "constraint",
        "affinity",
        "service",
        "template",
        "artifact",
        "volume_mount",
        "dispatch_payload",
        "scaling",
        "vault",
        "consul",
        "identity",
        "csi_plugin",
        "secret",
        "action",
        "schedule",
    ],
};

const LIFECYCLE: Schema = Schema { attrs: &["hook", "sidecar"], blocks: &[] };

/// Blocks kept as JSON only.
const UNSUPPORTED: &[&str] = &["vault", "consul", "identity", "csi_plugin", "secret", "action", "schedule"];

/// Decodes a task; `group_restart` is the group's effective restart policy, which a partial
/// `restart` block in the task refines.
pub(crate) fn task(cx: &mut Cx<'_>, v: BlockView<'_>, parent: &Path, group_restart: &RestartPolicy) -> Task {
    let labels = v.labels.clone();
    let r = Reader::open(cx, v, parent.child("task", &labels), &TASK);
    let mut t = Task::default();
    if r.labels(cx, 1) {
        t.name = labels[0].clone();
    }
    r.set(cx, "driver", &mut t.driver);
    r.set(cx, "user", &mut t.user);
    r.set_duration(cx, "kill_timeout", &mut t.kill_timeout);
    r.set(cx, "kill_signal", &mut t.kill_signal);
    r.set_duration(cx, "shutdown_delay", &mut t.shutdown_delay);
    r.set(cx, "leader", &mut t.leader);
    r.set(cx, "kind", &mut t.kind);
    t.env = r.string_map(cx, "env").unwrap_or_default();
    t.meta = r.string_map(cx, "meta").unwrap_or_default();
    if let Some(c) = r.single(cx, "config") {
        let path = r.path.child("config", &c.labels);
        t.config = block_to_json(cx, &c, &path).into_iter().collect();
    }
    if let Some(res) = resources(cx, &r, &mut t.unsupported) {
        t.resources = res;
    }
    t.restart_policy = restart(cx, &r, group_restart);
    if let Some(l) = logs(cx, &r) {
        t.logs = l;
    }
    if let Some(l) = open_single(cx, &r, "lifecycle", &LIFECYCLE) {
        let mut lc = TaskLifecycle::default();
        if let Some(h) = l.require::<String>(cx, "hook") {
            lc.hook = h;
        }
        l.set(cx, "sidecar", &mut lc.sidecar);
        t.lifecycle = Some(lc);
    }
    t.constraints = constraints(cx, &r);
    t.affinities = affinities(cx, &r);
    t.services = services(cx, &r);
    t.templates = templates(cx, &r);
    t.artifacts = artifacts(cx, &r);
    t.volume_mounts = volume_mounts(cx, &r);
    t.dispatch_payload = dispatch_payload(cx, &r);
    t.scaling_policies = task_scaling(cx, &r);
    keep_blocks(cx, &r, UNSUPPORTED, &mut t.unsupported);
    t
}
