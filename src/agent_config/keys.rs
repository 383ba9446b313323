//! Reading one block of the tree against the keys it accepts: keys Drover uses, Nomad keys it accepts and
//! ignores with a warning, and everything else an error with a "did you mean" suggestion; typed getters.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::jobspec::{describe, parse_duration, suggest, Cx, ErrorKind, FromHcl, Path};

use super::tree::{Entry, Node};

/// The keys a block accepts.
pub(crate) struct Keys {
    /// Keys Drover reads.
    pub used: &'static [&'static str],
    /// Nomad's documented keys that have no effect in Drover: a warning, not an error.
    pub ignored: &'static [&'static str],
}

/// A block being decoded.
pub(crate) struct Block<'t> {
    pub node: &'t Node,
    pub path: Path,
}

impl<'t> Block<'t> {
    /// Opens a block, reporting unknown keys, ignored keys and attributes set twice.
    pub(crate) fn open(cx: &mut Cx<'_>, node: &'t Node, path: Path, keys: &Keys) -> Block<'t> {
        cx.mark(&path, node.at);
        let mut seen: Vec<&str> = Vec::new();
        for e in node.entries() {
            let name = e.key.as_str();
            if keys.ignored.contains(&name) {
                cx.warn(e.at, &path, &format!("\"{name}\" has no effect in drover; it is accepted for compatibility with Nomad"));
            } else if !keys.used.contains(&name) {
                let suggestion = suggest(name, keys.used.iter().chain(keys.ignored).copied());
                let kind = if e.block || e.value.is_object() {
                    ErrorKind::UnknownBlock { name: name.into(), suggestion }
                } else {
                    ErrorKind::UnknownAttribute { name: name.into(), suggestion }
                };
                cx.error(e.at, &path, kind);
            } else if !e.block {
                if seen.contains(&name) {
                    cx.error(e.at, &path, ErrorKind::DuplicateAttribute(name.into()));
                }
                seen.push(name);
            }
        }
        Block { node, path }
    }

    fn entry(&self, name: &str) -> Option<&'t Entry> {
        self.node.entries().iter().find(|e| e.key == name)
    }

    /// An attribute converted to `T`; `None` when absent, null or wrong (the error is recorded).
    pub(crate) fn get<T: FromHcl>(&self, cx: &mut Cx<'_>, name: &str) -> Option<T> {
        let e = self.entry(name)?;
        if e.block {
            cx.error(e.at, &self.path, ErrorKind::AttributeAsBlock(name.into()));
            return None;
        }
        let v = e.value.to_value();
        if v.is_null() {
            return None;
        }
        T::from_hcl(v).map_err(|message| cx.error(e.value.at, &self.path, ErrorKind::Value { name: name.into(), message })).ok()
    }

    /// A string attribute checked and converted by `parse`, whose error message is placed at the value.
    pub(crate) fn parsed<T>(&self, cx: &mut Cx<'_>, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let s: String = self.get(cx, name)?;
        let at = self.entry(name).and_then(|e| e.value.at);
        parse(&s).map_err(|message| cx.error(at, &self.path, ErrorKind::Value { name: name.into(), message })).ok()
    }

    /// An attribute converted to `T` and checked by `check`, whose error message is placed at the value.
    pub(crate) fn checked<T: FromHcl>(&self, cx: &mut Cx<'_>, name: &str, check: impl FnOnce(&T) -> Result<(), String>) -> Option<T> {
        let v: T = self.get(cx, name)?;
        let at = self.entry(name).and_then(|e| e.value.at);
        match check(&v) {
            Ok(()) => Some(v),
            Err(message) => {
                cx.error(at, &self.path, ErrorKind::Value { name: name.into(), message });
                None
            }
        }
    }

    /// A Go duration attribute such as `"30s"`.
    pub(crate) fn duration(&self, cx: &mut Cx<'_>, name: &str) -> Option<Duration> {
        self.parsed(cx, name, |s| match parse_duration(s) {
            Ok(ns) if ns >= 0 => Ok(Duration::from_nanos(ns.unsigned_abs())),
            Ok(_) => Err(format!("must not be negative, got \"{s}\"")),
            Err(e) => Err(e),
        })
    }

    /// A string map, written as a block (`meta { k = "v" }`) or an attribute (`meta = { "a.b" = "v" }`).
    pub(crate) fn string_map(&self, cx: &mut Cx<'_>, name: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(bodies) = self.single(cx, name) else { return out };
        let path = self.path.child(name, &[]);
        for body in bodies {
            for e in body.entries() {
                if e.block {
                    cx.error(e.at, &path, ErrorKind::Invalid(format!("\"{name}\" holds string values, not blocks")));
                } else if let Ok(v) = String::from_hcl(e.value.to_value()) {
                    out.insert(e.key.clone(), v);
                } else {
                    let message = format!("expected a string, got {}", describe(&e.value.to_value()));
                    cx.error(e.value.at, &path, ErrorKind::Value { name: e.key.clone(), message });
                }
            }
        }
        out
    }

    /// The bodies of the one block `name` (a JSON list of objects counts as one block).
    fn single(&self, cx: &mut Cx<'_>, name: &str) -> Option<Vec<&'t Node>> {
        let mut found = self.node.entries().iter().filter(|e| e.key == name);
        let e = found.next()?;
        if let Some(second) = found.next() {
            cx.error(second.at, &self.path, ErrorKind::DuplicateBlock(name.into()));
        }
        if !e.labels.is_empty() {
            cx.error(e.at, &self.path, ErrorKind::Labels { block: name.into(), expected: 0, got: e.labels.len() });
            return None;
        }
        let bodies = e.value.block_bodies();
        if bodies.is_none() {
            cx.error(e.at, &self.path, ErrorKind::BlockAsAttribute(name.into()));
        }
        bodies
    }

    /// The block `name`, opened against `keys`; several JSON objects for it are read in turn by `f`.
    pub(crate) fn block(&self, cx: &mut Cx<'_>, name: &str, keys: &Keys, mut f: impl FnMut(&mut Cx<'_>, &Block<'t>)) {
        for body in self.single(cx, name).unwrap_or_default() {
            let b = Block::open(cx, body, self.path.child(name, &[]), keys);
            f(cx, &b);
        }
    }

    /// Every `name "label" { … }` block, opened against `keys`, with its label.
    pub(crate) fn labeled(&self, cx: &mut Cx<'_>, name: &str, keys: &Keys) -> Vec<(String, Block<'t>)> {
        let mut out = Vec::new();
        for e in self.node.entries().iter().filter(|e| e.key == name) {
            if e.block {
                match e.labels.as_slice() {
                    [label] => out.push((label.clone(), Block::open(cx, &e.value, self.path.child(name, &e.labels), keys))),
                    _ => cx.error(e.at, &self.path, ErrorKind::Labels { block: name.into(), expected: 1, got: e.labels.len() }),
                }
                continue;
            }
            // JSON (or `name = { label = { … } }`): labels are the keys of the object.
            let Some(bodies) = e.value.block_bodies() else {
                cx.error(e.at, &self.path, ErrorKind::BlockAsAttribute(name.into()));
                continue;
            };
            for inner in bodies.into_iter().flat_map(Node::entries) {
                match inner.value.block_bodies() {
                    Some(items) => {
                        for body in items {
                            let path = self.path.child(name, std::slice::from_ref(&inner.key));
                            out.push((inner.key.clone(), Block::open(cx, body, path, keys)));
                        }
                    }
                    None => cx.error(inner.at, &self.path, ErrorKind::Labels { block: name.into(), expected: 1, got: 0 }),
                }
            }
        }
        out
    }
}
