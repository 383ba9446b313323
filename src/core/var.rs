//! Variables (Nomad's Variables): string items stored at a path in a namespace, and the rules a write must satisfy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The longest path a variable may have, in characters.
pub const MAX_PATH_LEN: usize = 128;
/// The largest a variable's items may be once encoded as JSON, in bytes (Nomad's limit).
pub const MAX_ITEMS_BYTES: usize = 64 * 1024;

/// A variable's identity: its namespace and path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct VarKey {
    pub namespace: String,
    pub path: String,
}

impl VarKey {
    pub fn new(namespace: &str, path: &str) -> Self {
        Self { namespace: namespace.into(), path: path.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Variable {
    pub namespace: String,
    pub path: String,
    pub items: BTreeMap<String, String>,
    /// Raft index of the write that created the variable.
    pub create_index: u64,
    /// Raft index of the last write; the check-and-set index of the next one.
    pub modify_index: u64,
    /// Unix nanoseconds, stamped before the command was proposed.
    pub create_time: i64,
    pub modify_time: i64,
}

/// Why a variable cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("missing variable path")]
    EmptyPath,
    #[error("invalid variable path \"{path}\": {len} characters, the limit is {MAX_PATH_LEN}")]
    PathTooLong { path: String, len: usize },
    #[error("invalid variable path \"{path}\": character {ch:?} is not allowed (allowed: a-z A-Z 0-9 - _ ~ /)")]
    PathChar { path: String, ch: char },
    #[error("invalid variable path \"{0}\": it must not start or end with \"/\"")]
    PathEdgeSlash(String),
    #[error("invalid variable path \"{0}\": it must not contain \"//\"")]
    PathEmptySegment(String),
    #[error("variable missing required Items object")]
    NoItems,
    #[error("variable item keys must not be empty")]
    EmptyItemKey,
    #[error("variable items are limited to {MAX_ITEMS_BYTES} bytes (64 KiB) when encoded; these items encode to {size} bytes")]
    TooLarge { size: usize },
}

/// Checks a path as Nomad does: 1 to 128 characters of `[a-zA-Z0-9-_~/]`, no leading or trailing `/`, no `//`.
pub fn validate_path(path: &str) -> Result<(), VarError> {
    if path.is_empty() {
        return Err(VarError::EmptyPath);
    }
    if let Some(ch) = path.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_~/".contains(*c))) {
        return Err(VarError::PathChar { path: path.into(), ch });
    }
    let len = path.chars().count();
    if len > MAX_PATH_LEN {
        return Err(VarError::PathTooLong { path: path.into(), len });
    }
    if path.starts_with('/') || path.ends_with('/') {
        return Err(VarError::PathEdgeSlash(path.into()));
    }
    if path.contains("//") {
        return Err(VarError::PathEmptySegment(path.into()));
    }
    Ok(())
}

/// The size of items encoded as JSON, the measure of the 64 KiB limit.
pub fn items_size(items: &BTreeMap<String, String>) -> usize {
    serde_json::to_vec(items).map_or(usize::MAX, |b| b.len())
}

impl Variable {
    pub fn key(&self) -> VarKey {
        VarKey::new(&self.namespace, &self.path)
    }

    /// The rules of a write: a valid path and at least one item, with non-empty keys, within 64 KiB.
    pub fn validate(&self) -> Result<(), VarError> {
        validate_path(&self.path)?;
        if self.items.is_empty() {
            return Err(VarError::NoItems);
        }
        if self.items.keys().any(String::is_empty) {
            return Err(VarError::EmptyItemKey);
        }
        let size = items_size(&self.items);
        if size > MAX_ITEMS_BYTES {
            return Err(VarError::TooLarge { size });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in ["a", "nomad/jobs/web", "a-b_c~d/E9", &"x".repeat(128)] {
            assert_eq!(validate_path(ok), Ok(()), "{ok}");
        }
        assert_eq!(validate_path(""), Err(VarError::EmptyPath));
        assert!(matches!(validate_path(&"x".repeat(129)), Err(VarError::PathTooLong { len: 129, .. })));
        assert!(matches!(validate_path("a b"), Err(VarError::PathChar { ch: ' ', .. })));
        assert!(matches!(validate_path("a.b"), Err(VarError::PathChar { ch: '.', .. })));
        assert!(matches!(validate_path("a/é"), Err(VarError::PathChar { ch: 'é', .. })));
        assert_eq!(validate_path("/a"), Err(VarError::PathEdgeSlash("/a".into())));
        assert_eq!(validate_path("a/"), Err(VarError::PathEdgeSlash("a/".into())));
        assert_eq!(validate_path("a//b"), Err(VarError::PathEmptySegment("a//b".into())));
    }

    #[test]
    fn items_are_required_and_limited() {
        let mut v = Variable { path: "p".into(), ..Default::default() };
        assert_eq!(v.validate(), Err(VarError::NoItems));
        v.items.insert(String::new(), "x".into());
        assert_eq!(v.validate(), Err(VarError::EmptyItemKey));
        v.items.clear();
        // {"k":"…"} is 8 bytes of framing around the value
        v.items.insert("k".into(), "x".repeat(MAX_ITEMS_BYTES - 8));
        assert_eq!(items_size(&v.items), MAX_ITEMS_BYTES);
        assert_eq!(v.validate(), Ok(()));
        v.items.insert("k".into(), "x".repeat(MAX_ITEMS_BYTES - 7));
        let err = v.validate().unwrap_err();
        assert_eq!(err, VarError::TooLarge { size: MAX_ITEMS_BYTES + 1 });
        assert!(err.to_string().contains("65536") && err.to_string().contains("65537"), "{err}");
    }
}
