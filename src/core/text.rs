//! `Text`: an immutable, reference-counted string for the cluster state's repeated values — the
//! ids and names many allocations repeat (eval, node, job, task group, task names, ports), task
//! event kinds and messages, status descriptions.
//!
//! With 100,000 allocations in state these repeated strings were most of a server's memory. A
//! `Text` is one word pair (16 bytes, no heap for the empty string); cloning it counts a reference;
//! values made with `Text::from` share one heap copy through a process-wide pool, which forgets a
//! value once nothing else holds it. `Text::unique` makes a copy of its own, for values nothing
//! repeats (allocation ids). It reads and compares like a `&str` and is (de)serialized as a plain
//! string, so every encoding is unchanged. Sharing is invisible to the state machine: equal
//! values are equal whether they share a copy or not.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

#[derive(Clone, Default)]
pub struct Text(Option<Arc<str>>);

/// The values in use, each once. Swept of values only the pool holds when it has doubled since
/// the last sweep, so a sweep costs amortised O(1) per value added.
struct Pool {
    values: HashSet<Arc<str>>,
    swept_at: usize,
}

/// Smallest size the pool grows to before it is first swept.
const FIRST_SWEEP: usize = 4096;

static POOL: LazyLock<Mutex<Pool>> = LazyLock::new(|| Mutex::new(Pool { values: HashSet::new(), swept_at: FIRST_SWEEP / 2 }));

impl Text {
    pub const EMPTY: Text = Text(None);

    /// The pooled copy of `s`: equal values made this way share one heap string.
    pub fn pooled(s: &str) -> Text {
        if s.is_empty() {
            return Text(None);
        }
        let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = pool.values.get(s) {
            return Text(Some(v.clone()));
        }
        if pool.values.len() >= pool.swept_at * 2 {
            pool.values.retain(|v| Arc::strong_count(v) > 1);
            pool.swept_at = pool.values.len().max(FIRST_SWEEP / 2);
        }
        let v: Arc<str> = Arc::from(s);
        pool.values.insert(v.clone());
        Text(Some(v))
    }

    /// A copy of its own, outside the pool: for values no other object repeats.
    pub fn unique(s: &str) -> Text {
        if s.is_empty() {
            Text(None)
        } else {
            Text(Some(Arc::from(s)))
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// The shared heap string, for maps keyed by it (`None` when empty).
    pub fn shared(&self) -> Option<&Arc<str>> {
        self.0.as_ref()
    }

    /// Values in the pool now (for tests and memory reports).
    pub fn pool_len() -> usize {
        POOL.lock().unwrap_or_else(PoisonError::into_inner).values.len()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::pooled(s)
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text::pooled(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::pooled(&s)
    }
}

/// Shares `s` as it is, outside the pool.
impl From<Arc<str>> for Text {
    fn from(s: Arc<str>) -> Self {
        if s.is_empty() {
            Text(None)
        } else {
            Text(Some(s))
        }
    }
}

impl From<&Text> for Text {
    fn from(t: &Text) -> Self {
        t.clone()
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.as_str().to_string()
    }
}

impl From<&Text> for String {
    fn from(t: &Text) -> Self {
        t.as_str().to_string()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || **a == **b,
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Hashes as its `str`, as `Borrow<str>` requires.
impl Hash for Text {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Reads a string into a `Text` made by `make` (pooled or unique) without an intermediate `String`
/// when the input lends its text.
struct TextVisitor(fn(&str) -> Text);

impl Visitor<'_> for TextVisitor {
    type Value = Text;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
        Ok((self.0)(v))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        d.deserialize_str(TextVisitor(Text::pooled))
    }
}

/// `#[serde(with = "unique")]`: a `Text` field read as a copy of its own (`Text::unique`).
pub mod unique {
    use serde::{Deserializer, Serializer};

    use super::{Text, TextVisitor};

    pub fn serialize<S: Serializer>(t: &Text, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        d.deserialize_str(TextVisitor(Text::unique))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_copy_and_compare_as_strings() {
        let a = Text::from("node-7f3a");
        let b = Text::from(String::from("node-7f3a"));
        assert!(Arc::ptr_eq(a.shared().unwrap(), b.shared().unwrap()), "pooled values share a copy");
        let u = Text::unique("node-7f3a");
        assert!(!Arc::ptr_eq(a.shared().unwrap(), u.shared().unwrap()));
        assert_eq!(a, u);
        assert_eq!(a, "node-7f3a");
        assert_eq!("node-7f3a", a);
        assert_eq!(a.cmp(&Text::from("node-8")), Ordering::Less);
        let (empty, a) = (Text::from(""), Text::from("a"));
        assert!(Text::EMPTY < a && empty.shared().is_none() && empty == Text::EMPTY && empty.is_empty());
        assert_eq!(std::mem::size_of::<Text>(), 16);
    }

    #[test]
    fn serialized_as_a_plain_string() {
        let t: Text = serde_json::from_str(r#""Task started by client""#).unwrap();
        assert_eq!(t, "Task started by client");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""Task started by client""#);
        // Escaped input is read through an owned string.
        let t: Text = serde_json::from_str(r#""a\"b""#).unwrap();
        assert_eq!(t, "a\"b");
        assert!(serde_json::from_str::<Text>("3").unwrap_err().to_string().contains("a string"));
    }

    #[test]
    fn the_pool_forgets_values_nothing_holds() {
        let kept = Text::from("kept-value-of-the-sweep-test");
        for i in 0..FIRST_SWEEP * 4 {
            drop(Text::from(format!("dropped-{i}")));
        }
        // Other tests run concurrently and add a few values; the dropped ones are gone.
        assert!(Text::pool_len() < FIRST_SWEEP * 2 + 64, "{}", Text::pool_len());
        let again = Text::from("kept-value-of-the-sweep-test");
        assert!(Arc::ptr_eq(kept.shared().unwrap(), again.shared().unwrap()));
    }
}
