//! `-t <template>` output: the part of Go's `text/template` that Nomad users write, over the API's JSON.
//!
//! Supported: text with `{{ }}` actions (and `{{-`/`-}}` trimming), fields (`.ID`, `.Job.Meta.k`,
//! `.`, `$`), variables (`$x := …`, `{{range $i, $e := …}}`), `if`/`else if`/`else`, `range`/`else`,
//! `with`, pipes (`.Name | printf "%q"`), literals, and the functions `printf`, `print`, `println`,
//! `len`, `index`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`, `or`, `not`, `json`.
//! Values print as Go prints them: strings bare, `<no value>` for a missing field.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("template: {0}")]
pub struct TemplateError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(msg.into()))
}

/// Renders `template` against `data`.
pub fn render(template: &str, data: &Value) -> Result<String, TemplateError> {
    let tokens = lex(template)?;
    let mut pos = 0;
    let (nodes, end) = parse_list(&tokens, &mut pos)?;
    if let Some(e) = end {
        return err(format!("unexpected {{{{{e}}}}}"));
    }
    let mut out = String::new();
    let mut scope = Scope { vars: vec![("$".into(), data.clone())] };
    exec(&nodes, data, &mut scope, &mut out)?;
    Ok(out)
}

// ---- lexing: text and actions ----

#[derive(Debug, Clone)]
enum Token {
    Text(String),
    Action(String),
}

fn lex(src: &str) -> Result<Vec<Token>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let trim_left = after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            out.push(Token::Text(text.to_string()));
        }
        let Some(close) = after.find("}}") else {
            return err("unclosed action: missing }}");
        };
        let mut inner = &after[..close];
        if trim_left {
            inner = &inner[1..];
        }
        trim_next = inner.ends_with(" -") || inner.ends_with("\t-") || inner.ends_with("\n-");
        if trim_next {
            inner = &inner[..inner.len() - 1];
        }
        out.push(Token::Action(inner.trim().to_string()));
        rest = &after[close + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        out.push(Token::Text(text.to_string()));
    }
    Ok(out)
}

// ---- parsing: a tree of nodes ----

#[derive(Debug)]
enum Node {
    Text(String),
    /// `{{pipeline}}`, or `{{$x := pipeline}}` (prints nothing).
    Print {
        decl: Option<String>,
        pipe: Pipeline,
    },
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    Range {
        vars: Vec<String>,
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    With {
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// Commands separated by `|`; each command's result is the last argument of the next.
type Pipeline = Vec<Vec<Arg>>;

#[derive(Debug, Clone)]
enum Arg {
    /// `.A.B` (empty path: `.`), relative to the current value.
    Field(Vec<String>),
    /// `$name.A.B`.
    Var(String, Vec<String>),
    Literal(Value),
    Func(String),
    /// `(pipeline)`, or `(pipeline).A.B`.
    Sub(Pipeline, Vec<String>),
}

/// Parses nodes until `{{end}}` or `{{else…}}`; returns them and the keyword that ended them.
fn parse_list(tokens: &[Token], pos: &mut usize) -> Result<(Vec<Node>, Option<String>), TemplateError> {
    let mut nodes = Vec::new();
    while *pos < tokens.len() {
        let t = tokens[*pos].clone();
        *pos += 1;
        let action = match t {
            Token::Text(s) => {
                nodes.push(Node::Text(s));
                continue;
            }
            Token::Action(a) => a,
        };
        if action.starts_with("/*") {
            continue;
        }
        let (word, rest) = action.split_once(char::is_whitespace).map(|(w, r)| (w, r.trim())).unwrap_or((action.as_str(), ""));
        match word {
            "end" => return Ok((nodes, Some("end".into()))),
            "else" => return Ok((nodes, Some(format!("else {rest}").trim_end().to_string()))),
            "if" => nodes.push(parse_if(rest, tokens, pos)?),
            "range" => {
                let (vars, pipe) = split_decl(rest)?;
                let (body, otherwise) = parse_body(tokens, pos, "range")?;
                nodes.push(Node::Range { vars, pipe: parse_pipeline(pipe)?, body, otherwise });
            }
            "with" => {
                let (body, otherwise) = parse_body(tokens, pos, "with")?;
                nodes.push(Node::With { pipe: parse_pipeline(rest)?, body, otherwise });
            }
            _ => {
                let (vars, pipe) = split_decl(&action)?;
                if vars.len() > 1 {
                    return err(format!("too many declarations in {{{{{action}}}}}"));
                }
                nodes.push(Node::Print { decl: vars.into_iter().next(), pipe: parse_pipeline(pipe)? });
            }
        }
    }
    Ok((nodes, None))
}

fn parse_if(cond: &str, tokens: &[Token], pos: &mut usize) -> Result<Node, TemplateError> {
    let mut branches = Vec::new();
    let mut cond = cond.to_string();
    loop {
        let (body, end) = parse_list(tokens, pos)?;
        branches.push((parse_pipeline(&cond)?, body));
        match end.as_deref() {
            Some("end") => return Ok(Node::If { branches, otherwise: Vec::new() }),
            Some("else") => {
                let (otherwise, end) = parse_list(tokens, pos)?;
                if end.as_deref() != Some("end") {
                    return err("if: missing {{end}} after {{else}}");
                }
                return Ok(Node::If { branches, otherwise });
            }
            Some(e) if e.starts_with("else if ") => cond = e["else if ".len()..].to_string(),
            _ => return err("if: missing {{end}}"),
        }
    }
}

fn parse_body(tokens: &[Token], pos: &mut usize, what: &str) -> Result<(Vec<Node>, Vec<Node>), TemplateError> {
    let (body, end) = parse_list(tokens, pos)?;
    match end.as_deref() {
        Some("end") => Ok((body, Vec::new())),
        Some("else") => {
            let (otherwise, end) = parse_list(tokens, pos)?;
            if end.as_deref() != Some("end") {
                return err(format!("{what}: missing {{{{end}}}} after {{{{else}}}}"));
            }
            Ok((body, otherwise))
        }
        _ => err(format!("{what}: missing {{{{end}}}}")),
    }
}

/// Splits `$a, $b := pipeline` into the variable names and the pipeline.
fn split_decl(src: &str) -> Result<(Vec<String>, &str), TemplateError> {
    let Some((lhs, rhs)) = src.split_once(":=") else {
        return Ok((Vec::new(), src));
    };
    if !lhs.trim_start().starts_with('$') || lhs.contains('"') {
        return Ok((Vec::new(), src));
    }
    let vars: Vec<String> = lhs.split(',').map(|v| v.trim().to_string()).collect();
    if vars.iter().any(|v| !v.starts_with('$') || v.len() < 2) {
        return err(format!("bad variable declaration {lhs:?}"));
    }
    Ok((vars, rhs.trim()))
}

fn parse_pipeline(src: &str) -> Result<Pipeline, TemplateError> {
    let words = split_words(src)?;
    let mut pipe = vec![Vec::new()];
    for w in words {
        if w == "|" {
            pipe.push(Vec::new());
            continue;
        }
        let arg = parse_arg(&w)?;
        pipe.last_mut().expect("one command at least").push(arg);
    }
    if pipe.iter().any(Vec::is_empty) {
        return err(format!("empty command in {{{{{src}}}}}"));
    }
    Ok(pipe)
}

fn parse_arg(w: &str) -> Result<Arg, TemplateError> {
    let path = |s: &str| s.split('.').filter(|p| !p.is_empty()).map(String::from).collect::<Vec<_>>();
    Ok(if w.starts_with('(') {
        let close = w.rfind(')').ok_or_else(|| TemplateError("unclosed left paren".into()))?;
        let rest = &w[close + 1..];
        if !rest.is_empty() && !rest.starts_with('.') {
            return err(format!("unexpected {rest:?} after parenthesized pipeline"));
        }
        Arg::Sub(parse_pipeline(&w[1..close])?, path(rest))
    } else if w.starts_with('.') {
        Arg::Field(path(w))
    } else if let Some(v) = w.strip_prefix('$') {
        let (name, rest) = v.split_once('.').unwrap_or((v, ""));
        Arg::Var(format!("${name}"), path(rest))
    } else if w.starts_with('"') || w.starts_with('`') {
        Arg::Literal(Value::String(unquote(w)?))
    } else if w == "true" || w == "false" {
        Arg::Literal(Value::Bool(w == "true"))
    } else if w == "nil" {
        Arg::Literal(Value::Null)
    } else if let Ok(n) = w.parse::<i64>() {
        Arg::Literal(Value::from(n))
    } else if let Ok(f) = w.parse::<f64>() {
        Arg::Literal(Value::from(f))
    } else if w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Arg::Func(w.to_string())
    } else {
        return err(format!("unexpected {w:?}"));
    })
}

fn unquote(w: &str) -> Result<String, TemplateError> {
    if let Some(raw) = w.strip_prefix('`').and_then(|s| s.strip_suffix('`')) {
        return Ok(raw.to_string());
    }
    serde_json::from_str::<String>(w).map_err(|_| TemplateError(format!("bad string literal {w}")))
}

/// Splits an action into words: quoted strings and parenthesized groups stay whole, `|` stands alone.
fn split_words(src: &str) -> Result<Vec<String>, TemplateError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = src.chars().peekable();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' => {
                cur.push(c);
                let mut closed = false;
                while let Some(d) = chars.next() {
                    cur.push(d);
                    if d == '\\' && c == '"' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                        continue;
                    }
                    if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return err("unterminated quoted string");
                }
            }
            '(' => {
                let mut depth = 1;
                cur.push(c);
                for d in chars.by_ref() {
                    cur.push(d);
                    depth += match d {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    if depth == 0 {
                        break;
                    }
                }
                if depth != 0 {
                    return err("unclosed left paren");
                }
            }
            '|' => {
                flush(&mut cur, &mut out);
                out.push("|".into());
            }
            c if c.is_whitespace() => flush(&mut cur, &mut out),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    Ok(out)
}

// ---- execution ----

struct Scope {
    vars: Vec<(String, Value)>,
}

impl Scope {
    fn get(&self, name: &str) -> Result<&Value, TemplateError> {
        self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v).ok_or_else(|| TemplateError(format!("undefined variable {name}")))
    }
}

fn exec(nodes: &[Node], dot: &Value, scope: &mut Scope, out: &mut String) -> Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(s) => out.push_str(s),
            Node::Print { decl, pipe } => {
                let v = eval_pipeline(pipe, dot, scope)?;
                match decl {
                    Some(name) => scope.vars.push((name.clone(), v)),
                    None => out.push_str(&to_text(&v)),
                }
            }
            Node::If { branches, otherwise } => {
                let mut taken = false;
                for (cond, body) in branches {
                    if truthy(&eval_pipeline(cond, dot, scope)?) {
                        nested(body, dot, scope, out)?;
                        taken = true;
                        break;
                    }
                }
                if !taken {
                    nested(otherwise, dot, scope, out)?;
                }
            }
            Node::With { pipe, body, otherwise } => {
                let v = eval_pipeline(pipe, dot, scope)?;
                if truthy(&v) {
                    nested(body, &v, scope, out)?;
                } else {
                    nested(otherwise, dot, scope, out)?;
                }
            }
            Node::Range { vars, pipe, body, otherwise } => {
                let v = eval_pipeline(pipe, dot, scope)?;
                let items: Vec<(Value, Value)> = match &v {
                    Value::Array(a) => a.iter().enumerate().map(|(i, x)| (Value::from(i), x.clone())).collect(),
                    Value::Object(m) => {
                        let sorted: BTreeMap<&String, &Value> = m.iter().collect();
                        sorted.into_iter().map(|(k, x)| (Value::String(k.clone()), x.clone())).collect()
                    }
                    Value::Null => Vec::new(),
                    Value::Number(n) if n.as_u64().is_some() => {
                        (0..n.as_u64().unwrap_or(0)).map(|i| (Value::from(i), Value::from(i))).collect()
                    }
                    other => return err(format!("range can't iterate over {}", to_text(other))),
                };
                if items.is_empty() {
                    nested(otherwise, dot, scope, out)?;
                }
                for (k, x) in items {
                    let depth = scope.vars.len();
                    match vars.as_slice() {
                        [] => {}
                        [e] => scope.vars.push((e.clone(), x.clone())),
                        [i, e] => {
                            scope.vars.push((i.clone(), k));
                            scope.vars.push((e.clone(), x.clone()));
                        }
                        _ => return err("range: too many variables"),
                    }
                    exec(body, &x, scope, out)?;
                    scope.vars.truncate(depth);
                }
            }
        }
    }
    Ok(())
}

/// Runs a block whose variables end with it.
fn nested(nodes: &[Node], dot: &Value, scope: &mut Scope, out: &mut String) -> Result<(), TemplateError> {
    let depth = scope.vars.len();
    let r = exec(nodes, dot, scope, out);
    scope.vars.truncate(depth);
    r
}

fn eval_pipeline(pipe: &Pipeline, dot: &Value, scope: &Scope) -> Result<Value, TemplateError> {
    let mut prev: Option<Value> = None;
    for cmd in pipe {
        prev = Some(eval_command(cmd, prev.take(), dot, scope)?);
    }
    Ok(prev.unwrap_or(Value::Null))
}

fn eval_command(cmd: &[Arg], piped: Option<Value>, dot: &Value, scope: &Scope) -> Result<Value, TemplateError> {
    let (first, rest) = cmd.split_first().ok_or_else(|| TemplateError("empty command".into()))?;
    if let Arg::Func(name) = first {
        let mut args = rest.iter().map(|a| eval_arg(a, dot, scope)).collect::<Result<Vec<_>, _>>()?;
        args.extend(piped);
        return call(name, &args);
    }
    if !rest.is_empty() || piped.is_some() {
        return err("can't give arguments to a non-function");
    }
    eval_arg(first, dot, scope)
}

fn eval_arg(arg: &Arg, dot: &Value, scope: &Scope) -> Result<Value, TemplateError> {
    Ok(match arg {
        Arg::Field(path) => walk(dot, path),
        Arg::Var(name, path) => walk(scope.get(name)?, path),
        Arg::Literal(v) => v.clone(),
        Arg::Sub(p, path) => walk(&eval_pipeline(p, dot, scope)?, path),
        Arg::Func(name) => call(name, &[])?,
    })
}

/// Follows `path` through objects; a missing field is null (printed as `<no value>`).
fn walk(v: &Value, path: &[String]) -> Value {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return Value::Null,
        }
    }
    cur.clone()
}

fn call(name: &str, args: &[Value]) -> Result<Value, TemplateError> {
    let want =
        |n: usize| if args.len() == n { Ok(()) } else { err(format!("wrong number of args for {name}: want {n} got {}", args.len())) };
    Ok(match name {
        "printf" => {
            let (fmt, rest) = args.split_first().ok_or_else(|| TemplateError("printf: missing format".into()))?;
            Value::String(sprintf(&to_text(fmt), rest)?)
        }
        "print" => Value::String(args.iter().map(to_text).collect::<Vec<_>>().join(" ")),
        "println" => Value::String(format!("{}\n", args.iter().map(to_text).collect::<Vec<_>>().join(" "))),
        "json" => {
            want(1)?;
            Value::String(serde_json::to_string(&args[0]).unwrap_or_default())
        }
        "len" => {
            want(1)?;
            Value::from(match &args[0] {
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                Value::String(s) => s.len(),
                Value::Null => 0,
                other => return err(format!("len of {}", to_text(other))),
            })
        }
        "index" => {
            let (mut cur, keys) =
                args.split_first().map(|(c, k)| (c.clone(), k)).ok_or_else(|| TemplateError("index: missing value".into()))?;
            for k in keys {
                cur = match (&cur, k) {
                    (Value::Array(a), Value::Number(n)) => {
                        let i = n.as_u64().ok_or_else(|| TemplateError(format!("index: bad index {n}")))? as usize;
                        a.get(i).cloned().ok_or_else(|| TemplateError(format!("index out of range: {i}")))?
                    }
                    (Value::Object(m), Value::String(s)) => m.get(s).cloned().unwrap_or(Value::Null),
                    (Value::Null, _) => Value::Null,
                    (c, k) => return err(format!("can't index {} with {}", to_text(c), to_text(k))),
                };
            }
            cur
        }
        "not" => {
            want(1)?;
            Value::Bool(!truthy(&args[0]))
        }
        "and" => args.iter().find(|a| !truthy(a)).or(args.last()).cloned().unwrap_or(Value::Null),
        "or" => args.iter().find(|a| truthy(a)).or(args.last()).cloned().unwrap_or(Value::Null),
        "eq" | "ne" => {
            if args.len() < 2 {
                return err(format!("{name}: missing argument"));
            }
            let eq = args[1..].iter().any(|b| same(&args[0], b));
            Value::Bool(if name == "eq" { eq } else { !eq })
        }
        "lt" | "le" | "gt" | "ge" => {
            want(2)?;
            let ord = compare(&args[0], &args[1]).ok_or_else(|| TemplateError(format!("{name}: incompatible types")))?;
            Value::Bool(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        other => return err(format!("function {other:?} not defined")),
    })
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// A value as Go's `fmt` prints it with `%v`.
fn to_text(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(to_text).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            format!("map[{}]", sorted.iter().map(|(k, v)| format!("{k}:{}", to_text(v))).collect::<Vec<_>>().join(" "))
        }
    }
}

/// Go's `Sprintf` for the verbs templates use: `%s %v %d %q %t %f %x %%`, with widths like `%-10s`.
fn sprintf(fmt: &str, args: &[Value]) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&d) = chars.peek() {
            if d == '-' || d == '+' || d == '.' || d.is_ascii_digit() {
                flags.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let text = match verb {
            's' | 'v' => to_text(arg),
            'd' => arg.as_i64().map(|n| n.to_string()).unwrap_or_else(|| format!("%!d({})", to_text(arg))),
            'q' => serde_json::to_string(&to_text(arg)).unwrap_or_default(),
            't' => to_text(arg),
            'x' => arg.as_u64().map(|n| format!("{n:x}")).unwrap_or_else(|| to_text(arg).bytes().map(|b| format!("{b:02x}")).collect()),
            'f' => {
                let prec = flags.split_once('.').and_then(|(_, p)| p.parse::<usize>().ok()).unwrap_or(6);
                let f = arg.as_f64().ok_or_else(|| TemplateError(format!("%f of {}", to_text(arg))))?;
                format!("{f:.prec$}")
            }
            other => return err(format!("printf: unsupported verb %{other}")),
        };
        let width: usize = flags.trim_start_matches(['-', '+']).split('.').next().and_then(|w| w.parse().ok()).unwrap_or(0);
        if flags.starts_with('-') {
            out.push_str(&format!("{text:<width$}"));
        } else {
            out.push_str(&format!("{text:>width$}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, v: &Value) -> String {
        render(t, v).unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    #[test]
    fn fields_ranges_and_conditions() {
        let nodes = json!([{"ID": "a1", "Status": "ready", "Meta": {"rack": "r1"}}, {"ID": "b2", "Status": "down", "Meta": {}}]);
        assert_eq!(r("{{range .}}{{.ID}} {{end}}", &nodes), "a1 b2 ");
        assert_eq!(r("{{range $i, $n := .}}{{$i}}={{$n.ID}};{{end}}", &nodes), "0=a1;1=b2;");
        assert_eq!(r(r#"{{range .}}{{if eq .Status "ready"}}{{.ID}}{{else}}-{{end}}{{end}}"#, &nodes), "a1-");
        assert_eq!(r("{{(index . 0).Meta.rack}} {{index . 1 | len}}", &nodes), "r1 3");
        assert_eq!(r("{{len .}}", &nodes), "2");
        assert_eq!(r("{{with index . 1}}{{.Meta.rack}}{{end}}", &nodes), "<no value>");
        assert_eq!(r("{{range .Missing}}x{{else}}none{{end}}", &json!({})), "none");
    }

    #[test]
    fn printf_pipes_trimming_and_variables() {
        let job = json!({"ID": "web", "Priority": 50, "Stop": false, "TaskGroups": [{"Name": "g", "Count": 3}]});
        assert_eq!(r(r#"{{printf "%-5s|%d" .ID .Priority}}"#, &job), "web  |50");
        assert_eq!(r(r#"{{.ID | printf "%q"}}"#, &job), "\"web\"");
        assert_eq!(r("{{- range .TaskGroups -}}\n  {{ .Name }}={{ .Count -}}\n{{ end }}", &job), "g=3");
        assert_eq!(r("{{range .TaskGroups}}\n  {{ .Name }}{{end}}", &job), "\n  g");
        assert_eq!(r("{{$id := .ID}}{{range .TaskGroups}}{{$id}}/{{.Name}}{{end}}", &job), "web/g");
        assert_eq!(r("{{if not .Stop}}running{{end}} {{if and .ID .Priority}}both{{end}}", &job), "running both");
        assert_eq!(r("{{if gt .Priority 70}}hi{{else if ge .Priority 50}}mid{{else}}lo{{end}}", &job), "mid");
        assert_eq!(r("{{json .TaskGroups}}", &job), r#"[{"Count":3,"Name":"g"}]"#);
        assert_eq!(r("{{.}}", &json!({"b": 1, "a": [true, "x"]})), "map[a:[true x] b:1]");
    }

    #[test]
    fn errors_are_clear() {
        let v = json!({});
        assert_eq!(render("{{.ID", &v), Err(TemplateError("unclosed action: missing }}".into())));
        assert!(render("{{if .X}}a", &v).unwrap_err().0.contains("missing {{end}}"));
        assert!(render("{{nosuch .X}}", &v).unwrap_err().0.contains("\"nosuch\" not defined"));
        assert!(render("{{end}}", &v).unwrap_err().0.contains("unexpected"));
        assert!(render("{{$x}}", &v).unwrap_err().0.contains("undefined variable $x"));
    }
}
