//! Health checks of native services (`check { type = "http" | "tcp" }` in a `provider = "nomad"`
//! service): run by the client every `interval` while the allocation runs, the latest result of each
//! kept in `ClientControl` for `GET /v1/client/allocation/:id/checks`.

use std::time::Duration;

use tokio::sync::watch;
use tracing::debug;

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

/// A check to run: what it reports as, and where it connects.
struct Probe {
    result: CheckResult,
    check: ServiceCheck,
    address: String,
    port: u16,
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
                group: alloc.name.clone(),
                task: n.task.clone().unwrap_or_default(),
                service: n.registration.service_name.clone(),
                service_id: n.registration.id.clone(),
                mode: "healthiness".into(),
                status: STATUS_PENDING,
                ..Default::default()
            };
            let probe = Probe { result, check: check.clone(), address, port };
            tokio::spawn(run(alloc.id.clone(), probe, control.clone(), stop.clone()));
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
    loop {
        if *stop.borrow() {
            return;
        }
        let (status, code, output) = match p.check.kind.as_str() {
            "http" => http_check(&http, &p, timeout).await,
            _ => tcp_check(&p, timeout).await,
        };
        if status != p.result.status {
            debug!(alloc_id = %alloc_id, check = %p.result.check, status, "check status changed");
        }
        p.result.status = status;
        p.result.status_code = code;
        p.result.output = output;
        p.result.timestamp = crate::server::clock::now_ns() / 1_000_000_000;
        control.set_check(&alloc_id, p.result.clone());
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
