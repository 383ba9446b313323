//! `service` blocks with their `check` and `check_restart` blocks.

use std::collections::BTreeMap;

use hcl::edit::structure::Structure;
use hcl::edit::Span;
use hcl::Value;

use crate::core::job::{CheckRestart, Service, ServiceCheck};

use super::cx::{Cx, Path};
use super::decode_policy::open_single;
use super::error::ErrorKind;
use super::reader::{span_start, BlockView, Reader, Schema};
use super::unsupported::keep_blocks;

const SERVICE: Schema = Schema {
    attrs: &[
        "name",
        "tags",
        "canary_tags",
        "enable_tag_override",
        "port",
        "address_mode",
        "address",
        "task",
        "on_update",
        "provider",
        "cluster",
        "kind",
        "meta",
        "canary_meta",
        "tagged_addresses",
    ],
    blocks: &["check", "check_restart", "connect", "meta", "canary_meta", "tagged_addresses", "identity", "weights"],
};

pub(crate) fn services(cx: &mut Cx<'_>, r: &Reader<'_>) -> Vec<Service> {
    r.blocks(cx, "service").into_iter().map(|v| service(cx, v, &r.path)).collect()
}

fn service(cx: &mut Cx<'_>, v: BlockView<'_>, parent: &Path) -> Service {
    let r = Reader::open(cx, v, parent.child("service", &[]), &SERVICE);
    r.labels(cx, 0);
    let mut s = Service::default();
    r.set(cx, "name", &mut s.name);
    r.set(cx, "tags", &mut s.tags);
    r.set(cx, "canary_tags", &mut s.canary_tags);
    r.set(cx, "enable_tag_override", &mut s.enable_tag_override);
    r.set(cx, "port", &mut s.port_label);
    r.set(cx, "address_mode", &mut s.address_mode);
    r.set(cx, "address", &mut s.address);
    r.set(cx, "task", &mut s.task_name);
    r.set(cx, "on_update", &mut s.on_update);
    r.set(cx, "provider", &mut s.provider);
    r.set(cx, "cluster", &mut s.cluster);
    r.set(cx, "kind", &mut s.kind);
    s.meta = r.string_map(cx, "meta").unwrap_or_default();
    s.canary_meta = r.string_map(cx, "canary_meta").unwrap_or_default();
    s.tagged_addresses = r.string_map(cx, "tagged_addresses").unwrap_or_default();
    s.check_restart = check_restart(cx, &r);
    s.checks = r.blocks(cx, "check").into_iter().map(|c| check(cx, c, &r.path)).collect();
    keep_blocks(cx, &r, &["connect", "identity", "weights"], &mut s.unsupported);
    s
}

const CHECK: Schema = Schema {
    attrs: &[
        "name",
        "type",
        "command",
        "args",
        "path",
        "protocol",
        "port",
        "expose",
        "address_mode",
        "advertise",
        "interval",
        "timeout",
        "initial_status",
        "notes",
        "tls_server_name",
        "tls_skip_verify",
        "method",
        "grpc_service",
        "grpc_use_tls",
        "task",
        "success_before_passing",
        "failures_before_critical",
        "failures_before_warning",
        "body",
        "on_update",
    ],
    blocks: &["header", "check_restart"],
};

fn check(cx: &mut Cx<'_>, v: BlockView<'_>, parent: &Path) -> ServiceCheck {
    let r = Reader::open(cx, v, parent.child("check", &[]), &CHECK);
    r.labels(cx, 0);
    let mut c = ServiceCheck::default();
    r.set(cx, "name", &mut c.name);
    r.set(cx, "type", &mut c.kind);
    r.set(cx, "command", &mut c.command);
    r.set(cx, "args", &mut c.args);
    r.set(cx, "path", &mut c.path);
    r.set(cx, "protocol", &mut c.protocol);
    r.set(cx, "port", &mut c.port_label);
    r.set(cx, "expose", &mut c.expose);
    r.set(cx, "address_mode", &mut c.address_mode);
    r.set(cx, "advertise", &mut c.advertise);
    r.set_duration(cx, "interval", &mut c.interval);
    r.set_duration(cx, "timeout", &mut c.timeout);
    r.set(cx, "initial_status", &mut c.initial_status);
    r.set(cx, "notes", &mut c.notes);
    r.set(cx, "tls_server_name", &mut c.tls_server_name);
    r.set(cx, "tls_skip_verify", &mut c.tls_skip_verify);
    r.set(cx, "method", &mut c.method);
    r.set(cx, "grpc_service", &mut c.grpc_service);
    r.set(cx, "grpc_use_tls", &mut c.grpc_use_tls);
    r.set(cx, "task", &mut c.task_name);
    r.set(cx, "success_before_passing", &mut c.success_before_passing);
    r.set(cx, "failures_before_critical", &mut c.failures_before_critical);
    r.set(cx, "failures_before_warning", &mut c.failures_before_warning);
    r.set(cx, "body", &mut c.body);
    r.set(cx, "on_update", &mut c.on_update);
    c.header = headers(cx, &r);
    c.check_restart = check_restart(cx, &r);
    c
}

/// `header { Name = ["value", …] }`: every value must be a list of strings.
fn headers(cx: &mut Cx<'_>, r: &Reader<'_>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Some(v) = r.single(cx, "header") else { return out };
    let path = r.path.child("header", &[]);
    let hr = Reader { view: v, path };
    for s in hr.view.body.iter() {
        match s {
            Structure::Block(b) => {
                cx.error(span_start(b.span()), &hr.path, ErrorKind::Invalid("a header block holds only attributes".into()))
            }
            Structure::Attribute(a) => {
                let name = a.key.as_str();
                match hr.value(cx, name) {
                    Some((Value::Array(items), _)) if items.iter().all(Value::is_string) => {
                        out.insert(name.to_string(), items.into_iter().filter_map(|i| i.as_str().map(str::to_string)).collect());
                    }
                    Some((_, at)) => cx.error(
                        at,
                        &hr.path,
                        ErrorKind::Value { name: name.into(), message: "a header value must be a list of strings".into() },
                    ),
                    None => {}
                }
            }
        }
    }
    out
}

const CHECK_RESTART: Schema = Schema { attrs: &["limit", "grace", "ignore_warnings"], blocks: &[] };

fn check_restart(cx: &mut Cx<'_>, r: &Reader<'_>) -> Option<CheckRestart> {
    let b = open_single(cx, r, "check_restart", &CHECK_RESTART)?;
    let mut c = CheckRestart::default();
    b.set(cx, "limit", &mut c.limit);
    c.grace = b.duration(cx, "grace");
    b.set(cx, "ignore_warnings", &mut c.ignore_warnings);
    Some(c)
}
