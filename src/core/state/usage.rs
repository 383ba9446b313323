//! What the allocations in the state use on each node, memoised between reads of the same state.
//!
//! The scheduler asks for a node's usage for every node it considers and the plan verifier for
//! every node of a plan; counting it means looking each allocation of the node up in the
//! allocation table. With hundreds of allocations per node that was a third of a loaded leader's
//! CPU (the C1M benchmark). The count is kept per node: a new allocation placed there is added to
//! it; anything else that changes what an allocation on that node holds — updated, ended (its
//! client's report, or marked lost), garbage-collected while holding — drops that node's entry.
//! A stop alone or a client's report that it runs changes nothing held and keeps it. It is derived
//! and local (`NodeMemo`). Debug builds recount on every hit and check the two agree.

use std::collections::BTreeSet;

use super::node_memo::NodeMemo;
use super::ClusterState;
use crate::core::resources::AllocatedResources;
use crate::core::scheduler::fit::Usage;

/// Node id → usage of the allocations on it that hold resources.
pub type UsageCache = NodeMemo<Usage>;

impl ClusterState {
    /// The resources held on `node_id` by its allocations (those whose client has not reported
    /// them ended).
    pub fn node_usage(&self, node_id: &str) -> Usage {
        let mut cache = self.usage_cache.lock();
        if let Some(u) = cache.get(node_id) {
            debug_assert_eq!(*u, self.count_usage(node_id), "memoised usage of node {node_id} is stale");
            return u.clone();
        }
        let u = self.count_usage(node_id);
        cache.insert(node_id.to_string(), u.clone());
        u
    }

    fn count_usage(&self, node_id: &str) -> Usage {
        Usage::of_node(self, node_id, &BTreeSet::new())
    }
}

impl NodeMemo<Usage> {
    /// A new allocation holding `res` on `node_id`: added to its memoised usage, if there is one
    /// (a recount adds the same).
    pub(super) fn placed(&mut self, node_id: &str, res: &AllocatedResources) {
        if let Some(u) = self.get_mut().get_mut(node_id) {
            u.add(res);
        }
    }

    /// Drops the memoised usage of `node_id`: an allocation on it changed what it holds.
    pub(super) fn forget(&mut self, node_id: &str) {
        self.get_mut().remove(node_id);
    }
}
