//! Jobspec errors: what went wrong, where (file:line:column) and in which block.

use std::fmt;

/// A position in a job file, both one-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("syntax error: {0}")]
    Syntax(String),
    #[error("unknown attribute \"{name}\"{}", did_you_mean(.suggestion))]
    UnknownAttribute { name: String, suggestion: Option<String> },
    #[error("unknown block \"{name}\"{}", did_you_mean(.suggestion))]
    UnknownBlock { name: String, suggestion: Option<String> },
    #[error("\"{0}\" is a block, not an attribute: write `{0} {{ … }}`")]
    BlockAsAttribute(String),
    #[error("\"{0}\" is an attribute, not a block: write `{0} = …`")]
    AttributeAsBlock(String),
    #[error("attribute \"{0}\" is set more than once")]
    DuplicateAttribute(String),
    #[error("only one \"{0}\" block is allowed")]
    DuplicateBlock(String),
    #[error("missing required attribute \"{0}\"")]
    MissingAttribute(String),
    #[error("block \"{block}\" takes {expected} label{}, got {got}", if *.expected == 1 { "" } else { "s" })]
    Labels { block: String, expected: usize, got: usize },
    /// A value of the wrong type or out of range for an attribute.
    #[error("attribute \"{name}\": {message}")]
    Value { name: String, message: String },
    /// An expression that could not be evaluated.
    #[error("{0}")]
    Eval(String),
    /// A problem with an input variable or a local.
    #[error("{0}")]
    Variable(String),
    /// A rule of Nomad's job specification that the job breaks.
    #[error("{0}")]
    Invalid(String),
}

fn did_you_mean(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean \"{s}\"?"),
        None => String::new(),
    }
}

/// One error, displayed as `file:line:column: block path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobspecError {
    pub file: String,
    pub pos: Option<Pos>,
    /// Blocks from the job down, e.g. `group "web" > task "api" > resources`; empty at the top.
    pub path: String,
    pub kind: ErrorKind,
}

impl fmt::Display for JobspecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(p) = self.pos {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for JobspecError {}

/// Every error found in a job file (at least one), in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", join_lines(.0))]
pub struct JobspecErrors(pub Vec<JobspecError>);

impl JobspecErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, JobspecError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn join_lines(errs: &[JobspecError]) -> String {
    errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// The closest candidate within a small edit distance, for "did you mean" hints.
pub(crate) fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

/// Damerau-Levenshtein distance (adjacent transpositions count as one edit).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_suggestion() {
        assert_eq!(edit_distance("memroy", "memory"), 1);
        assert_eq!(edit_distance("nterval", "interval"), 1);
        assert_eq!(suggest("memroy", ["cpu", "memory", "memory_max"]), Some("memory".into()));
        assert_eq!(suggest("zzz", ["cpu", "memory"]), None);
    }

    #[test]
    fn display_format() {
        let e = JobspecError {
            file: "example.hcl".into(),
            pos: Some(Pos { line: 12, column: 5 }),
            path: "group \"web\" > task \"api\" > resources".into(),
            kind: ErrorKind::UnknownAttribute { name: "memroy".into(), suggestion: Some("memory".into()) },
        };
        assert_eq!(
            e.to_string(),
            "example.hcl:12:5: group \"web\" > task \"api\" > resources: unknown attribute \"memroy\"; did you mean \"memory\"?"
        );
    }
}
