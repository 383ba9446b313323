//! Evaluating HCL expressions: `var.*`/`local.*` references, operators, for-expressions, functions and
//! `try`/`can`, while runtime references (`attr.*`, `node.*`, `meta.*`, `NOMAD_*`, `env[…]`) stay literal `${…}`.

use std::cell::Cell;
use std::ops::Range;

use hcl::edit::expr::{BinaryOperator, Expression, ForExpr, ObjectKey, TraversalOperator, UnaryOperator};
use hcl::edit::Span;
use hcl::{Number, Value};

use super::funcs;
use super::types::{convert, describe, kind_of, to_bool, to_number, to_string, Ty};

/// An evaluation failure, with the span of the expression at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvalError {
    pub message: String,
    pub span: Option<Range<usize>>,
}

pub(crate) type EvalResult<T = Value> = Result<T, EvalError>;

fn err<T>(message: impl Into<String>, span: Option<Range<usize>>) -> EvalResult<T> {
    Err(EvalError { message: message.into(), span })
}

const MAX_DEPTH: usize = 200;
const MAX_STEPS: u64 = 2_000_000;

/// The variables in scope for one evaluation, chained to the enclosing scope.
pub(crate) struct Env<'a> {
    /// The text the expressions were parsed from, to keep runtime references verbatim.
    src: &'a str,
    vars: Vec<(String, Value)>,
    parent: Option<&'a Env<'a>>,
    /// Unknown root names become `"${…}"` strings (job bodies) instead of errors (variable values).
    passthrough: bool,
    steps: &'a Cell<u64>,
}

impl<'a> Env<'a> {
    pub(crate) fn root(src: &'a str, passthrough: bool, steps: &'a Cell<u64>) -> Env<'a> {
        Env { src, vars: Vec::new(), parent: None, passthrough, steps }
    }

    /// A child scope with more variables (for-expression keys, dynamic block iterators).
    pub(crate) fn with(&'a self, vars: Vec<(String, Value)>) -> Env<'a> {
        Env { src: self.src, vars, parent: Some(self), passthrough: self.passthrough, steps: self.steps }
    }

    pub(crate) fn declare(&mut self, name: &str, value: Value) {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_string(), value));
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<&Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Some(v),
            None => self.parent.and_then(|p| p.lookup(name)),
        }
    }

    pub(crate) fn eval(&self, expr: &Expression) -> EvalResult {
        self.eval_at(expr, 0)
    }

    fn tick(&self, depth: usize, span: Option<Range<usize>>) -> EvalResult<()> {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n > MAX_STEPS {
            return err("expression is too expensive to evaluate", span);
        }
        if depth > MAX_DEPTH {
            return err("expression is nested too deeply", span);
        }
        Ok(())
    }

    pub(crate) fn eval_at(&self, expr: &Expression, depth: usize) -> EvalResult {
        self.tick(depth, expr.span())?;
        let d = depth + 1;
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => Ok(Value::Number(*n.value())),
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(items) => items.iter().map(|e| self.eval_at(e, d)).collect::<EvalResult<Vec<_>>>().map(Value::Array),
            Expression::Object(obj) => {
                let mut out = hcl::Map::new();
                for (k, v) in obj.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(e) => self.key_string(e, d)?,
                    };
                    out.insert(key, self.eval_at(v.expr(), d)?);
                }
                Ok(Value::Object(out))
            }
            Expression::StringTemplate(t) => super::template::eval_template(self, t, d, true),
            Expression::HeredocTemplate(h) => super::template::eval_template(self, &h.template, d, false),
            Expression::Parenthesis(p) => self.eval_at(p.inner(), d),
            Expression::Variable(v) => match self.lookup(v.as_str()) {
                Some(val) => Ok(val.clone()),
                None => self.unknown_root(v.as_str(), expr),
            },
            Expression::Traversal(t) => {
                if let Expression::Variable(root) = &t.expr {
                    if self.lookup(root.as_str()).is_none() && self.passthrough && is_static(&t.operators) {
                        return Ok(Value::String(format!("${{{}}}", self.source_of(expr))));
                    }
                }
                let base = self.eval_at(&t.expr, d)?;
                let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
                if let (Expression::Variable(root), Some(TraversalOperator::GetAttr(name)), Value::Object(o)) =
                    (&t.expr, ops.first(), &base)
                {
                    let kind = match root.as_str() {
                        "var" => Some("variable"),
                        "local" => Some("local"),
                        _ => None,
                    };
                    if let (Some(kind), false) = (kind, o.contains_key(name.as_str())) {
                        let hint = super::error::suggest(name.as_str(), o.keys().map(String::as_str))
                            .map(|s| format!("; did you mean {}.{s}?", root.as_str()))
                            .unwrap_or_default();
                        return err(format!("undeclared {kind} \"{}.{}\"{hint}", root.as_str(), name.as_str()), expr.span());
                    }
                }
                self.traverse(base, &ops, d, expr)
            }
            Expression::FuncCall(call) => {
                let name = call.name.name.as_str();
                let args: Vec<&Expression> = call.args.iter().collect();
                if !call.name.namespace.is_empty() {
                    return err(format!("unknown function \"{}\"", self.source_of(expr)), expr.span());
                }
                match name {
                    "try" => self.eval_try(&args, d, expr),
                    "convert" => {
                        let [value, ty] = args.as_slice() else { return err("convert() takes a value and a type", expr.span()) };
                        let ty = Ty::parse(ty).map_err(|m| EvalError { message: format!("convert(): {m}"), span: ty.span() })?;
                        convert(self.eval_at(value, d)?, &ty)
                            .map_err(|m| EvalError { message: format!("convert(): {m}"), span: expr.span() })
                    }
                    "can" => {
                        if args.len() != 1 {
                            return err("can() takes exactly one argument", expr.span());
                        }
                        Ok(Value::Bool(self.eval_at(args[0], d).is_ok()))
                    }
                    _ => {
                        let mut vals = Vec::with_capacity(args.len());
                        for a in &args {
                            vals.push(self.eval_at(a, d)?);
                        }
                        if call.args.expand_final() {
                            match vals.pop() {
                                Some(Value::Array(rest)) => vals.extend(rest),
                                _ => return err("the final argument before \"...\" must be a list", expr.span()),
                            }
                        }
                        funcs::call(name, vals).map_err(|m| EvalError { message: format!("{name}(): {m}"), span: expr.span() })
                    }
                }
            }
            Expression::Conditional(c) => {
                let cond = self.eval_at(&c.cond_expr, d)?;
                match to_bool(&cond) {
                    Some(true) => self.eval_at(&c.true_expr, d),
                    Some(false) => self.eval_at(&c.false_expr, d),
                    None => err(format!("the condition must be a bool, got {}", describe(&cond)), c.cond_expr.span()),
                }
            }
            Expression::UnaryOp(op) => {
                let v = self.eval_at(&op.expr, d)?;
                match op.operator.value() {
                    UnaryOperator::Not => match to_bool(&v) {
                        Some(b) => Ok(Value::Bool(!b)),
                        None => err(format!("\"!\" needs a bool, got {}", describe(&v)), expr.span()),
                    },
                    UnaryOperator::Neg => match to_number(&v) {
                        Some(n) => {
                            arith(Number::from(0), n, BinaryOperator::Minus).map_err(|m| EvalError { message: m, span: expr.span() })
                        }
                        None => err(format!("\"-\" needs a number, got {}", describe(&v)), expr.span()),
                    },
                }
            }
            Expression::BinaryOp(op) => self.eval_binary(*op.operator.value(), &op.lhs_expr, &op.rhs_expr, d, expr),
            Expression::ForExpr(f) => self.eval_for(f, d),
        }
    }

    fn unknown_root(&self, name: &str, expr: &Expression) -> EvalResult {
        if self.passthrough {
            return Ok(Value::String(format!("${{{}}}", self.source_of(expr))));
        }
        err(format!("unknown variable \"{name}\": variables are not allowed here"), expr.span())
    }

    /// The source text of an expression, trimmed.
    fn source_of(&self, expr: &Expression) -> String {
        expr.span()
            .and_then(|r| self.src.get(r))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| hcl::format::to_string(&hcl::Expression::from(expr.clone())).unwrap_or_default())
    }

    fn key_string(&self, e: &Expression, d: usize) -> EvalResult<String> {
        // A bare name as an object key is the name itself, as in `{ foo = 1 }`.
        if let Expression::Variable(v) = e {
            return Ok(v.as_str().to_string());
        }
        let v = self.eval_at(e, d)?;
        to_string(&v).map_or_else(|| err(format!("an object key must be a string, got a {}", kind_of(&v)), e.span()), Ok)
    }

    fn eval_try(&self, args: &[&Expression], d: usize, expr: &Expression) -> EvalResult {
        let mut last = None;
        for a in args {
            match self.eval_at(a, d) {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) => err(format!("try(): no argument could be evaluated; the last failed with: {}", e.message), expr.span()),
            None => err("try() needs at least one argument", expr.span()),
        }
    }

    fn traverse(&self, mut cur: Value, ops: &[&TraversalOperator], d: usize, whole: &Expression) -> EvalResult {
        for (i, op) in ops.iter().enumerate() {
            match op {
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let items = match cur {
                        Value::Array(a) => a,
                        Value::Null => Vec::new(),
                        other => vec![other],
                    };
                    let rest = &ops[i + 1..];
                    let out = items.into_iter().map(|v| self.traverse(v, rest, d, whole)).collect::<EvalResult<Vec<_>>>()?;
                    return Ok(Value::Array(out));
                }
                TraversalOperator::GetAttr(name) => {
                    cur = get_attr(cur, name.as_str()).map_err(|m| EvalError { message: m, span: whole.span() })?
                }
                TraversalOperator::LegacyIndex(n) => {
                    cur = index(cur, &Value::from(*n.value())).map_err(|m| EvalError { message: m, span: whole.span() })?
                }
                TraversalOperator::Index(e) => {
                    let key = self.eval_at(e, d)?;
                    cur = index(cur, &key).map_err(|m| EvalError { message: m, span: e.span().or_else(|| whole.span()) })?;
                }
            }
        }
        Ok(cur)
    }

    fn eval_binary(&self, op: BinaryOperator, l: &Expression, r: &Expression, d: usize, whole: &Expression) -> EvalResult {
        use BinaryOperator::*;
        let span = whole.span();
        match op {
            And | Or => {
                let lv = self.eval_at(l, d)?;
                let Some(lb) = to_bool(&lv) else {
                    return err(format!("\"{}\" needs bools, got {}", op.as_str(), describe(&lv)), l.span());
                };
                if (op == And && !lb) || (op == Or && lb) {
                    return Ok(Value::Bool(lb));
                }
                let rv = self.eval_at(r, d)?;
                to_bool(&rv)
                    .map(Value::Bool)
                    .map_or_else(|| err(format!("\"{}\" needs bools, got {}", op.as_str(), describe(&rv)), r.span()), Ok)
            }
            Eq => Ok(Value::Bool(self.eval_at(l, d)? == self.eval_at(r, d)?)),
            NotEq => Ok(Value::Bool(self.eval_at(l, d)? != self.eval_at(r, d)?)),
            _ => {
                let lv = self.eval_at(l, d)?;
                let rv = self.eval_at(r, d)?;
                let (Some(a), Some(b)) = (to_number(&lv), to_number(&rv)) else {
                    return err(format!("\"{}\" needs numbers, got {} and {}", op.as_str(), describe(&lv), describe(&rv)), span);
                };
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                match op {
                    Less => Ok(Value::Bool(x < y)),
                    LessEq => Ok(Value::Bool(x <= y)),
                    Greater => Ok(Value::Bool(x > y)),
                    GreaterEq => Ok(Value::Bool(x >= y)),
                    _ => arith(a, b, op).map_err(|m| EvalError { message: m, span }),
                }
            }
        }
    }

    fn eval_for(&self, f: &ForExpr, d: usize) -> EvalResult {
        let coll = self.eval_at(&f.intro.collection_expr, d)?;
        let pairs: Vec<(Value, Value)> = match coll {
            Value::Array(a) => a.into_iter().enumerate().map(|(i, v)| (Value::from(i), v)).collect(),
            Value::Object(o) => o.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            other => {
                return err(format!("a for expression needs a list or an object, got {}", describe(&other)), f.intro.collection_expr.span())
            }
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str().to_string());
        let value_var = f.intro.value_var.as_str().to_string();
        let mut list = Vec::new();
        let mut obj: hcl::Map<String, Value> = hcl::Map::new();
        for (k, v) in pairs {
            let mut vars = vec![(value_var.clone(), v)];
            if let Some(kv) = &key_var {
                vars.push((kv.clone(), k));
            }
            let scope = self.with(vars);
            if let Some(cond) = &f.cond {
                let c = scope.eval_at(&cond.expr, d)?;
                match to_bool(&c) {
                    Some(true) => {}
                    Some(false) => continue,
                    None => return err(format!("a for condition must be a bool, got {}", describe(&c)), cond.expr.span()),
                }
            }
            let value = scope.eval_at(&f.value_expr, d)?;
            match &f.key_expr {
                None => list.push(value),
                Some(ke) => {
                    let kv = scope.eval_at(ke, d)?;
                    let Some(key) = to_string(&kv) else {
                        return err(format!("a for key must be a string, got a {}", kind_of(&kv)), ke.span());
                    };
                    if f.grouping {
                        match obj.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
                            Value::Array(group) => group.push(value),
                            _ => return err("internal: grouped value is not a list", ke.span()),
                        }
                    } else if obj.contains_key(&key) {
                        return err(
                            format!("duplicate key \"{key}\" in for expression; add \"...\" after the value to group them"),
                            ke.span(),
                        );
                    } else {
                        obj.insert(key, value);
                    }
                }
            }
        }
        Ok(if f.key_expr.is_some() { Value::Object(obj) } else { Value::Array(list) })
    }
}

fn is_static(ops: &[hcl::edit::Decorated<TraversalOperator>]) -> bool {
    ops.iter().all(|o| match o.value() {
        TraversalOperator::GetAttr(_) | TraversalOperator::LegacyIndex(_) => true,
        TraversalOperator::Index(e) => matches!(e, Expression::String(_) | Expression::Number(_)),
        _ => false,
    })
}

fn get_attr(v: Value, name: &str) -> Result<Value, String> {
    match v {
        Value::Object(mut o) => o.swap_remove(name).ok_or_else(|| {
            let hint =
                super::error::suggest(name, o.keys().map(String::as_str)).map(|s| format!("; did you mean \"{s}\"?")).unwrap_or_default();
            format!("no attribute \"{name}\"{hint}")
        }),
        other => Err(format!("cannot read attribute \"{name}\" of {}", describe(&other))),
    }
}

fn index(v: Value, key: &Value) -> Result<Value, String> {
    match v {
        Value::Array(mut a) => {
            let n = to_number(key)
                .and_then(|n| n.as_u64())
                .ok_or_else(|| format!("a list index must be a whole number, got {}", describe(key)))?;
            let len = a.len();
            match usize::try_from(n) {
                Ok(i) if i < len => Ok(a.swap_remove(i)),
                _ => Err(format!("index {n} is out of range for a list of {len} elements")),
            }
        }
        Value::Object(_) => {
            let k = to_string(key).ok_or_else(|| format!("an object key must be a string, got a {}", kind_of(key)))?;
            get_attr(v, &k)
        }
        other => Err(format!("cannot index {}", describe(&other))),
    }
}

/// Arithmetic without overflow panics: whole numbers stay whole while they fit, then floats.
pub(crate) fn arith(a: Number, b: Number, op: BinaryOperator) -> Result<Value, String> {
    use BinaryOperator::*;
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        let r = match op {
            Plus => x.checked_add(y),
            Minus => x.checked_sub(y),
            Mul => x.checked_mul(y),
            Mod if y == 0 => return Err("modulo by zero".into()),
            Mod => x.checked_rem(y),
            Div if y == 0 => return Err("division by zero".into()),
            Div if x.checked_rem(y) == Some(0) => x.checked_div(y),
            _ => None,
        };
        if let Some(r) = r {
            return Ok(Value::from(r));
        }
    }
    let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
    let r = match op {
        Plus => x + y,
        Minus => x - y,
        Mul => x * y,
        Div if y == 0.0 => return Err("division by zero".into()),
        Div => x / y,
        Mod if y == 0.0 => return Err("modulo by zero".into()),
        Mod => x % y,
        _ => return Err(format!("\"{}\" is not an arithmetic operator", op.as_str())),
    };
    Number::from_f64(r).map(Value::Number).ok_or_else(|| "the result is not a finite number".to_string())
}
