//! List responses: `?filter`, `?per_page`/`?next_token` and `?pretty` applied item by item while the
//! JSON array is written, and large lists streamed in chunks so no response is held whole in memory.

use axum::body::{Body, Bytes};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::error::ApiError;
use super::query::{index_headers, QueryOptions};
use crate::api::filter::Filter;

/// Items rendered (under one short read of the state) per streamed chunk.
const CHUNK: usize = 256;

/// Writes a JSON array item by item, skipping items before `?next_token` or not matching `?filter`
/// and stopping once `?per_page` items are written.
struct ListWriter {
    filter: Option<Filter>,
    next_token: Option<String>,
    per_page: Option<usize>,
    written: usize,
    /// The key of the first item that did not fit the page.
    next: Option<String>,
    buf: Vec<u8>,
}

impl ListWriter {
    fn new(q: &QueryOptions) -> Result<Self, ApiError> {
        let filter = match q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            Some(f) => Some(Filter::parse(f).map_err(|e| ApiError::bad_request(e.to_string()))?),
            None => None,
        };
        Ok(Self {
            filter,
            next_token: q.next_token.clone().filter(|t| !t.is_empty()),
            per_page: q.per_page.filter(|n| *n > 0),
            written: 0,
            next: None,
            buf: b"[".to_vec(),
        })
    }

    fn full(&self) -> bool {
        self.next.is_some()
    }

    /// Adds one item under its pagination key.
    fn push<T: Serialize>(&mut self, key: &str, item: &T) -> Result<(), ApiError> {
        if self.full() || self.next_token.as_deref().is_some_and(|t| key < t) {
            return Ok(());
        }
        let value = match &self.filter {
            Some(filter) => {
                let v = serde_json::to_value(item).map_err(|e| ApiError::internal(e.to_string()))?;
                if !filter.matches(&v) {
                    return Ok(());
                }
                Some(v)
            }
            None => None,
        };
        if self.per_page.is_some_and(|n| self.written == n) {
            self.next = Some(key.to_string());
            return Ok(());
        }
        if self.written > 0 {
            self.buf.push(b',');
        }
        let r = match value {
            Some(v) => serde_json::to_writer(&mut self.buf, &v),
            None => serde_json::to_writer(&mut self.buf, item),
        };
        r.map_err(|e| ApiError::internal(e.to_string()))?;
        self.written += 1;
        Ok(())
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

fn response(index: u64, known_leader: bool, next: Option<String>, body: Body) -> Response {
    let mut headers = index_headers(index, known_leader);
    if let Some(token) = next.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert("X-Nomad-NextToken", token);
    }
    headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    (headers, body).into_response()
}

/// A list response from items already gathered: (pagination key, item), in key order.
pub fn list_response<T: Serialize>(
    index: u64,
    known_leader: bool,
    q: &QueryOptions,
    items: Vec<(String, T)>,
) -> Result<Response, ApiError> {
    let mut w = ListWriter::new(q)?;
    for (key, item) in &items {
        w.push(key, item)?;
        if w.full() {
            break;
        }
    }
    w.buf.push(b']');
    let mut body = w.take();
    if q.pretty.is_some() {
        let v: Value = serde_json::from_slice(&body).map_err(|e| ApiError::internal(e.to_string()))?;
        body = serde_json::to_vec_pretty(&v).map_err(|e| ApiError::internal(e.to_string()))?;
    }
    Ok(response(index, known_leader, w.next.take(), Body::from(body)))
}

/// A list response over `keys` (in key order) whose items `render` produces a chunk at a time, each
/// under its own short read of the state: the body is streamed, so a list of 100,000 allocations
/// never exists whole in memory and writes are not held up while it is sent. Items removed after the
/// keys were taken are left out. Paged (`?per_page`) and `?pretty` lists are built whole instead, as
/// their `X-Nomad-NextToken` header must be known before the body.
pub fn streamed_list_response<T, F>(
    index: u64,
    known_leader: bool,
    q: &QueryOptions,
    keys: Vec<String>,
    render: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: Fn(&[String]) -> Vec<(String, T)> + Send + 'static,
{
    if q.per_page.is_some_and(|n| n > 0) || q.pretty.is_some() {
        let items = keys.chunks(CHUNK).flat_map(&render).collect();
        return list_response(index, known_leader, q, items);
    }
    let mut w = ListWriter::new(q)?;
    let chunks: Vec<Vec<String>> = keys.chunks(CHUNK).map(<[String]>::to_vec).collect();
    let last = chunks.len();
    let body = futures::stream::iter(chunks.into_iter().enumerate().map(move |(i, chunk)| {
        for (key, item) in render(&chunk) {
            w.push(&key, &item).map_err(|e| std::io::Error::other(e.1))?;
        }
        if i + 1 == last {
            w.buf.push(b']');
            // Each chunk's items were transient; after a large list, hand their pages back (a
            // one-chunk list leaves too little to be worth a walk over the heap).
            if last > 1 {
                crate::memory::release_free_memory();
            }
        }
        Ok::<_, std::io::Error>(Bytes::from(w.take()))
    }));
    let body = if last == 0 { Body::from("[]") } else { Body::from_stream(body) };
    Ok(response(index, known_leader, None, body))
}
