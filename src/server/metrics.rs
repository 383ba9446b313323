//! Agent telemetry in Nomad's shape: a process-wide registry of counters and samples recorded as
//! things happen (HTTP requests), gauges computed when read (from the cluster state, Raft and the
//! process), rendered as Nomad's `/v1/metrics` JSON (`MetricsSummary`) or Prometheus text.
//!
//! Counters and samples are cumulative since the agent started (Nomad's in-memory sink keeps ten-second
//! intervals); `Rate` is per second over that time. Every metric reported has a real value: there are
//! no placeholders for what Drover does not measure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::core::eval::EvalStatus;
use crate::core::job::JobStatus;
use crate::core::job_summary::job_summary;

use super::ops::Server;

pub type Labels = BTreeMap<String, String>;

/// A value at the time of reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Gauge {
    pub name: String,
    pub value: f64,
    pub labels: Labels,
}

impl Gauge {
    pub fn new(name: &str, value: f64, labels: &[(&str, &str)]) -> Self {
        Self { name: name.into(), value, labels: labels_of(labels) }
    }
}

/// A counter or a sample: Nomad's `SampledValue`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sampled {
    pub name: String,
    pub count: u64,
    pub rate: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
    pub labels: Labels,
}

/// The body of `/v1/metrics`: Nomad's (go-metrics') `MetricsSummary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricsSummary {
    /// `2006-01-02 15:04:05 +0000 UTC`, as go-metrics prints it.
    pub timestamp: String,
    pub gauges: Vec<Gauge>,
    /// Go-metrics' key/value points; Drover records none.
    pub points: Vec<serde_json::Value>,
    pub counters: Vec<Sampled>,
    pub samples: Vec<Sampled>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Counter,
    Sample,
}

#[derive(Debug, Clone, Copy, Default)]
struct Aggregate {
    count: u64,
    sum: f64,
    sum_sq: f64,
    min: f64,
    max: f64,
}

impl Aggregate {
    fn add(&mut self, v: f64) {
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        if self.count == 0 || v > self.max {
            self.max = v;
        }
        self.count += 1;
        self.sum += v;
        self.sum_sq += v * v;
    }

    fn sampled(&self, name: &str, labels: &Labels, seconds: f64) -> Sampled {
        let n = self.count as f64;
        let mean = if self.count == 0 { 0.0 } else { self.sum / n };
        // Go-metrics' sample standard deviation.
        let stddev = if self.count < 2 { 0.0 } else { ((self.sum_sq - self.sum * self.sum / n) / (n - 1.0)).max(0.0).sqrt() };
        Sampled {
            name: name.into(),
            count: self.count,
            rate: if seconds > 0.0 { self.sum / seconds } else { 0.0 },
            sum: self.sum,
            min: self.min,
            max: self.max,
            mean,
            stddev,
            labels: labels.clone(),
        }
    }
}

/// Counters and samples of this process. Each series is filed under one key string (kind, name and
/// labels sorted by name), which recording builds in a reused buffer: adding to an existing series
/// allocates nothing (the HTTP layer records two per request).
pub struct Registry {
    started: Instant,
    series: Mutex<BTreeMap<String, Series>>,
}

struct Series {
    kind: Kind,
    name: String,
    labels: Labels,
    agg: Aggregate,
}

/// Writes a series' key into `out`: a kind letter, the name, then each label (sorted by name) as
/// NUL name SOH value.
fn series_key(out: &mut String, kind: Kind, name: &str, labels: &[(&str, &str)]) {
    out.clear();
    out.push(match kind {
        Kind::Counter => 'c',
        Kind::Sample => 's',
    });
    out.push_str(name);
    let mut sorted: Vec<&(&str, &str)> = labels.iter().collect();
    sorted.sort_by_key(|(k, _)| *k);
    for (k, v) in sorted {
        out.push('\0');
        out.push_str(k);
        out.push('\u{1}');
        out.push_str(v);
    }
}

fn labels_of(labels: &[(&str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

impl Registry {
    pub fn new() -> Self {
        Self { started: Instant::now(), series: Mutex::new(BTreeMap::new()) }
    }

    /// The registry of this process (one agent per process).
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new)
    }

    fn record(&self, kind: Kind, name: &str, labels: &[(&str, &str)], v: f64) {
        thread_local! {
            static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        KEY.with(|key| {
            let mut key = key.borrow_mut();
            series_key(&mut key, kind, name, labels);
            let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
            match series.get_mut(key.as_str()) {
                Some(s) => s.agg.add(v),
                None => {
                    let mut agg = Aggregate::default();
                    agg.add(v);
                    series.insert(key.clone(), Series { kind, name: name.to_string(), labels: labels_of(labels), agg });
                }
            }
        });
    }

    /// Adds `v` to a counter.
    pub fn incr_counter(&self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.record(Kind::Counter, name, labels, v);
    }

    /// Records one observation of a sample (a duration in milliseconds, as go-metrics' timers).
    pub fn add_sample(&self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.record(Kind::Sample, name, labels, v);
    }

    /// Everything recorded so far, with `gauges` read by the caller.
    pub fn summary(&self, mut gauges: Vec<Gauge>) -> MetricsSummary {
        let seconds = self.started.elapsed().as_secs_f64();
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let (mut counters, mut samples) = (Vec::new(), Vec::new());
        for Series { kind, name, labels, agg } in series.values() {
            let s = agg.sampled(name, labels, seconds);
            match kind {
                Kind::Counter => counters.push(s),
                Kind::Sample => samples.push(s),
            }
        }
        gauges.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.labels.cmp(&b.labels)));
        MetricsSummary { timestamp: go_timestamp(SystemTime::now()), gauges, points: Vec::new(), counters, samples }
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// `2006-01-02 15:04:05 +0000 UTC`, rounded to the second.
fn go_timestamp(t: SystemTime) -> String {
    let ns = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64 * 1_000_000_000).unwrap_or(0);
    match crate::api::alloc::rfc3339(ns) {
        Some(s) => format!("{} {} +0000 UTC", &s[..10], &s[11..19]),
        None => "1970-01-01 00:00:00 +0000 UTC".into(),
    }
}

/// A metric name as go-metrics' Prometheus sink writes it: `nomad.nomad.job_summary.running` →
/// `nomad_nomad_job_summary_running`.
pub fn prometheus_name(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '_' }).collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn prometheus_labels(labels: &Labels, extra: Option<(&str, &str)>) -> String {
    let escape = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{}=\"{}\"", prometheus_name(k), escape(v))).collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{}\"", escape(v)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn prometheus_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        (if v > 0.0 { "+Inf" } else { "-Inf" }).to_string()
    } else {
        format!("{v}")
    }
}

impl MetricsSummary {
    /// The Prometheus text exposition format 0.0.4: gauges as gauges, counters as counters (their
    /// sum), samples as summaries (`_sum` and `_count`).
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let mut families: BTreeMap<String, (&str, Vec<String>)> = BTreeMap::new();
        for g in &self.gauges {
            let name = prometheus_name(&g.name);
            let line = format!("{name}{} {}", prometheus_labels(&g.labels, None), prometheus_value(g.value));
            families.entry(name).or_insert(("gauge", Vec::new())).1.push(line);
        }
        for c in &self.counters {
            let name = prometheus_name(&c.name);
            let line = format!("{name}{} {}", prometheus_labels(&c.labels, None), prometheus_value(c.sum));
            families.entry(name).or_insert(("counter", Vec::new())).1.push(line);
        }
        for s in &self.samples {
            let name = prometheus_name(&s.name);
            let labels = prometheus_labels(&s.labels, None);
            let family = families.entry(name.clone()).or_insert(("summary", Vec::new()));
            family.1.push(format!("{name}_sum{labels} {}", prometheus_value(s.sum)));
            family.1.push(format!("{name}_count{labels} {}", s.count));
        }
        for (name, (kind, lines)) in families {
            let _ = writeln!(out, "# HELP {name} {name}\n# TYPE {name} {kind}");
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
        out
    }
}

/// The process: tokio's live tasks (Drover's goroutines) and resident memory.
pub fn runtime_gauges() -> Vec<Gauge> {
    let mut out = Vec::new();
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        out.push(Gauge::new("nomad.runtime.num_goroutines", handle.metrics().num_alive_tasks() as f64, &[]));
    }
    if let Some(rss) = resident_bytes() {
        out.push(Gauge::new("nomad.runtime.alloc_bytes", rss as f64, &[]));
    }
    out
}

/// Resident set size from `/proc/self/statm` (pages × page size).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(page).ok().map(|p| pages * p)
}

/// A server's gauges: Raft indexes on every server; on the leader (as in Nomad), job summaries, job
/// statuses and blocked evaluations, read from the state.
pub fn server_gauges(server: &Server) -> Vec<Gauge> {
    let mut out = Vec::new();
    let last_log = server.raft.raft().metrics().borrow().last_log_index.unwrap_or(0);
    let applied = server.read(|s| s.index);
    out.push(Gauge::new("nomad.raft.appliedIndex", applied as f64, &[]));
    out.push(Gauge::new("nomad.raft.lastIndex", last_log as f64, &[]));
    if !server.raft.is_leader() {
        return out;
    }
    server.read(|s| {
        let (mut pending, mut running, mut dead) = (0u64, 0u64, 0u64);
        for (key, job) in &s.jobs {
            match s.job_status(job) {
                JobStatus::Pending => pending += 1,
                JobStatus::Running => running += 1,
                JobStatus::Dead => dead += 1,
            }
            for (group, c) in job_summary(s, key) {
                let labels = [("job", key.id.as_str()), ("task_group", group.as_str()), ("namespace", key.namespace.as_str())];
                for (what, n) in [
                    ("queued", c.queued),
                    ("complete", c.complete),
                    ("failed", c.failed),
                    ("running", c.running),
                    ("starting", c.starting),
                    ("lost", c.lost),
                ] {
                    out.push(Gauge::new(&format!("nomad.nomad.job_summary.{what}"), n as f64, &labels));
                }
            }
        }
        for (what, n) in [("pending", pending), ("running", running), ("dead", dead)] {
            out.push(Gauge::new(&format!("nomad.nomad.job_status.{what}"), n as f64, &[]));
        }
        let blocked = s.evals.values().filter(|e| e.status == EvalStatus::Blocked).count();
        out.push(Gauge::new("nomad.nomad.blocked_evals.total_blocked", blocked as f64, &[]));
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_samples_aggregate() {
        let r = Registry::new();
        r.incr_counter("nomad.http.requests", &[("method", "GET"), ("path", "/v1/jobs")], 1.0);
        r.incr_counter("nomad.http.requests", &[("method", "GET"), ("path", "/v1/jobs")], 1.0);
        r.add_sample("nomad.http.request_time", &[], 2.0);
        r.add_sample("nomad.http.request_time", &[], 4.0);
        let s = r.summary(vec![Gauge::new("nomad.raft.lastIndex", 7.0, &[])]);
        assert_eq!(s.counters.len(), 1);
        assert_eq!((s.counters[0].count, s.counters[0].sum), (2, 2.0));
        assert_eq!((s.samples[0].min, s.samples[0].max, s.samples[0].mean), (2.0, 4.0, 3.0));
        assert!((s.samples[0].stddev - 2f64.sqrt()).abs() < 1e-9);
        let v = serde_json::to_value(&s).unwrap();
        for k in ["Timestamp", "Gauges", "Points", "Counters", "Samples"] {
            assert!(v.get(k).is_some(), "{k} in {v}");
        }
        assert_eq!(v["Counters"][0]["Labels"]["method"], "GET");
        assert!(v["Timestamp"].as_str().unwrap().ends_with(" +0000 UTC"), "{v}");
    }

    #[test]
    fn a_series_is_its_kind_name_and_label_set() {
        let r = Registry::new();
        r.incr_counter("n", &[("method", "GET"), ("code", "200")], 1.0);
        r.incr_counter("n", &[("code", "200"), ("method", "GET")], 1.0);
        r.incr_counter("n", &[("code", "404"), ("method", "GET")], 1.0);
        r.incr_counter("n", &[("code", "200")], 1.0);
        r.add_sample("n", &[("method", "GET"), ("code", "200")], 5.0);
        let s = r.summary(Vec::new());
        let counters: Vec<(String, u64)> =
            s.counters.iter().map(|c| (c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","), c.count)).collect();
        assert_eq!(counters, [("code=200".to_string(), 1), ("code=200,method=GET".to_string(), 2), ("code=404,method=GET".to_string(), 1)]);
        assert_eq!((s.samples.len(), s.samples[0].count, s.samples[0].sum), (1, 1, 5.0));
    }

    #[test]
    fn prometheus_text() {
        let r = Registry::new();
        r.incr_counter("nomad.http.requests", &[("path", "/v1/job/{id}")], 3.0);
        r.add_sample("nomad.http.request_time", &[], 1.5);
        let text = r.summary(vec![Gauge::new("nomad.nomad.job_summary.running", 2.0, &[("job", "we\"b")])]).prometheus();
        assert!(
            text.contains("# TYPE nomad_nomad_job_summary_running gauge\nnomad_nomad_job_summary_running{job=\"we\\\"b\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE nomad_http_requests counter\nnomad_http_requests{path=\"/v1/job/{id}\"} 3\n"), "{text}");
        assert!(text.contains("nomad_http_request_time_sum 1.5\nnomad_http_request_time_count 1\n"), "{text}");
    }
}
