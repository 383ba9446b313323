//! A small client for the HTTP API, used by the CLI; errors are one readable line.

use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiClientError {
    #[error("could not reach {addr}: {message} (is an agent running? set -address or DROVER_ADDR)")]
    Connect { addr: String, message: String },
    #[error("{status}: {body}")]
    Status { status: u16, body: String },
    #[error("unexpected response from {path}: {message}")]
    Decode { path: String, message: String },
}

#[derive(Clone)]
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
}

impl ApiClient {
    pub fn new(address: &str) -> Self {
        let base = if address.starts_with("http://") || address.starts_with("https://") {
            address.to_string()
        } else {
            format!("http://{address}")
        };
        Self { base: base.trim_end_matches('/').to_string(), http: reqwest::Client::new() }
    }

    async fn send(&self, req: reqwest::RequestBuilder, path: &str) -> Result<reqwest::Response, ApiClientError> {
        let resp = req.send().await.map_err(|e| ApiClientError::Connect { addr: self.base.clone(), message: root_cause(&e) })?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default().trim().to_string();
            return Err(ApiClientError::Status { status, body: if body.is_empty() { format!("request to {path} failed") } else { body } });
        }
        Ok(resp)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiClientError> {
        let resp = self.send(self.http.get(format!("{}{path}", self.base)), path).await?;
        resp.json().await.map_err(|e| ApiClientError::Decode { path: path.into(), message: e.to_string() })
    }

    pub async fn get_text(&self, path: &str) -> Result<reqwest::Response, ApiClientError> {
        self.send(self.http.get(format!("{}{path}", self.base)), path).await
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ApiClientError> {
        let resp = self.send(self.http.put(format!("{}{path}", self.base)).json(body), path).await?;
        resp.json().await.map_err(|e| ApiClientError::Decode { path: path.into(), message: e.to_string() })
    }

    /// The raw body of a GET (a file download).
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ApiClientError> {
        let resp = self.send(self.http.get(format!("{}{path}", self.base)), path).await?;
        let bytes = resp.bytes().await.map_err(|e| ApiClientError::Decode { path: path.into(), message: root_cause(&e) })?;
        Ok(bytes.to_vec())
    }

    /// PUTs a raw body (a file upload); the reply's body is not read.
    pub async fn put_bytes(&self, path: &str, body: Vec<u8>) -> Result<(), ApiClientError> {
        self.send(self.http.put(format!("{}{path}", self.base)).body(body), path).await.map(drop)
    }

    /// A DELETE whose reply has no body.
    pub async fn delete_empty(&self, path: &str) -> Result<(), ApiClientError> {
        self.send(self.http.delete(format!("{}{path}", self.base)), path).await.map(drop)
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiClientError> {
        let resp = self.send(self.http.delete(format!("{}{path}", self.base)), path).await?;
        resp.json().await.map_err(|e| ApiClientError::Decode { path: path.into(), message: e.to_string() })
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Percent-encodes a path segment.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
