//! Read-only questions about the state: allocations by node and job, evaluations by job and
//! status, variables by prefix, stored job versions, a job's status, and the namespaces in use.

use super::*;

impl ClusterState {
    pub fn allocs_on_node<'a>(&'a self, node_id: &str) -> impl Iterator<Item = &'a Allocation> + 'a {
        self.allocs_by_node.get(node_id).into_iter().flat_map(|ids| ids.keys()).filter_map(|id| self.allocs.get(&**id)).map(|a| &**a)
    }

    /// The ids of the allocations on `node_id`, each with its `AllocModifyIndex`, in id order.
    pub fn alloc_ids_on_node<'a>(&'a self, node_id: &str) -> impl Iterator<Item = (&'a Arc<str>, u64)> + 'a {
        self.allocs_by_node.get(node_id).into_iter().flat_map(|ids| ids.iter().map(|(id, i)| (id, *i)))
    }

    pub fn allocs_of_job<'a>(&'a self, key: &JobKey) -> impl Iterator<Item = &'a Allocation> + 'a {
        self.allocs_by_job.get(key).into_iter().flatten().filter_map(|id| self.allocs.get(&**id)).map(|a| &**a)
    }

    pub fn evals_of_job<'a>(&'a self, key: &'a JobKey) -> impl Iterator<Item = &'a Evaluation> + 'a {
        self.evals.values().filter(move |e| e.namespace == key.namespace && e.job_id == key.id)
    }

    /// Pending evaluations, highest priority first, then oldest.
    pub fn pending_evals(&self) -> Vec<&Evaluation> {
        let mut v: Vec<&Evaluation> = self.pending_evals.iter().filter_map(|id| self.evals.get(id)).collect();
        v.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.create_index.cmp(&b.create_index)).then(a.id.cmp(&b.id)));
        v
    }

    pub fn blocked_evals(&self) -> impl Iterator<Item = &Evaluation> {
        self.evals.values().filter(|e| e.status == EvalStatus::Blocked)
    }

    /// Variables of a namespace (`*`: all) whose path starts with `prefix`, in (namespace, path) order.
    pub fn vars_with_prefix<'a>(&'a self, namespace: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a Variable> + 'a {
        self.vars.values().map(|v| &**v).filter(move |v| (namespace == "*" || v.namespace == namespace) && v.path.starts_with(prefix))
    }

    pub fn job_version(&self, key: &JobKey, version: u64) -> Option<&Job> {
        self.job_versions.get(&(key.clone(), version))
    }

    /// Nomad's job status, derived from the job and its allocations.
    pub fn job_status(&self, job: &Job) -> JobStatus {
        // A periodic or parameterized job runs as long as it is not stopped; its children do the work.
        if job.is_parent() {
            return if job.stop { JobStatus::Dead } else { JobStatus::Running };
        }
        let key = job.key();
        let mut any = false;
        let mut live = false;
        for a in self.allocs_of_job(&key) {
            any = true;
            if !a.terminal() || (!a.client_status.terminal() && !a.task_states.is_empty()) {
                live = true;
            }
        }
        let pending_eval = self.evals_of_job(&key).any(|e| matches!(e.status, EvalStatus::Pending | EvalStatus::Blocked));
        if live {
            JobStatus::Running
        } else if job.stop || (any && matches!(job.job_type, JobType::Batch | JobType::Sysbatch)) {
            JobStatus::Dead
        } else if pending_eval || !any {
            JobStatus::Pending
        } else {
            JobStatus::Dead
        }
    }

    /// The namespaces in use: `default`, and every namespace a job or variable was written to.
    pub fn namespaces(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.jobs.keys().map(|k| k.namespace.clone()).collect();
        names.extend(self.vars.keys().map(|k| k.namespace.clone()));
        names.insert("default".into());
        names
    }
}
