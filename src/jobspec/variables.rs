//! Input variables and locals: `variable`/`variables`/`locals` blocks, values from `-var`, `-var-file` and
//! `NOMAD_VAR_*`/`DROVER_VAR_*` with Nomad's precedence, type conversion and `validation` rules.

use std::cell::Cell;
use std::collections::BTreeMap;

use hcl::edit::expr::Expression;
use hcl::edit::structure::{Body, Structure};
use hcl::edit::Span;
use hcl::Value;

use super::cx::{Cx, Lines, Path};
use super::error::{ErrorKind, JobspecError};
use super::eval::Env;
use super::reader::{span_start, BlockView, Reader, Schema};
use super::types::{convert, from_json, to_bool, Ty};

/// Values for a job file's input variables. Later sources win: a variable's default, then the
/// environment, then var files in order, then `-var` arguments in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variables {
    /// `-var name=value` arguments, in order.
    pub cli: Vec<(String, String)>,
    /// `-var-file` contents, already read: (file name, HCL or JSON text), in order.
    pub files: Vec<(String, String)>,
    /// Values from the environment, by variable name (prefix removed), in order.
    pub env: Vec<(String, String)>,
    /// Values for undeclared variables are errors (Nomad's `-hcl2-strict`, the default), else warnings.
    pub strict: bool,
}

impl Default for Variables {
    fn default() -> Self {
        Variables { cli: Vec::new(), files: Vec::new(), env: Vec::new(), strict: true }
    }
}

impl Variables {
    pub fn new() -> Self {
        Self::default()
    }

    /// From `-var` values, var files and the whole process environment, of which `NOMAD_VAR_<name>`
    /// and `DROVER_VAR_<name>` are used (the latter wins when both are set).
    pub fn from_sources(cli: BTreeMap<String, String>, files: Vec<(String, String)>, env: &BTreeMap<String, String>) -> Self {
        let mut vars = Variables { cli: cli.into_iter().collect(), files, ..Self::default() };
        for prefix in ["NOMAD_VAR_", "DROVER_VAR_"] {
            for (k, v) in env {
                if let Some(name) = k.strip_prefix(prefix) {
                    vars.env.push((name.to_string(), v.clone()));
                }
            }
        }
        vars
    }

    /// One var file's text, as the HTTP API's `Variables` field carries it.
    pub fn from_var_file_text(name: &str, text: &str) -> Self {
        let files = if text.trim().is_empty() { Vec::new() } else { vec![(name.to_string(), text.to_string())] };
        Variables { files, ..Self::default() }
    }

    pub fn with_var(mut self, name: &str, value: &str) -> Self {
        self.cli.push((name.into(), value.into()));
        self
    }

    pub fn with_file(mut self, name: &str, text: &str) -> Self {
        self.files.push((name.into(), text.into()));
        self
    }

    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }
}

struct Decl<'a> {
    ty: Option<Ty>,
    value: Option<Value>,
    start: Option<usize>,
    validations: Vec<(&'a Expression, String, Option<usize>)>,
}

const VARIABLE: Schema = Schema { attrs: &["description", "default", "type", "sensitive", "nullable"], blocks: &["validation"] };
const VALIDATION: Schema = Schema { attrs: &["condition", "error_message"], blocks: &[] };

/// Resolves every declared variable and local of a job file into `var` and `local` objects.
/// `cx` evaluates with no variables in scope (defaults may not refer to variables).
pub(crate) fn resolve(cx: &mut Cx<'_>, top: &Body, src: &str, inputs: &Variables) -> (hcl::Map<String, Value>, hcl::Map<String, Value>) {
    let root = Path::default();
    let mut decls: BTreeMap<String, Decl<'_>> = BTreeMap::new();
    for b in top.blocks() {
        match b.ident.as_str() {
            "variable" => {
                let view = BlockView::of(b, &[]);
                let r = Reader::open(
                    cx,
                    view,
                    root.child("variable", &b.labels.iter().map(|l| l.as_str().to_string()).collect::<Vec<_>>()),
                    &VARIABLE,
                );
                if !r.labels(cx, 1) {
                    continue;
                }
                let name = r.view.labels[0].clone();
                if !is_identifier(&name) {
                    cx.error(
                        r.view.start,
                        &r.path,
                        ErrorKind::Variable(format!("invalid variable name \"{name}\": use letters, digits, underscores and dashes")),
                    );
                }
                if decls.contains_key(&name) {
                    cx.error(r.view.start, &r.path, ErrorKind::Variable(format!("variable \"{name}\" is declared more than once")));
                    continue;
                }
                let ty = match r.attr("type") {
                    None => None,
                    Some(a) => match Ty::parse(&a.value) {
                        Ok(t) => Some(t),
                        Err(m) => {
                            cx.error(span_start(a.span()), &r.path, ErrorKind::Value { name: "type".into(), message: m });
                            continue;
                        }
                    },
                };
                let mut value = r.get::<Value>(cx, "default");
                if let Some(t) = &ty {
                    value = value.and_then(|v| match convert(v, t) {
                        Ok(v) => Some(v),
                        Err(m) => {
                            let at = r.attr("default").and_then(|a| span_start(a.span()));
                            cx.error(at, &r.path, ErrorKind::Value { name: "default".into(), message: m });
                            None
                        }
                    });
                }
                let ty = ty.or_else(|| value.as_ref().map(Ty::of));
                let mut validations = Vec::new();
                for v in r.blocks(cx, "validation") {
                    let vr = Reader::open(cx, v, r.path.child("validation", &[]), &VALIDATION);
                    let msg = vr.require::<String>(cx, "error_message").unwrap_or_default();
                    match vr.attr("condition") {
                        Some(c) => validations.push((&c.value, msg, vr.view.start)),
                        None => cx.error(vr.view.start, &vr.path, ErrorKind::MissingAttribute("condition".into())),
                    }
                }
                decls.insert(name, Decl { ty, value, start: r.view.start, validations });
            }
            "variables" => {
                let path = root.child("variables", &[]);
                for s in b.body.iter() {
                    match s {
                        Structure::Block(inner) => {
                            cx.error(span_start(inner.span()), &path, ErrorKind::Invalid("a variables block holds only attributes".into()))
                        }
                        Structure::Attribute(a) => {
                            let name = a.key.as_str().to_string();
                            if decls.contains_key(&name) {
                                cx.error(
                                    span_start(a.span()),
                                    &path,
                                    ErrorKind::Variable(format!("variable \"{name}\" is declared more than once")),
                                );
                                continue;
                            }
                            let r = Reader { view: BlockView::of(b, &[]), path: path.clone() };
                            let value = r.get::<Value>(cx, &name);
                            let ty = value.as_ref().map(Ty::of);
                            decls.insert(name, Decl { ty, value, start: span_start(a.span()), validations: Vec::new() });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    assign_inputs(cx, &mut decls, inputs);
    let mut vars = hcl::Map::new();
    for (name, d) in &decls {
        let path = root.child("variable", std::slice::from_ref(name));
        match &d.value {
            None => {
                cx.error(d.start, &path, ErrorKind::Variable(format!("variable \"{name}\" is not set and has no default")));
                vars.insert(name.clone(), Value::Null);
            }
            Some(v) => {
                check_validations(cx, &path, name, v, &d.validations, src);
                vars.insert(name.clone(), v.clone());
            }
        }
    }
    let locals = resolve_locals(cx, top, src, &vars);
    (vars, locals)
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_alphabetic() || f == '_') && c.all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '-')
}

/// Applies environment, var file and `-var` values, in that order.
fn assign_inputs(cx: &mut Cx<'_>, decls: &mut BTreeMap<String, Decl<'_>>, inputs: &Variables) {
    for (name, raw) in &inputs.env {
        if let Some(d) = decls.get_mut(name) {
            match text_value(raw, d.ty.as_ref()) {
                Ok(v) => d.value = Some(v),
                Err(m) => input_error(cx, format!("<value for var.{name} from the environment>"), ErrorKind::Variable(m)),
            }
        }
    }
    for (file, text) in &inputs.files {
        for (name, result, pos) in var_file_values(file, text, cx) {
            let Some(d) = decls.get_mut(&name) else {
                let msg = format!("variable \"{name}\" is set but not declared in the job file; declare it with a variable block");
                if inputs.strict {
                    cx.errors.push(JobspecError { file: file.clone(), pos, path: String::new(), kind: ErrorKind::Variable(msg) });
                } else {
                    cx.warnings.push((None, format!("{file}: {msg}")));
                }
                continue;
            };
            match result.and_then(|v| convert(v, d.ty.as_ref().unwrap_or(&Ty::Any)).map_err(|m| format!("variable \"{name}\": {m}"))) {
                Ok(v) => d.value = Some(v),
                Err(m) => cx.errors.push(JobspecError { file: file.clone(), pos, path: String::new(), kind: ErrorKind::Variable(m) }),
            }
        }
    }
    for (name, raw) in &inputs.cli {
        let Some(d) = decls.get_mut(name) else {
            let msg = format!("-var \"{name}\": no such variable is declared in the job file");
            if inputs.strict {
                input_error(cx, "<arguments>".into(), ErrorKind::Variable(msg));
            } else {
                cx.warnings.push((None, msg));
            }
            continue;
        };
        match text_value(raw, d.ty.as_ref()) {
            Ok(v) => d.value = Some(v),
            Err(m) => input_error(cx, format!("<value for var.{name} from arguments>"), ErrorKind::Variable(m)),
        }
    }
}

fn input_error(cx: &mut Cx<'_>, file: String, kind: ErrorKind) {
    cx.errors.push(JobspecError { file, pos: None, path: String::new(), kind });
}

/// A `-var` or environment value: literal text for string and number variables, else an HCL expression.
fn text_value(raw: &str, ty: Option<&Ty>) -> Result<Value, String> {
    let v = if Ty::takes_literal_text(ty) {
        Value::String(raw.to_string())
    } else {
        let expr = hcl::edit::parser::parse_expr(raw).map_err(|e| format!("invalid value \"{raw}\": {}", e.message()))?;
        let steps = Cell::new(0);
        Env::root(raw, false, &steps).eval(&expr).map_err(|e| e.message)?
    };
    convert(v, ty.unwrap_or(&Ty::Any))
}

/// The assignments of a var file (HCL attributes or a JSON object), evaluated without variables.
fn var_file_values(file: &str, text: &str, cx: &mut Cx<'_>) -> Vec<(String, Result<Value, String>, Option<super::error::Pos>)> {
    if text.trim_start().starts_with('{') {
        return match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), Ok(from_json(v)), None)).collect(),
            Ok(_) => vec![(String::new(), Err("a JSON var file must hold an object".into()), None)],
            Err(e) => {
                let pos = Some(super::error::Pos { line: e.line(), column: e.column() });
                cx.errors.push(JobspecError { file: file.into(), pos, path: String::new(), kind: ErrorKind::Syntax(e.to_string()) });
                Vec::new()
            }
        };
    }
    let body = match hcl::edit::parser::parse_body(text) {
        Ok(b) => b,
        Err(e) => {
            let pos = Some(super::error::Pos { line: e.location().line(), column: e.location().column() });
            cx.errors.push(JobspecError { file: file.into(), pos, path: String::new(), kind: ErrorKind::Syntax(e.message().to_string()) });
            return Vec::new();
        }
    };
    let lines = Lines::new(text);
    let steps = Cell::new(0);
    let env = Env::root(text, false, &steps);
    let mut out = Vec::new();
    for s in body.iter() {
        match s {
            Structure::Block(b) => {
                let pos = span_start(b.span()).map(|o| lines.pos(o));
                let msg = if b.ident.as_str() == "variable" {
                    "a var file assigns values (name = value); declare variables in the job file".to_string()
                } else {
                    format!("unexpected block \"{}\" in a var file", b.ident.as_str())
                };
                cx.errors.push(JobspecError { file: file.into(), pos, path: String::new(), kind: ErrorKind::Variable(msg) });
            }
            Structure::Attribute(a) => {
                let pos = span_start(a.span()).map(|o| lines.pos(o));
                out.push((a.key.as_str().to_string(), env.eval(&a.value).map_err(|e| e.message), pos));
            }
        }
    }
    out
}

fn check_validations(cx: &mut Cx<'_>, path: &Path, name: &str, value: &Value, rules: &[(&Expression, String, Option<usize>)], src: &str) {
    let steps = Cell::new(0);
    let mut env = Env::root(src, false, &steps);
    env.declare("var", Value::Object([(name.to_string(), value.clone())].into_iter().collect()));
    for (cond, message, start) in rules {
        match env.eval(cond) {
            Ok(v) if to_bool(&v) == Some(true) => {}
            Ok(v) if to_bool(&v) == Some(false) => {
                cx.error(*start, path, ErrorKind::Variable(format!("invalid value for variable \"{name}\": {message}")));
            }
            Ok(_) => cx.error(*start, path, ErrorKind::Variable("a validation condition must be true or false".into())),
            Err(e) => cx.eval_error(*start, path, e),
        }
    }
}

/// Evaluates `locals` attributes in dependency order (retrying those that refer to locals not yet known).
fn resolve_locals(cx: &mut Cx<'_>, top: &Body, src: &str, vars: &hcl::Map<String, Value>) -> hcl::Map<String, Value> {
    let path = Path::default().child("locals", &[]);
    let mut pending = Vec::new();
    for b in top.blocks().filter(|b| b.ident.as_str() == "locals") {
        for s in b.body.iter() {
            match s {
                Structure::Block(inner) => {
                    cx.error(span_start(inner.span()), &path, ErrorKind::Invalid("a locals block holds only attributes".into()))
                }
                Structure::Attribute(a) => {
                    if pending.iter().any(|(n, _): &(&str, _)| *n == a.key.as_str()) {
                        cx.error(
                            span_start(a.span()),
                            &path,
                            ErrorKind::Variable(format!("local \"{}\" is defined more than once", a.key.as_str())),
                        );
                    } else {
                        pending.push((a.key.as_str(), a));
                    }
                }
            }
        }
    }
    let mut locals = hcl::Map::new();
    let steps = Cell::new(0);
    loop {
        let mut failed = Vec::new();
        let before = pending.len();
        for (name, a) in pending {
            let mut env = Env::root(src, true, &steps);
            env.declare("var", Value::Object(vars.clone()));
            env.declare("local", Value::Object(locals.clone()));
            match env.eval(&a.value) {
                Ok(v) => {
                    locals.insert(name.to_string(), v);
                }
                Err(e) => failed.push((name, a, e)),
            }
        }
        if failed.is_empty() || failed.len() == before {
            for (_, a, e) in failed {
                cx.eval_error(span_start(a.span()), &path, e);
            }
            return locals;
        }
        pending = failed.into_iter().map(|(n, a, _)| (n, a)).collect();
    }
}
