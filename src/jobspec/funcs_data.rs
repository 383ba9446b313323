//! Collection, number and encoding functions (`merge`, `lookup`, `concat`, `max`, `jsonencode`, `base64decode`, …).

use hcl::{Number, Value};

use super::funcs::{arity, int_arg, list_arg, str_arg, FnResult};
use super::types::{describe, from_json, kind_of, to_json, to_number, to_string};

/// Every function name, for "did you mean" hints.
pub(crate) const NAMES: &[&str] = &[
    "abs",
    "base64decode",
    "base64encode",
    "can",
    "ceil",
    "chomp",
    "chunklist",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "convert",
    "distinct",
    "element",
    "flatten",
    "floor",
    "format",
    "formatlist",
    "indent",
    "index",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "log",
    "lookup",
    "lower",
    "max",
    "merge",
    "min",
    "parseint",
    "pow",
    "range",
    "regex_replace",
    "replace",
    "reverse",
    "setintersection",
    "setproduct",
    "setunion",
    "sha1",
    "sha256",
    "sha512",
    "signum",
    "slice",
    "sort",
    "split",
    "strlen",
    "strrev",
    "substr",
    "title",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "try",
    "upper",
    "urlencode",
    "values",
    "zipmap",
    "basename",
    "dirname",
];

const MAX_ITEMS: usize = 100_000;

/// `None` when no such function exists.
pub(crate) fn call(name: &str, a: &[Value]) -> Option<FnResult> {
    Some(match name {
        "length" => length(a),
        "concat" => concat(a),
        "merge" => merge(a),
        "lookup" => lookup(a),
        "keys" => obj1(a, |o| Value::Array(o.keys().map(|k| Value::String(k.clone())).collect())),
        "values" => obj1(a, |o| Value::Array(o.values().cloned().collect())),
        "contains" => arity(a, 2).and_then(|_| Ok(Value::Bool(list_arg(a, 0)?.contains(&a[1])))),
        "distinct" => list1(a, |l| Ok(dedup(l))),
        "compact" => list1(a, |l| Ok(l.into_iter().filter(|v| !v.is_null() && v.as_str() != Some("")).collect())),
        "reverse" => list1(a, |mut l| {
            l.reverse();
            Ok(l)
        }),
        "flatten" => list1(a, |l| {
            let mut out = Vec::new();
            flatten(l, &mut out, 0)?;
            Ok(out)
        }),
        "sort" => list1(a, |l| {
            let mut s = l
                .iter()
                .map(|v| to_string(v).ok_or_else(|| format!("sort needs strings, got a {}", kind_of(v))))
                .collect::<Result<Vec<_>, _>>()?;
            s.sort();
            Ok(s.into_iter().map(Value::String).collect())
        }),
        "element" => element(a),
        "index" => arity(a, 2).and_then(|_| {
            let l = list_arg(a, 0)?;
            l.iter().position(|v| v == &a[1]).map(Value::from).ok_or_else(|| "the value is not in the list".to_string())
        }),
        "slice" => slice(a),
        "chunklist" => chunklist(a),
        "coalesce" => {
            a.iter().find(|v| !v.is_null() && v.as_str() != Some("")).cloned().ok_or_else(|| "no non-null, non-empty argument".into())
        }
        "coalescelist" => {
            a.iter().find(|v| matches!(v, Value::Array(l) if !l.is_empty())).cloned().ok_or_else(|| "no non-empty list argument".into())
        }
        "range" => range(a),
        "zipmap" => zipmap(a),
        "setunion" => sets(a, |acc, l| acc.extend(l)),
        "setintersection" => sets(a, |acc, l| acc.retain(|v| l.contains(v))),
        "setproduct" => setproduct(a),
        "abs" => num1(a, i64::checked_abs, f64::abs),
        "ceil" => num1(a, Some, f64::ceil),
        "floor" => num1(a, Some, f64::floor),
        "signum" => num1(a, |i| Some(i.signum()), f64::signum),
        "log" => arity(a, 2).and_then(|_| number(f(a, 0)?.ln() / f(a, 1)?.ln())),
        "pow" => arity(a, 2).and_then(|_| number(f(a, 0)?.powf(f(a, 1)?))),
        "max" | "min" => minmax(a, name == "max"),
        "parseint" => parseint(a),
        "jsonencode" => arity(a, 1).map(|_| Value::String(serde_json::to_string(&to_json(&a[0])).unwrap_or_default())),
        "jsondecode" => arity(a, 1).and_then(|_| {
            let v: serde_json::Value = serde_json::from_str(&str_arg(a, 0)?).map_err(|e| format!("invalid JSON: {e}"))?;
            Ok(from_json(&v))
        }),
        "base64encode" => arity(a, 1).and_then(|_| Ok(Value::String(base64_encode(str_arg(a, 0)?.as_bytes())))),
        "base64decode" => arity(a, 1).and_then(|_| {
            let bytes = base64_decode(&str_arg(a, 0)?)?;
            String::from_utf8(bytes).map(Value::String).map_err(|_| "the decoded data is not UTF-8".to_string())
        }),
        "urlencode" => arity(a, 1).and_then(|_| Ok(Value::String(urlencode(&str_arg(a, 0)?)))),
        "sha256" => digest::<sha2::Sha256>(a),
        "sha512" => digest::<sha2::Sha512>(a),
        _ => return None,
    })
}

fn f(a: &[Value], i: usize) -> Result<f64, String> {
    let v = &a[i];
    to_number(v).and_then(|n| n.as_f64()).ok_or_else(|| format!("argument {} must be a number, got {}", i + 1, describe(v)))
}

fn number(x: f64) -> FnResult {
    Number::from_f64(x).map(Value::Number).ok_or_else(|| "the result is not a finite number".into())
}

/// A one-number function: whole numbers stay whole when `int_op` can compute them.
fn num1(a: &[Value], int_op: fn(i64) -> Option<i64>, float_op: fn(f64) -> f64) -> FnResult {
    arity(a, 1)?;
    if let Some(v) = to_number(&a[0]).and_then(|n| n.as_i64()).and_then(int_op) {
        return Ok(Value::from(v));
    }
    number(float_op(f(a, 0)?))
}

fn minmax(a: &[Value], max: bool) -> FnResult {
    if a.is_empty() {
        return Err("needs at least one number".into());
    }
    let mut best = 0;
    for i in 1..a.len() {
        let (x, b) = (f(a, i)?, f(a, best)?);
        if (max && x > b) || (!max && x < b) {
            best = i;
        }
    }
    to_number(&a[best]).map(Value::Number).ok_or_else(|| format!("argument {} must be a number", best + 1))
}

fn parseint(a: &[Value]) -> FnResult {
    arity(a, 2)?;
    let s = str_arg(a, 0)?;
    let base = u32::try_from(int_arg(a, 1)?).ok().filter(|b| (2..=62).contains(b)).ok_or("the base must be between 2 and 62")?;
    if base > 36 {
        return Err("bases above 36 are not supported".into());
    }
    i64::from_str_radix(&s, base).map(Value::from).map_err(|_| format!("cannot parse \"{s}\" as a base {base} integer"))
}

fn length(a: &[Value]) -> FnResult {
    arity(a, 1)?;
    match &a[0] {
        Value::Array(l) => Ok(Value::from(l.len())),
        Value::Object(o) => Ok(Value::from(o.len())),
        Value::String(s) => Ok(Value::from(s.chars().count())),
        other => Err(format!("length needs a list, a map or a string, got {}", describe(other))),
    }
}

fn concat(a: &[Value]) -> FnResult {
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend(list_arg(a, i)?);
        if out.len() > MAX_ITEMS {
            return Err("the result is too large".into());
        }
    }
    Ok(Value::Array(out))
}

fn merge(a: &[Value]) -> FnResult {
    let mut out = hcl::Map::new();
    for (i, v) in a.iter().enumerate() {
        match v {
            Value::Object(o) => out.extend(o.clone()),
            Value::Null => {}
            other => return Err(format!("argument {} must be a map or an object, got a {}", i + 1, kind_of(other))),
        }
    }
    Ok(Value::Object(out))
}

fn lookup(a: &[Value]) -> FnResult {
    if !(2..=3).contains(&a.len()) {
        return Err("takes a map, a key and an optional default".into());
    }
    let Value::Object(o) = &a[0] else { return Err(format!("argument 1 must be a map, got a {}", kind_of(&a[0]))) };
    let key = str_arg(a, 1)?;
    match (o.get(&key), a.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(format!("no key \"{key}\" in the map and no default given")),
    }
}

fn obj1(a: &[Value], op: impl Fn(&hcl::Map<String, Value>) -> Value) -> FnResult {
    arity(a, 1)?;
    match &a[0] {
        Value::Object(o) => Ok(op(o)),
        other => Err(format!("needs a map or an object, got a {}", kind_of(other))),
    }
}

fn list1(a: &[Value], op: impl Fn(Vec<Value>) -> Result<Vec<Value>, String>) -> FnResult {
    arity(a, 1)?;
    op(list_arg(a, 0)?).map(Value::Array)
}

fn dedup(l: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn flatten(l: Vec<Value>, out: &mut Vec<Value>, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("lists are nested too deeply".into());
    }
    for v in l {
        match v {
            Value::Array(inner) => flatten(inner, out, depth + 1)?,
            other => out.push(other),
        }
    }
    Ok(())
}

fn element(a: &[Value]) -> FnResult {
    arity(a, 2)?;
    let l = list_arg(a, 0)?;
    if l.is_empty() {
        return Err("cannot use element() on an empty list".into());
    }
    let i = int_arg(a, 1)?;
    let i = usize::try_from(i).map_err(|_| "the index must not be negative".to_string())?;
    Ok(l[i % l.len()].clone())
}

fn slice(a: &[Value]) -> FnResult {
    arity(a, 3)?;
    let l = list_arg(a, 0)?;
    let (from, to) = (int_arg(a, 1)?, int_arg(a, 2)?);
    let (Ok(from), Ok(to)) = (usize::try_from(from), usize::try_from(to)) else { return Err("indexes must not be negative".into()) };
    if from > to || to > l.len() {
        return Err(format!("slice {from}..{to} is out of range for a list of {} elements", l.len()));
    }
    Ok(Value::Array(l[from..to].to_vec()))
}

fn chunklist(a: &[Value]) -> FnResult {
    arity(a, 2)?;
    let l = list_arg(a, 0)?;
    let n = usize::try_from(int_arg(a, 1)?).map_err(|_| "the size must not be negative".to_string())?;
    if n == 0 {
        return Ok(Value::Array(vec![Value::Array(l)]));
    }
    Ok(Value::Array(l.chunks(n).map(|c| Value::Array(c.to_vec())).collect()))
}

fn range(a: &[Value]) -> FnResult {
    let (start, end, step) = match a.len() {
        1 => (0.0, f(a, 0)?, 1.0),
        2 => (f(a, 0)?, f(a, 1)?, 1.0),
        3 => (f(a, 0)?, f(a, 1)?, f(a, 2)?),
        _ => return Err("takes one to three numbers".into()),
    };
    if step == 0.0 || (end - start) / step < 0.0 && start != end {
        return Err("the step must move from the start towards the end".into());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        if out.len() >= MAX_ITEMS {
            return Err("the range is too large".into());
        }
        out.push(number(x)?);
        x += step;
    }
    Ok(Value::Array(out))
}

fn zipmap(a: &[Value]) -> FnResult {
    arity(a, 2)?;
    let (k, v) = (list_arg(a, 0)?, list_arg(a, 1)?);
    if k.len() != v.len() {
        return Err("the key and value lists must have the same length".into());
    }
    let mut out = hcl::Map::new();
    for (k, v) in k.into_iter().zip(v) {
        out.insert(to_string(&k).ok_or_else(|| format!("keys must be strings, got a {}", kind_of(&k)))?, v);
    }
    Ok(Value::Object(out))
}

fn sets(a: &[Value], op: impl Fn(&mut Vec<Value>, Vec<Value>)) -> FnResult {
    let mut acc = dedup(list_arg(a, 0)?);
    for i in 1..a.len() {
        op(&mut acc, list_arg(a, i)?);
        acc = dedup(acc);
    }
    Ok(Value::Array(acc))
}

fn setproduct(a: &[Value]) -> FnResult {
    let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
    for i in 0..a.len() {
        let l = dedup(list_arg(a, i)?);
        if acc.len().saturating_mul(l.len()) > MAX_ITEMS {
            return Err("the result is too large".into());
        }
        acc = acc.into_iter().flat_map(|p| l.iter().map(move |v| [p.clone(), vec![v.clone()]].concat())).collect();
    }
    Ok(Value::Array(acc.into_iter().map(Value::Array).collect()))
}

fn digest<D: sha2::Digest>(a: &[Value]) -> FnResult {
    arity(a, 1)?;
    let out = D::digest(str_arg(a, 0)?.as_bytes());
    Ok(Value::String(out.iter().map(|b| format!("{b:02x}")).collect()))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|b| *b == c).ok_or("invalid base64 data")?;
        buf = (buf << 6) | u32::try_from(v).unwrap_or(0);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buf >> bits) & 0xff).unwrap_or(0));
        }
    }
    Ok(out)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::from(v)
    }

    #[test]
    fn collection_functions() {
        let m1 = Value::Object([("a".to_string(), s("1"))].into_iter().collect());
        let m2 = Value::Object([("b".to_string(), s("2"))].into_iter().collect());
        assert_eq!(call("merge", &[m1.clone(), m2]).unwrap().unwrap().as_object().map(|o| o.len()), Some(2));
        assert_eq!(call("lookup", &[m1.clone(), s("a")]).unwrap(), Ok(s("1")));
        assert_eq!(call("lookup", &[m1, s("z"), s("d")]).unwrap(), Ok(s("d")));
        assert_eq!(
            call("concat", &[Value::Array(vec![s("a")]), Value::Array(vec![s("b")])]).unwrap(),
            Ok(Value::Array(vec![s("a"), s("b")]))
        );
        assert_eq!(call("max", &[Value::from(3), Value::from(7)]).unwrap(), Ok(Value::from(7)));
        assert_eq!(call("floor", &[Value::from(7)]).unwrap(), Ok(Value::from(7)));
        assert_eq!(call("abs", &[Value::from(-7)]).unwrap(), Ok(Value::from(7)));
        assert_eq!(call("range", &[Value::from(3)]).unwrap(), Ok(Value::Array(vec![Value::from(0), Value::from(1), Value::from(2)])));
        assert!(call("range", &[Value::from(1e12)]).unwrap().is_err());
    }

    #[test]
    fn encoding_functions() {
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(call("jsonencode", &[Value::Array(vec![s("a"), Value::from(1)])]).unwrap(), Ok(s("[\"a\",1]")));
        assert_eq!(call("jsondecode", &[s("{\"a\":[1]}")]).unwrap().unwrap().as_object().map(|o| o.len()), Some(1));
        assert_eq!(call("sha256", &[s("")]).unwrap().unwrap().as_str().map(str::len), Some(64));
    }
}
