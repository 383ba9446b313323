//! Schema-less blocks (driver `config`, scaling `policy`, blocks Drover keeps but does not act on) into JSON,
//! the way Nomad's jobspec2 reads them: a nested block becomes a list of objects, labels become nested keys,
//! and an object written as an attribute is wrapped in a list too.

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Body, Structure};
use serde_json::{Map, Value as Json};

use super::cx::{Cx, Path};
use super::reader::{expand_blocks, span_start, BlockView};
use super::types::to_json;

/// The attributes and nested blocks of a block as a JSON object.
pub(crate) fn block_to_json(cx: &mut Cx<'_>, view: &BlockView<'_>, path: &Path) -> Map<String, Json> {
    cx.mark(path, view.start);
    body_to_json(cx, view.body, &view.bindings, path, 0)
}

const MAX_NESTING: usize = 64;

fn body_to_json(cx: &mut Cx<'_>, body: &Body, bindings: &[(String, hcl::Value)], path: &Path, depth: usize) -> Map<String, Json> {
    let mut out = Map::new();
    if depth > MAX_NESTING {
        cx.error(span_start(hcl::edit::Span::span(body)), path, super::error::ErrorKind::Invalid("blocks are nested too deeply".into()));
        return out;
    }
    let env = cx.env.with(bindings.to_vec());
    for s in body.iter() {
        if let Structure::Attribute(a) = s {
            match env.eval(&a.value) {
                Ok(v) => {
                    let j = to_json(&v);
                    let j = if matches!(a.value, Expression::Object(_)) { Json::Array(vec![j]) } else { j };
                    out.insert(a.key.as_str().to_string(), j);
                }
                Err(e) => cx.eval_error(span_start(hcl::edit::Span::span(a)), path, e),
            }
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for b in body.blocks() {
        let name = if b.ident.as_str() == "dynamic" { b.labels.first().map_or("dynamic", |l| l.as_str()) } else { b.ident.as_str() };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for name in names {
        let child_path = path.child(name, &[]);
        let mut items = Vec::new();
        for view in expand_blocks(cx, body, bindings, path, name) {
            let mut v = Json::Object(body_to_json(cx, view.body, &view.bindings, &child_path, depth + 1));
            for label in view.labels.iter().rev() {
                let mut m = Map::new();
                m.insert(label.clone(), Json::Array(vec![v]));
                v = Json::Object(m);
            }
            items.push(v);
        }
        out.insert(name.to_string(), Json::Array(items));
    }
    out
}
