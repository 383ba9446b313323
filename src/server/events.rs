//! The event stream's source: events derived after each applied batch by diffing the objects whose
//! `ModifyIndex` passed the last published index (jobs, allocations, evaluations, nodes, native
//! service registrations), kept in a
//! bounded in-memory ring buffer per server, with a watch of the newest event index for subscribers.
//!
//! Events carry core objects (cheap `Shared` clones for allocations); the HTTP layer renders them
//! as Nomad JSON only when a subscriber reads them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::core::alloc::Allocation;
use crate::core::eval::Evaluation;
use crate::core::job::{Job, JobKey, JobStatus};
use crate::core::node::{Node, NodeStatus};
use crate::core::service_reg::ServiceRegistration;
use crate::core::shared::Shared;
use crate::core::state::{table, ClusterState};

/// Raft indexes (each with one or more events) kept in the buffer; older ones are dropped.
pub const BUFFER_INDEXES: usize = 1024;
/// Events kept in the buffer at most (a plan of thousands of allocations is one index): the buffer
/// holds old versions of objects alive, so it is bounded by what it holds too.
pub const BUFFER_EVENTS: usize = 16_384;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Topic {
    Job,
    Allocation,
    Evaluation,
    Node,
    Service,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Job => "Job",
            Topic::Allocation => "Allocation",
            Topic::Evaluation => "Evaluation",
            Topic::Node => "Node",
            Topic::Service => "Service",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Job" => Some(Topic::Job),
            "Allocation" => Some(Topic::Allocation),
            "Evaluation" => Some(Topic::Evaluation),
            "Node" => Some(Topic::Node),
            "Service" => Some(Topic::Service),
            _ => None,
        }
    }
}

/// The object an event is about, as it was at the event's index.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A job with its status (pending, running, dead) at the event's index.
    Job(Box<Job>, JobStatus),
    /// A purged job: only its key is left.
    JobGone(JobKey),
    Allocation(Shared<Allocation>),
    Evaluation(Box<Evaluation>),
    Node(Box<Node>),
    /// A purged node: only its id is left.
    NodeGone(String),
    /// A service registration as registered, or as it was when it was removed.
    Service(Box<ServiceRegistration>),
}

/// One event, Nomad's `{Topic, Type, Key, Namespace, Index, Payload}`.
#[derive(Debug, Clone)]
pub struct Event {
    pub topic: Topic,
    pub kind: &'static str,
    pub key: String,
    /// Empty for objects without a namespace (nodes).
    pub namespace: String,
    pub index: u64,
    /// Extra keys a `topic=Topic:key` filter also matches (an allocation's job and eval, an
    /// evaluation's job, as Nomad's `FilterKeys`).
    pub filter_keys: Vec<String>,
    pub payload: Payload,
}

/// The events of one Raft index.
#[derive(Debug)]
pub struct EventBatch {
    pub index: u64,
    pub events: Vec<Event>,
}

/// The ring buffer of recent event batches and the watch subscribers wait on.
pub struct EventBuffer {
    batches: Mutex<Batches>,
    capacity: usize,
    max_events: usize,
    newest: watch::Sender<u64>,
}

#[derive(Default)]
struct Batches {
    list: VecDeque<Arc<EventBatch>>,
    events: usize,
}

impl Default for EventBuffer {
    fn default() -> Self {
        Self::new(BUFFER_INDEXES, BUFFER_EVENTS)
    }
}

impl EventBuffer {
    /// A buffer of at most `capacity` indexes and `max_events` events (but always the newest index).
    pub fn new(capacity: usize, max_events: usize) -> Self {
        Self { batches: Mutex::default(), capacity: capacity.max(1), max_events, newest: watch::channel(0).0 }
    }

    /// Appends batches (in index order) and wakes subscribers.
    pub fn push(&self, batches: Vec<EventBatch>) {
        let Some(last) = batches.last().map(|b| b.index) else { return };
        {
            let mut buf = self.batches.lock().unwrap_or_else(|e| e.into_inner());
            for b in batches {
                buf.events += b.events.len();
                buf.list.push_back(Arc::new(b));
            }
            while buf.list.len() > self.capacity || (buf.events > self.max_events && buf.list.len() > 1) {
                if let Some(old) = buf.list.pop_front() {
                    buf.events -= old.events.len();
                }
            }
        }
        self.newest.send_replace(last);
    }

    /// Batches with an index above `after`, oldest first (if `after` fell out of the buffer, the
    /// stream starts at the oldest one kept, as Nomad's does).
    pub fn after(&self, after: u64) -> Vec<Arc<EventBatch>> {
        let buf = self.batches.lock().unwrap_or_else(|e| e.into_inner());
        let start = buf.list.partition_point(|b| b.index <= after);
        buf.list.range(start..).cloned().collect()
    }

    /// The newest index with events; changes whenever a batch is pushed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.newest.subscribe()
    }
}

/// What the deriver remembers between batches to tell registrations, updates and removals apart.
#[derive(Debug, Default)]
pub struct Deriver {
    /// The index up to which events were derived.
    last: u64,
    jobs: BTreeSet<JobKey>,
    /// Node id → (status, eligible, draining).
    nodes: BTreeMap<String, (NodeStatus, bool, bool)>,
    /// Registrations by id as last seen, for the deregistration events of removed ones.
    services: BTreeMap<String, ServiceRegistration>,
    tables: BTreeMap<&'static str, u64>,
}

impl Deriver {
    /// Starts after the state as it is now: existing objects produce no events.
    pub fn new(state: &ClusterState) -> Self {
        Self {
            last: state.index,
            jobs: state.jobs.keys().cloned().collect(),
            nodes: state.nodes.iter().map(|(id, n)| (id.clone(), (n.status, n.eligible, n.drain))).collect(),
            services: state.services.clone(),
            tables: [table::JOBS, table::ALLOCS, table::EVALS, table::NODES, table::SERVICES]
                .into_iter()
                .map(|t| (t, state.table_index(t)))
                .collect(),
        }
    }

    fn changed(&mut self, state: &ClusterState, t: &'static str) -> bool {
        let now = state.table_index(t);
        let before = self.tables.insert(t, now).unwrap_or(0);
        now != before
    }

    /// Events for every object changed since the last call, grouped by index in index order.
    pub fn derive(&mut self, state: &ClusterState) -> Vec<EventBatch> {
        let last = self.last;
        if state.index <= last && state.index != 0 {
            return Vec::new();
        }
        let at = state.index;
        let mut events: Vec<Event> = Vec::new();
        if self.changed(state, table::JOBS) {
            self.jobs_changed(state, last, at, &mut events);
        }
        if self.changed(state, table::NODES) {
            self.nodes_changed(state, last, at, &mut events);
        }
        if self.changed(state, table::EVALS) {
            for e in state.evals.values().filter(|e| e.modify_index > last) {
                events.push(Event {
                    topic: Topic::Evaluation,
                    kind: "EvaluationUpdated",
                    key: e.id.clone(),
                    namespace: e.namespace.clone(),
                    index: e.modify_index,
                    filter_keys: vec![e.job_id.clone()],
                    payload: Payload::Evaluation(Box::new(e.clone())),
                });
            }
        }
        if self.changed(state, table::ALLOCS) {
            // The allocations the state's change log names, or (when it does not reach back to
            // `last`) a scan of all of them.
            let logged: Vec<&Shared<Allocation>>;
            let changed: Box<dyn Iterator<Item = &Shared<Allocation>>> = match state.allocs_changed_since(last) {
                Some(ids) => {
                    logged = ids.iter().filter_map(|id| state.allocs.get(id.as_str())).collect();
                    Box::new(logged.into_iter())
                }
                None => Box::new(state.allocs.values()),
            };
            for a in changed.filter(|a| a.modify_index > last) {
                // A change by the scheduler moves AllocModifyIndex too; a client's report does not.
                let kind = if a.alloc_modify_index == a.modify_index { "PlanResult" } else { "AllocationUpdated" };
                events.push(Event {
                    topic: Topic::Allocation,
                    kind,
                    key: a.id.to_string(),
                    namespace: a.namespace.to_string(),
                    index: a.modify_index,
                    filter_keys: vec![a.job_id.to_string(), a.eval_id.to_string()],
                    payload: Payload::Allocation(a.clone()),
                });
            }
        }
        if self.changed(state, table::SERVICES) {
            self.services_changed(state, last, at, &mut events);
        }
        self.last = at.max(last);
        // Stable order inside an index: by topic, then key.
        events.sort_by(|a, b| (a.index, a.topic, &a.key).cmp(&(b.index, b.topic, &b.key)));
        let mut batches: Vec<EventBatch> = Vec::new();
        for e in events {
            match batches.last_mut() {
                Some(b) if b.index == e.index => b.events.push(e),
                _ => batches.push(EventBatch { index: e.index, events: vec![e] }),
            }
        }
        batches
    }

    fn jobs_changed(&mut self, state: &ClusterState, last: u64, at: u64, events: &mut Vec<Event>) {
        for j in state.jobs.values().filter(|j| j.modify_index > last) {
            let kind = if j.stop { "JobDeregistered" } else { "JobRegistered" };
            events.push(job_event(kind, j.key(), j.modify_index, Payload::Job(Box::new(j.clone()), state.job_status(j))));
        }
        let gone: Vec<JobKey> = self.jobs.iter().filter(|k| !state.jobs.contains_key(*k)).cloned().collect();
        for k in gone {
            self.jobs.remove(&k);
            events.push(job_event("JobDeregistered", k.clone(), at, Payload::JobGone(k)));
        }
        self.jobs.extend(state.jobs.keys().filter(|k| !self.jobs.contains(*k)).cloned().collect::<Vec<_>>());
    }

    fn nodes_changed(&mut self, state: &ClusterState, last: u64, at: u64, events: &mut Vec<Event>) {
        for n in state.nodes.values().filter(|n| n.modify_index > last) {
            let kind = match self.nodes.insert(n.id.clone(), (n.status, n.eligible, n.drain)) {
                None => "NodeRegistration",
                Some((status, _, _)) if status != n.status => "NodeStreamEvent",
                Some((_, _, drain)) if drain != n.drain => "NodeDrain",
                Some((_, eligible, _)) if eligible != n.eligible => "NodeEligibility",
                Some(_) => "NodeRegistration",
            };
            events.push(node_event(kind, n.id.clone(), n.modify_index, Payload::Node(Box::new(n.clone()))));
        }
        let gone: Vec<String> = self.nodes.keys().filter(|id| !state.nodes.contains_key(*id)).cloned().collect();
        for id in gone {
            self.nodes.remove(&id);
            events.push(node_event("NodeDeregistration", id.clone(), at, Payload::NodeGone(id)));
        }
    }

    fn services_changed(&mut self, state: &ClusterState, last: u64, at: u64, events: &mut Vec<Event>) {
        for r in state.services.values().filter(|r| r.modify_index > last) {
            self.services.insert(r.id.clone(), r.clone());
            events.push(service_event("ServiceRegistration", r.modify_index, r));
        }
        let gone: Vec<String> = self.services.keys().filter(|id| !state.services.contains_key(*id)).cloned().collect();
        for id in gone {
            if let Some(r) = self.services.remove(&id) {
                events.push(service_event("ServiceDeregistration", at, &r));
            }
        }
    }
}

/// A service event: keyed by the service's name; its registration, allocation and job ids filter too.
fn service_event(kind: &'static str, index: u64, r: &ServiceRegistration) -> Event {
    Event {
        topic: Topic::Service,
        kind,
        key: r.service_name.clone(),
        namespace: r.namespace.clone(),
        index,
        filter_keys: vec![r.id.clone(), r.alloc_id.clone(), r.job_id.clone()],
        payload: Payload::Service(Box::new(r.clone())),
    }
}

fn job_event(kind: &'static str, key: JobKey, index: u64, payload: Payload) -> Event {
    Event { topic: Topic::Job, kind, key: key.id.clone(), namespace: key.namespace.clone(), index, filter_keys: Vec::new(), payload }
}

fn node_event(kind: &'static str, id: String, index: u64, payload: Payload) -> Event {
    Event { topic: Topic::Node, kind, key: id, namespace: String::new(), index, filter_keys: Vec::new(), payload }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::command::Command;

    fn job(id: &str) -> Job {
        let mut j = Job { id: id.into(), ..Default::default() };
        j.canonicalize();
        j
    }

    #[test]
    fn registrations_and_purges_become_job_events() {
        let mut state = ClusterState::default();
        let mut d = Deriver::new(&state);
        state.apply(1, &Command::RegisterJob { job: job("a"), eval: None, now: 1 });
        let batches = d.derive(&state);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].index, 1);
        assert_eq!((batches[0].events[0].topic, batches[0].events[0].kind), (Topic::Job, "JobRegistered"));
        // Nothing changed: nothing derived.
        assert!(d.derive(&state).is_empty());
        state.apply(2, &Command::DeregisterJob { namespace: "default".into(), job_id: "a".into(), purge: true, eval: None, now: 2 });
        let batches = d.derive(&state);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].events[0].kind, "JobDeregistered");
        assert_eq!(batches[0].events[0].key, "a");
    }

    #[test]
    fn a_drain_and_its_end_become_node_drain_events() {
        let mut state = ClusterState::default();
        let node = Node { id: "n".into(), eligible: true, ..Default::default() };
        state.apply(1, &Command::RegisterNode { node, evals: vec![], now: 1 });
        let mut d = Deriver::new(&state);
        let drain = Some(crate::core::node::DrainStrategy::default());
        let cmd =
            Command::UpdateNodeDrain { node_id: "n".into(), drain, mark_eligible: false, meta: Default::default(), evals: vec![], now: 2 };
        state.apply(2, &cmd);
        state.apply(3, &Command::CompleteNodeDrains { node_ids: vec!["n".into()], now: 3 });
        // derived after both: the node's newest change
        let kinds: Vec<&str> = d.derive(&state).iter().flat_map(|b| b.events.iter().map(|e| e.kind)).collect();
        assert_eq!(kinds, vec!["NodeEligibility"], "drain on and off again; eligibility is what changed");
        let cmd = Command::UpdateNodeDrain {
            node_id: "n".into(),
            drain: Some(Default::default()),
            mark_eligible: false,
            meta: Default::default(),
            evals: vec![],
            now: 4,
        };
        state.apply(4, &cmd);
        let kinds: Vec<&str> = d.derive(&state).iter().flat_map(|b| b.events.iter().map(|e| e.kind)).collect();
        assert_eq!(kinds, vec!["NodeDrain"]);
    }

    #[test]
    fn registrations_and_removals_become_service_events() {
        let mut state = ClusterState::default();
        let mut d = Deriver::new(&state);
        let mut alloc = Allocation { id: "a1".into(), job_id: "j".into(), node_id: "n".into(), ..Default::default() };
        alloc.namespace = "default".into();
        let plan = crate::core::command::PlanResult { allocs: vec![alloc.into()], ..Default::default() };
        state.apply(1, &Command::ApplyPlan { result: plan, now: 1 });
        d.derive(&state);
        let reg = ServiceRegistration {
            id: "_nomad-task-a1-group-g-web-http".into(),
            service_name: "web".into(),
            namespace: "default".into(),
            node_id: "n".into(),
            alloc_id: "a1".into(),
            job_id: "j".into(),
            ..Default::default()
        };
        state.apply(2, &Command::UpsertServiceRegistrations { services: vec![reg.clone()] });
        let batches = d.derive(&state);
        let e = &batches[0].events[0];
        assert_eq!((e.topic, e.kind, e.key.as_str(), e.index), (Topic::Service, "ServiceRegistration", "web", 2));
        assert!(e.filter_keys.contains(&reg.id) && e.filter_keys.contains(&"a1".to_string()));
        state.apply(3, &Command::DeleteServiceRegistrations { ids: vec![], alloc_ids: vec!["a1".into()] });
        let batches = d.derive(&state);
        let e = &batches[0].events[0];
        assert_eq!((e.topic, e.kind, e.index), (Topic::Service, "ServiceDeregistration", 3));
        assert!(matches!(&e.payload, Payload::Service(r) if r.id == reg.id));
        assert!(d.derive(&state).is_empty());
    }

    #[test]
    fn buffer_is_bounded_and_resumes_after_an_index() {
        let buf = EventBuffer::new(2, 100);
        let batch = |index| EventBatch { index, events: Vec::new() };
        buf.push(vec![batch(1), batch(2), batch(3)]);
        assert_eq!(buf.after(0).iter().map(|b| b.index).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(buf.after(2).iter().map(|b| b.index).collect::<Vec<_>>(), vec![3]);
        assert!(buf.after(3).is_empty());
        assert_eq!(*buf.subscribe().borrow(), 3);
        // Bounded by events too, but the newest index is always kept.
        let buf = EventBuffer::new(10, 1);
        let gone = |index| EventBatch {
            index,
            events: vec![node_event("NodeDeregistration", "n".into(), index, Payload::NodeGone("n".into())); 2],
        };
        buf.push(vec![gone(1), gone(2)]);
        assert_eq!(buf.after(0).iter().map(|b| b.index).collect::<Vec<_>>(), vec![2]);
    }
}
