//! Service registrations of Nomad's native service discovery (`provider = "nomad"`): one per service
//! of a running allocation, registered by its client and removed when the allocation stops.

use serde::{Deserialize, Serialize};

use super::alloc::Allocation;
use super::job::{Job, Service};
use super::node::Node;

/// The provider whose services Drover registers itself (Consul's are not Drover's).
pub const NOMAD_PROVIDER: &str = "nomad";

pub const HEALTH_PASSING: &str = "passing";
pub const HEALTH_CRITICAL: &str = "critical";

/// Whether a check runs on the client (Drover runs http and tcp checks).
pub fn client_check(c: &super::job::ServiceCheck) -> bool {
    matches!(c.kind.as_str(), "http" | "tcp")
}

impl ServiceRegistration {
    /// Whether it may receive traffic: no checks, or all of them passing.
    pub fn healthy(&self) -> bool {
        self.health.is_empty() || self.health == HEALTH_PASSING
    }
}

/// The id prefix of every native registration, as Nomad's.
pub const ID_PREFIX: &str = "_nomad-task-";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ServiceRegistration {
    /// Unique per allocation and service (`_nomad-task-<alloc>-<group or task>-<service>-<port label>`).
    pub id: String,
    pub service_name: String,
    pub namespace: String,
    pub node_id: String,
    pub datacenter: String,
    pub job_id: String,
    pub alloc_id: String,
    pub tags: Vec<String>,
    pub address: String,
    pub port: u16,
    /// The state of its checks as its client last saw them: empty when it has none, else
    /// [`HEALTH_PASSING`] or [`HEALTH_CRITICAL`] (until every check passed).
    pub health: String,
    pub create_index: u64,
    pub modify_index: u64,
}

impl ServiceRegistration {
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (field, v) in [("ID", &self.id), ("ServiceName", &self.service_name), ("AllocID", &self.alloc_id), ("NodeID", &self.node_id)] {
            if v.is_empty() {
                out.push(format!("service registration: missing {field}"));
            }
        }
        out
    }
}

/// The registrations of an allocation's `provider = "nomad"` services, group services first, then
/// each task's. The address is the allocated port's host IP (the node's address when the service
/// names no allocated port); the port is the allocated value of the named label, or a literal number.
pub fn registrations_for(alloc: &Allocation, job: &Job, node: &Node) -> Vec<ServiceRegistration> {
    native_services(alloc, job, node).into_iter().map(|n| n.registration).collect()
}

/// A native service of an allocation: its block, the task it belongs to (`None`: the group's) and
/// its registration.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeService {
    pub service: Service,
    pub task: Option<String>,
    pub registration: ServiceRegistration,
}

/// The allocation's `provider = "nomad"` services with their registrations (see [`registrations_for`]).
pub fn native_services(alloc: &Allocation, job: &Job, node: &Node) -> Vec<NativeService> {
    let Some(group) = job.group(&alloc.task_group) else { return Vec::new() };
    let group_owner = format!("group-{}", group.name);
    let owned = group
        .services
        .iter()
        .map(|s| (group_owner.as_str(), None, s))
        .chain(group.tasks.iter().flat_map(|t| t.services.iter().map(move |s| (t.name.as_str(), Some(t.name.as_str()), s))));
    let mut out = Vec::new();
    for (owner, task, s) in owned {
        if s.provider != NOMAD_PROVIDER {
            continue;
        }
        let name = service_name(s, &job.id, &group.name, task);
        let (address, port) = address_and_port(s, &s.port_label, alloc, node);
        let registration = ServiceRegistration {
            id: format!("{ID_PREFIX}{}-{owner}-{name}-{}", alloc.id, s.port_label),
            service_name: name,
            namespace: alloc.namespace.to_string(),
            node_id: alloc.node_id.to_string(),
            datacenter: node.datacenter.clone(),
            job_id: alloc.job_id.to_string(),
            alloc_id: alloc.id.to_string(),
            tags: s.tags.clone(),
            address,
            port,
            health: if s.checks.iter().any(client_check) { HEALTH_CRITICAL.into() } else { String::new() },
            ..Default::default()
        };
        out.push(NativeService { service: s.clone(), task: task.map(String::from), registration });
    }
    out
}

/// Where a check of a native service connects: the service's address, and the check's own port
/// label when it names one, else the service's port.
pub fn check_target(n: &NativeService, check: &super::job::ServiceCheck, alloc: &Allocation, node: &Node) -> (String, u16) {
    if check.port_label.is_empty() {
        (n.registration.address.clone(), n.registration.port)
    } else {
        address_and_port(&n.service, &check.port_label, alloc, node)
    }
}

/// The service's name with Nomad's runtime variables interpolated; Nomad's default when unnamed
/// (`<job>-<group>`, and `-<task>` for a task's service).
fn service_name(s: &Service, job: &str, group: &str, task: Option<&str>) -> String {
    if s.name.is_empty() {
        return match task {
            Some(t) => format!("{job}-{group}-{t}"),
            None => format!("{job}-{group}"),
        };
    }
    let task = task.unwrap_or("");
    let mut name = s.name.clone();
    for (var, value) in [
        ("${NOMAD_JOB_NAME}", job),
        ("${NOMAD_JOB_ID}", job),
        ("${NOMAD_GROUP_NAME}", group),
        ("${NOMAD_TASK_NAME}", task),
        ("${JOB}", job),
        ("${TASKGROUP}", group),
        ("${TASK}", task),
    ] {
        name = name.replace(var, value);
    }
    name
}

fn address_and_port(s: &Service, label: &str, alloc: &Allocation, node: &Node) -> (String, u16) {
    let allocated = alloc.resources.ports.iter().find(|p| p.label == label);
    let port = match allocated {
        Some(p) => p.value,
        None => label.parse().unwrap_or(0),
    };
    let address = if !s.address.is_empty() {
        s.address.clone()
    } else {
        allocated.map(|p| p.host_ip.to_string()).filter(|ip| !ip.is_empty()).unwrap_or_else(|| node.resources.ip.clone())
    };
    (address, port)
}

/// Nomad's `?choose=<n>|<key>`: `n` of the registrations picked by rendezvous hashing on `key`, so
/// a key gets the same instances each time and keeps most of them when instances come and go.
/// Returns `None` when `choose` is not of that form.
pub fn choose<'a>(regs: Vec<&'a ServiceRegistration>, choose: &str) -> Option<Vec<&'a ServiceRegistration>> {
    let (n, key) = choose.split_once('|')?;
    let n: usize = n.parse().ok()?;
    if key.is_empty() {
        return None;
    }
    let mut scored: Vec<(u64, &ServiceRegistration)> = regs.into_iter().map(|r| (rendezvous(key, &r.alloc_id, &r.id), r)).collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    Some(scored.into_iter().take(n).map(|(_, r)| r).collect())
}

/// FNV-1a over the key and the instance: stable across servers and versions, no randomness.
fn rendezvous(key: &str, alloc_id: &str, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain([0]).chain(alloc_id.bytes()).chain([0]).chain(id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // final avalanche so nearby inputs spread over the whole range
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::job::{Task, TaskGroup};
    use crate::core::resources::AllocatedPort;

    fn svc(name: &str, port: &str, provider: &str) -> Service {
        Service { name: name.into(), port_label: port.into(), provider: provider.into(), tags: vec!["a".into()], ..Default::default() }
    }

    #[test]
    fn group_and_task_services_of_the_nomad_provider() {
        let job = Job {
            id: "shop".into(),
            task_groups: vec![TaskGroup {
                name: "web".into(),
                services: vec![svc("web", "http", "nomad"), svc("in-consul", "http", "consul")],
                tasks: vec![Task { name: "srv".into(), services: vec![svc("", "8081", "nomad")], ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut alloc = Allocation {
            id: "a1".into(),
            namespace: "default".into(),
            job_id: "shop".into(),
            node_id: "n1".into(),
            task_group: "web".into(),
            ..Default::default()
        };
        alloc.resources.ports.push(AllocatedPort { label: "http".into(), value: 23456, to: 0, host_ip: "10.0.0.5".into() });
        let mut node = Node { id: "n1".into(), datacenter: "dc1".into(), ..Default::default() };
        node.resources.ip = "10.0.0.9".into();
        let regs = registrations_for(&alloc, &job, &node);
        assert_eq!(regs.len(), 2);
        assert_eq!(regs[0].id, "_nomad-task-a1-group-web-web-http");
        assert_eq!((regs[0].address.as_str(), regs[0].port), ("10.0.0.5", 23456));
        assert_eq!((regs[0].datacenter.as_str(), regs[0].tags.as_slice()), ("dc1", ["a".to_string()].as_slice()));
        assert_eq!(regs[1].service_name, "shop-web-srv");
        assert_eq!(regs[1].id, "_nomad-task-a1-srv-shop-web-srv-8081");
        assert_eq!((regs[1].address.as_str(), regs[1].port), ("10.0.0.9", 8081));
        assert!(regs.iter().all(|r| r.problems().is_empty()));
    }

    #[test]
    fn choose_is_stable_and_rendezvous() {
        let regs: Vec<ServiceRegistration> =
            (0..10).map(|i| ServiceRegistration { id: format!("s{i}"), alloc_id: format!("a{i}"), ..Default::default() }).collect();
        let all: Vec<&ServiceRegistration> = regs.iter().collect();
        let ids = |v: Vec<&ServiceRegistration>| v.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let three = ids(choose(all.clone(), "3|client-a").unwrap());
        assert_eq!(three.len(), 3);
        assert_eq!(three, ids(choose(all.clone(), "3|client-a").unwrap()), "the same key picks the same instances");
        assert_ne!(three, ids(choose(all.clone(), "3|client-b").unwrap()), "another key spreads elsewhere");
        // an instance that goes away only replaces itself
        let without: Vec<&ServiceRegistration> = all.iter().copied().filter(|r| r.id != three[0]).collect();
        let after = ids(choose(without, "3|client-a").unwrap());
        assert_eq!(&after[..2], &three[1..]);
        assert_eq!(choose(all.clone(), "20|k").unwrap().len(), 10);
        for bad in ["3", "x|k", "3|", ""] {
            assert!(choose(all.clone(), bad).is_none(), "{bad}");
        }
    }
}
