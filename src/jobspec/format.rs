//! Canonical formatting of HCL job files, as `nomad fmt` (and `terraform fmt`) lay them out: two-space
//! indentation by nesting depth, one space around `=`, the `=` of consecutive one-line attributes
//! aligned, no trailing whitespace, one final newline. Comments, strings and heredocs are kept as written.
//!
//! The formatter works on lines and tokens, not on a syntax tree, so it never drops a comment; the result
//! parses to the same job (a test checks that over every fixture).

/// Lexical state carried from one line to the next.
#[derive(Debug, Clone, PartialEq)]
enum Mode {
    /// Ordinary HCL: brackets count towards the depth.
    Code,
    /// Inside a quoted string; `${`/`%{` open an interpolation.
    Str,
    /// Inside an interpolation; the number is its own bracket depth.
    Interp(u32),
    /// Inside `/* … */`.
    Comment,
}

/// What one line holds, as the layout needs it.
struct LineScan {
    /// Brackets closed at the very start of the line (they dedent the line itself).
    leading_closers: i32,
    /// Net change of code depth over the line.
    delta: i32,
    /// The heredoc this line opens (its terminator and whether it is `<<-`), if any.
    heredoc: Option<String>,
    /// Whether the line started inside a string or comment (then it is kept verbatim).
    verbatim: bool,
}

/// Scans one line from `stack`'s state, updating it.
fn scan(line: &str, stack: &mut Vec<Mode>) -> LineScan {
    let verbatim = !matches!(stack.last(), None | Some(Mode::Code));
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut delta = 0i32;
    let mut leading_closers = 0i32;
    let mut seen_code = false;
    let mut heredoc = None;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match stack.last().cloned().unwrap_or(Mode::Code) {
            Mode::Code => match c {
                b'#' => break,
                b'/' if next == Some(b'/') => break,
                b'/' if next == Some(b'*') => {
                    stack.push(Mode::Comment);
                    i += 1;
                }
                b'"' => {
                    stack.push(Mode::Str);
                    seen_code = true;
                }
                b'<' if next == Some(b'<') => {
                    let rest = &line[i + 2..];
                    let rest = rest.strip_prefix('-').unwrap_or(rest);
                    let word: String = rest.chars().take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_').collect();
                    if !word.is_empty() {
                        heredoc = Some(word);
                        break;
                    }
                    seen_code = true;
                }
                b'{' | b'[' | b'(' => {
                    delta += 1;
                    seen_code = true;
                }
                b'}' | b']' | b')' => {
                    delta -= 1;
                    if !seen_code {
                        leading_closers += 1;
                    }
                }
                b' ' | b'\t' => {}
                _ => seen_code = true,
            },
            Mode::Str => match c {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                b'$' | b'%' if next == Some(b'{') => {
                    stack.push(Mode::Interp(0));
                    i += 1;
                }
                _ => {}
            },
            Mode::Interp(n) => match c {
                b'"' => stack.push(Mode::Str),
                b'{' => *stack.last_mut().expect("interp") = Mode::Interp(n + 1),
                b'}' if n == 0 => {
                    stack.pop();
                }
                b'}' => *stack.last_mut().expect("interp") = Mode::Interp(n - 1),
                _ => {}
            },
            Mode::Comment => {
                if c == b'*' && next == Some(b'/') {
                    stack.pop();
                    i += 1;
                }
            }
        }
        i += 1;
    }
    LineScan { leading_closers, delta, heredoc, verbatim }
}

/// The `name = value` split of a one-line attribute, when the line is one.
fn attribute(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_start();
    let key_len = if let Some(rest) = t.strip_prefix('"') {
        rest.find('"')? + 2
    } else {
        t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?
    };
    if key_len == 0 {
        return None;
    }
    let (key, rest) = t.split_at(key_len);
    let rest = rest.trim_start();
    let value = rest.strip_prefix('=')?;
    if value.starts_with('=') {
        return None;
    }
    Some((key, value.trim()))
}

/// Formats HCL source. Idempotent: formatting the result again changes nothing.
pub fn format_hcl(src: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    // Indices into `out` of the current run of aligned attributes, with their key widths.
    let mut run: Vec<(usize, usize)> = Vec::new();
    let mut depth = 0i32;
    let mut stack: Vec<Mode> = Vec::new();
    let mut heredoc: Option<String> = None;

    let flush = |out: &mut Vec<String>, run: &mut Vec<(usize, usize)>| {
        let width = run.iter().map(|(_, w)| *w).max().unwrap_or(0);
        for (idx, w) in run.drain(..) {
            if let Some(pos) = out[idx].find(" = ").filter(|_| w < width) {
                out[idx].insert_str(pos, &" ".repeat(width - w));
            }
        }
    };

    for raw in src.lines() {
        let line = raw.trim_end();
        if let Some(term) = &heredoc {
            if line.trim() == term {
                heredoc = None;
            }
            out.push(raw.to_string());
            continue;
        }
        let s = scan(line, &mut stack);
        if s.verbatim {
            flush(&mut out, &mut run);
            out.push(line.to_string());
            depth += s.delta;
            heredoc = s.heredoc;
            continue;
        }
        let indent = "  ".repeat((depth - s.leading_closers).max(0) as usize);
        let body = line.trim_start();
        let multi_line = s.delta != 0 || s.heredoc.is_some() || !matches!(stack.last(), None | Some(Mode::Code));
        match attribute(body) {
            // A multi-line value ends the run of aligned attributes and is not aligned itself.
            Some((key, value)) if multi_line => {
                flush(&mut out, &mut run);
                out.push(format!("{indent}{key} = {value}"));
            }
            Some((key, value)) => {
                out.push(format!("{indent}{key} = {value}"));
                run.push((out.len() - 1, key.chars().count()));
            }
            _ => {
                flush(&mut out, &mut run);
                out.push(if body.is_empty() { String::new() } else { format!("{indent}{body}") });
            }
        }
        depth = (depth + s.delta).max(0);
        heredoc = s.heredoc;
    }
    flush(&mut out, &mut run);
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::format_hcl;

    #[test]
    fn indents_and_aligns() {
        let src = "job \"x\" {\ndatacenters=[\"dc1\"]\n   type = \"batch\"\n group \"g\" {\n count=1 # c\n\n  task \"t\" {\n driver = \"raw_exec\"\n }\n}\n}\n\n\n";
        let want = "job \"x\" {\n  datacenters = [\"dc1\"]\n  type        = \"batch\"\n  group \"g\" {\n    count = 1 # c\n\n    task \"t\" {\n      driver = \"raw_exec\"\n    }\n  }\n}\n";
        assert_eq!(format_hcl(src), want);
        assert_eq!(format_hcl(want), want);
    }

    #[test]
    fn keeps_strings_and_heredocs() {
        let src = "x {\n  a = \"{ not a block\"\n  b = <<EOF\n  keep   this {\nEOF\n  c = \"${lookup(m, \"}\")}\"\n}\n";
        let out = format_hcl(src);
        assert!(out.contains("  keep   this {\nEOF\n"), "{out}");
        assert!(out.ends_with("  c = \"${lookup(m, \"}\")}\"\n}\n"), "{out}");
    }
}
