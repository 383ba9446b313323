//! Blocks and attributes Drover parses but does not act on yet (vault, consul, identity, csi_plugin,
//! connect, multiregion, …): kept as JSON in the `unsupported` maps, with a warning naming them.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::cx::Cx;
use super::opaque::block_to_json;
use super::reader::Reader;
use super::types::to_json;

/// Blocks that may appear more than once; the others are single (a second one is an error).
const REPEATABLE: &[&str] = &["identity", "secret", "action"];

/// Keeps the blocks named in `names` as JSON: a single block as an object, repeatable ones as a list.
pub(crate) fn keep_blocks(cx: &mut Cx<'_>, r: &Reader<'_>, names: &[&str], into: &mut BTreeMap<String, Json>) {
    for &name in names {
        let views = if REPEATABLE.contains(&name) { r.blocks(cx, name) } else { r.single(cx, name).into_iter().collect() };
        let mut items = Vec::new();
        for v in views {
            cx.warn(v.start, &r.path, &format!("\"{name}\" is not supported by drover yet; it is kept but has no effect"));
            let path = r.path.child(name, &v.labels);
            let mut j = Json::Object(block_to_json(cx, &v, &path));
            for label in v.labels.iter().rev() {
                j = Json::Object([(label.clone(), j)].into_iter().collect());
            }
            items.push(j);
        }
        if items.is_empty() {
            continue;
        }
        let value = if REPEATABLE.contains(&name) { Json::Array(items) } else { items.swap_remove(0) };
        into.insert(name.to_string(), value);
    }
}

/// Legacy attributes Nomad once accepted (`consul_token`, `vault_token`, …): warned about and kept,
/// except secrets, which are dropped.
pub(crate) fn keep_attrs(cx: &mut Cx<'_>, r: &Reader<'_>, names: &[&str], into: &mut BTreeMap<String, Json>) {
    for &name in names {
        let Some((v, at)) = r.value(cx, name) else { continue };
        if name.ends_with("_token") {
            cx.warn(at, &r.path, &format!("\"{name}\" is obsolete and ignored; tokens are not stored in jobs"));
        } else {
            cx.warn(at, &r.path, &format!("\"{name}\" is not supported by drover yet; it is kept but has no effect"));
            into.insert(name.to_string(), to_json(&v));
        }
    }
}
