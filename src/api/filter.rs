//! Nomad's `?filter=` expressions (the go-bexpr language) over API JSON objects: selectors such as
//! `Status`, `Meta.rack` or `Meta["a.b"]`, the operators `==`, `!=`, `contains`, `not contains`, `in`,
//! `not in`, `matches`, `not matches`, `is empty`, `is not empty`, combined with `and`, `or`, `not`
//! and parentheses. A selector that reaches a list matches when any element does, as in Nomad.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("failed to parse filter at offset {at}: {message}")]
pub struct FilterError {
    pub at: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq,
    Ne,
    Contains,
    NotContains,
    In,
    NotIn,
    Matches,
    NotMatches,
    Empty,
    NotEmpty,
}

#[derive(Debug, Clone)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Match { selector: Vec<String>, op: Op, value: String, regex: Option<regex::Regex> },
}

/// A parsed filter, ready to test objects.
#[derive(Debug, Clone)]
pub struct Filter(Expr);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    Dot,
    LBracket,
    RBracket,
    EqEq,
    NotEq,
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' | b')' | b'.' | b'[' | b']' => {
                out.push((
                    start,
                    [Tok::LParen, Tok::RParen, Tok::Dot, Tok::LBracket, Tok::RBracket][b"().[]".iter().position(|x| *x == c).unwrap_or(0)]
                        .clone(),
                ));
                i += 1;
            }
            b'=' if b.get(i + 1) == Some(&b'=') => {
                out.push((start, Tok::EqEq));
                i += 2;
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                out.push((start, Tok::NotEq));
                i += 2;
            }
            b'"' | b'`' => {
                let quote = c;
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&ch) = b.get(i) else {
                        return Err(FilterError { at: start, message: "unterminated string".into() });
                    };
                    if ch == quote {
                        i += 1;
                        break;
                    }
                    if ch == b'\\' && quote == b'"' {
                        match b.get(i + 1) {
                            Some(&e @ (b'"' | b'\\')) => s.push(e as char),
                            Some(b'n') => s.push('\n'),
                            Some(b't') => s.push('\t'),
                            _ => return Err(FilterError { at: i, message: "invalid escape".into() }),
                        }
                        i += 2;
                        continue;
                    }
                    let len = utf8_len(ch);
                    s.push_str(&src[i..i + len]);
                    i += len;
                }
                out.push((start, Tok::Str(s)));
            }
            _ if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'/' || c >= 0x80 => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'-' | b'/' | b':') || b[i] >= 0x80) {
                    i += 1;
                }
                out.push((start, Tok::Word(src[start..i].to_string())));
            }
            _ => return Err(FilterError { at: start, message: format!("unexpected character '{}'", c as char) }),
        }
    }
    Ok(out)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(a, _)| *a)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError { at: self.at(), message: message.into() })
    }

    fn word_is(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }

    fn next_word_is(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos + 1).map(|(_, t)| t), Some(Tok::Word(x)) if x == w)
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.word_is("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.not()?;
        while self.word_is("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.word_is("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.peek() != Some(&Tok::RParen) {
                return self.err("expected ')'");
            }
            self.pos += 1;
            return Ok(e);
        }
        self.matcher()
    }

    fn value(&mut self) -> Result<String, FilterError> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) | Some(Tok::Word(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => self.err("expected a value"),
        }
    }

    fn selector(&mut self) -> Result<Vec<String>, FilterError> {
        let mut path = match self.peek().cloned() {
            Some(Tok::Word(w)) => {
                self.pos += 1;
                vec![w]
            }
            _ => return self.err("expected a selector"),
        };
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    match self.peek().cloned() {
                        Some(Tok::Word(w)) => {
                            self.pos += 1;
                            path.push(w);
                        }
                        _ => return self.err("expected a field name after '.'"),
                    }
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    let key = self.value()?;
                    if self.peek() != Some(&Tok::RBracket) {
                        return self.err("expected ']'");
                    }
                    self.pos += 1;
                    path.push(key);
                }
                _ => return Ok(path),
            }
        }
    }

    fn matcher(&mut self) -> Result<Expr, FilterError> {
        // `"value" in Selector` / `"value" not in Selector`
        if matches!(self.peek(), Some(Tok::Str(_)))
            || (matches!(self.peek(), Some(Tok::Word(_))) && (self.next_word_is("in") || self.next_word_is("not")))
        {
            let save = self.pos;
            let value = self.value()?;
            let negated = self.word_is("not");
            if negated {
                self.pos += 1;
            }
            if self.word_is("in") {
                self.pos += 1;
                let selector = self.selector()?;
                return Ok(Expr::Match { selector, op: if negated { Op::NotIn } else { Op::In }, value, regex: None });
            }
            self.pos = save;
        }
        let selector = self.selector()?;
        let op = match self.peek().cloned() {
            Some(Tok::EqEq) => Op::Eq,
            Some(Tok::NotEq) => Op::Ne,
            Some(Tok::Word(w)) if w == "contains" => Op::Contains,
            Some(Tok::Word(w)) if w == "matches" => Op::Matches,
            Some(Tok::Word(w)) if w == "is" => {
                self.pos += 1;
                let negated = self.word_is("not");
                if negated {
                    self.pos += 1;
                }
                if !self.word_is("empty") {
                    return self.err("expected 'empty' after 'is'");
                }
                self.pos += 1;
                return Ok(Expr::Match { selector, op: if negated { Op::NotEmpty } else { Op::Empty }, value: String::new(), regex: None });
            }
            Some(Tok::Word(w)) if w == "not" => {
                self.pos += 1;
                match self.peek() {
                    Some(Tok::Word(w)) if w == "contains" => Op::NotContains,
                    Some(Tok::Word(w)) if w == "matches" => Op::NotMatches,
                    _ => return self.err("expected 'contains' or 'matches' after 'not'"),
                }
            }
            _ => return self.err("expected an operator (==, !=, contains, matches, in, is empty)"),
        };
        self.pos += 1;
        let at = self.at();
        let value = self.value()?;
        let regex = match op {
            Op::Matches | Op::NotMatches => {
                Some(regex::Regex::new(&value).map_err(|e| FilterError { at, message: format!("invalid regular expression: {e}") })?)
            }
            _ => None,
        };
        Ok(Expr::Match { selector, op, value, regex })
    }
}

impl Filter {
    pub fn parse(src: &str) -> Result<Filter, FilterError> {
        let toks = lex(src)?;
        let mut p = Parser { toks, pos: 0, end: src.len() };
        if p.peek().is_none() {
            return p.err("empty filter");
        }
        let e = p.or()?;
        if p.peek().is_some() {
            return p.err("unexpected input after the expression");
        }
        Ok(Filter(e))
    }

    /// Whether `obj` (an API object as JSON) passes the filter.
    pub fn matches(&self, obj: &Value) -> bool {
        eval(&self.0, obj)
    }
}

fn eval(e: &Expr, obj: &Value) -> bool {
    match e {
        Expr::And(a, b) => eval(a, obj) && eval(b, obj),
        Expr::Or(a, b) => eval(a, obj) || eval(b, obj),
        Expr::Not(a) => !eval(a, obj),
        Expr::Match { selector, op, value, regex } => {
            let found = resolve(obj, selector);
            match op {
                Op::Eq => found.iter().any(|v| scalar_eq(v, value)),
                Op::Ne => !found.iter().any(|v| scalar_eq(v, value)),
                Op::Contains | Op::In => found.iter().any(|v| contains(v, value)),
                Op::NotContains | Op::NotIn => !found.iter().any(|v| contains(v, value)),
                Op::Matches => found.iter().any(|v| as_text(v).is_some_and(|t| regex.as_ref().is_some_and(|r| r.is_match(&t)))),
                Op::NotMatches => !found.iter().any(|v| as_text(v).is_some_and(|t| regex.as_ref().is_some_and(|r| r.is_match(&t)))),
                Op::Empty => found.iter().all(|v| is_empty(v)),
                Op::NotEmpty => found.iter().any(|v| !is_empty(v)),
            }
        }
    }
}

/// Every value the selector reaches; lists on the way fan out (any element may match).
fn resolve<'a>(v: &'a Value, path: &[String]) -> Vec<&'a Value> {
    let Some((first, rest)) = path.split_first() else { return vec![v] };
    match v {
        Value::Object(m) => m.get(first).map(|x| resolve(x, rest)).unwrap_or_default(),
        Value::Array(items) => items.iter().flat_map(|x| resolve(x, path)).collect(),
        _ => Vec::new(),
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn scalar_eq(v: &Value, want: &str) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|x| scalar_eq(x, want)),
        other => as_text(other).is_some_and(|t| t == want),
    }
}

fn contains(v: &Value, want: &str) -> bool {
    match v {
        Value::String(s) => s.contains(want),
        Value::Array(items) => items.iter().any(|x| as_text(x).is_some_and(|t| t == want)),
        Value::Object(m) => m.contains_key(want),
        _ => false,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(src: &str, v: &Value) -> bool {
        Filter::parse(src).unwrap_or_else(|e| panic!("{src}: {e}")).matches(v)
    }

    #[test]
    fn operators_and_combinations() {
        let job = json!({ "ID": "web", "Status": "running", "Type": "service", "Priority": 50,
            "Meta": { "team": "a", "a.b": "x" }, "Datacenters": ["dc1", "dc2"], "TaskGroups": [{ "Name": "g1" }, { "Name": "g2" }] });
        assert!(f(r#"Status == "running""#, &job));
        assert!(f("Status == running", &job));
        assert!(!f(r#"Status != "running""#, &job));
        assert!(f("Priority == 50", &job));
        assert!(f(r#""dc2" in Datacenters"#, &job));
        assert!(f(r#""dc3" not in Datacenters"#, &job));
        assert!(f(r#"Datacenters contains "dc1""#, &job));
        assert!(f(r#"ID matches "^w.b$""#, &job));
        assert!(f(r#"ID not matches "^api""#, &job));
        assert!(f(r#"Meta.team == "a" and Meta["a.b"] == "x""#, &job));
        assert!(f(r#"TaskGroups.Name == "g2""#, &job));
        assert!(f(r#"Meta.missing is empty and Meta is not empty"#, &job));
        assert!(f(r#"not (Type == "batch" or Type == "system")"#, &job));
        assert!(!f(r#"Type == "batch" or (Status == "dead" and Priority == 50)"#, &job));
    }

    #[test]
    fn errors_say_where() {
        for bad in ["", "Status ==", "Status = \"x\"", "(Status == \"a\"", "ID matches \"(\"", "Status == \"x\" junk", "\"unterminated"] {
            let e = Filter::parse(bad).expect_err(bad);
            assert!(e.to_string().starts_with("failed to parse filter"), "{bad}: {e}");
        }
    }
}
