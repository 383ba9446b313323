//! The event stream (`GET /v1/event/stream`) and blocking queries against a real `drover agent -server`:
//! Job events with Nomad's field names, topic and key filters, replay from `?index=`, evaluation
//! events, and a job list blocking query that a variable write does not wake but a job write does.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{job_body, Cluster};
use futures::StreamExt;
use serde_json::Value;

/// An open event stream, read line by line.
struct EventStream {
    body: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buf: Vec<u8>,
}

impl EventStream {
    async fn open(base: &str, query: &str) -> EventStream {
        let url = format!("{base}/v1/event/stream?{query}");
        let resp = reqwest::get(&url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(resp.status().as_u16(), 200, "GET {url}");
        EventStream { body: resp.bytes_stream().boxed(), buf: Vec::new() }
    }

    /// The next non-heartbeat frame, or `None` if none arrives within `timeout`.
    async fn next_frame(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let v: Value = serde_json::from_slice(&line).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&line)));
                if v.as_object().is_some_and(|o| o.is_empty()) {
                    continue; // heartbeat
                }
                return Some(v);
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.extend_from_slice(&chunk),
                Ok(Some(Err(e))) => panic!("event stream failed: {e}"),
                Ok(None) => panic!("event stream ended"),
                Err(_) => return None,
            }
        }
    }

    /// Frames until one holds an event for which `pred` holds; returns (frame, that event).
    async fn wait_for(&mut self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> (Vec<Value>, Value) {
        let start = Instant::now();
        let mut seen = Vec::new();
        while let Some(frame) = self.next_frame(timeout.saturating_sub(start.elapsed())).await {
            let hit = frame["Events"].as_array().into_iter().flatten().find(|e| pred(e)).cloned();
            seen.push(frame);
            if let Some(e) = hit {
                return (seen, e);
            }
        }
        panic!("no event {what} within {timeout:?}; frames seen: {seen:#?}");
    }
}

fn is(e: &Value, topic: &str, kind: &str, key: &str) -> bool {
    e["Topic"] == topic && e["Type"] == kind && e["Key"] == key
}

async fn put(url: &str, body: String) -> Value {
    let resp = reqwest::Client::new().put(url).body(body).send().await.unwrap_or_else(|e| panic!("PUT {url}: {e}"));
    let code = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(code, 200, "PUT {url}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[test]
fn event_stream_and_blocking_queries() {
    let cluster = Cluster::start("e2e-events", 93, 1);
    let base = cluster.servers[0].url("");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let mut jobs = EventStream::open(&base, "topic=Job:*").await;
        let mut only_other = EventStream::open(&base, "topic=Job:ev-other").await;
        let mut nodes = EventStream::open(&base, "topic=Node").await;

        // A registration arrives as JobRegistered with Nomad's field names and the job as Nomad JSON.
        let reg = put(&format!("{base}/v1/jobs"), job_body("ev-web")).await;
        let reg_index = reg["Index"].as_u64().expect("register index");
        let (frames, e) = jobs.wait_for("JobRegistered ev-web", Duration::from_secs(10), |e| is(e, "Job", "JobRegistered", "ev-web")).await;
        let frame = frames.last().unwrap();
        assert_eq!(e["Namespace"], "default", "{e}");
        assert_eq!(e["Index"].as_u64(), Some(reg_index), "the event is at the registration's index: {e}");
        assert_eq!(frame["Index"], e["Index"], "{frame}");
        assert_eq!(e["Payload"]["Job"]["ID"], "ev-web", "{e}");
        assert_eq!(e["Payload"]["Job"]["Type"], "batch", "{e}");
        assert!(e["Payload"]["Job"]["TaskGroups"][0]["Tasks"][0]["Driver"] == "raw_exec", "{e}");
        for f in &frames {
            for ev in f["Events"].as_array().unwrap() {
                assert_eq!(ev["Topic"], "Job", "topic=Job:* delivers only Job events: {ev}");
            }
        }

        // A key filter: the first event for `topic=Job:ev-other` is about ev-other, not ev-web.
        put(&format!("{base}/v1/jobs"), job_body("ev-other")).await;
        let frame = only_other.next_frame(Duration::from_secs(10)).await.expect("an event for ev-other");
        for ev in frame["Events"].as_array().unwrap() {
            assert_eq!((ev["Topic"].as_str(), ev["Key"].as_str()), (Some("Job"), Some("ev-other")), "{frame}");
        }
        // No node was registered: the Node subscriber saw nothing.
        assert!(nodes.next_frame(Duration::from_millis(500)).await.is_none(), "topic=Node received job events");

        // A purge is JobDeregistered.
        let url = format!("{base}/v1/job/ev-web?purge=true");
        let resp = reqwest::Client::new().delete(&url).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "DELETE {url}");
        jobs.wait_for("JobDeregistered ev-web", Duration::from_secs(10), |e| is(e, "Job", "JobDeregistered", "ev-web")).await;

        // Replay from ?index: the registration is delivered again, first.
        let mut replay = EventStream::open(&base, &format!("topic=Job:ev-web&index={reg_index}")).await;
        let frame = replay.next_frame(Duration::from_secs(5)).await.expect("replayed frame");
        assert_eq!(frame["Index"].as_u64(), Some(reg_index), "{frame}");
        assert!(is(&frame["Events"][0], "Job", "JobRegistered", "ev-web"), "{frame}");
        // Evaluations are events too; the registration's evaluation is keyed by its id, filtered by its job.
        let mut evals = EventStream::open(&base, "topic=Evaluation:ev-web&index=1").await;
        let (_, e) = evals.wait_for("EvaluationUpdated for ev-web", Duration::from_secs(5), |e| e["Topic"] == "Evaluation").await;
        assert_eq!(e["Type"], "EvaluationUpdated", "{e}");
        assert_eq!(e["Payload"]["Evaluation"]["JobID"], "ev-web", "{e}");
        assert_eq!(e["Key"], e["Payload"]["Evaluation"]["ID"], "{e}");
        // An unknown topic is refused.
        let resp = reqwest::get(format!("{base}/v1/event/stream?topic=Bogus")).await.unwrap();
        assert_eq!(resp.status().as_u16(), 400);

        // Blocking queries: a job list waiting past the current index is not woken by a variable write,
        // and is woken by a job registration.
        let resp = reqwest::get(format!("{base}/v1/jobs")).await.unwrap();
        let index: u64 = resp.headers()["X-Nomad-Index"].to_str().unwrap().parse().unwrap();
        let waiting = tokio::spawn({
            let url = format!("{base}/v1/jobs?index={index}&wait=30s");
            async move {
                let t = Instant::now();
                let resp = reqwest::get(&url).await.unwrap();
                let idx: u64 = resp.headers()["X-Nomad-Index"].to_str().unwrap().parse().unwrap();
                (idx, resp.text().await.unwrap(), t.elapsed())
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        put(&format!("{base}/v1/var/blocking/other-table"), r#"{"Items":{"a":"1"}}"#.into()).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!waiting.is_finished(), "a variable write woke a job list blocking query");
        put(&format!("{base}/v1/jobs"), job_body("ev-wake")).await;
        let (idx, body, took) = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("woken in time").unwrap();
        assert!(idx > index, "index moved: {idx} > {index}");
        assert!(body.contains("\"ev-wake\""), "{body}");
        assert!(took < Duration::from_secs(5), "{took:?}");
    });
    drop(cluster);
}
