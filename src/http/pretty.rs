//! `?pretty`: any whole JSON reply re-indented (Nomad accepts it on every endpoint). Streamed replies
//! (event stream, followed logs, chunked lists) are left alone; lists indent themselves (`list`).

use axum::body::HttpBody as _;
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::Response;

/// Replies larger than this are passed through as they are.
const MAX_PRETTY_BYTES: u64 = 16 * 1024 * 1024;

pub async fn indent(req: Request, next: Next) -> Response {
    let wanted = req.uri().query().is_some_and(|q| {
        q.split('&').any(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            k == "pretty" && v != "false" && v != "0"
        })
    });
    let resp = next.run(req).await;
    let json = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    let exact = resp.body().size_hint().exact().is_some_and(|n| n <= MAX_PRETTY_BYTES);
    if !wanted || !json || !exact {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PRETTY_BYTES as usize).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let pretty = serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| serde_json::to_vec_pretty(&v).ok());
    let out = match pretty {
        Some(mut p) => {
            p.push(b'\n');
            parts.headers.remove(CONTENT_LENGTH);
            p
        }
        None => bytes.to_vec(),
    };
    Response::from_parts(parts, Body::from(out))
}
