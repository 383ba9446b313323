//! Each node's computed class (`scheduler::class::computed_class`), kept across evaluations until
//! the node changes. Hashing a node's attributes, meta and drivers took ~3% of a busy C1M leader
//! when every evaluation computed it again for every node it looked at.
//!
//! Derived and local (`NodeMemo`). An entry is valid for the node's `modify_index` (every change
//! to a node moves it); debug builds compute again on every hit and check the two agree.

use super::node_memo::NodeMemo;
use super::ClusterState;
use crate::core::node::Node;

/// Node id → (the node's `modify_index`, its class).
pub type NodeClasses = NodeMemo<(u64, u64)>;

impl ClusterState {
    /// `node`'s class as `compute` gives it, computed once per version of the node.
    pub fn node_class(&self, node: &Node, compute: impl FnOnce(&Node) -> u64) -> u64 {
        let mut memo = self.node_classes.lock();
        if let Some(&(at, class)) = memo.get(node.id.as_str()) {
            if at == node.modify_index {
                #[cfg(debug_assertions)]
                assert_eq!(class, compute(node), "memoised class of node {} is stale", node.id);
                return class;
            }
        }
        let class = compute(node);
        memo.insert(node.id.clone(), (node.modify_index, class));
        class
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_is_computed_once_per_version_of_the_node() {
        let state = ClusterState::default();
        let mut node = Node { id: "n1".into(), modify_index: 3, ..Default::default() };
        let mut calls = 0;
        let class = |n: &Node, calls: &mut u32| {
            *calls += 1;
            n.datacenter.len() as u64
        };
        assert_eq!(state.node_class(&node, |n| class(n, &mut calls)), 0);
        // Debug builds compute again on a hit to check it; count only the misses.
        let after_first = calls;
        assert_eq!(state.node_class(&node, |n| class(n, &mut calls)), 0);
        assert!(calls - after_first <= u32::from(cfg!(debug_assertions)));
        node.datacenter = "dc-two".into();
        node.modify_index = 4;
        assert_eq!(state.node_class(&node, |n| class(n, &mut calls)), 6, "a changed node is computed again");
        assert_eq!(state.clone().node_classes.lock().len(), 0, "a copy starts empty");
    }
}
