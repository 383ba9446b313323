//! `/v1/client/fs/logs/:alloc`: a task's stdout/stderr, plain or in Nomad's JSON frames, optionally followed.
//! Served from the local allocation directory, or forwarded to the client that holds the allocation.

use std::path::{Path as FsPath, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::allocs::find_alloc_id;
use super::error::ApiError;
use super::HttpState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogOptions {
    pub task: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "super::query::go_bool")]
    pub plain: bool,
    #[serde(deserialize_with = "super::query::go_bool")]
    pub follow: bool,
    pub origin: String,
    pub offset: u64,
}

/// Rotated log files of a task, oldest first: `<task>.<kind>.0`, `.1`, …
pub fn log_files(alloc_dir: &FsPath, task: &str, kind: &str) -> Vec<PathBuf> {
    let dir = alloc_dir.join("alloc").join("logs");
    let prefix = format!("{task}.{kind}.");
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let n = name.strip_prefix(&prefix)?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

fn read_all(files: &[PathBuf]) -> Vec<u8> {
    files.iter().flat_map(|f| std::fs::read(f).unwrap_or_default()).collect()
}

fn frame(data: &[u8], file: &str, offset: u64) -> Vec<u8> {
    use base64_lite::encode;
    let mut v = serde_json::to_vec(&serde_json::json!({ "Data": encode(data), "File": file, "Offset": offset })).unwrap_or_default();
    v.push(b'\n');
    v
}

fn check(o: &LogOptions) -> Result<String, ApiError> {
    let kind = if o.kind.is_empty() { "stdout".to_string() } else { o.kind.clone() };
    if kind != "stdout" && kind != "stderr" {
        return Err(ApiError::bad_request(format!("invalid log type \"{kind}\": must be stdout or stderr")));
    }
    if o.task.is_empty() {
        return Err(ApiError::bad_request("must include task name (?task=)"));
    }
    Ok(kind)
}

/// Server agents: find the allocation, then serve it locally or forward to its client.
pub async fn logs(
    State(st): State<HttpState>,
    Path(alloc): Path<String>,
    Query(o): Query<LogOptions>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let kind = check(&o)?;
    let (alloc_id, node_addr) = locate_alloc(&st, &alloc)?;
    match st.alloc_root.as_ref().map(|r| r.join(&alloc_id)).filter(|d| d.is_dir()) {
        Some(dir) => Ok(serve_local(dir, &o, kind)),
        None => forward(&st, &node_addr, &alloc_id, &format!("/v1/client/fs/logs/{alloc_id}?{}", raw.as_deref().unwrap_or(""))).await,
    }
}

/// An allocation's full id (from an id or a unique prefix) and the HTTP address of its client.
pub(super) fn locate_alloc(st: &HttpState, alloc: &str) -> Result<(String, String), ApiError> {
    st.server.read(|s| {
        let id = find_alloc_id(s, alloc)?;
        let node = s.allocs.get(id.as_str()).and_then(|a| s.nodes.get(a.node_id.as_str())).map(|n| n.http_addr.clone()).unwrap_or_default();
        Ok::<_, ApiError>((id, node))
    })
}

/// Client-only agents: serve from the local allocation directory.
pub async fn client_logs(
    State(root): State<PathBuf>,
    Path(alloc): Path<String>,
    Query(o): Query<LogOptions>,
) -> Result<Response, ApiError> {
    let kind = check(&o)?;
    if alloc.contains('/') || alloc.contains("..") || alloc.is_empty() {
        return Err(ApiError::bad_request(format!("invalid allocation id \"{alloc}\"")));
    }
    let dir = root.join(&alloc);
    if !dir.is_dir() {
        return Err(ApiError::not_found(format!("allocation {alloc} is not on this client")));
    }
    Ok(serve_local(dir, &o, kind))
}

fn serve_local(alloc_dir: PathBuf, o: &LogOptions, kind: String) -> Response {
    let files = log_files(&alloc_dir, &o.task, &kind);
    let file = format!("alloc/logs/{}.{kind}.0", o.task);
    let data = read_all(&files);
    let start = if o.origin == "end" { (data.len() as u64).saturating_sub(o.offset) } else { o.offset.min(data.len() as u64) } as usize;
    let first = data[start..].to_vec();
    if !o.follow {
        let body = if o.plain { first } else { frame(&first, &file, data.len() as u64) };
        return (StatusCode::OK, body).into_response();
    }
    let plain = o.plain;
    let task = o.task.clone();
    let stream = futures::stream::unfold(
        (first, data.len(), alloc_dir, task, kind, file, true),
        move |(pending, seen, dir, task, kind, file, first_round)| async move {
            if !first_round {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            if !dir.exists() {
                return None;
            }
            let mut out = pending;
            let all = read_all(&log_files(&dir, &task, &kind));
            let mut seen = seen;
            if !first_round && all.len() > seen {
                out.extend_from_slice(&all[seen..]);
            }
            seen = seen.max(all.len());
            let chunk = if plain {
                out
            } else if out.is_empty() {
                b"{}\n".to_vec()
            } else {
                frame(&out, &file, seen as u64)
            };
            Some((Ok::<_, std::io::Error>(chunk), (Vec::new(), seen, dir, task, kind, file, false)))
        },
    );
    (StatusCode::OK, Body::from_stream(stream)).into_response()
}

/// Passes a client endpoint's request (`path` with its query) on to the client at `node_addr`, and its
/// status, content type and body back; the body is streamed (a followed log never ends).
pub(super) async fn forward(st: &HttpState, node_addr: &str, alloc_id: &str, path: &str) -> Result<Response, ApiError> {
    if node_addr.is_empty() {
        return Err(ApiError::not_found(format!("allocation {alloc_id} has no reachable client")));
    }
    let base = if node_addr.starts_with("http") { node_addr.to_string() } else { format!("http://{node_addr}") };
    let url = format!("{base}{path}");
    let resp = st.http.get(&url).send().await.map_err(|e| ApiError(StatusCode::BAD_GATEWAY, format!("client {node_addr}: {e}")))?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    // The client's length (when it sent one) keeps a forwarded reply as framed as the client's.
    let pass: Vec<_> = [header::CONTENT_TYPE, header::CONTENT_LENGTH]
        .into_iter()
        .filter_map(|name| resp.headers().get(&name).cloned().map(|v| (name, v)))
        .collect();
    let mut out = (status, Body::from_stream(resp.bytes_stream())).into_response();
    for (name, value) in pass {
        out.headers_mut().insert(name, value);
    }
    Ok(out)
}

/// Standard base64 (RFC 4648, with padding) for Nomad's log frames.
mod base64_lite {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(data: &[u8]) -> String {
        let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
        for chunk in data.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            out.push(T[(n >> 18) as usize & 63] as char);
            out.push(T[(n >> 12) as usize & 63] as char);
            out.push(if chunk.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
            out.push(if chunk.len() > 2 { T[n as usize & 63] as char } else { '=' });
        }
        out
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn encodes() {
            assert_eq!(super::encode(b"hello"), "aGVsbG8=");
            assert_eq!(super::encode(b"hi!"), "aGkh");
            assert_eq!(super::encode(b"a"), "YQ==");
        }
    }
}
