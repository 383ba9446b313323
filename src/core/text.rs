//! `Text`: a string field whose common values (task event kinds and messages, allocation status
//! descriptions, network modes) point at one static copy instead of a heap string per allocation.
//!
//! With 100,000 allocations in state, each with a few task events, these repeated strings were a
//! large part of the servers' memory. `Text` is a `Cow<'static, str>`: it reads and compares like a
//! `&str`, converts from `&'static str` and `String`, and is (de)serialized as a plain string.

use std::borrow::Cow;

pub type Text = Cow<'static, str>;

/// Values held once, sorted for binary search.
const KNOWN: &[&str] = &[
    "",
    "All tasks have completed",
    "Building Task Directory",
    "Driver",
    "Driver Failure",
    "Failed Validation",
    "Failed tasks",
    "Killed",
    "Killing",
    "No tasks have started",
    "Not Restarting",
    "Policy allows no restarts",
    "Received",
    "Restart Signaled",
    "Restart unnecessary as task terminated successfully",
    "Restarting",
    "Sent interrupt. Waiting 5s before force killing",
    "Signaling",
    "Started",
    "Task Setup",
    "Task received by client",
    "Task started by client",
    "Task successfully killed",
    "Tasks are running",
    "Terminated",
    "User requested restart",
    "alloc is being stopped by user",
    "alloc is lost since its node is down",
    "alloc is lost since its node was purged",
    "alloc not needed as node is no longer eligible",
    "alloc not needed as task group was removed",
    "alloc not needed due to count decrease",
    "alloc not needed due to job being stopped",
    "bridge",
    "default",
    "host",
    "none",
];

/// The static copy of `s` when it is a known value, else `s` itself.
pub fn intern(s: String) -> Text {
    match KNOWN.binary_search(&s.as_str()) {
        Ok(i) => Cow::Borrowed(KNOWN[i]),
        Err(_) => Cow::Owned(s),
    }
}

/// `#[serde(with = "text")]` for `Text` fields: a plain string, interned when read.
pub mod serde_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{intern, Text};

    pub fn serialize<S: Serializer>(t: &Text, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        String::deserialize(d).map(intern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_are_sorted_and_borrowed() {
        assert!(KNOWN.windows(2).all(|w| w[0] < w[1]), "KNOWN must stay sorted and unique");
        assert!(matches!(intern("Started".to_string()), Cow::Borrowed(_)));
        assert!(matches!(intern("exit code 3".to_string()), Cow::Owned(_)));
        let t: Text = serde_text::deserialize(serde_json::Value::String("host".into())).unwrap();
        assert!(matches!(t, Cow::Borrowed("host")));
    }
}
