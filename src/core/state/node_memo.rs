//! `NodeMemo`: values derived from the state, memoised per node id between reads of the same state
//! (each node's usage, each node's computed class). Derived and local: not serialized, not compared
//! (two states are equal whatever each has memoised), empty in a copy of the state. Behind a mutex,
//! so readers holding the state's read lock can fill it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Node id → a memoised `V`.
pub struct NodeMemo<V>(Mutex<HashMap<String, V>>);

impl<V> Default for NodeMemo<V> {
    fn default() -> Self {
        Self(Mutex::default())
    }
}

impl<V> Clone for NodeMemo<V> {
    /// A copy of the state starts without memoised values.
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<V> PartialEq for NodeMemo<V> {
    /// Derived data: two states are equal whatever each has memoised.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<V> std::fmt::Debug for NodeMemo<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeMemo")
    }
}

impl<V> NodeMemo<V> {
    /// The memo, for a reader of the state.
    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<String, V>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The memo, for apply (which holds the state exclusively).
    pub(super) fn get_mut(&mut self) -> &mut HashMap<String, V> {
        self.0.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops every memoised value (the tables it derives from were replaced).
    pub(super) fn clear(&mut self) {
        self.get_mut().clear();
    }
}
