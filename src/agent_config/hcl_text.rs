//! HCL configuration text into the positioned tree: blocks become objects (labels kept on the entry),
//! attribute expressions are evaluated with no variables in scope (literals, operators and functions).

use std::cell::Cell;

use hcl::edit::structure::{Body, Structure};
use hcl::edit::Span;

use crate::jobspec::{Env, ErrorKind, JobspecError, Pos};

use super::tree::{Entry, Kind, Node};

/// Parses HCL text; syntax and evaluation errors carry the file's positions.
pub(crate) fn parse(src: &str, file: &str) -> Result<Node, Vec<JobspecError>> {
    let body = hcl::edit::parser::parse_body(src).map_err(|e| {
        vec![JobspecError {
            file: file.into(),
            pos: Some(Pos { line: e.location().line(), column: e.location().column() }),
            path: String::new(),
            kind: ErrorKind::Syntax(e.message().to_string()),
        }]
    })?;
    let steps = Cell::new(0);
    let env = Env::root(src, false, &steps);
    let mut errors = Vec::new();
    let lines = crate::jobspec::Lines::new(src);
    let mut fail = |at: Option<usize>, message: String| {
        errors.push(JobspecError { file: file.into(), pos: at.map(|o| lines.pos(o)), path: String::new(), kind: ErrorKind::Eval(message) });
    };
    let root = body_node(&body, &env, &mut fail, Some(0));
    if errors.is_empty() {
        Ok(root)
    } else {
        Err(errors)
    }
}

fn body_node(body: &Body, env: &Env<'_>, fail: &mut dyn FnMut(Option<usize>, String), at: Option<usize>) -> Node {
    let mut entries = Vec::new();
    for s in body.iter() {
        match s {
            Structure::Attribute(a) => {
                let key_at = a.span().map(|s| s.start);
                let value_at = a.value.span().map(|s| s.start).or(key_at);
                let value = match env.eval(&a.value) {
                    Ok(v) => Node::from_value(v, value_at),
                    Err(e) => {
                        fail(e.span.map(|s| s.start).or(value_at), e.message);
                        Node { at: value_at, kind: Kind::Scalar(hcl::Value::Null) }
                    }
                };
                entries.push(Entry { key: a.key.as_str().to_string(), at: key_at, block: false, labels: Vec::new(), value });
            }
            Structure::Block(b) => {
                let block_at = b.span().map(|s| s.start);
                entries.push(Entry {
                    key: b.ident.as_str().to_string(),
                    at: block_at,
                    block: true,
                    labels: b.labels.iter().map(|l| l.as_str().to_string()).collect(),
                    value: body_node(&b.body, env, fail, block_at),
                });
            }
        }
    }
    Node { at, kind: Kind::Object(entries) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_attributes_and_labels() {
        let n = parse("a = 1 + 2\nclient {\n  meta { x = \"y\" }\n}\nhost_volume \"data\" { path = \"/d\" }\n", "t.hcl").unwrap();
        let e = n.entries();
        assert_eq!((e[0].key.as_str(), e[0].value.to_value()), ("a", hcl::Value::from(3)));
        assert!(e[1].block && e[1].labels.is_empty());
        assert_eq!(e[1].value.entries()[0].key, "meta");
        assert_eq!(e[2].labels, vec!["data".to_string()]);
        assert_eq!(e[2].at, Some(src_offset("a = 1 + 2\nclient {\n  meta { x = \"y\" }\n}\n")));
    }

    fn src_offset(prefix: &str) -> usize {
        prefix.len()
    }

    #[test]
    fn syntax_and_eval_errors_have_positions() {
        let e = parse("a = {\n", "t.hcl").unwrap_err();
        assert!(matches!(e[0].kind, ErrorKind::Syntax(_)), "{e:?}");
        let e = parse("x = 1\ny = nope\n", "t.hcl").unwrap_err();
        assert_eq!(e[0].pos, Some(Pos { line: 2, column: 5 }));
    }
}
