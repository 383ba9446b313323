//! `/v1/metrics` (Nomad's JSON `MetricsSummary`, or `?format=prometheus`) and the middleware that
//! counts and times every API request by method, route pattern and status code.

use std::time::Instant;

use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;

use crate::server::metrics::{runtime_gauges, server_gauges, Gauge, Registry};

use super::HttpState;

pub const REQUESTS: &str = "nomad.http.requests";
pub const REQUEST_TIME: &str = "nomad.http.request_time";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MetricsQuery {
    pub format: String,
}

/// Counts the request (`nomad.http.requests`) and times it to its response head
/// (`nomad.http.request_time`, milliseconds). The path label is the route pattern (`/v1/job/{id}`),
/// so ids do not multiply the series; unrouted requests share `unmatched`.
pub async fn record(req: Request, next: Next) -> Response {
    // Cheap copies (the method is an enum for the standard ones, the matched path shared).
    let method = req.method().clone();
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let start = Instant::now();
    let resp = next.run(req).await;
    let registry = Registry::global();
    let (method, path) = (method.as_str(), matched.as_ref().map_or("unmatched", |p| p.as_str()));
    registry.incr_counter(REQUESTS, &[("method", method), ("path", path), ("code", resp.status().as_str())], 1.0);
    registry.add_sample(REQUEST_TIME, &[("method", method), ("path", path)], start.elapsed().as_secs_f64() * 1000.0);
    resp
}

fn render(q: &MetricsQuery, gauges: Vec<Gauge>) -> Response {
    let summary = Registry::global().summary(gauges);
    // As Nomad: `prometheus` is the only other format; anything else is JSON.
    if q.format == "prometheus" {
        let ct = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
        return ([(header::CONTENT_TYPE, ct)], summary.prometheus()).into_response();
    }
    Json(summary).into_response()
}

/// Server agents: the server's gauges and the process's.
pub async fn metrics(State(st): State<HttpState>, Query(q): Query<MetricsQuery>) -> Response {
    let mut gauges = server_gauges(&st.server);
    gauges.extend(runtime_gauges());
    render(&q, gauges)
}

/// Client-only agents: the process's gauges.
pub async fn client_metrics(Query(q): Query<MetricsQuery>) -> Response {
    render(&q, runtime_gauges())
}
