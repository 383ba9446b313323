//! JSON configuration text into the positioned tree (serde_json keeps no positions): a small strict
//! RFC 8259 reader that records where every key and value starts.

use hcl::{Number, Value};

use crate::jobspec::{ErrorKind, JobspecError, Lines};

use super::tree::{Entry, Kind, Node};

const MAX_DEPTH: usize = 128;

/// Parses JSON text; a syntax error carries its position.
pub(crate) fn parse(src: &str, file: &str) -> Result<Node, Vec<JobspecError>> {
    let mut r = JsonReader { src: src.as_bytes(), text: src, pos: 0 };
    let result = r.value(0).and_then(|v| {
        r.skip_ws();
        if r.pos < r.src.len() {
            Err(r.error("unexpected text after the JSON value"))
        } else {
            Ok(v)
        }
    });
    result.map_err(|(at, message)| {
        let pos = Some(Lines::new(src).pos(at));
        vec![JobspecError { file: file.into(), pos, path: String::new(), kind: ErrorKind::Syntax(message) }]
    })
}

type JsonResult<T> = Result<T, (usize, String)>;

struct JsonReader<'s> {
    src: &'s [u8],
    text: &'s str,
    pos: usize,
}

impl JsonReader<'_> {
    fn error(&self, message: &str) -> (usize, String) {
        (self.pos, message.to_string())
    }

    fn skip_ws(&mut self) {
        while self.pos < self.src.len() && matches!(self.src[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn expect(&mut self, b: u8, message: &str) -> JsonResult<()> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(message))
        }
    }

    fn value(&mut self, depth: usize) -> JsonResult<Node> {
        if depth > MAX_DEPTH {
            return Err(self.error("JSON is nested too deeply"));
        }
        self.skip_ws();
        let at = Some(self.pos);
        let kind = match self.peek() {
            Some(b'{') => Kind::Object(self.object(depth)?),
            Some(b'[') => Kind::List(self.list(depth)?),
            Some(b'"') => Kind::Scalar(Value::String(self.string()?)),
            Some(b't') => self.word("true", Value::Bool(true))?,
            Some(b'f') => self.word("false", Value::Bool(false))?,
            Some(b'n') => self.word("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => Kind::Scalar(Value::Number(self.number()?)),
            Some(_) => return Err(self.error("expected a JSON value")),
            None => return Err(self.error("unexpected end of the file")),
        };
        Ok(Node { at, kind })
    }

    fn word(&mut self, w: &str, v: Value) -> JsonResult<Kind> {
        if self.src[self.pos..].starts_with(w.as_bytes()) {
            self.pos += w.len();
            Ok(Kind::Scalar(v))
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn object(&mut self, depth: usize) -> JsonResult<Vec<Entry>> {
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(entries);
        }
        loop {
            self.skip_ws();
            let at = Some(self.pos);
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a quoted object key"));
            }
            let key = self.string()?;
            self.expect(b':', "expected ':' after an object key")?;
            let value = self.value(depth + 1)?;
            entries.push(Entry { key, at, block: false, labels: Vec::new(), value });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(entries);
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn list(&mut self, depth: usize) -> JsonResult<Vec<Node>> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn string(&mut self) -> JsonResult<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while self.pos < self.src.len() && !matches!(self.src[self.pos], b'"' | b'\\' | 0..=0x1f) {
                self.pos += 1;
            }
            // Stops only at ASCII bytes, so the slice is on character boundaries.
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.escape()?;
                    out.push(c);
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    fn escape(&mut self) -> JsonResult<char> {
        let Some(b) = self.peek() else { return Err(self.error("unterminated string")) };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    if !self.src[self.pos..].starts_with(b"\\u") {
                        return Err(self.error("unpaired surrogate in a \\u escape"));
                    }
                    self.pos += 2;
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(self.error("unpaired surrogate in a \\u escape"));
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).ok_or_else(|| self.error("invalid \\u escape"))?
                } else {
                    char::from_u32(hi).ok_or_else(|| self.error("invalid \\u escape"))?
                }
            }
            _ => {
                self.pos -= 1;
                return Err(self.error("invalid escape in a string"));
            }
        })
    }

    fn hex4(&mut self) -> JsonResult<u32> {
        let digits = self.text.get(self.pos..self.pos + 4).filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(d) = digits else { return Err(self.error("expected four hex digits after \\u")) };
        self.pos += 4;
        u32::from_str_radix(d, 16).map_err(|_| self.error("expected four hex digits after \\u"))
    }

    fn number(&mut self) -> JsonResult<Number> {
        let start = self.pos;
        let digits = |r: &mut Self| {
            let s = r.pos;
            while r.peek().is_some_and(|b| b.is_ascii_digit()) {
                r.pos += 1;
            }
            r.pos > s
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.peek() == Some(b'0') {
            self.pos += 1;
        } else if !digits(self) {
            return Err(self.error("expected a digit"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.error("expected a digit after '.'"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        let s = &self.text[start..self.pos];
        if let Ok(i) = s.parse::<i64>() {
            return Ok(Number::from(i));
        }
        if let Ok(u) = s.parse::<u64>() {
            return Ok(Number::from(u));
        }
        s.parse::<f64>().ok().and_then(Number::from_f64).ok_or((start, format!("number {s} is out of range")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobspec::Pos;

    #[test]
    fn reads_json_with_positions() {
        let src = "{\n  \"client\": {\"enabled\": true, \"meta\": {\"a\": \"\\u00e9\\n\"}},\n  \"ports\": [1, -2.5e1, null]\n}";
        let n = parse(src, "c.json").unwrap();
        let e = n.entries();
        assert_eq!(e[0].key, "client");
        assert_eq!(Lines::new(src).pos(e[0].at.unwrap()), Pos { line: 2, column: 3 });
        assert_eq!(e[0].value.entries()[1].value.entries()[0].value.to_value(), Value::from("é\n"));
        let ports = e[1].value.to_value();
        assert_eq!(ports, Value::Array(vec![Value::from(1), Value::Number(Number::from_f64(-25.0).unwrap()), Value::Null]));
    }

    #[test]
    fn syntax_errors_have_positions() {
        for (src, line, column) in
            [("{\"a\": 1,}", 1, 9), ("{\n  \"a\" 1\n}", 2, 7), ("[1 2]", 1, 4), ("{\"a\": tru}", 1, 7), ("{} x", 1, 4)]
        {
            let e = parse(src, "c.json").unwrap_err();
            assert_eq!(e[0].pos, Some(Pos { line, column }), "{src}: {}", e[0]);
            assert!(matches!(e[0].kind, ErrorKind::Syntax(_)));
        }
        assert!(parse(&"[".repeat(500), "c.json").is_err());
        assert!(parse("\"\\ud800\"", "c.json").is_err());
    }
}
