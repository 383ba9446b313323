//! `GET /v1/event/stream`: Nomad's event stream as NDJSON — one `{"Index":N,"Events":[…]}` line per
//! Raft index with matching events, `{}` every 10 s as a heartbeat — filtered by `?topic=Topic:key`
//! (repeatable; `Job`, `Job:*`, `Service:web`, `*`), `?namespace` (`*` for all) and started at `?index`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::api::alloc::alloc_out;
use crate::api::eval::eval_out;
use crate::api::job::job_to_api;
use crate::api::node::node_out;
use crate::api::service_reg::service_to_api;
use crate::server::events::{Event, EventBatch, Payload, Topic};

use super::error::ApiError;
use super::HttpState;

/// A heartbeat line is written after this long without events.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// One `?topic=` filter: a topic (`None` = every topic) and a key (`None` = every key).
#[derive(Debug, Clone, PartialEq)]
struct TopicFilter {
    topic: Option<Topic>,
    key: Option<String>,
}

/// What a subscriber asked for.
#[derive(Debug, Clone)]
struct Subscription {
    /// Empty: every topic.
    topics: Vec<TopicFilter>,
    /// `None`: every namespace.
    namespace: Option<String>,
    index: u64,
}

impl Subscription {
    fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut sub = Subscription { topics: Vec::new(), namespace: Some("default".into()), index: 0 };
        for (k, v) in pairs {
            match k.as_str() {
                "topic" => sub.topics.push(parse_topic(v)?),
                "namespace" if v == "*" => sub.namespace = None,
                "namespace" if !v.is_empty() => sub.namespace = Some(v.clone()),
                "index" => sub.index = v.parse().map_err(|_| ApiError::bad_request(format!("failed to parse index \"{v}\"")))?,
                _ => {}
            }
        }
        Ok(sub)
    }

    fn matches(&self, e: &Event) -> bool {
        let ns_ok = e.namespace.is_empty() || self.namespace.as_deref().is_none_or(|ns| ns == e.namespace);
        let topic_ok = self.topics.is_empty()
            || self.topics.iter().any(|f| {
                f.topic.is_none_or(|t| t == e.topic)
                    && f.key.as_deref().is_none_or(|k| k == e.key || e.filter_keys.iter().any(|fk| fk == k))
            });
        ns_ok && topic_ok
    }
}

fn parse_topic(v: &str) -> Result<TopicFilter, ApiError> {
    let (topic, key) = v.split_once(':').unwrap_or((v, "*"));
    let topic = match topic {
        "*" => None,
        t => Some(Topic::parse(t).ok_or_else(|| {
            ApiError::bad_request(format!("unknown topic \"{t}\" (topics: Job, Allocation, Evaluation, Node, Service, *)"))
        })?),
    };
    let key = (key != "*" && !key.is_empty()).then(|| key.to_string());
    Ok(TopicFilter { topic, key })
}

/// The Nomad JSON of one event.
fn event_json(e: &Event) -> Value {
    let payload = match &e.payload {
        Payload::Job(j, status) => json!({ "Job": job_to_api(j, status.as_str()) }),
        Payload::JobGone(k) => json!({ "Job": { "ID": k.id, "Namespace": k.namespace } }),
        // Nomad leaves the job out of allocation events to keep them small.
        Payload::Allocation(a) => json!({ "Allocation": alloc_out(a, None) }),
        Payload::Evaluation(ev) => json!({ "Evaluation": eval_out(ev) }),
        Payload::Node(n) => json!({ "Node": node_out(n) }),
        Payload::NodeGone(id) => json!({ "Node": { "ID": id } }),
        Payload::Service(r) => json!({ "Service": service_to_api(r) }),
    };
    json!({
        "Topic": e.topic.as_str(),
        "Type": e.kind,
        "Key": e.key,
        "Namespace": e.namespace,
        "FilterKeys": if e.filter_keys.is_empty() { Value::Null } else { json!(e.filter_keys) },
        "Index": e.index,
        "Payload": payload,
    })
}

/// The NDJSON line of a batch's matching events; `None` when none match.
fn batch_line(sub: &Subscription, batch: &EventBatch) -> Option<Bytes> {
    let events: Vec<Value> = batch.events.iter().filter(|e| sub.matches(e)).map(event_json).collect();
    if events.is_empty() {
        return None;
    }
    let mut line = serde_json::to_vec(&json!({ "Index": batch.index, "Events": events })).ok()?;
    line.push(b'\n');
    Some(Bytes::from(line))
}

struct StreamState {
    st: HttpState,
    sub: Subscription,
    /// The last index sent (or skipped).
    cursor: u64,
    newest: tokio::sync::watch::Receiver<u64>,
    ready: VecDeque<Arc<EventBatch>>,
}

pub async fn stream(State(st): State<HttpState>, Query(pairs): Query<Vec<(String, String)>>) -> Result<Response, ApiError> {
    let sub = Subscription::parse(&pairs)?;
    let events = &st.server.changes.events;
    let newest = events.subscribe();
    // `?index=N` starts at events of index N; without it, at the next event.
    let cursor = if sub.index > 0 { sub.index - 1 } else { *newest.borrow() };
    tracing::debug!(topics = ?sub.topics, namespace = ?sub.namespace, cursor, "event stream opened");
    let state = StreamState { st: st.clone(), sub, cursor, newest, ready: VecDeque::new() };
    let body = futures::stream::unfold(state, |mut s| async move {
        loop {
            while let Some(batch) = s.ready.pop_front() {
                s.cursor = batch.index;
                if let Some(line) = batch_line(&s.sub, &batch) {
                    return Some((Ok::<_, std::io::Error>(line), s));
                }
            }
            let batches = s.st.server.changes.events.after(s.cursor);
            if !batches.is_empty() {
                s.ready.extend(batches);
                continue;
            }
            match tokio::time::timeout(HEARTBEAT, s.newest.changed()).await {
                Ok(Ok(())) => continue,
                // The server is shutting down: end the stream.
                Ok(Err(_)) => return None,
                Err(_) => return Some((Ok(Bytes::from_static(b"{}\n")), s)),
            }
        }
    });
    let mut resp = Body::from_stream(body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::job::JobKey;

    fn event(topic: Topic, key: &str, ns: &str) -> Event {
        Event {
            topic,
            kind: "JobRegistered",
            key: key.into(),
            namespace: ns.into(),
            index: 5,
            filter_keys: vec!["web".into()],
            payload: Payload::JobGone(JobKey::new(ns, key)),
        }
    }

    fn sub(q: &[(&str, &str)]) -> Subscription {
        let pairs: Vec<(String, String)> = q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Subscription::parse(&pairs).expect("subscription")
    }

    #[test]
    fn topic_key_and_namespace_filters() {
        let job = event(Topic::Job, "api", "default");
        assert!(sub(&[]).matches(&job));
        assert!(sub(&[("topic", "Job:*")]).matches(&job));
        assert!(sub(&[("topic", "Job")]).matches(&job));
        assert!(sub(&[("topic", "Job:api")]).matches(&job));
        assert!(sub(&[("topic", "Job:web")]).matches(&job), "filter keys match too");
        assert!(!sub(&[("topic", "Job:db")]).matches(&job));
        assert!(!sub(&[("topic", "Allocation:*")]).matches(&job));
        assert!(sub(&[("topic", "Allocation:*"), ("topic", "Job:api")]).matches(&job));
        assert!(sub(&[("topic", "*")]).matches(&job));
        assert!(!sub(&[("namespace", "prod")]).matches(&job));
        assert!(sub(&[("namespace", "*")]).matches(&job));
        assert!(Subscription::parse(&[("topic".into(), "Bogus:*".into())]).is_err());
    }

    #[test]
    fn event_lines_use_nomad_names() {
        let batch = EventBatch { index: 5, events: vec![event(Topic::Job, "api", "default")] };
        let line = batch_line(&sub(&[]), &batch).expect("a line");
        assert!(line.ends_with(b"\n"));
        let v: Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(v["Index"], 5);
        let e = &v["Events"][0];
        assert_eq!((e["Topic"].as_str(), e["Type"].as_str(), e["Key"].as_str()), (Some("Job"), Some("JobRegistered"), Some("api")));
        assert_eq!(e["Payload"]["Job"]["ID"], "api");
        assert!(batch_line(&sub(&[("topic", "Node")]), &batch).is_none());
    }
}
