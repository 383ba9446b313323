//! Nomad's task environment variables (`NOMAD_ALLOC_ID`, `NOMAD_PORT_<label>`, `NOMAD_TASK_DIR`, …).

use std::collections::BTreeMap;

use crate::core::alloc::Allocation;
use crate::core::job::{Job, Task, TaskGroup};
use crate::core::node::Node;

use super::network::AllocNetwork;

/// Directories as the task sees them (inside the container, or host paths for raw_exec).
pub struct TaskDirs {
    pub alloc_dir: String,
    pub task_dir: String,
    pub secrets_dir: String,
    pub tmp_dir: String,
}

fn env_key(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// The task's environment: Nomad's variables, then the task's own `env` (interpolated by the caller).
/// With a bridge network, a port's `NOMAD_PORT_`, `NOMAD_ADDR_` and `NOMAD_ALLOC_PORT_` name the
/// port inside the namespace (`to`), `NOMAD_HOST_*` the node's side, `NOMAD_ALLOC_IP_` and
/// `NOMAD_ALLOC_ADDR_` the allocation's own address (the host's without a bridge).
pub fn build(
    alloc: &Allocation,
    job: &Job,
    group: &TaskGroup,
    task: &Task,
    node: &Node,
    dirs: &TaskDirs,
    network: Option<&AllocNetwork>,
) -> BTreeMap<String, String> {
    let mut e = BTreeMap::new();
    let mut set = |k: String, v: String| {
        e.insert(k, v);
    };
    set("NOMAD_ALLOC_ID".into(), alloc.id.to_string());
    set("NOMAD_SHORT_ALLOC_ID".into(), alloc.id.chars().take(8).collect());
    set("NOMAD_ALLOC_NAME".into(), alloc.name.to_string());
    set("NOMAD_ALLOC_INDEX".into(), alloc.index().to_string());
    set("NOMAD_JOB_ID".into(), job.id.clone());
    set("NOMAD_JOB_NAME".into(), job.name.clone());
    set("NOMAD_GROUP_NAME".into(), group.name.clone());
    set("NOMAD_TASK_NAME".into(), task.name.clone());
    set("NOMAD_NAMESPACE".into(), job.namespace.clone());
    set("NOMAD_REGION".into(), job.region.clone());
    set("NOMAD_DC".into(), node.datacenter.clone());
    set("NOMAD_ALLOC_DIR".into(), dirs.alloc_dir.clone());
    set("NOMAD_TASK_DIR".into(), dirs.task_dir.clone());
    set("NOMAD_SECRETS_DIR".into(), dirs.secrets_dir.clone());
    set("TMPDIR".into(), dirs.tmp_dir.clone());
    if let Some(r) = alloc.resources.tasks.get(task.name.as_str()) {
        set("NOMAD_CPU_LIMIT".into(), r.cpu.to_string());
        set("NOMAD_MEMORY_LIMIT".into(), r.memory_mb.to_string());
        if r.memory_max_mb > 0 {
            set("NOMAD_MEMORY_MAX_LIMIT".into(), r.memory_max_mb.to_string());
        }
    }
    for p in &alloc.resources.ports {
        let l = env_key(&p.label);
        let inside = if p.to > 0 { p.to as u16 } else { p.value };
        set(format!("NOMAD_IP_{l}"), p.host_ip.to_string());
        set(format!("NOMAD_PORT_{l}"), inside.to_string());
        set(format!("NOMAD_ADDR_{l}"), format!("{}:{}", p.host_ip, inside));
        set(format!("NOMAD_HOST_IP_{l}"), p.host_ip.to_string());
        set(format!("NOMAD_HOST_PORT_{l}"), p.value.to_string());
        set(format!("NOMAD_HOST_ADDR_{l}"), format!("{}:{}", p.host_ip, p.value));
        set(format!("NOMAD_ALLOC_PORT_{l}"), inside.to_string());
        // the namespace's address, or the host's without one
        let alloc_ip = network.and_then(|n| n.ip).map_or_else(|| p.host_ip.to_string(), |ip| ip.to_string());
        set(format!("NOMAD_ALLOC_ADDR_{l}"), format!("{alloc_ip}:{inside}"));
        set(format!("NOMAD_ALLOC_IP_{l}"), alloc_ip);
    }
    let meta = job.meta.iter().chain(&group.meta).chain(&task.meta);
    for (k, v) in meta {
        set(format!("NOMAD_META_{}", env_key(k).to_uppercase()), v.clone());
        set(format!("NOMAD_META_{}", env_key(k)), v.clone());
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::resources::{AllocatedPort, TaskResources};

    #[test]
    fn nomad_variables() {
        let mut alloc = Allocation { id: "abcdef12-0000".into(), name: "web.web[1]".into(), ..Default::default() };
        alloc.resources.ports.push(AllocatedPort { label: "http".into(), value: 23456, to: 0, host_ip: "127.0.0.1".into() });
        alloc.resources.tasks.insert("srv".into(), TaskResources { cpu: 100, memory_mb: 64, ..Default::default() });
        let job = Job { id: "web".into(), name: "web".into(), ..Default::default() };
        let group = TaskGroup { name: "web".into(), ..Default::default() };
        let task = Task { name: "srv".into(), ..Default::default() };
        let node = Node { datacenter: "dc1".into(), ..Default::default() };
        let dirs =
            TaskDirs { alloc_dir: "/alloc".into(), task_dir: "/local".into(), secrets_dir: "/secrets".into(), tmp_dir: "/tmp".into() };
        let e = build(&alloc, &job, &group, &task, &node, &dirs, None);
        assert_eq!(e["NOMAD_ALLOC_INDEX"], "1");
        assert_eq!(e["NOMAD_PORT_http"], "23456");
        assert_eq!(e["NOMAD_ADDR_http"], "127.0.0.1:23456");
        assert_eq!(e["NOMAD_MEMORY_LIMIT"], "64");
        assert_eq!(e["NOMAD_TASK_DIR"], "/local");
        assert_eq!(e["NOMAD_DC"], "dc1");
        assert_eq!(e["NOMAD_ALLOC_IP_http"], "127.0.0.1");

        // bridge mode: the port inside the namespace, the node's port outside
        alloc.resources.ports[0].to = 8080;
        let net = AllocNetwork { netns: "/run/netns/x".into(), ip: Some("172.26.64.2".parse().unwrap()) };
        let e = build(&alloc, &job, &group, &task, &node, &dirs, Some(&net));
        assert_eq!((e["NOMAD_PORT_http"].as_str(), e["NOMAD_HOST_PORT_http"].as_str()), ("8080", "23456"));
        assert_eq!((e["NOMAD_ADDR_http"].as_str(), e["NOMAD_HOST_ADDR_http"].as_str()), ("127.0.0.1:8080", "127.0.0.1:23456"));
        assert_eq!((e["NOMAD_ALLOC_IP_http"].as_str(), e["NOMAD_ALLOC_ADDR_http"].as_str()), ("172.26.64.2", "172.26.64.2:8080"));
        assert_eq!(e["NOMAD_ALLOC_PORT_http"], "8080");
    }
}
