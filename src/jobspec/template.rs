//! Evaluating HCL string templates: literals, `${…}` interpolations, `%{if}`/`%{for}` directives and `~` strip markers.

use hcl::edit::template::{Directive, Element, StringTemplate, Strip, Template};
use hcl::edit::Span;
use hcl::Value;

use super::eval::{Env, EvalError, EvalResult};
use super::types::{describe, kind_of, to_bool};

/// Evaluates a template. A quoted template that is one interpolation and nothing else yields the
/// interpolated value itself (a number stays a number), as HCL does.
pub(crate) fn eval_template<T: AsTemplate>(env: &Env<'_>, t: &T, depth: usize, unwrap: bool) -> EvalResult {
    let t = t.template();
    if unwrap {
        if let [Element::Interpolation(i)] = elements(t).as_slice() {
            return env.eval_at(&i.expr, depth);
        }
    }
    let mut out = String::new();
    render(env, t, depth, Strip::None, Strip::None, &mut out)?;
    Ok(Value::String(out))
}

/// Both string and heredoc templates.
pub(crate) trait AsTemplate {
    fn template(&self) -> &Template;
}

impl AsTemplate for StringTemplate {
    fn template(&self) -> &Template {
        self
    }
}

impl AsTemplate for Template {
    fn template(&self) -> &Template {
        self
    }
}

fn elements(t: &Template) -> Vec<&Element> {
    t.iter().collect()
}

/// Whether an element strips the whitespace that follows it (`~}`).
fn strips_after(e: &Element) -> bool {
    match e {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.endif_expr.strip.strip_end(),
            Directive::For(d) => d.endfor_expr.strip.strip_end(),
        },
    }
}

/// Whether an element strips the whitespace that precedes it (`{~`).
fn strips_before(e: &Element) -> bool {
    match e {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.if_expr.strip.strip_start(),
            Directive::For(d) => d.for_expr.strip.strip_start(),
        },
    }
}

/// Renders the elements of a template; `open`/`close` are the markers around it (directive bodies).
fn render(env: &Env<'_>, t: &Template, depth: usize, open: Strip, close: Strip, out: &mut String) -> EvalResult<()> {
    let elems = elements(t);
    for (i, e) in elems.iter().enumerate() {
        match e {
            Element::Literal(lit) => {
                let mut s: &str = lit.value();
                let trim_start = if i == 0 { open.strip_end() } else { strips_after(elems[i - 1]) };
                let trim_end = if i + 1 == elems.len() { close.strip_start() } else { strips_before(elems[i + 1]) };
                if trim_start {
                    s = s.trim_start();
                }
                if trim_end {
                    s = s.trim_end();
                }
                out.push_str(s);
            }
            Element::Interpolation(interp) => {
                let v = env.eval_at(&interp.expr, depth + 1)?;
                match v {
                    Value::String(s) => out.push_str(&s),
                    Value::Number(n) => out.push_str(&n.to_string()),
                    Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                    other => {
                        return Err(EvalError {
                            message: format!("cannot interpolate a {} into a string", kind_of(&other)),
                            span: interp.expr.span(),
                        })
                    }
                }
            }
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    let c = env.eval_at(&d.if_expr.cond_expr, depth + 1)?;
                    let Some(cond) = to_bool(&c) else {
                        return Err(EvalError {
                            message: format!("an %{{if}} condition must be a bool, got {}", describe(&c)),
                            span: d.if_expr.cond_expr.span(),
                        });
                    };
                    let else_strip = d.else_expr.as_ref().map(|e| e.strip);
                    if cond {
                        render(env, &d.if_expr.template, depth + 1, d.if_expr.strip, else_strip.unwrap_or(d.endif_expr.strip), out)?;
                    } else if let Some(e) = &d.else_expr {
                        render(env, &e.template, depth + 1, e.strip, d.endif_expr.strip, out)?;
                    }
                }
                Directive::For(d) => {
                    let f = &d.for_expr;
                    let coll = env.eval_at(&f.collection_expr, depth + 1)?;
                    let pairs: Vec<(Value, Value)> = match coll {
                        Value::Array(a) => a.into_iter().enumerate().map(|(i, v)| (Value::from(i), v)).collect(),
                        Value::Object(o) => o.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
                        other => {
                            return Err(EvalError {
                                message: format!("%{{for}} needs a list or an object, got {}", describe(&other)),
                                span: f.collection_expr.span(),
                            })
                        }
                    };
                    for (k, v) in pairs {
                        let mut vars = vec![(f.value_var.as_str().to_string(), v)];
                        if let Some(kv) = &f.key_var {
                            vars.push((kv.as_str().to_string(), k));
                        }
                        let scope = env.with(vars);
                        render(&scope, &f.template, depth + 1, f.strip, d.endfor_expr.strip, out)?;
                    }
                }
            },
        }
    }
    Ok(())
}
