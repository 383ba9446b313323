//! Applying a garbage collection (`Command::Gc`): what `core::gc` chose and is still collectable
//! is removed, with the secondary indexes kept in step.

use super::*;

impl ClusterState {
    /// Removes what `request` lists and is still collectable (decided on the state before anything is
    /// removed), keeping the secondary indexes in step.
    pub(super) fn collect_garbage(&mut self, index: u64, request: &crate::core::gc::GcRequest) {
        use crate::core::gc;
        let (now, t) = (request.now, request.thresholds());
        let jobs: BTreeSet<JobKey> = request.jobs.iter().filter(|k| gc::job_collectable(self, k, now, &t)).cloned().collect();
        let evals: BTreeSet<String> = request
            .evals
            .iter()
            .filter(|id| {
                self.evals.get(id.as_str()).is_some_and(|e| jobs.contains(&JobKey::new(&e.namespace, &e.job_id)))
                    || gc::eval_collectable(self, id, now, &t)
            })
            .cloned()
            .collect();
        let allocs: Vec<String> = request
            .allocs
            .iter()
            .filter(|id| {
                self.allocs.get(id.as_str()).is_some_and(|a| {
                    jobs.contains(&JobKey::new(&a.namespace, &a.job_id))
                        || (gc::alloc_collectable(self, a, now, &t)
                            && (evals.contains(a.eval_id.as_str()) || !self.evals.contains_key(a.eval_id.as_str())))
                })
            })
            .cloned()
            .collect();
        let nodes: Vec<String> = request.nodes.iter().filter(|id| gc::node_collectable(self, id, now, &t)).cloned().collect();
        let deployments: Vec<String> = request
            .deployments
            .iter()
            .filter(|id| {
                self.deployments.get(id.as_str()).is_some_and(|d| !d.active() && d.modify_time <= now.saturating_sub(t.deployment))
            })
            .cloned()
            .collect();

        for id in &allocs {
            if let Some(a) = self.allocs.remove(id.as_str()) {
                if a.holds_resources() {
                    self.usage_cache.forget(&a.node_id);
                }
                self.alloc_changes.alloc_removed(&a.node_id, index);
                if let Some(ids) = self.allocs_by_node.get_mut(a.node_id.as_str()) {
                    ids.remove(id.as_str());
                    if ids.is_empty() {
                        self.allocs_by_node.remove(a.node_id.as_str());
                    }
                }
                unindex(&mut self.allocs_by_job, &JobKey::new(&a.namespace, &a.job_id), id);
            }
        }
        for id in &evals {
            self.evals.remove(id);
            self.pending_evals.remove(id);
        }
        for key in &jobs {
            self.jobs.remove(key);
            self.job_versions.retain(|(k, _), _| k != key);
        }
        for id in &nodes {
            self.nodes.remove(id);
            self.alloc_changes.node_removed(id);
        }
        for id in &deployments {
            self.deployments.remove(id);
        }
        for (removed, table) in [
            (!jobs.is_empty(), table::JOBS),
            (!evals.is_empty(), table::EVALS),
            (!allocs.is_empty(), table::ALLOCS),
            (!nodes.is_empty(), table::NODES),
            (!deployments.is_empty(), table::DEPLOYMENTS),
        ] {
            if removed {
                self.touch(table, index);
            }
        }
    }
}

/// Takes `id` out of a secondary index, dropping the key's set when it empties.
fn unindex<K: Ord>(map: &mut BTreeMap<K, BTreeSet<Arc<str>>>, key: &K, id: &str) {
    if let Some(set) = map.get_mut(key) {
        set.remove(id);
        if set.is_empty() {
            map.remove(key);
        }
    }
}
