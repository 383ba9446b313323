//! The HCL functions Nomad's jobspec2 offers, dispatched by name; string functions live here,
//! collection, number and encoding functions in [`super::funcs_data`].

use hcl::Value;

use super::funcs_data;
use super::types::{describe, kind_of, to_number, to_string};

/// Result of a function: its value, or a message (the caller adds the function name and position).
pub(crate) type FnResult = Result<Value, String>;

/// Calls a function with evaluated arguments (`try`, `can` and `convert` are handled by the evaluator).
pub(crate) fn call(name: &str, args: Vec<Value>) -> FnResult {
    let a = &args[..];
    match name {
        // strings
        "chomp" => str1(a, |s| s.trim_end_matches(['\n', '\r']).to_string()),
        "format" => format(a),
        "formatlist" => formatlist(a),
        "indent" => indent(a),
        "join" => join(a),
        "lower" => str1(a, str::to_lowercase),
        "upper" => str1(a, str::to_uppercase),
        "replace" => replace(a),
        "regex_replace" => regex_replace(a),
        "split" => split(a),
        "strlen" => str1v(a, |s| Value::from(s.chars().count())),
        "strrev" => str1(a, |s| s.chars().rev().collect()),
        "substr" => substr(a),
        "title" => str1(a, title),
        "trim" => trim(a, |s, cut| s.trim_matches(|c| cut.contains(c)).to_string()),
        "trimprefix" => trim(a, |s, p| s.strip_prefix(p).unwrap_or(s).to_string()),
        "trimsuffix" => trim(a, |s, p| s.strip_suffix(p).unwrap_or(s).to_string()),
        "trimspace" => str1(a, |s| s.trim().to_string()),
        // paths (pure string operations)
        "basename" => str1(a, |s| s.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string()),
        "dirname" => str1(a, dirname),
        "file" | "filebase64" | "fileexists" | "fileset" | "abspath" | "pathexpand" => {
            Err("file system functions are not available in job files; pass the content in a variable instead".into())
        }
        "uuidv4" | "uuidv5" | "bcrypt" | "timestamp" | "rsadecrypt" | "md5" | "timeadd" | "formatdate" | "yamldecode" | "yamlencode" => {
            Err("this function is not supported by drover".into())
        }
        _ => funcs_data::call(name, a).unwrap_or_else(|| Err(unknown(name))),
    }
}

fn unknown(name: &str) -> String {
    let hint =
        super::error::suggest(name, funcs_data::NAMES.iter().copied()).map(|s| format!("; did you mean \"{s}\"?")).unwrap_or_default();
    format!("unknown function \"{name}\"{hint}")
}

pub(crate) fn arity(a: &[Value], n: usize) -> Result<(), String> {
    if a.len() == n {
        Ok(())
    } else {
        Err(format!("takes {n} argument{}, got {}", if n == 1 { "" } else { "s" }, a.len()))
    }
}

pub(crate) fn str_arg(a: &[Value], i: usize) -> Result<String, String> {
    let v = a.get(i).ok_or_else(|| format!("missing argument {}", i + 1))?;
    to_string(v).ok_or_else(|| format!("argument {} must be a string, got a {}", i + 1, kind_of(v)))
}

pub(crate) fn int_arg(a: &[Value], i: usize) -> Result<i64, String> {
    let v = a.get(i).ok_or_else(|| format!("missing argument {}", i + 1))?;
    let n = to_number(v).ok_or_else(|| format!("argument {} must be a number, got {}", i + 1, describe(v)))?;
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
        .ok_or_else(|| format!("argument {} must be a whole number", i + 1))
}

pub(crate) fn list_arg(a: &[Value], i: usize) -> Result<Vec<Value>, String> {
    match a.get(i) {
        Some(Value::Array(v)) => Ok(v.clone()),
        Some(other) => Err(format!("argument {} must be a list, got a {}", i + 1, kind_of(other))),
        None => Err(format!("missing argument {}", i + 1)),
    }
}

fn str1(a: &[Value], f: impl Fn(&str) -> String) -> FnResult {
    arity(a, 1)?;
    Ok(Value::String(f(&str_arg(a, 0)?)))
}

fn str1v(a: &[Value], f: impl Fn(&str) -> Value) -> FnResult {
    arity(a, 1)?;
    Ok(f(&str_arg(a, 0)?))
}

fn trim(a: &[Value], f: impl Fn(&str, &str) -> String) -> FnResult {
    arity(a, 2)?;
    Ok(Value::String(f(&str_arg(a, 0)?, &str_arg(a, 1)?)))
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

fn dirname(s: &str) -> String {
    match s.trim_end_matches('/').rfind('/') {
        Some(0) => "/".into(),
        Some(i) => s[..i].to_string(),
        None => ".".into(),
    }
}

fn join(a: &[Value]) -> FnResult {
    if a.len() < 2 {
        return Err("takes a separator and at least one list".into());
    }
    let sep = str_arg(a, 0)?;
    let mut parts = Vec::new();
    for i in 1..a.len() {
        for v in list_arg(a, i)? {
            parts.push(to_string(&v).ok_or_else(|| format!("list elements must be strings, got a {}", kind_of(&v)))?);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

fn split(a: &[Value]) -> FnResult {
    arity(a, 2)?;
    let (sep, s) = (str_arg(a, 0)?, str_arg(a, 1)?);
    if s.is_empty() {
        return Ok(Value::Array(vec![Value::from("")]));
    }
    if sep.is_empty() {
        return Ok(Value::Array(s.chars().map(|c| Value::String(c.to_string())).collect()));
    }
    Ok(Value::Array(s.split(sep.as_str()).map(Value::from).collect()))
}

fn replace(a: &[Value]) -> FnResult {
    arity(a, 3)?;
    let (s, find, with) = (str_arg(a, 0)?, str_arg(a, 1)?, str_arg(a, 2)?);
    if find.len() > 1 && find.starts_with('/') && find.ends_with('/') {
        let re = regex::Regex::new(&find[1..find.len() - 1]).map_err(|e| format!("invalid regular expression: {e}"))?;
        return Ok(Value::String(re.replace_all(&s, go_replacement(&with).as_str()).into_owned()));
    }
    if find.is_empty() {
        return Ok(Value::String(s));
    }
    Ok(Value::String(s.replace(&find, &with)))
}

fn regex_replace(a: &[Value]) -> FnResult {
    arity(a, 3)?;
    let (s, pat, with) = (str_arg(a, 0)?, str_arg(a, 1)?, str_arg(a, 2)?);
    let re = regex::Regex::new(&pat).map_err(|e| format!("invalid regular expression: {e}"))?;
    Ok(Value::String(re.replace_all(&s, go_replacement(&with).as_str()).into_owned()))
}

/// Go's `$1` references are `${1}` in Rust's regex so that `$1x` is not read as group `1x`.
fn go_replacement(with: &str) -> String {
    let mut out = String::new();
    let mut chars = with.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push_str("${");
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                out.push(d);
            }
            out.push('}');
        } else {
            out.push(c);
        }
    }
    out
}

fn substr(a: &[Value]) -> FnResult {
    arity(a, 3)?;
    let chars: Vec<char> = str_arg(a, 0)?.chars().collect();
    let len = i64::try_from(chars.len()).unwrap_or(i64::MAX);
    let mut off = int_arg(a, 1)?;
    let n = int_arg(a, 2)?;
    if off < 0 {
        off = (len + off).max(0);
    }
    let off = off.min(len);
    let end = if n < 0 { len } else { off.saturating_add(n).min(len) };
    let (off, end) = (usize::try_from(off).unwrap_or(0), usize::try_from(end).unwrap_or(0));
    Ok(Value::String(chars.get(off..end.max(off)).map(|c| c.iter().collect()).unwrap_or_default()))
}

fn indent(a: &[Value]) -> FnResult {
    arity(a, 2)?;
    let n = usize::try_from(int_arg(a, 0)?).map_err(|_| "the indent must not be negative".to_string())?.min(1024);
    let s = str_arg(a, 1)?;
    let pad = " ".repeat(n);
    Ok(Value::String(
        s.split('\n').enumerate().map(|(i, l)| if i == 0 { l.to_string() } else { format!("{pad}{l}") }).collect::<Vec<_>>().join("\n"),
    ))
}

fn formatlist(a: &[Value]) -> FnResult {
    let fmt = str_arg(a, 0)?;
    let mut n = None;
    for v in &a[1..] {
        if let Value::Array(l) = v {
            if n.is_some_and(|n| n != l.len()) {
                return Err("all list arguments must have the same length".into());
            }
            n = Some(l.len());
        }
    }
    let Some(n) = n else { return format(a).map(|v| Value::Array(vec![v])) };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut args = vec![Value::String(fmt.clone())];
        for v in &a[1..] {
            args.push(match v {
                Value::Array(l) => l.get(i).cloned().unwrap_or(Value::Null),
                other => other.clone(),
            });
        }
        out.push(format(&args)?);
    }
    Ok(Value::Array(out))
}

/// cty's `format`: Go-style verbs `%v %#v %s %q %d %f %e %g %t %x %X %o %b %%` with flags, width,
/// precision and `%[n]` argument indexes.
fn format(a: &[Value]) -> FnResult {
    let fmt: Vec<char> = str_arg(a, 0)?.chars().collect();
    let args = &a[1..];
    let mut out = String::new();
    let (mut i, mut next) = (0, 0usize);
    while i < fmt.len() {
        if fmt[i] != '%' {
            out.push(fmt[i]);
            i += 1;
            continue;
        }
        i += 1;
        let mut flags = String::new();
        while i < fmt.len() && "+-# 0".contains(fmt[i]) {
            flags.push(fmt[i]);
            i += 1;
        }
        if i + 2 < fmt.len() && fmt[i] == '[' {
            let close = fmt[i..].iter().position(|&c| c == ']').ok_or("unterminated argument index")?;
            let idx: usize = fmt[i + 1..i + close].iter().collect::<String>().parse().map_err(|_| "bad argument index")?;
            next = idx.checked_sub(1).ok_or("argument indexes start at 1")?;
            i += close + 1;
        }
        let width = read_num(&fmt, &mut i);
        let prec = if fmt.get(i) == Some(&'.') {
            i += 1;
            Some(read_num(&fmt, &mut i).unwrap_or(0))
        } else {
            None
        };
        let Some(&verb) = fmt.get(i) else { return Err("format string ends with an incomplete verb".into()) };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args.get(next).ok_or_else(|| format!("not enough arguments for the format string (verb %{verb})"))?;
        next += 1;
        let s = format_verb(verb, &flags, prec, arg)?;
        pad(&mut out, &s, width.unwrap_or(0).min(4096), &flags);
    }
    Ok(Value::String(out))
}

fn read_num(fmt: &[char], i: &mut usize) -> Option<usize> {
    let start = *i;
    while *i < fmt.len() && fmt[*i].is_ascii_digit() {
        *i += 1;
    }
    fmt[start..*i].iter().collect::<String>().parse().ok()
}

fn pad(out: &mut String, s: &str, width: usize, flags: &str) {
    let fill = width.saturating_sub(s.chars().count());
    if flags.contains('-') {
        out.push_str(s);
        out.push_str(&" ".repeat(fill));
    } else if flags.contains('0') && s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+') {
        let (sign, digits) = if s.starts_with(['-', '+']) { s.split_at(1) } else { ("", s) };
        out.push_str(sign);
        out.push_str(&"0".repeat(fill));
        out.push_str(digits);
    } else {
        out.push_str(&" ".repeat(fill));
        out.push_str(s);
    }
}

fn format_verb(verb: char, flags: &str, prec: Option<usize>, arg: &Value) -> Result<String, String> {
    let prec = prec.map(|p| p.min(64));
    let num = || to_number(arg).ok_or_else(|| format!("%{verb} needs a number, got {}", describe(arg)));
    let int = || -> Result<i64, String> { num()?.as_i64().ok_or_else(|| format!("%{verb} needs a whole number")) };
    let signed = |s: String| if flags.contains('+') && !s.starts_with('-') { format!("+{s}") } else { s };
    Ok(match verb {
        'v' if flags.contains('#') => serde_json::to_string(&super::types::to_json(arg)).unwrap_or_default(),
        'v' | 's' => match arg {
            Value::Array(_) | Value::Object(_) if verb == 's' => return Err(format!("%s needs a string, got a {}", kind_of(arg))),
            Value::Array(_) | Value::Object(_) | Value::Null => serde_json::to_string(&super::types::to_json(arg)).unwrap_or_default(),
            other => {
                let s = to_string(other).unwrap_or_default();
                match prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
        },
        'q' => {
            serde_json::to_string(&to_string(arg).ok_or_else(|| format!("%q needs a string, got a {}", kind_of(arg)))?).unwrap_or_default()
        }
        't' => match arg {
            Value::Bool(b) => b.to_string(),
            other => return Err(format!("%t needs a bool, got {}", describe(other))),
        },
        'd' => signed(int()?.to_string()),
        'x' => hex(int()?, false),
        'X' => hex(int()?, true),
        'o' => radix(int()?, 8),
        'b' => radix(int()?, 2),
        'f' | 'F' => signed(format!("{:.*}", prec.unwrap_or(6), num()?.as_f64().unwrap_or(0.0))),
        'e' | 'E' => {
            let s = go_exp(num()?.as_f64().unwrap_or(0.0), prec.unwrap_or(6));
            signed(if verb == 'E' { s.to_uppercase() } else { s })
        }
        'g' | 'G' => signed(num()?.to_string()),
        other => return Err(format!("unsupported format verb %{other}")),
    })
}

fn hex(v: i64, upper: bool) -> String {
    let s = if upper { format!("{:X}", v.unsigned_abs()) } else { format!("{:x}", v.unsigned_abs()) };
    if v < 0 {
        format!("-{s}")
    } else {
        s
    }
}

fn radix(v: i64, r: u32) -> String {
    let s = if r == 8 { format!("{:o}", v.unsigned_abs()) } else { format!("{:b}", v.unsigned_abs()) };
    if v < 0 {
        format!("-{s}")
    } else {
        s
    }
}

/// Go's `%e`: mantissa with `prec` decimals and a signed exponent of at least two digits.
fn go_exp(v: f64, prec: usize) -> String {
    let s = format!("{v:.prec$e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = if let Some(d) = e.strip_prefix('-') { ('-', d) } else { ('+', e) };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::from(v)
    }

    #[test]
    fn string_functions() {
        assert_eq!(call("format", vec![s("%s-%03d"), s("web"), Value::from(7)]), Ok(s("web-007")));
        assert_eq!(
            call("format", vec![s("%v %q %t %.2f"), Value::from(1), s("x"), Value::Bool(true), Value::from(1)]),
            Ok(s("1 \"x\" true 1.00"))
        );
        assert_eq!(call("join", vec![s(","), Value::Array(vec![s("a"), s("b")])]), Ok(s("a,b")));
        assert_eq!(call("split", vec![s(","), s("a,b")]), Ok(Value::Array(vec![s("a"), s("b")])));
        assert_eq!(call("replace", vec![s("a-b-c"), s("-"), s("_")]), Ok(s("a_b_c")));
        assert_eq!(call("replace", vec![s("v1.2"), s("/v(\\d)/"), s("$1")]), Ok(s("1.2")));
        assert_eq!(call("substr", vec![s("hello"), Value::from(1), Value::from(3)]), Ok(s("ell")));
        assert_eq!(call("title", vec![s("hello world")]), Ok(s("Hello World")));
        assert_eq!(call("trimspace", vec![s("  x \n")]), Ok(s("x")));
        assert!(call("nosuch", vec![]).is_err());
        assert!(call("format", vec![s("%d")]).is_err());
    }
}
