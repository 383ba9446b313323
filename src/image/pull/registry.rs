//! A client of one repository on an OCI distribution (v2) registry: manifests and blobs, with anonymous,
//! HTTP basic and bearer-token authentication (a 401's `WWW-Authenticate` challenge is answered once).

use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::Mutex;

use super::challenge::{self, Challenge};
use super::error::PullError;
use super::manifest::ACCEPT;
use super::remote::RemoteRef;
use crate::image::blob::hex;

/// Credentials from the task's `auth { username, password }` block.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).finish_non_exhaustive()
    }
}

impl Credentials {
    fn basic(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    }
}

pub struct Registry {
    http: reqwest::Client,
    remote: RemoteRef,
    credentials: Option<Credentials>,
    /// The `Authorization` value earned by answering a challenge, reused for later requests.
    authorization: Mutex<Option<String>>,
}

impl Registry {
    pub fn new(http: reqwest::Client, remote: RemoteRef, credentials: Option<Credentials>) -> Self {
        Self { http, remote, credentials, authorization: Mutex::new(None) }
    }

    pub fn remote(&self) -> &RemoteRef {
        &self.remote
    }

    /// GET `url`; on a 401 answers the challenge and retries once. Error statuses become [`PullError::Registry`].
    async fn get(&self, url: &str, accept: Option<&str>) -> Result<reqwest::Response, PullError> {
        let mut answered = false;
        loop {
            let mut req = self.http.get(url);
            if let Some(a) = accept {
                req = req.header(reqwest::header::ACCEPT, a);
            }
            if let Some(auth) = self.authorization.lock().await.clone() {
                req = req.header(reqwest::header::AUTHORIZATION, auth);
            }
            let resp = req.send().await.map_err(|e| PullError::Http(http_error(&e)))?;
            if resp.status() == reqwest::StatusCode::UNAUTHORIZED && !answered {
                answered = true;
                let header = resp.headers().get(reqwest::header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(str::to_string);
                let Some(ch) = header.as_deref().and_then(challenge::parse) else {
                    return Err(registry_error(resp).await);
                };
                let auth = self.answer(ch).await?;
                *self.authorization.lock().await = Some(auth);
                continue;
            }
            if !resp.status().is_success() {
                return Err(registry_error(resp).await);
            }
            return Ok(resp);
        }
    }

    /// The `Authorization` header value answering `ch`.
    async fn answer(&self, ch: Challenge) -> Result<String, PullError> {
        match ch {
            Challenge::Basic => match &self.credentials {
                Some(c) => Ok(c.basic()),
                None => Err(PullError::Auth("the registry requires credentials (set auth { username, password })".into())),
            },
            Challenge::Bearer { realm, service, scope } => {
                let scope = scope.unwrap_or_else(|| self.remote.pull_scope());
                let mut params = vec![("scope", scope)];
                if let Some(s) = service {
                    params.push(("service", s));
                }
                let url = reqwest::Url::parse_with_params(&realm, &params)
                    .map_err(|e| PullError::Auth(format!("invalid token realm {realm:?}: {e}")))?;
                let mut req = self.http.get(url);
                if let Some(c) = &self.credentials {
                    req = req.header(reqwest::header::AUTHORIZATION, c.basic());
                }
                let resp = req.send().await.map_err(|e| PullError::Auth(format!("token request to {realm}: {}", http_error(&e))))?;
                if !resp.status().is_success() {
                    return Err(PullError::Auth(format!("token request to {realm}: {}", registry_error(resp).await)));
                }
                #[derive(serde::Deserialize)]
                struct Token {
                    #[serde(default)]
                    token: String,
                    #[serde(default)]
                    access_token: String,
                }
                let body = resp.bytes().await.map_err(|e| PullError::Auth(http_error(&e)))?;
                let t: Token = serde_json::from_slice(&body).map_err(|source| PullError::Json { what: "token response".into(), source })?;
                let token = if t.token.is_empty() { t.access_token } else { t.token };
                if token.is_empty() {
                    return Err(PullError::Auth(format!("token response from {realm} holds no token")));
                }
                Ok(format!("Bearer {token}"))
            }
        }
    }

    /// The manifest named by `reference` (a tag or digest): its bytes and Content-Type.
    pub async fn manifest(&self, reference: &str) -> Result<(Vec<u8>, Option<String>), PullError> {
        let resp = self.get(&self.remote.manifest_url(reference), Some(ACCEPT)).await?;
        let ct = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.bytes().await.map_err(|e| PullError::Http(http_error(&e)))?;
        Ok((body.to_vec(), ct))
    }

    /// Streams blob `digest` into `dest`, checking its size and sha256 as it arrives; returns the byte count.
    pub async fn blob_to_file(&self, digest: &str, size: u64, dest: &Path) -> Result<u64, PullError> {
        let mut resp = self.get(&self.remote.blob_url(digest), None).await?;
        let mut file = tokio::fs::File::create(dest).await.map_err(|e| PullError::io(dest, e))?;
        let mut hasher = Sha256::new();
        let mut count = 0u64;
        let result = async {
            while let Some(chunk) = resp.chunk().await.map_err(|e| PullError::Http(http_error(&e)))? {
                count += chunk.len() as u64;
                if count > size {
                    return Err(PullError::SizeMismatch { what: format!("blob {digest}"), expected: size, actual: count });
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await.map_err(|e| PullError::io(dest, e))?;
            }
            file.flush().await.map_err(|e| PullError::io(dest, e))?;
            file.sync_all().await.map_err(|e| PullError::io(dest, e))?;
            if count != size {
                return Err(PullError::SizeMismatch { what: format!("blob {digest}"), expected: size, actual: count });
            }
            let actual = format!("sha256:{}", hex(&hasher.finalize()));
            if actual != digest {
                return Err(PullError::DigestMismatch { what: format!("blob {digest}"), expected: digest.to_string(), actual });
            }
            Ok(count)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(dest).await;
        }
        result
    }
}

/// A transport error as one line, with its causes.
fn http_error(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// The registry's `{"errors":[{"code","message"}]}` body as one line, else the HTTP status.
async fn registry_error(resp: reqwest::Response) -> PullError {
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    PullError::Registry { status: status.as_u16(), message: error_message(status, &body) }
}

fn error_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let messages: Vec<String> = serde_json::from_slice::<Body>(body)
        .map(|b| b.errors.into_iter().map(|i| if i.message.is_empty() { i.code } else { i.message }).filter(|m| !m.is_empty()).collect())
        .unwrap_or_default();
    if messages.is_empty() {
        format!("HTTP {status}")
    } else {
        messages.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_errors_read_as_their_messages() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"1"}}]}"#;
        assert_eq!(error_message(reqwest::StatusCode::NOT_FOUND, body), "manifest unknown");
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":""},{"code":"X","message":"y"}]}"#;
        assert_eq!(error_message(reqwest::StatusCode::UNAUTHORIZED, body), "UNAUTHORIZED; y");
        assert_eq!(error_message(reqwest::StatusCode::BAD_GATEWAY, b"<html>"), "HTTP 502 Bad Gateway");
    }

    #[test]
    fn basic_credentials_encode() {
        let c = Credentials { username: "u".into(), password: "p:w".into() };
        assert_eq!(c.basic(), "Basic dTpwOnc=");
        assert!(!format!("{c:?}").contains("p:w"));
    }
}
