//! A remote image reference `[host[:port]/]repo[:tag|@digest]` and the registry URLs it resolves to.
//!
//! Docker's rules: the first component names a registry when it contains `.` or `:` or is `localhost`;
//! otherwise the image is on Docker Hub (`registry-1.docker.io`), where one-component names get `library/`.
//! Loopback registries (127.0.0.0/8, `localhost`, `::1`) are spoken to over plain http, all others over https.

use std::fmt;
use std::net::IpAddr;

use super::error::PullError;
use crate::image::reference::ImageRef;

pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// What a reference selects in its repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Tag(String),
    /// `sha256:<hex>`.
    Digest(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// `host[:port]` as written (`docker.io` for Docker Hub).
    pub registry: String,
    /// The repository path on the registry, e.g. `library/busybox`.
    pub repository: String,
    pub selector: Selector,
    local: ImageRef,
}

impl RemoteRef {
    /// Parses with [`ImageRef`]'s rules (so the pulled image lands where the executor looks), then applies
    /// Docker's registry defaults.
    pub fn parse(reference: &str) -> Result<Self, PullError> {
        let local = ImageRef::parse(reference)
            .map_err(|e| PullError::InvalidReference { reference: reference.to_string(), reason: e.kind.to_string() })?;
        let name = local.name();
        let (registry, repository) = match name.split_once('/') {
            Some((first, repo)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                (first.to_string(), repo.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') { format!("library/{repository}") } else { repository };
        let selector = match local.digest() {
            Some(d) => Selector::Digest(d.to_string()),
            None => Selector::Tag(local.tag().to_string()),
        };
        Ok(Self { registry, repository, selector, local })
    }

    /// The reference as the image dir knows it (its layout directory and tag).
    pub fn local(&self) -> &ImageRef {
        &self.local
    }

    /// The host[:port] the API is served on.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB || self.registry == "index.docker.io" {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// `http://host[:port]` for loopback registries, `https://…` otherwise.
    pub fn base_url(&self) -> String {
        let host = self.api_host();
        let scheme = if is_loopback(host) { "http" } else { "https" };
        format!("{scheme}://{host}")
    }

    /// The tag or digest this reference selects, as the last component of its manifest URL.
    pub fn selected(&self) -> &str {
        match &self.selector {
            Selector::Tag(t) => t,
            Selector::Digest(d) => d,
        }
    }

    /// `<base>/v2/<repository>/manifests/<reference>` (a tag or a digest).
    pub fn manifest_url(&self, reference: &str) -> String {
        format!("{}/v2/{}/manifests/{reference}", self.base_url(), self.repository)
    }

    /// `<base>/v2/<repository>/blobs/<digest>`.
    pub fn blob_url(&self, digest: &str) -> String {
        format!("{}/v2/{}/blobs/{digest}", self.base_url(), self.repository)
    }

    /// The token scope for pulling this repository.
    pub fn pull_scope(&self) -> String {
        format!("repository:{}:pull", self.repository)
    }
}

impl fmt::Display for RemoteRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Tag(t) => write!(f, "{}/{}:{t}", self.registry, self.repository),
            Selector::Digest(d) => write!(f, "{}/{}@{d}", self.registry, self.repository),
        }
    }
}

/// `localhost`, 127.0.0.0/8 and `::1`, with or without a port (`[::1]:5000`).
pub fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host_port,
        }
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_defaults() {
        let r = RemoteRef::parse("busybox").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("docker.io", "library/busybox"));
        assert_eq!(r.selector, Selector::Tag("latest".into()));
        assert_eq!(r.manifest_url(r.selected()), "https://registry-1.docker.io/v2/library/busybox/manifests/latest");
        let r = RemoteRef::parse("grafana/loki:2.9").unwrap();
        assert_eq!(r.repository, "grafana/loki");
        assert_eq!(r.blob_url("sha256:ab"), "https://registry-1.docker.io/v2/grafana/loki/blobs/sha256:ab");
        assert_eq!(r.pull_scope(), "repository:grafana/loki:pull");
    }

    #[test]
    fn registries_ports_and_loopback() {
        let r = RemoteRef::parse("127.0.0.1:5000/busybox:1").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("127.0.0.1:5000", "busybox"));
        assert_eq!(r.manifest_url(r.selected()), "http://127.0.0.1:5000/v2/busybox/manifests/1");
        let r = RemoteRef::parse("localhost/team/app").unwrap();
        assert_eq!(r.base_url(), "http://localhost");
        assert_eq!(r.repository, "team/app");
        let r = RemoteRef::parse("ghcr.io/org/tool:v1").unwrap();
        assert_eq!(r.manifest_url(r.selected()), "https://ghcr.io/v2/org/tool/manifests/v1");
        let r = RemoteRef::parse("127.9.9.9:80/x").unwrap();
        assert!(r.base_url().starts_with("http://"));
        let r = RemoteRef::parse("10.0.0.1:5000/x").unwrap();
        assert!(r.base_url().starts_with("https://"));
        assert!(is_loopback("[::1]:5000") && is_loopback("::1") && is_loopback("LOCALHOST:1"));
        assert!(!is_loopback("localhost.evil.com") && !is_loopback("128.0.0.1"));
    }

    #[test]
    fn digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = RemoteRef::parse(&format!("127.0.0.1:5000/busybox:1@{d}")).unwrap();
        assert_eq!(r.selector, Selector::Digest(d.clone()));
        assert_eq!(r.manifest_url(r.selected()), format!("http://127.0.0.1:5000/v2/busybox/manifests/{d}"));
        assert!(RemoteRef::parse("busybox@sha256:00").is_err());
        assert!(RemoteRef::parse("busybox@md5:00").is_err());
        assert!(RemoteRef::parse("a//b").is_err());
        assert!(RemoteRef::parse("busybox:").is_err());
        assert!(RemoteRef::parse("Busybox").is_err());
    }
}
