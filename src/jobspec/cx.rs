//! The decoding context: the file being read, the evaluation scope, and the errors and warnings collected.

use std::collections::BTreeMap;
use std::fmt;

use super::error::{ErrorKind, JobspecError, Pos};
use super::eval::{Env, EvalError};

/// A block path from the job down, shown as `group "web" > task "api" > resources`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Path(Vec<String>);

impl Path {
    /// A child path: the block name and its labels, quoted.
    pub(crate) fn child(&self, ident: &str, labels: &[String]) -> Path {
        let mut seg = ident.to_string();
        for l in labels {
            seg.push_str(&format!(" \"{l}\""));
        }
        let mut v = self.0.clone();
        v.push(seg);
        Path(v)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" > "))
    }
}

/// Byte offsets of line starts, to turn spans into line and column.
#[derive(Debug)]
pub(crate) struct Lines<'s> {
    src: &'s str,
    starts: Vec<usize>,
}

impl<'s> Lines<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        let starts = std::iter::once(0).chain(src.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { src, starts }
    }

    /// The one-based line and column (in characters) of a byte offset.
    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.src.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self.src.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        Pos { line, column }
    }
}

/// What every decoder shares.
pub(crate) struct Cx<'s> {
    pub file: &'s str,
    pub lines: Lines<'s>,
    /// The scope with `var` and `local`.
    pub env: &'s Env<'s>,
    pub errors: Vec<JobspecError>,
    /// Warnings with their positions, to sort them in file order.
    pub warnings: Vec<(Option<Pos>, String)>,
    /// Where each decoded block starts, by path (first one wins), to place later validation errors.
    pub block_starts: BTreeMap<String, usize>,
}

impl<'s> Cx<'s> {
    pub(crate) fn new(file: &'s str, src: &'s str, env: &'s Env<'s>) -> Self {
        Cx { file, lines: Lines::new(src), env, errors: Vec::new(), warnings: Vec::new(), block_starts: BTreeMap::new() }
    }

    pub(crate) fn error(&mut self, at: Option<usize>, path: &Path, kind: ErrorKind) {
        let pos = at.map(|o| self.lines.pos(o));
        self.errors.push(JobspecError { file: self.file.to_string(), pos, path: path.to_string(), kind });
    }

    pub(crate) fn eval_error(&mut self, fallback: Option<usize>, path: &Path, e: EvalError) {
        let at = e.span.map(|s| s.start).or(fallback);
        self.error(at, path, ErrorKind::Eval(e.message));
    }

    pub(crate) fn warn(&mut self, at: Option<usize>, path: &Path, message: &str) {
        let mut w = self.file.to_string();
        let pos = at.map(|o| self.lines.pos(o));
        if let Some(p) = pos {
            w.push_str(&format!(":{}:{}", p.line, p.column));
        }
        if path.0.is_empty() {
            w.push_str(&format!(": {message}"));
        } else {
            w.push_str(&format!(": {path}: {message}"));
        }
        self.warnings.push((pos, w));
    }

    pub(crate) fn mark(&mut self, path: &Path, at: Option<usize>) {
        if let Some(at) = at {
            self.block_starts.entry(path.to_string()).or_insert(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let l = Lines::new("ab\ncdé\n\nx");
        assert_eq!(l.pos(0), Pos { line: 1, column: 1 });
        assert_eq!(l.pos(3), Pos { line: 2, column: 1 });
        assert_eq!(l.pos(5), Pos { line: 2, column: 3 });
        assert_eq!(l.pos(9), Pos { line: 4, column: 1 });
        assert_eq!(l.pos(999), Pos { line: 4, column: 2 });
    }
}
