//! `constraint`, `affinity` and `spread` blocks, with the constraint shorthands
//! (`distinct_hosts = true`, `regexp = "…"`, `version`, `semver`, `set_contains*`, `is_set`, …).

use crate::core::job::{Affinity, Constraint, Spread, SpreadTarget};

use super::cx::{Cx, Path};
use super::reader::{BlockView, Reader, Schema};

const CONSTRAINT: Schema = Schema {
    attrs: &[
        "attribute",
        "value",
        "operator",
        "distinct_hosts",
        "distinct_property",
        "regexp",
        "version",
        "semver",
        "set_contains",
        "set_contains_all",
        "set_contains_any",
        "is_set",
        "is_not_set",
    ],
    blocks: &[],
};

const AFFINITY: Schema = Schema {
    attrs: &[
        "attribute",
        "value",
        "operator",
        "weight",
        "regexp",
        "version",
        "semver",
        "set_contains",
        "set_contains_all",
        "set_contains_any",
    ],
    blocks: &[],
};

const SPREAD: Schema = Schema { attrs: &["attribute", "weight"], blocks: &["target"] };
const TARGET: Schema = Schema { attrs: &["percent"], blocks: &[] };

/// Shorthands that set the operator and the value: `regexp = "[0-9]+"` is `operator = "regexp"`, `value = "[0-9]+"`.
const VALUE_SHORTHANDS: &[&str] = &["version", "semver", "regexp", "set_contains", "set_contains_all", "set_contains_any"];

pub(crate) fn constraints(cx: &mut Cx<'_>, r: &Reader<'_>) -> Vec<Constraint> {
    r.blocks(cx, "constraint").into_iter().map(|v| constraint(cx, v, &r.path)).collect()
}

pub(crate) fn affinities(cx: &mut Cx<'_>, r: &Reader<'_>) -> Vec<Affinity> {
    r.blocks(cx, "affinity").into_iter().map(|v| affinity(cx, v, &r.path)).collect()
}

pub(crate) fn spreads(cx: &mut Cx<'_>, r: &Reader<'_>) -> Vec<Spread> {
    r.blocks(cx, "spread").into_iter().map(|v| spread(cx, v, &r.path)).collect()
}

fn constraint(cx: &mut Cx<'_>, v: BlockView<'_>, parent: &Path) -> Constraint {
    let r = Reader::open(cx, v, parent.child("constraint", &[]), &CONSTRAINT);
    r.labels(cx, 0);
    let mut c = Constraint::default();
    r.set(cx, "attribute", &mut c.ltarget);
    r.set(cx, "value", &mut c.rtarget);
    r.set(cx, "operator", &mut c.operand);
    for op in VALUE_SHORTHANDS {
        if let Some(v) = r.get::<String>(cx, op).filter(|v| !v.is_empty()) {
            c.operand = (*op).into();
            c.rtarget = v;
        }
    }
    if r.get::<bool>(cx, "distinct_hosts") == Some(true) {
        c.operand = "distinct_hosts".into();
    }
    if let Some(p) = r.get::<String>(cx, "distinct_property").filter(|p| !p.is_empty()) {
        c.operand = "distinct_property".into();
        c.ltarget = p;
    }
    for op in ["is_set", "is_not_set"] {
        // `is_set = true` applies to `attribute`; `is_set = "${attr.x}"` names the attribute itself.
        match r.get::<String>(cx, op).as_deref() {
            None | Some("false") | Some("") => {}
            Some("true") => c.operand = op.into(),
            Some(attr) => {
                c.operand = op.into();
                c.ltarget = attr.into();
            }
        }
    }
    if c.operand.is_empty() {
        c.operand = "=".into();
    }
    c
}

fn affinity(cx: &mut Cx<'_>, v: BlockView<'_>, parent: &Path) -> Affinity {
    let r = Reader::open(cx, v, parent.child("affinity", &[]), &AFFINITY);
    r.labels(cx, 0);
    let mut a = Affinity { weight: 50, ..Affinity::default() };
    r.set(cx, "attribute", &mut a.ltarget);
    r.set(cx, "value", &mut a.rtarget);
    r.set(cx, "operator", &mut a.operand);
    r.set(cx, "weight", &mut a.weight);
    for op in VALUE_SHORTHANDS {
        if let Some(v) = r.get::<String>(cx, op).filter(|v| !v.is_empty()) {
            a.operand = (*op).into();
            a.rtarget = v;
        }
    }
    if a.operand.is_empty() {
        a.operand = "=".into();
    }
    a
}

fn spread(cx: &mut Cx<'_>, v: BlockView<'_>, parent: &Path) -> Spread {
    let r = Reader::open(cx, v, parent.child("spread", &[]), &SPREAD);
    r.labels(cx, 0);
    let mut s = Spread { weight: 50, ..Spread::default() };
    r.set(cx, "attribute", &mut s.attribute);
    r.set(cx, "weight", &mut s.weight);
    for t in r.blocks(cx, "target") {
        let tr = Reader::open(cx, t, r.path.child("target", &[]), &TARGET);
        if !tr.labels(cx, 1) {
            continue;
        }
        let mut target = SpreadTarget { value: tr.view.labels[0].clone(), percent: 0 };
        tr.set(cx, "percent", &mut target.percent);
        s.targets.push(target);
    }
    s
}
