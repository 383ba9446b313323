//! Scheduler scenario files (`tests/scenarios/*.txt`): a cluster, existing allocations, a job in
//! Nomad HCL and the plan expected for it. One statement a line, processed in order:
//!
//! ```text
//! # comment
//! seed 7                                   # the scheduler's seed (default 1)
//! now 1000                                 # evaluation time in seconds (default 1000)
//! scheduler algorithm=spread preempt.service=true
//! node n1 dc=dc1 class=gpu pool=default cpu=4000 mem=8192 disk=100000 status=ready eligible=false
//!      drain=true drivers=docker,exec reserved.cpu=100 reserved.ports=22 ports=20000-20010 attr.K=V meta.K=V
//! job <<                                   # registers a job (again: its next version); the last one is evaluated
//! job "web" { ... }
//! >>
//! alloc a1 node=n1 group=web index=0 status=running desired=run job=web version=0 cpu=100 mem=64 disk=0 ports=8080
//! expect placed n1=2 n2=1                  # placements per node (exact: unnamed nodes get none)
//! expect placements 3                      # the number of placements (without `placed`: wherever)
//! expect placed_by ${meta.rack} r1=2       # placements per node property value (only those named)
//! expect stopped a1 a2="alloc not needed due to count decrease"
//! expect updated a1                        # in-place updates (exact)
//! expect failed web evaluated=3 filtered=1 exhausted=2 coalesced=0 "constraint:${attr.x} = y"=1 "dimension:memory"=2
//! expect queued web=1
//! expect explain web "3 nodes evaluated, ..."
//! expect evicted a1                        # allocations preempted (exact)
//! ```
//!
//! A file may hold several cases: the lines before its first `case NAME` line are shared by all,
//! and each case is those plus its own lines (line numbers stay the file's).
//!
//! Without an `expect placed`, `stopped`, `updated`, `failed` or `evicted` line the plan must have
//! none of them. Any malformed line fails with `file:line`.

use std::collections::{BTreeMap, BTreeSet};

use drover::core::alloc::{Allocation, ClientStatus, DesiredStatus, TaskState, TaskStateKind};
use drover::core::command::{Command, PlanResult};
use drover::core::eval::{EvalStatus, Evaluation};
use drover::core::job::Job;
use drover::core::node::{DriverInfo, Node, NodeResources, NodeStatus};
use drover::core::resources::{AllocatedPort, AllocatedResources, TaskResources};
use drover::core::scheduler::constraint::resolve_str;
use drover::core::scheduler::Plan;
use drover::core::scheduler_config::SchedulerConfig;
use drover::core::state::ClusterState;
use drover::jobspec::{parse, Variables};

const SECOND: i64 = 1_000_000_000;

/// A parsed scenario: the state it builds, the evaluation and what the plan must be.
pub struct Scenario {
    pub file: String,
    pub state: ClusterState,
    pub eval: Evaluation,
    pub seed: u64,
    pub now: i64,
    pub expect: Expect,
}

#[derive(Default)]
pub struct Expect {
    placed: BTreeMap<String, usize>,
    /// Only the number of placements (when nodes may vary).
    placements: Option<usize>,
    placed_by: Vec<(String, BTreeMap<String, usize>)>,
    stopped: BTreeMap<String, Option<String>>,
    updated: BTreeSet<String>,
    evicted: BTreeSet<String>,
    failed: BTreeMap<String, BTreeMap<String, u64>>,
    queued: BTreeMap<String, u64>,
    explain: BTreeMap<String, String>,
}

/// Splits a line into words; double quotes group (and are dropped), anywhere in a word; `\"` is a quote.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                cur.extend(chars.next());
                any = true;
            }
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// `key=value` (split at the last `=`, so keys may hold one).
fn pair(w: &str) -> Result<(&str, &str), String> {
    w.rsplit_once('=').ok_or_else(|| format!("expected key=value, got {w:?}"))
}

fn num<T: std::str::FromStr>(v: &str, what: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{what}: not a number: {v:?}"))
}

fn boolean(v: &str, what: &str) -> Result<bool, String> {
    v.parse().map_err(|_| format!("{what}: expected true or false, got {v:?}"))
}

struct Builder {
    state: ClusterState,
    last_job: Option<Job>,
    seed: u64,
    now: i64,
    expect: Expect,
    any_expect: bool,
}

impl Builder {
    fn apply(&mut self, cmd: Command) -> Result<(), String> {
        let idx = self.state.index + 1;
        let name = cmd.name();
        match self.state.apply(idx, &cmd).error {
            None => Ok(()),
            Some(e) => Err(format!("{name} rejected: {e:?}")),
        }
    }

    fn node(&mut self, w: &[String]) -> Result<(), String> {
        let id = w.first().ok_or("node needs an id")?;
        let mut n = Node {
            id: id.clone(),
            name: id.clone(),
            datacenter: "dc1".into(),
            node_pool: "default".into(),
            status: NodeStatus::Ready,
            eligible: true,
            resources: NodeResources { cpu_mhz: 4000, memory_mb: 8192, disk_mb: 100_000, ..Default::default() },
            ..Default::default()
        };
        n.attributes.insert("kernel.name".into(), "linux".into());
        let mut drivers = vec!["docker".to_string()];
        for word in &w[1..] {
            let (k, v) = pair(word)?;
            match k {
                "dc" => n.datacenter = v.into(),
                "class" => n.node_class = v.into(),
                "pool" => n.node_pool = v.into(),
                "name" => n.name = v.into(),
                "cpu" => n.resources.cpu_mhz = num(v, k)?,
                "mem" => n.resources.memory_mb = num(v, k)?,
                "disk" => n.resources.disk_mb = num(v, k)?,
                "reserved.cpu" => n.reserved.cpu_mhz = num(v, k)?,
                "reserved.mem" => n.reserved.memory_mb = num(v, k)?,
                "reserved.disk" => n.reserved.disk_mb = num(v, k)?,
                "reserved.ports" => n.reserved.ports = v.split(',').map(|p| num(p, k)).collect::<Result<_, _>>()?,
                "ports" => {
                    let (lo, hi) = v.split_once('-').ok_or_else(|| format!("ports: expected LOW-HIGH, got {v:?}"))?;
                    n.resources.min_dynamic_port = num(lo, k)?;
                    n.resources.max_dynamic_port = num(hi, k)?;
                }
                "status" => {
                    n.status = match v {
                        "ready" => NodeStatus::Ready,
                        "down" => NodeStatus::Down,
                        "initializing" => NodeStatus::Initializing,
                        "disconnected" => NodeStatus::Disconnected,
                        _ => return Err(format!("status: unknown node status {v:?}")),
                    }
                }
                "eligible" => n.eligible = boolean(v, k)?,
                "drain" => n.drain = boolean(v, k)?,
                "drivers" => drivers = v.split(',').filter(|d| !d.is_empty()).map(str::to_string).collect(),
                _ => {
                    if let Some(a) = k.strip_prefix("attr.") {
                        n.attributes.insert(a.into(), v.into());
                    } else if let Some(m) = k.strip_prefix("meta.") {
                        n.meta.insert(m.into(), v.into());
                    } else {
                        return Err(format!("node: unknown key {k:?}"));
                    }
                }
            }
        }
        for d in drivers {
            n.drivers.insert(d, DriverInfo { detected: true, healthy: true, health_description: String::new() });
        }
        self.apply(Command::RegisterNode { node: n, evals: vec![], now: SECOND })
    }

    fn job(&mut self, file: &str, start: usize, hcl: &str) -> Result<(), String> {
        let parsed = parse(hcl, file, &Variables::default()).map_err(|errs| {
            let lines: Vec<String> = errs
                .iter()
                .map(|e| match e.pos {
                    Some(p) => format!("{file}:{}:{}: {} {}", start + p.line, p.column, e.path, e.kind),
                    None => format!("{file}:{start}: {} {}", e.path, e.kind),
                })
                .collect();
            format!("job does not parse:\n{}", lines.join("\n"))
        })?;
        let mut job = parsed.job;
        job.canonicalize();
        self.apply(Command::RegisterJob { job: job.clone(), eval: None, now: 2 * SECOND }).map_err(|e| format!("{file}:{start}: {e}"))?;
        self.last_job = self.state.jobs.get(&job.key()).cloned();
        Ok(())
    }

    fn alloc(&mut self, w: &[String]) -> Result<(), String> {
        let id = w.first().ok_or("alloc needs an id")?.clone();
        let mut kv: BTreeMap<&str, &str> = BTreeMap::new();
        for word in &w[1..] {
            let (k, v) = pair(word)?;
            kv.insert(k, v);
        }
        let job = match kv.get("job") {
            Some(j) => self.state.jobs.values().find(|x| x.id == *j).cloned().ok_or_else(|| format!("alloc: no job {j:?} registered"))?,
            None => self.last_job.clone().ok_or("alloc: no job registered yet")?,
        };
        let version: u64 = kv.get("version").map(|v| num(v, "version")).transpose()?.unwrap_or(job.version);
        let job = self.state.job_version(&job.key(), version).cloned().ok_or_else(|| format!("alloc: job version {version} unknown"))?;
        let group_name = kv.get("group").map(|g| g.to_string()).unwrap_or_else(|| job.task_groups[0].name.clone());
        let group = job.group(&group_name).ok_or_else(|| format!("alloc: job has no group {group_name:?}"))?;
        let node_id = kv.get("node").ok_or("alloc needs node=")?.to_string();
        let node = self.state.nodes.get(&node_id).ok_or_else(|| format!("alloc: unknown node {node_id:?}"))?.clone();
        let index: u32 = kv.get("index").map(|v| num(v, "index")).transpose()?.unwrap_or(0);
        let mut res = AllocatedResources { disk_mb: group.ephemeral_disk.size_mb, ..Default::default() };
        for t in &group.tasks {
            let r = &t.resources;
            res.tasks.insert(
                t.name.as_str().into(),
                TaskResources { cpu: r.cpu, cores: r.cores, memory_mb: r.memory_mb, memory_max_mb: r.memory_max_mb },
            );
        }
        if kv.contains_key("cpu") || kv.contains_key("mem") {
            res.tasks = Default::default();
            let cpu = kv.get("cpu").map(|v| num(v, "cpu")).transpose()?.unwrap_or(0);
            let memory_mb = kv.get("mem").map(|v| num(v, "mem")).transpose()?.unwrap_or(0);
            res.tasks.insert("task".into(), TaskResources { cpu, memory_mb, ..Default::default() });
        }
        if let Some(d) = kv.get("disk") {
            res.disk_mb = num(d, "disk")?;
        }
        if let Some(ports) = kv.get("ports") {
            for p in ports.split(',') {
                let value = num(p, "ports")?;
                res.ports.push(AllocatedPort {
                    label: format!("p{value}").into(),
                    value,
                    to: 0,
                    host_ip: node.resources.ip.as_str().into(),
                });
            }
        }
        let client_status = match kv.get("status").copied().unwrap_or("running") {
            "pending" => ClientStatus::Pending,
            "running" => ClientStatus::Running,
            "complete" => ClientStatus::Complete,
            "failed" => ClientStatus::Failed,
            "lost" => ClientStatus::Lost,
            s => return Err(format!("alloc: unknown status {s:?}")),
        };
        let desired_status = match kv.get("desired").copied().unwrap_or("run") {
            "run" => DesiredStatus::Run,
            "stop" => DesiredStatus::Stop,
            "evict" => DesiredStatus::Evict,
            s => return Err(format!("alloc: unknown desired status {s:?}")),
        };
        let mut a = Allocation {
            id: id.as_str().into(),
            namespace: job.namespace.clone().into(),
            name: format!("{}.{}[{}]", job.id, group.name, index).into(),
            node_id: node.id.as_str().into(),
            node_name: node.name.as_str().into(),
            job_id: job.id.as_str().into(),
            job_version: job.version,
            task_group: group.name.as_str().into(),
            resources: res,
            desired_status,
            client_status,
            ..Default::default()
        };
        if client_status.terminal() {
            for t in &group.tasks {
                let failed = client_status == ClientStatus::Failed;
                a.task_states.insert(
                    t.name.as_str().into(),
                    TaskState { state: TaskStateKind::Dead, failed, finished_at: SECOND, ..Default::default() },
                );
            }
        }
        let result = PlanResult { allocs: vec![a.into()], ..Default::default() };
        self.apply(Command::ApplyPlan { result, now: SECOND })
    }

    fn scheduler(&mut self, w: &[String]) -> Result<(), String> {
        let mut config = SchedulerConfig::default();
        for word in w {
            let (k, v) = pair(word)?;
            match k {
                "algorithm" => config.scheduler_algorithm = v.into(),
                "preempt.system" => config.preemption.system_scheduler_enabled = boolean(v, k)?,
                "preempt.sysbatch" => config.preemption.sysbatch_scheduler_enabled = boolean(v, k)?,
                "preempt.batch" => config.preemption.batch_scheduler_enabled = boolean(v, k)?,
                "preempt.service" => config.preemption.service_scheduler_enabled = boolean(v, k)?,
                _ => return Err(format!("scheduler: unknown key {k:?}")),
            }
        }
        if let Some(p) = config.problems().first() {
            return Err(p.clone());
        }
        self.apply(Command::SetSchedulerConfig { config, cas: None })
    }

    fn expect(&mut self, w: &[String]) -> Result<(), String> {
        self.any_expect = true;
        let (what, rest) = w.split_first().ok_or("expect what?")?;
        let e = &mut self.expect;
        match what.as_str() {
            "placed" => {
                for word in rest {
                    let (k, v) = pair(word)?;
                    e.placed.insert(k.into(), num(v, k)?);
                }
            }
            "placements" => e.placements = Some(num(rest.first().map_or("", String::as_str), "placements")?),
            "placed_by" => {
                let (target, counts) = rest.split_first().ok_or("placed_by needs a target")?;
                let mut m = BTreeMap::new();
                for word in counts {
                    let (k, v) = pair(word)?;
                    m.insert(k.to_string(), num(v, k)?);
                }
                e.placed_by.push((target.clone(), m));
            }
            "stopped" => {
                for word in rest {
                    match word.split_once('=') {
                        Some((id, why)) => e.stopped.insert(id.into(), Some(why.into())),
                        None => e.stopped.insert(word.clone(), None),
                    };
                }
            }
            "updated" => e.updated.extend(rest.iter().cloned()),
            "evicted" => e.evicted.extend(rest.iter().cloned()),
            "failed" => {
                let (group, keys) = rest.split_first().ok_or("failed needs a group")?;
                let m = e.failed.entry(group.clone()).or_default();
                for word in keys {
                    let (k, v) = pair(word)?;
                    m.insert(k.into(), num(v, k)?);
                }
            }
            "queued" => {
                for word in rest {
                    let (k, v) = pair(word)?;
                    e.queued.insert(k.into(), num(v, k)?);
                }
            }
            "explain" => {
                let [group, text] = rest else { return Err("explain GROUP \"TEXT\"".into()) };
                e.explain.insert(group.clone(), text.clone());
            }
            other => return Err(format!("expect: unknown expectation {other:?}")),
        }
        Ok(())
    }
}

/// Parses a scenario file into its cases (one when it has no `case` lines); errors name `file:line`.
pub fn parse_cases(file: &str, text: &str) -> Result<Vec<Scenario>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let starts: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| l.trim_start().starts_with("case ")).map(|(i, _)| i).collect();
    if starts.is_empty() {
        return Ok(vec![parse_scenario(file, text)?]);
    }
    let mut cases = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        let name = lines[start].trim_start()["case ".len()..].trim();
        // Blank out other cases' lines so line numbers stay the file's.
        let own: Vec<&str> = lines.iter().enumerate().map(|(i, l)| if i < starts[0] || (i > start && i < end) { *l } else { "" }).collect();
        let mut case = parse_scenario(file, &own.join("\n")).map_err(|e| format!("{e} (case {name})"))?;
        case.file = format!("{file} (case {name})");
        cases.push(case);
    }
    Ok(cases)
}

/// Parses one scenario; errors name `file:line`.
pub fn parse_scenario(file: &str, text: &str) -> Result<Scenario, String> {
    let mut b = Builder {
        state: ClusterState::default(),
        last_job: None,
        seed: 1,
        now: 1000 * SECOND,
        expect: Expect::default(),
        any_expect: false,
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let line = lines[i].split(" #").next().unwrap_or("").trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let w = words(line);
        let at = |e: String| format!("{file}:{lineno}: {e}");
        match w[0].as_str() {
            "seed" => b.seed = num(w.get(1).map_or("", String::as_str), "seed").map_err(at)?,
            "now" => b.now = num::<i64>(w.get(1).map_or("", String::as_str), "now").map_err(at)? * SECOND,
            "scheduler" => b.scheduler(&w[1..]).map_err(at)?,
            "node" => b.node(&w[1..]).map_err(at)?,
            "alloc" => b.alloc(&w[1..]).map_err(at)?,
            "expect" => b.expect(&w[1..]).map_err(at)?,
            "job" if w.get(1).map(String::as_str) == Some("<<") => {
                let start = i;
                let end = lines[i..].iter().position(|l| l.trim() == ">>").ok_or_else(|| at("job << without a closing >>".into()))?;
                let hcl = lines[i..i + end].join("\n");
                i += end + 1;
                b.job(file, start, &hcl)?;
            }
            other => return Err(at(format!("unknown statement {other:?}"))),
        }
    }
    let job = b.last_job.ok_or_else(|| format!("{file}: no job"))?;
    if !b.any_expect {
        return Err(format!("{file}: no expectations"));
    }
    let eval = Evaluation {
        id: "eval-scenario".into(),
        namespace: job.namespace.clone(),
        priority: job.priority,
        job_type: job.job_type.as_str().into(),
        job_id: job.id.clone(),
        triggered_by: "job-register".into(),
        status: EvalStatus::Pending,
        modify_time: b.now,
        ..Default::default()
    };
    Ok(Scenario { file: file.to_string(), state: b.state, eval, seed: b.seed, now: b.now, expect: b.expect })
}

impl Scenario {
    /// Every difference between `plan` and the expectations (empty: it matches).
    pub fn check(&self, plan: &Plan) -> Vec<String> {
        let e = &self.expect;
        let mut errs = Vec::new();
        let mut placed: BTreeMap<String, usize> = BTreeMap::new();
        for a in &plan.placements {
            *placed.entry(a.node_id.to_string()).or_default() += 1;
        }
        if let Some(n) = e.placements {
            if plan.placements.len() != n || !e.placed.is_empty() && placed != e.placed {
                errs.push(format!("placements: got {placed:?}, want {n} {:?}", e.placed));
            }
        } else if placed != e.placed {
            errs.push(format!("placements per node: got {placed:?}, want {:?}", e.placed));
        }
        for (target, want) in &e.placed_by {
            let mut got: BTreeMap<String, usize> = BTreeMap::new();
            for a in &plan.placements {
                let v = self.state.nodes.get(a.node_id.as_str()).and_then(|n| resolve_str(target, n)).unwrap_or_default();
                if want.contains_key(v) {
                    *got.entry(v.to_string()).or_default() += 1;
                }
            }
            let want: BTreeMap<String, usize> = want.iter().filter(|(_, n)| **n > 0).map(|(k, v)| (k.clone(), *v)).collect();
            if got != want {
                errs.push(format!("placements by {target}: got {got:?}, want {want:?}"));
            }
        }
        let evicted: BTreeSet<String> = plan.preemptions.iter().map(|s| s.alloc_id.clone()).collect();
        if evicted != e.evicted {
            errs.push(format!("evicted: got {evicted:?}, want {:?}", e.evicted));
        }
        for p in &plan.preemptions {
            let by = p.description.strip_prefix("Preempted by alloc ID ").unwrap_or_default();
            if p.desired_status != DesiredStatus::Evict || !plan.placements.iter().any(|a| a.id == by) {
                errs.push(format!("eviction of {} is not by a placement of the plan: {p:?}", p.alloc_id));
            }
        }
        let stopped: BTreeMap<&str, &str> = plan.stops.iter().map(|s| (s.alloc_id.as_str(), s.description.as_str())).collect();
        let want_ids: BTreeSet<&str> = e.stopped.keys().map(String::as_str).collect();
        if stopped.keys().copied().collect::<BTreeSet<_>>() != want_ids {
            errs.push(format!("stops: got {stopped:?}, want {:?}", e.stopped));
        }
        for (id, why) in &e.stopped {
            if let (Some(why), Some(got)) = (why, stopped.get(id.as_str())) {
                if got != why {
                    errs.push(format!("stop of {id}: got {got:?}, want {why:?}"));
                }
            }
        }
        let updated: BTreeSet<String> = plan.updates.iter().map(|a| a.id.to_string()).collect();
        if updated != e.updated {
            errs.push(format!("in-place updates: got {updated:?}, want {:?}", e.updated));
        }
        let failed: BTreeSet<&String> = plan.failed_tg_allocs.keys().collect();
        let want_failed: BTreeSet<&String> = e.failed.keys().collect();
        if failed != want_failed {
            errs.push(format!("failed groups: got {failed:?}, want {:?}", e.failed.keys().collect::<Vec<_>>()));
        }
        for (group, keys) in &e.failed {
            let Some(m) = plan.failed_tg_allocs.get(group) else { continue };
            for (k, want) in keys {
                let got = match k.as_str() {
                    "evaluated" => m.nodes_evaluated,
                    "filtered" => m.nodes_filtered,
                    "exhausted" => m.nodes_exhausted,
                    "coalesced" => m.coalesced_failures,
                    "in_pool" => m.nodes_in_pool,
                    _ => {
                        let (map, name) = if let Some(c) = k.strip_prefix("constraint:") {
                            (&m.constraint_filtered, c)
                        } else if let Some(d) = k.strip_prefix("dimension:") {
                            (&m.dimension_exhausted, d)
                        } else if let Some(c) = k.strip_prefix("class:") {
                            (&m.class_exhausted, c)
                        } else {
                            errs.push(format!("failed {group}: unknown metric {k:?}"));
                            continue;
                        };
                        map.get(name).copied().unwrap_or(0)
                    }
                };
                if got != *want {
                    errs.push(format!("failed {group} {k}: got {got}, want {want} (metric {m:?})"));
                }
            }
        }
        for (group, want) in &e.queued {
            let got = plan.queued.get(group).copied().unwrap_or(0);
            if got != *want {
                errs.push(format!("queued {group}: got {got}, want {want}"));
            }
        }
        for (group, want) in &e.explain {
            let got = plan.failed_tg_allocs.get(group).map(|m| m.explain()).unwrap_or_default();
            if &got != want {
                errs.push(format!("explanation of {group}: got {got:?}, want {want:?}"));
            }
        }
        errs
    }
}
