//! Applying allocation changes: the allocations a plan places, updates or stops (with their
//! replacements linked), and what clients report of the allocations they run.

use super::*;

impl ClusterState {
    /// Indexes an allocation by node and job under `id`, the allocation table's own key.
    pub(super) fn index_alloc(&mut self, id: &Arc<str>) {
        if let Some(a) = self.allocs.get(id) {
            self.allocs_by_node.entry(a.node_id.clone()).or_default().insert(id.clone(), a.alloc_modify_index);
            self.allocs_by_job.entry(JobKey::new(&a.namespace, &a.job_id)).or_default().insert(id.clone());
        }
    }

    pub(super) fn apply_plan(&mut self, index: u64, result: &PlanResult, now: i64) {
        self.apply_plan_deployments(index, result, now);
        for alloc in &result.allocs {
            let mut alloc = Allocation::clone(alloc);
            let previous_deployment = self.allocs.get(alloc.id.as_str()).map(|a| a.deployment_id.clone());
            self.count_placement(index, &alloc, previous_deployment.as_deref(), now);
            match self.allocs.get(alloc.id.as_str()) {
                Some(old) => {
                    // The client may have reported since the plan's snapshot: keep its side.
                    alloc.client_status = old.client_status;
                    alloc.client_description = old.client_description.clone();
                    alloc.task_states = old.task_states.clone();
                    if old.deployment_id == alloc.deployment_id {
                        alloc.deployment_status.clone_from(&old.deployment_status);
                    }
                    alloc.create_index = old.create_index;
                    alloc.create_time = old.create_time;
                }
                None => {
                    alloc.create_index = index;
                    alloc.create_time = now;
                    self.link_replacement(index, &alloc, now);
                }
            }
            alloc.modify_index = index;
            alloc.alloc_modify_index = index;
            alloc.modify_time = now;
            let key = match self.allocs.get_key_value(alloc.id.as_str()) {
                Some((key, old)) => {
                    // Updated (in place or moved): counted again on both nodes.
                    self.usage_cache.forget(&old.node_id);
                    self.usage_cache.forget(&alloc.node_id);
                    self.alloc_changes.node_changed(&old.node_id, index);
                    alloc.id = Text::from(key.clone());
                    key.clone()
                }
                None => {
                    if alloc.holds_resources() {
                        self.usage_cache.placed(&alloc.node_id, &alloc.resources);
                    }
                    alloc.id.shared().cloned().unwrap_or_else(|| Arc::from(""))
                }
            };
            self.alloc_changes.node_changed(&alloc.node_id, index);
            self.alloc_changes.changed(&alloc.id, index);
            self.allocs.insert(key.clone(), Shared::new(alloc));
            self.index_alloc(&key);
        }
        for stop in &result.stops {
            self.stop_alloc(index, stop, now);
        }
        for f in &result.followups {
            if let Some(a) = self.allocs.get_mut(f.alloc_id.as_str()) {
                let a = a.make_mut();
                a.followup_eval_id = Text::from(&f.eval_id);
                a.modify_index = index;
                a.modify_time = now;
                self.alloc_changes.changed(&a.id, index);
            }
        }
        let touched: Vec<&str> =
            result.allocs.iter().map(|a| a.id.as_str()).chain(result.stops.iter().map(|s| s.alloc_id.as_str())).collect();
        self.remove_services_of_terminal(index, &touched);
        if !result.allocs.is_empty() || !result.stops.is_empty() || !result.followups.is_empty() {
            self.touch(table::ALLOCS, index);
        }
        self.upsert_evals(index, result.eval.iter().chain(result.blocked_eval.iter()).chain(&result.followup_evals), now);
    }

    /// A new allocation replacing another: the previous one records its replacement (Nomad's
    /// `NextAllocation`).
    pub(super) fn link_replacement(&mut self, index: u64, alloc: &Allocation, now: i64) {
        if alloc.previous_allocation.is_empty() {
            return;
        }
        if let Some(prev) = self.allocs.get_mut(alloc.previous_allocation.as_str()) {
            let prev = prev.make_mut();
            prev.next_allocation = alloc.id.clone();
            prev.modify_index = index;
            prev.modify_time = now;
            self.alloc_changes.changed(&prev.id, index);
        }
    }

    pub(super) fn stop_alloc(&mut self, index: u64, stop: &AllocStop, now: i64) {
        if let Some(a) = self.allocs.get_mut(stop.alloc_id.as_str()) {
            let a = a.make_mut();
            // A stop frees nothing until the allocation ends (its client reports it, or it is lost).
            if stop.client_status.is_some_and(|cs| cs.terminal() != a.client_status.terminal()) {
                self.usage_cache.forget(&a.node_id);
            }
            a.desired_status = stop.desired_status;
            a.desired_description = Text::from(&stop.description);
            if let Some(cs) = stop.client_status {
                a.client_status = cs;
            }
            a.modify_index = index;
            a.alloc_modify_index = index;
            a.modify_time = now;
            if let Some(i) = self.allocs_by_node.get_mut(a.node_id.as_str()).and_then(|ids| ids.get_mut(a.id.as_str())) {
                *i = index;
            }
            self.alloc_changes.changed(&a.id, index);
            self.alloc_changes.node_changed(&a.node_id, index);
        }
    }

    /// A node went down: its allocations the servers had stopped but whose end its client never
    /// reported are lost (Nomad's `updateNonTerminalAllocsToLost`), so that they end and can be
    /// collected. Those still wanted are the scheduler's: the node's evaluations replace them.
    pub(super) fn lose_stopped_allocs(&mut self, index: u64, node_id: &str, now: i64) {
        self.lose_allocs(index, node_id, now, |a| {
            (a.desired_status != crate::core::alloc::DesiredStatus::Run && !a.client_status.terminal()).then(|| AllocStop {
                alloc_id: a.id.to_string(),
                desired_status: a.desired_status,
                description: a.desired_description.to_string(),
                client_status: Some(ClientStatus::Lost),
            })
        });
    }

    /// Applies to the allocations on `node_id` the stops `lose` gives them (a node purged or down).
    pub(super) fn lose_allocs(&mut self, index: u64, node_id: &str, now: i64, lose: impl Fn(&Allocation) -> Option<AllocStop>) {
        let stops: Vec<AllocStop> = self.allocs_on_node(node_id).filter_map(lose).collect();
        for stop in &stops {
            self.stop_alloc(index, stop, now);
        }
        if !stops.is_empty() {
            self.touch(table::ALLOCS, index);
        }
    }

    pub(super) fn update_allocs_from_client(
        &mut self,
        index: u64,
        node_id: &str,
        updates: &[ClientAllocUpdate],
        now: i64,
    ) -> Option<String> {
        let mut unknown = Vec::new();
        for u in updates {
            match self.allocs.get_mut(u.id.as_str()) {
                Some(a) if a.node_id == node_id => {
                    let a = a.make_mut();
                    let held = a.holds_resources();
                    // A lost allocation stays lost, whatever a late client says.
                    if a.client_status != ClientStatus::Lost {
                        a.client_status = u.client_status;
                    }
                    // Only an end (or, oddly, a restart) changes what it holds.
                    if held != a.holds_resources() {
                        self.usage_cache.forget(&a.node_id);
                    }
                    a.client_description = Text::from(&u.client_description);
                    a.task_states = u.task_states.clone();
                    a.modify_index = index;
                    a.modify_time = now;
                    self.alloc_changes.changed(&a.id, index);
                    if let Some(healthy) = u.deployment_status.as_ref().and_then(|d| d.healthy) {
                        self.set_alloc_health(index, &u.id, healthy, now);
                    }
                }
                _ => unknown.push(u.id.clone()),
            }
        }
        self.touch(table::ALLOCS, index);
        let ids: Vec<&str> = updates.iter().map(|u| u.id.as_str()).collect();
        self.remove_services_of_terminal(index, &ids);
        if unknown.is_empty() {
            None
        } else {
            Some(format!("allocations not found on node {node_id}: {}", unknown.join(", ")))
        }
    }
}
