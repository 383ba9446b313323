//! What a task gets on disk: `template`, `artifact`, `dispatch_payload`, group `volume` requests and task
//! `volume_mount`s. Template and artifact defaults are filled in as Nomad's parser does.

use std::collections::BTreeMap;

use crate::core::job::{ChangeScript, DispatchPayloadConfig, TaskArtifact, Template, WaitConfig, SECOND};
use crate::core::resources::{CsiMountOptions, VolumeMount, VolumeRequest};

use super::cx::Cx;
use super::decode_policy::open_single;
use super::error::ErrorKind;
use super::reader::{Reader, Schema};

const TEMPLATE: Schema = Schema {
    attrs: &[
        "source",
        "destination",
        "data",
        "change_mode",
        "change_signal",
        "once",
        "splay",
        "perms",
        "uid",
        "gid",
        "left_delimiter",
        "right_delimiter",
        "env",
        "vault_grace",
        "error_on_missing_key",
    ],
    blocks: &["change_script", "wait"],
};
const CHANGE_SCRIPT: Schema = Schema { attrs: &["command", "args", "timeout", "fail_on_error", "run_on_first_render"], blocks: &[] };
const WAIT: Schema = Schema { attrs: &["min", "max"], blocks: &[] };

pub(crate) fn templates(cx: &mut Cx<'_>, r: &Reader<'_>) -> Vec<Template> {
    let mut out = Vec::new();
    for v in r.blocks(cx, "template") {
        let b = Reader::open(cx, v, r.path.child("template", &[]), &TEMPLATE);
        b.labels(cx, 0);
        let mut t = Template {
            change_mode: "restart".into(),
            splay: 5 * SECOND,
            perms: "0644".into(),
            left_delim: "{{".into(),
            right_delim: "}}".into(),
            ..Template::default()
        };
        b.set(cx, "source", &mut t.source_path);
        b.set(cx, "destination", &mut t.dest_path);
        b.set(cx, "data", &mut t.embedded_tmpl);
        b.set(cx, "change_mode", &mut t.change_mode);
        b.set(cx, "change_signal", &mut t.change_signal);
        b.set(cx, "once", &mut t.once);
        b.set_duration(cx, "splay", &mut t.splay);
        b.set(cx, "perms", &mut t.perms);
        t.uid = b.get(cx, "uid");
        t.gid = b.get(cx, "gid");
        b.set(cx, "left_delimiter", &mut t.left_delim);
        b.set(cx, "right_delimiter", &mut t.right_delim);
        b.set(cx, "env", &mut t.envvars);
        b.set_duration(cx, "vault_grace", &mut t.vault_grace);
        b.set(cx, "error_on_missing_key", &mut t.err_missing_key);
        if let Some(s) = open_single(cx, &b, "change_script", &CHANGE_SCRIPT) {
            let mut cs = ChangeScript { timeout: 5 * SECOND, ..ChangeScript::default() };
            s.set(cx, "command", &mut cs.command);
            s.set(cx, "args", &mut cs.args);
            s.set_duration(cx, "timeout", &mut cs.timeout);
            s.set(cx, "fail_on_error", &mut cs.fail_on_error);
            if s.has("run_on_first_render") {
                cx.warn(s.view.start, &s.path, "\"run_on_first_render\" is not supported by drover yet; it has no effect");
            }
            t.change_script = Some(cs);
        }
        if let Some(w) = open_single(cx, &b, "wait", &WAIT) {
            t.wait = Some(WaitConfig { min: w.duration(cx, "min"), max: w.duration(cx, "max") });
        }
        if t.change_mode == "signal" && t.change_signal.is_empty() {
            t.change_signal = "SIGHUP".into();
        }
        t.change_signal = t.change_signal.to_uppercase();
        out.push(t);
    }
    out
}

const ARTIFACT: Schema =
    Schema { attrs: &["source", "mode", "insecure", "destination", "chown", "options", "headers"], blocks: &["options", "headers"] };

pub(crate) fn artifacts(cx: &mut Cx<'_>, r: &Reader<'_>) -> Vec<TaskArtifact> {
    let mut out = Vec::new();
    for v in r.blocks(cx, "artifact") {
        let b = Reader::open(cx, v, r.path.child("artifact", &[]), &ARTIFACT);
        b.labels(cx, 0);
        let mut a = TaskArtifact { mode: "any".into(), ..TaskArtifact::default() };
        b.set(cx, "source", &mut a.source);
        b.set(cx, "mode", &mut a.mode);
        b.set(cx, "insecure", &mut a.insecure);
        b.set(cx, "chown", &mut a.chown);
        a.options = b.string_map(cx, "options").unwrap_or_default();
        a.headers = b.string_map(cx, "headers").unwrap_or_default();
        a.destination = match b.get::<String>(cx, "destination") {
            Some(d) => d,
            None if a.mode == "file" => format!("local/{}", a.source.trim_end_matches('/').rsplit('/').next().unwrap_or("")),
            None => "local/".into(),
        };
        out.push(a);
    }
    out
}

const DISPATCH_PAYLOAD: Schema = Schema { attrs: &["file"], blocks: &[] };

pub(crate) fn dispatch_payload(cx: &mut Cx<'_>, r: &Reader<'_>) -> Option<DispatchPayloadConfig> {
    let b = open_single(cx, r, "dispatch_payload", &DISPATCH_PAYLOAD)?;
    Some(DispatchPayloadConfig { file: b.get(cx, "file").unwrap_or_default() })
}

const VOLUME: Schema =
    Schema { attrs: &["type", "source", "read_only", "sticky", "access_mode", "attachment_mode", "per_alloc"], blocks: &["mount_options"] };
const MOUNT_OPTIONS: Schema = Schema { attrs: &["fs_type", "mount_flags"], blocks: &[] };

/// A group's `volume "name"` blocks, by name.
pub(crate) fn volumes(cx: &mut Cx<'_>, r: &Reader<'_>) -> BTreeMap<String, VolumeRequest> {
    let mut out = BTreeMap::new();
    for v in r.blocks(cx, "volume") {
        let labels = v.labels.clone();
        let b = Reader::open(cx, v, r.path.child("volume", &labels), &VOLUME);
        if !b.labels(cx, 1) {
            continue;
        }
        let mut vr = VolumeRequest { name: labels[0].clone(), ..VolumeRequest::default() };
        b.set(cx, "type", &mut vr.kind);
        b.set(cx, "source", &mut vr.source);
        b.set(cx, "read_only", &mut vr.read_only);
        b.set(cx, "sticky", &mut vr.sticky);
        b.set(cx, "access_mode", &mut vr.access_mode);
        b.set(cx, "attachment_mode", &mut vr.attachment_mode);
        b.set(cx, "per_alloc", &mut vr.per_alloc);
        if let Some(m) = open_single(cx, &b, "mount_options", &MOUNT_OPTIONS) {
            let mut mo = CsiMountOptions::default();
            m.set(cx, "fs_type", &mut mo.fs_type);
            m.set(cx, "mount_flags", &mut mo.mount_flags);
            vr.mount_options = Some(mo);
        }
        if !matches!(vr.kind.as_str(), "host" | "csi") {
            cx.error(b.view.start, &b.path, ErrorKind::Invalid(format!("volume type must be \"host\" or \"csi\", got \"{}\"", vr.kind)));
        }
        if out.insert(vr.name.clone(), vr).is_some() {
            cx.error(b.view.start, &b.path, ErrorKind::Invalid(format!("volume \"{}\" is defined more than once", labels[0])));
        }
    }
    out
}

const VOLUME_MOUNT: Schema = Schema { attrs: &["volume", "destination", "read_only", "propagation_mode", "selinux_label"], blocks: &[] };

pub(crate) fn volume_mounts(cx: &mut Cx<'_>, r: &Reader<'_>) -> Vec<VolumeMount> {
    let mut out = Vec::new();
    for v in r.blocks(cx, "volume_mount") {
        let b = Reader::open(cx, v, r.path.child("volume_mount", &[]), &VOLUME_MOUNT);
        b.labels(cx, 0);
        let mut m = VolumeMount { propagation_mode: "private".into(), ..VolumeMount::default() };
        b.set(cx, "volume", &mut m.volume);
        b.set(cx, "destination", &mut m.destination);
        b.set(cx, "read_only", &mut m.read_only);
        b.set(cx, "propagation_mode", &mut m.propagation_mode);
        b.set(cx, "selinux_label", &mut m.selinux_label);
        out.push(m);
    }
    out
}
