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
    token: Option<String>,
    region: Option<String>,
    namespace: Option<String>,
}

impl ApiClient {
    pub fn new(address: &str) -> Self {
        let base = if address.starts_with("http://") || address.starts_with("https://") {
            address.to_string()
        } else {
            format!("http://{address}")
        };
        Self { base: base.trim_end_matches('/').to_string(), http: reqwest::Client::new(), token: None, region: None, namespace: None }
    }

    /// Sends `token` as `X-Nomad-Token` and `?region=` / `?namespace=` with every request (a path
    /// that names its own namespace keeps it).
    pub fn with_settings(mut self, token: Option<String>, region: Option<String>, namespace: Option<String>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self.region = region.filter(|r| !r.is_empty());
        self.namespace = namespace.filter(|n| !n.is_empty());
        self
    }

    /// The API's base address (`http://host:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The websocket handshake request for `url`, with the token header and region/namespace parameters.
    pub fn websocket_request(
        &self,
        url: &str,
    ) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = self.with_params(url.to_string()).into_client_request()?;
        if let Some(t) = self.token.as_ref().and_then(|t| t.parse().ok()) {
            req.headers_mut().insert("X-Nomad-Token", t);
        }
        Ok(req)
    }

    /// A request to `path` carrying the token, region and namespace.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, self.with_params(format!("{}{path}", self.base)));
        if let Some(t) = &self.token {
            req = req.header("X-Nomad-Token", t);
        }
        req
    }

    /// `url` with `?region=` and `?namespace=` added (unless it names them itself).
    fn with_params(&self, mut url: String) -> String {
        for (k, v) in [("region", &self.region), ("namespace", &self.namespace)] {
            if let Some(v) = v.as_ref().filter(|_| !url.contains(&format!("{k}="))) {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&format!("{k}={}", enc(v)));
            }
        }
        url
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
        let resp = self.send(self.request(reqwest::Method::GET, path), path).await?;
        resp.json().await.map_err(|e| ApiClientError::Decode { path: path.into(), message: e.to_string() })
    }

    pub async fn get_text(&self, path: &str) -> Result<reqwest::Response, ApiClientError> {
        self.send(self.request(reqwest::Method::GET, path), path).await
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ApiClientError> {
        let resp = self.send(self.request(reqwest::Method::PUT, path).json(body), path).await?;
        resp.json().await.map_err(|e| ApiClientError::Decode { path: path.into(), message: e.to_string() })
    }

    /// The raw body of a GET (a file download).
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ApiClientError> {
        let resp = self.send(self.request(reqwest::Method::GET, path), path).await?;
        let bytes = resp.bytes().await.map_err(|e| ApiClientError::Decode { path: path.into(), message: root_cause(&e) })?;
        Ok(bytes.to_vec())
    }

    /// PUTs a raw body (a file upload); the reply's body is not read.
    pub async fn put_bytes(&self, path: &str, body: Vec<u8>) -> Result<(), ApiClientError> {
        self.send(self.request(reqwest::Method::PUT, path).body(body), path).await.map(drop)
    }

    /// A DELETE whose reply has no body.
    pub async fn delete_empty(&self, path: &str) -> Result<(), ApiClientError> {
        self.send(self.request(reqwest::Method::DELETE, path), path).await.map(drop)
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiClientError> {
        let resp = self.send(self.request(reqwest::Method::DELETE, path), path).await?;
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
