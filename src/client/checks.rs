//! Health checks of native services (`check { type = "http" | "tcp" }` in a `provider = "nomad"`
//! service): run by the client every `interval` while the allocation runs, the latest result of each
//! kept in `ClientControl` for `GET /v1/client/allocation/:id/checks`; a check with `check_restart`
//! restarts its task after `limit` consecutive failures once `grace` has passed, as Nomad does.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{debug, info};

use crate::core::alloc::Allocation;
use crate::core::job::{Job, ServiceCheck};
use crate::core::node::Node;
use crate::core::service_reg::{check_target, client_check, native_services, ServiceRegistration, HEALTH_CRITICAL, HEALTH_PASSING};

use super::control::ClientControl;
use super::services::ServiceRegistrar;

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_SUCCESS: &str = "success";
pub const STATUS_FAILURE: &str = "failure";

const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The latest result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckResult {
    pub id: String,
    /// The check's name.
    pub check: String,
    /// The allocation's name (`job.group[0]`).
    pub group: String,
    /// The task whose service it checks; empty for a group service.
    pub task: String,
    pub service: String,
    /// The id of the service registration it checks.
    pub service_id: String,
    /// Always `healthiness` (Nomad's `readiness` checks are not run).
    pub mode: String,
    pub status: &'static str,
    /// The HTTP status of an http check (0 otherwise).
    pub status_code: u16,
    pub output: String,
    /// Unix seconds.
    pub timestamp: i64,
}

/// A check to run: what it reports as, where it connects, and the task it restarts when unhealthy.
struct Probe {
    result: CheckResult,
    check: ServiceCheck,
    address: String,
    port: u16,
    restart: Option<RestartOnFailure>,
}

/// `check_restart`: restart `task` after `limit` consecutive failures, not counting the `grace` after
/// the checks start or the task restarts. A restart counts as a failure against the restart policy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RestartOnFailure {
    task: String,
    limit: u32,
    grace: Duration,
}

/// Nomad's default `check_restart { grace }`.
const DEFAULT_GRACE: Duration = Duration::from_secs(1);

/// The check's `check_restart`, its service's when it has none; for a group service the check's
/// `task` names the task to restart. `None` when `limit` is 0 (Nomad's default: no restarts).
fn restart_on_failure(service: &crate::core::job::Service, task: Option<&str>, check: &ServiceCheck) -> Option<RestartOnFailure> {
    let cr = check.check_restart.as_ref().or(service.check_restart.as_ref()).filter(|c| c.limit > 0)?;
    let task = task.filter(|t| !t.is_empty()).unwrap_or(&check.task_name);
    if task.is_empty() {
        return None;
    }
    let grace = cr.grace.map_or(DEFAULT_GRACE, |ns| Duration::from_nanos(ns.max(0) as u64));
    Some(RestartOnFailure { task: task.to_string(), limit: cr.limit, grace })
}

/// Starts the allocation's http and tcp checks; they end when `stop` turns true or its sender is dropped.
pub fn spawn(alloc: &Allocation, job: &Job, node: &Node, control: &ClientControl, stop: &watch::Receiver<bool>) -> usize {
    let mut started = 0;
    for n in native_services(alloc, job, node) {
        for (i, check) in n.service.checks.iter().enumerate().filter(|(_, c)| client_check(c)) {
            let name =
                if check.name.is_empty() { format!("service: \"{}\" check", n.registration.service_name) } else { check.name.clone() };
            let (address, port) = check_target(&n, check, alloc, node);
            let result = CheckResult {
                id: check_id(&n.registration.id, i, &name),
                check: name,
                group: alloc.name.to_string(),
                task: n.task.clone().unwrap_or_default(),
                service: n.registration.service_name.clone(),
                service_id: n.registration.id.clone(),
                mode: "healthiness".into(),
                status: STATUS_PENDING,
                ..Default::default()
            };
            let restart = restart_on_failure(&n.service, n.task.as_deref(), check);
            let probe = Probe { result, check: check.clone(), address, port, restart };
            tokio::spawn(run(alloc.id.to_string(), probe, control.clone(), stop.clone()));
            started += 1;
        }
    }
    started
}

/// How many checks the client runs for the allocation.
pub fn expected(alloc: &Allocation, job: &Job, node: &Node) -> usize {
    native_services(alloc, job, node).iter().map(|n| n.service.checks.iter().filter(|c| client_check(c)).count()).sum()
}

/// Keeps each registration's `health` in step with its checks: re-registers it whenever all its
/// checks turn passing or one turns failing, until the tasks are told to stop.
pub async fn publish_health(
    alloc_id: String,
    mut registrations: Vec<ServiceRegistration>,
    control: ClientControl,
    services: ServiceRegistrar,
    mut stop: watch::Receiver<bool>,
) {
    const POLL: Duration = Duration::from_millis(100);
    registrations.retain(|r| !r.health.is_empty());
    while !registrations.is_empty() && !*stop.borrow() {
        let results = control.checks(&alloc_id).unwrap_or_default();
        let mut changed = Vec::new();
        for r in &mut registrations {
            let mine: Vec<&CheckResult> = results.values().filter(|c| c.service_id == r.id).collect();
            let passing = !mine.is_empty() && mine.iter().all(|c| c.status == STATUS_SUCCESS);
            let health = if passing { HEALTH_PASSING } else { HEALTH_CRITICAL };
            if r.health != health {
                debug!(alloc_id = %alloc_id, service = %r.service_name, health, "service health changed");
                r.health = health.into();
                changed.push(r.clone());
            }
        }
        if !changed.is_empty() && !*stop.borrow() {
            services.register(changed);
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            c = stop.changed() => if c.is_err() { return },
        }
    }
}

/// A stable id per allocation, service and check (hex, as Nomad's).
fn check_id(service_id: &str, index: usize, name: &str) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in service_id.bytes().chain([0]).chain(index.to_string().bytes()).chain([0]).chain(name.bytes()) {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(5);
    }
    format!("{a:016x}{b:016x}")
}

fn duration(ns: i64, default: Duration) -> Duration {
    if ns <= 0 {
        default
    } else {
        Duration::from_nanos(ns as u64)
    }
}

async fn run(alloc_id: String, mut p: Probe, control: ClientControl, mut stop: watch::Receiver<bool>) {
    let interval = duration(p.check.interval, DEFAULT_INTERVAL).max(MIN_INTERVAL);
    let timeout = duration(p.check.timeout, DEFAULT_TIMEOUT);
    let http = reqwest::Client::builder().timeout(timeout).build().unwrap_or_default();
    control.set_check(&alloc_id, p.result.clone());
    // Consecutive failures seen after the grace period, for `check_restart`.
    let mut failures = 0u32;
    let mut grace_until = Instant::now() + p.restart.as_ref().map_or(Duration::ZERO, |r| r.grace);
    loop {
        if *stop.borrow() {
            return;
        }
        let (status, code, output) = match p.check.kind.as_str() {
            "http" => http_check(&http, &p, timeout).await,
            _ => tcp_check(&p, timeout).await,
        };
        if *stop.borrow() {
            // replaced or stopped while probing: the result is no longer this check's to report
            return;
        }
        if status != p.result.status {
            debug!(alloc_id = %alloc_id, check = %p.result.check, status, "check status changed");
        }
        p.result.status = status;
        p.result.status_code = code;
        p.result.output = output;
        p.result.timestamp = crate::server::clock::now_ns() / 1_000_000_000;
        control.set_check(&alloc_id, p.result.clone());
        if let Some(r) = &p.restart {
            match status {
                STATUS_SUCCESS => failures = 0,
                _ if Instant::now() >= grace_until => failures += 1,
                _ => {}
            }
            if failures >= r.limit {
                let reason = format!("healthcheck: check {:?} unhealthy", p.result.check);
                info!(alloc_id = %alloc_id, task = %r.task, check = %p.result.check, failures, "restarting an unhealthy task");
                control.restart_unhealthy(&alloc_id, &r.task, reason);
                failures = 0;
                grace_until = Instant::now() + r.grace;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            changed = stop.changed() => if changed.is_err() { return },
        }
    }
}

async fn tcp_check(p: &Probe, timeout: Duration) -> (&'static str, u16, String) {
    let addr = format!("{}:{}", p.address, p.port);
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addr)).await {
        Ok(Ok(_)) => (STATUS_SUCCESS, 0, "nomad: tcp ok".into()),
        Ok(Err(e)) => (STATUS_FAILURE, 0, format!("dial tcp {addr}: {e}")),
        Err(_) => (STATUS_FAILURE, 0, format!("dial tcp {addr}: i/o timeout")),
    }
}

async fn http_check(http: &reqwest::Client, p: &Probe, timeout: Duration) -> (&'static str, u16, String) {
    let path = if p.check.path.starts_with('/') { p.check.path.clone() } else { format!("/{}", p.check.path) };
    let url = format!("http://{}:{}{path}", p.address, p.port);
    let method = reqwest::Method::from_bytes(p.check.method.as_bytes()).ok().filter(|_| !p.check.method.is_empty());
    let mut req = http.request(method.unwrap_or(reqwest::Method::GET), &url).timeout(timeout);
    for (k, vs) in &p.check.header {
        for v in vs {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    match req.send().await {
        Ok(resp) => {
            let code = resp.status().as_u16();
            if resp.status().is_success() {
                (STATUS_SUCCESS, code, "nomad: http ok".into())
            } else {
                (STATUS_FAILURE, code, format!("nomad: http status {code}"))
            }
        }
        Err(e) => (STATUS_FAILURE, 0, format!("nomad: {url}: {}", root_cause(&e))),
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
