//! Query parameters shared by read endpoints (blocking queries, namespace, prefix) and Nomad's response headers.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};

use super::error::ApiError;

/// `?index=&wait=&namespace=&prefix=&stale&filter=&per_page=&next_token=&pretty&region=`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueryOptions {
    pub index: u64,
    pub wait: Option<String>,
    pub namespace: Option<String>,
    pub prefix: Option<String>,
    pub stale: Option<String>,
    pub filter: Option<String>,
    pub per_page: Option<usize>,
    pub next_token: Option<String>,
    pub pretty: Option<String>,
    pub region: Option<String>,
}

impl QueryOptions {
    /// The blocking wait: `?wait=` (Go duration like `10s`, `5m`), default 5 minutes, capped at 5 minutes.
    pub fn wait(&self) -> Duration {
        const MAX: Duration = Duration::from_secs(300);
        self.wait.as_deref().and_then(parse_go_duration).unwrap_or(MAX).min(MAX)
    }

    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default")
    }

    pub fn matches_prefix(&self, id: &str) -> bool {
        self.prefix.as_deref().is_none_or(|p| id.starts_with(p))
    }
}

/// A boolean query parameter as Go's `strconv.ParseBool` reads it (`true`, `True`, `TRUE`, `t`, `1`,
/// and their false forms), which is what Nomad's clients send (python-nomad sends `False`); an empty
/// value (`?purge`) is true. For `#[serde(deserialize_with = "go_bool")]`.
pub fn go_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = String::deserialize(d)?;
    parse_go_bool(&s).ok_or_else(|| serde::de::Error::custom(format!("invalid boolean {s:?} (use true or false)")))
}

pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "" | "1" | "t" | "T" | "true" | "True" | "TRUE" => Some(true),
        "0" | "f" | "F" | "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Parses Go-style durations (`1h2m3s`, `500ms`, `10s`); a bare number is seconds.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if let Ok(n) = s.parse::<u64>() {
        return Some(Duration::from_secs(n));
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let v: f64 = num.parse().ok()?;
        num.clear();
        total += v * match unit.as_str() {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
    }
    if !num.is_empty() {
        return None;
    }
    Some(Duration::from_secs_f64(total))
}

/// A JSON body with `X-Nomad-Index`, `X-Nomad-KnownLeader` and `X-Nomad-LastContact`.
pub fn with_index<T: Serialize>(index: u64, known_leader: bool, body: T) -> Response {
    (index_headers(index, known_leader), Json(body)).into_response()
}

/// `X-Nomad-Index`, `X-Nomad-KnownLeader` and `X-Nomad-LastContact`, for responses that are not plain JSON.
pub fn index_headers(index: u64, known_leader: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("X-Nomad-Index", HeaderValue::from(index.max(1)));
    headers.insert("X-Nomad-KnownLeader", HeaderValue::from_static(if known_leader { "true" } else { "false" }));
    headers.insert("X-Nomad-LastContact", HeaderValue::from_static("0"));
    headers
}

/// The read every list and read endpoint starts with: consistent unless `?stale` (this server first
/// catches up with the leader's read index), then blocking until `table` passes `?index` or `?wait` ends.
pub async fn query_index(st: &super::HttpState, table: &str, q: &QueryOptions) -> Result<u64, ApiError> {
    query_index_any(st, &[table], q).await
}

/// `query_index` for a response made of several tables (a job summary: the job and its allocations).
///
/// The barrier's future is boxed: it is large and done before the wait, and a waiting query should
/// hold only the wait's state (thousands of them may be parked at once).
pub async fn query_index_any(st: &super::HttpState, tables: &[&str], q: &QueryOptions) -> Result<u64, ApiError> {
    Box::pin(st.server.read_barrier(q.stale.is_some())).await?;
    Ok(st.server.block_on_any(tables, q.index, q.wait()).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_go_duration("5x"), None);
        assert_eq!(parse_go_duration("5s3"), None);
    }

    #[test]
    fn go_booleans() {
        for t in ["", "1", "t", "True", "true", "TRUE"] {
            assert_eq!(parse_go_bool(t), Some(true), "{t}");
        }
        for f in ["0", "f", "False", "false", "FALSE"] {
            assert_eq!(parse_go_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_go_bool("yes"), None);
        #[derive(Deserialize)]
        struct Q {
            #[serde(deserialize_with = "go_bool", default)]
            follow: bool,
        }
        let q: Q = serde_urlencoded_from("follow=False");
        assert!(!q.follow);
        let q: Q = serde_urlencoded_from("follow=True");
        assert!(q.follow);
        let q: Q = serde_urlencoded_from("");
        assert!(!q.follow);
    }

    fn serde_urlencoded_from<T: serde::de::DeserializeOwned>(q: &str) -> T {
        let uri: axum::http::Uri = format!("/x?{q}").parse().unwrap();
        axum::extract::Query::<T>::try_from_uri(&uri).unwrap().0
    }
}
